/**
 * evaluate.fairness through `evaluateVersion` on a real ONNX classifier: the sensitive column is
 * not a feature but is read with the test split, the fairness metrics equal ones computed here
 * from the runtime's own predictions, and gates on them pass and fail and are recorded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import { evaluateVersion } from '../../../server/engine/evaluation/evaluate';
import { loadTrainingData } from '../../../server/engine/data/splits';
import { openOnnxFile, writeOnnxBundle } from '../../../server/engine/runtime';
import { gateState } from '../../../shared/gateState';

const FIX = join(__dirname, '..', '..', 'fixtures', 'onnx');
const root = mkdtempSync(join(tmpdir(), 'modelops-fairness-eval-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

test('fairness on the test split of a real model: values match the predictions; gates pass and fail', async () => {
  mkdirSync(join(root, 'data'));
  mkdirSync(join(root, 'models'));
  copyFileSync(join(FIX, 'weather-mlp-v1.onnx'), join(root, 'models', 'm.onnx'));
  // The sample data with a 'half' column (first or second half of the year), not a model feature.
  const lines = readFileSync(
    join(__dirname, '..', '..', '..', 'examples', 'sample', 'data', 'seattle-weather.csv'),
    'utf8',
  )
    .trim()
    .split('\n');
  writeFileSync(
    join(root, 'data', 'w.csv'),
    [`${lines[0]},half`, ...lines.slice(1).map((l) => `${l},${Number(l.slice(5, 7)) <= 6 ? 'H1' : 'H2'}`)].join('\n') +
      '\n',
  );
  const four = ['precipitation', 'temp_max', 'temp_min', 'wind'];
  const configPath = join(root, 'modelops.yaml');
  writeFileSync(
    configPath,
    `version: 1
project: fair
data:
  train: data/w.csv
  target: weather
  features: [${four.join(', ')}]
model:
  name: w
  task: classification
  framework: onnx
  path: models/m.onnx
evaluate:
  fairness:
    sensitive: [half]
    metrics: [accuracy]
    minGroupSize: 5
  gates:
    demographic_parity_difference: "<= 1"
    equalized_odds_difference: "< 0"
`,
  );
  const registry = openRegistry(root);
  try {
    const dir = join(root, 'bundle');
    await writeOnnxBundle(dir, join(FIX, 'weather-mlp-v1.onnx'), { target: 'weather' });
    const v = await registry.registerVersion({ model: 'w', source: dir });
    const r = await evaluateVersion({ registry, ref: `${v.model}@${v.version}`, configPath });
    assert.ok(r.fairness);

    // The same rows and predictions, grouped here.
    const d = await loadTrainingData(
      {
        train: 'data/w.csv',
        format: 'csv',
        target: 'weather',
        features: four,
        split: { train: 0.7, validation: 0.15, test: 0.15, seed: 42 },
        missing: 'drop',
      },
      { configDir: root, root },
    );
    const rt = await openOnnxFile(join(FIX, 'weather-mlp-v1.onnx'));
    const preds = await rt.predict(d.test.rows);
    const labels = rt.labels!;
    rt.dispose();
    let dpd = 0;
    for (const label of labels) {
      const rate = (h: string) => {
        const idx = d.test.rows.map((row, i) => [row, i] as const).filter(([row]) => row.half === h);
        return idx.filter(([, i]) => preds[i].value === label).length / idx.length;
      };
      dpd = Math.max(dpd, Math.abs(rate('H1') - rate('H2')));
    }
    assert.ok(
      Math.abs((r.fairness.fairness.demographic_parity_difference as number) - dpd) < 1e-12,
      `${r.fairness.fairness.demographic_parity_difference} vs ${dpd}`,
    );
    assert.equal(r.metrics.demographic_parity_difference, r.fairness.fairness.demographic_parity_difference);
    assert.deepEqual(
      r.fairness.breakdowns[0].groups.map((g) => g.name),
      ['half=H1', 'half=H2'],
    );
    assert.equal(
      r.fairness.breakdowns[0].groups.reduce((a, g) => a + g.count, 0),
      r.rows,
    );

    assert.ok(r.gates);
    assert.deepEqual(
      r.gates.results.map((g) => [g.metric, g.passed]),
      [
        ['demographic_parity_difference', true],
        ['equalized_odds_difference', false],
      ],
    );
    assert.equal(gateState(r.version.gates), 'failed');
    assert.equal(r.run.metrics.demographic_parity_difference, r.metrics.demographic_parity_difference);
  } finally {
    registry.close();
  }
});
