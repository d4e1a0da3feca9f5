/**
 * Version archives over JSON-RPC against the built sidecar: a version trained in one workspace is
 * exported with its data (work-done progress in bytes), imported by another workspace's sidecar
 * as the same version, and an untrusted workspace refuses the import.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { registry, training } from '../../server/protocol';
import { startSidecar } from './client';
import { quarterSample, weatherConfig } from './weather';

const data = quarterSample();

test('a trained version is exported with its data and imported by another workspace as the same version', async () => {
  const config = weatherConfig({ epochs: 2, rest: '' });
  const a = await startSidecar({ files: { 'modelops.yaml': config, 'data/weather.csv': data } });
  // A teammate's checkout of the same project: its files, not its registry.
  const b = await startSidecar({ files: { 'modelops.yaml': config, 'data/weather.csv': data } });
  const untrusted = await startSidecar({ files: {}, initializationOptions: { trusted: false } });
  try {
    const trained = await a.request(training.train, { configUri: a.uri('modelops.yaml') });
    const ref = `${trained.version.model}@${trained.version.version}`;
    const out = join(a.workspace, 'weather.modelops.tgz');
    const exported = await a.request(registry.exportVersion, { ref, out, withData: true, workDoneToken: 'export-1' });
    assert.equal(exported.ref, ref);
    assert.deepEqual(
      exported.data.map((d) => d.path),
      ['data/weather.csv'],
    );
    assert.ok(existsSync(out));
    const steps = a.progress.filter((e) => e.token === 'export-1').map((e) => e.value);
    assert.equal(steps[0].kind, 'begin');
    assert.ok(steps.some((e) => e.kind === 'report' && / of .*B$/.test(e.message ?? '')));
    assert.equal(steps.at(-1)?.kind, 'end');

    await assert.rejects(untrusted.request(registry.importVersion, { file: out }), (e: Error) =>
      /^Importing a version \(its model is loaded to check it\) is disabled in an untrusted workspace/.test(e.message),
    );
    const imported = await b.request(registry.importVersion, { file: out });
    assert.equal(imported.status, 'imported');
    assert.equal(imported.version.artifactDigest, trained.version.artifactDigest);
    assert.deepEqual(imported.version.metrics, trained.version.metrics);
    // Its training run comes along: the curves the other workspace draws are the same.
    assert.equal(imported.version.runId, trained.version.runId);
    assert.equal(imported.run?.kind, 'train');
    const series = await b.request(registry.runMetrics, { id: trained.version.runId! });
    assert.equal(series.length, 2);
    assert.deepEqual(series, await a.request(registry.runMetrics, { id: trained.version.runId! }));
    const listed = await b.request(registry.listVersions, { model: trained.version.model });
    assert.deepEqual(
      listed.items.map((v) => v.version),
      [trained.version.version],
    );
    // It evaluates in the new workspace like any version.
    const ev = await b.request(training.evaluate, { ref, data: join(a.workspace, 'data', 'weather.csv') });
    assert.ok(
      Math.abs(
        ev.metrics.accuracy - (await a.request(training.evaluate, { ref, data: 'data/weather.csv' })).metrics.accuracy,
      ) < 1e-9,
    );
  } finally {
    await Promise.all([a.close(), b.close(), untrusted.close()]);
  }
});
