// Alias-relative gates compare like with like: the version holding the alias is scored on the
// same rows as the version under test (a real TF.js bundle, a real registry), not read from the
// metrics it recorded on its own test data; when it cannot be scored, the recorded metrics are
// used and the gate says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../server/engine/config';
import { evaluateVersion, sameRowsResolver } from '../../../server/engine/evaluation/evaluate';
import { evaluateGates } from '../../../server/engine/evaluation/gates';
import { makeRows } from '../serving/fixtures';
import { configText, productionWorkspace, writeTrainCsv } from '../training/trafficFixture';

test('production is scored on the rows of the version under test, and the gate says so', async () => {
  // weather@1.0.0 recorded accuracy 0.5, measured on data nobody has here.
  const { ws, registry } = await productionWorkspace('same-rows');
  try {
    writeTrainCsv(ws, makeRows(120, 11));
    const configPath = ws.file('modelops.yaml', configText('">= production - 0.1"'));
    const loaded = await loadConfig(configPath);
    const options = { config: loaded.config, configPath, root: registry.root };
    const resolve = await sameRowsResolver(registry, 'weather', { accuracy: '>= production - 0.1' }, options);
    const production = resolve('production')!;
    // The same figure the public evaluation gives for production on that test split.
    const evaluated = await evaluateVersion({ registry, ref: 'weather@1.0.0', configPath, gate: false });
    assert.equal(production.version, '1.0.0');
    assert.equal(production.metrics.accuracy, evaluated.metrics.accuracy);
    assert.ok(production.sameRows?.has('accuracy'));
    const report = evaluateGates({
      gates: { accuracy: '>= production - 0.1' },
      metrics: { accuracy: 0.99 },
      resolveAlias: resolve,
    });
    assert.match(report.results[0].message, /\(production 1\.0\.0 on the same rows: \d\.\d{4}\)$/);
    assert.equal(report.results[0].threshold, evaluated.metrics.accuracy - 0.1);

    // A training file that does not exist here: production cannot be scored, so its recorded
    // metrics are used, and the gate says why.
    const missing = await sameRowsResolver(
      registry,
      'weather',
      { accuracy: '>= production - 0.1' },
      { ...options, trainOverride: 'data/gone.csv' },
    );
    const recorded = missing('production')!;
    assert.equal(recorded.metrics.accuracy, 0.5);
    assert.match(recorded.note ?? '', /^as recorded \(not scored on these rows: .*gone\.csv/);
    const fallback = evaluateGates({
      gates: { accuracy: '>= production - 0.1' },
      metrics: { accuracy: 0.99 },
      resolveAlias: missing,
    });
    assert.match(
      fallback.results[0].message,
      /\(production 1\.0\.0, as recorded \(not scored on these rows: Data file data\/gone\.csv does not exist\): 0\.5000\)$/,
    );
    // No version holds the alias: nothing to compare with, as before.
    assert.equal((await sameRowsResolver(registry, 'weather', { accuracy: '>= staging' }, options))('staging'), null);
  } finally {
    registry.close();
    ws.cleanup();
  }
});
