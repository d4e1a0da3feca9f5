import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import type { Registry } from '../../../server/engine/registry/types';
import { evaluateVersion } from '../../../server/engine/evaluation/evaluate';
import { gateState } from '../../../shared/gateState';
import { loadTrainingData } from '../../../server/engine/data/splits';
import { openOnnxFile, writeOnnxBundle, type OnnxBundleSpec } from '../../../server/engine/runtime';

// ONNX versions evaluated on the sample's test split: the metrics equal ones computed here, by
// hand, from the runtime's raw predictions on the same rows.
const FIX = join(__dirname, '..', '..', 'fixtures', 'onnx');
const root = mkdtempSync(join(tmpdir(), 'modelops-onnx-eval-'));
mkdirSync(join(root, 'data'));
copyFileSync(
  join(__dirname, '..', '..', '..', 'examples', 'sample', 'data', 'seattle-weather.csv'),
  join(root, 'data', 'seattle-weather.csv'),
);
const SPLIT = { train: 0.7, validation: 0.15, test: 0.15, seed: 42 };
const FOUR = ['precipitation', 'temp_max', 'temp_min', 'wind'];

mkdirSync(join(root, 'models'));
for (const f of [
  'weather-mlp-v1.onnx',
  'weather-mlp-6in.onnx',
  'temp-max-regressor.onnx',
  'weather-logreg-per-column.onnx',
  'weather-mlp-label-probs.onnx',
])
  copyFileSync(join(FIX, f), join(root, 'models', f));

function config(
  name: string,
  model: string,
  task: string,
  target: string,
  features: string[],
  gates: string,
  file: string,
  onnx = '',
): string {
  const p = join(root, `${name}.yaml`);
  writeFileSync(
    p,
    `version: 1
project: eval
data:
  train: data/seattle-weather.csv
  target: ${target}
  features: [${features.join(', ')}]
  split: { train: ${SPLIT.train}, validation: ${SPLIT.validation}, test: ${SPLIT.test}, seed: ${SPLIT.seed} }
model:
  name: ${model}
  task: ${task}
  framework: onnx
  path: models/${file}
${onnx}evaluate:
  gates: ${gates}
`,
  );
  return p;
}

let registry: Registry;
test.before(() => {
  registry = openRegistry(root);
});
test.after(() => {
  registry.close();
  rmSync(root, { recursive: true, force: true });
});

async function testRows(target: string, features: string[]): Promise<Array<Record<string, unknown>>> {
  const d = await loadTrainingData(
    { train: 'data/seattle-weather.csv', format: 'csv', target, features, split: SPLIT, missing: 'drop' },
    { configDir: root, root },
  );
  return d.test.rows;
}

async function register(model: string, file: string, spec: OnnxBundleSpec): Promise<string> {
  const dir = join(root, 'bundles', `${model}-${file}`);
  await writeOnnxBundle(dir, join(FIX, file), spec);
  const v = await registry.registerVersion({ model, source: dir });
  return `${v.model}@${v.version}`;
}

test('a classifier: accuracy and log_loss equal the hand-computed ones; a failed gate is recorded as failed', async () => {
  const ref = await register('weather-onnx', 'weather-mlp-v1.onnx', { target: 'weather' });
  const r = await evaluateVersion({
    registry,
    ref,
    configPath: config(
      'c',
      'weather-onnx',
      'classification',
      'weather',
      FOUR,
      '{ accuracy: ">= 0.99", log_loss: "<= 5" }',
      'weather-mlp-v1.onnx',
    ),
  });
  const rows = await testRows('weather', FOUR);
  const rt = await openOnnxFile(join(FIX, 'weather-mlp-v1.onnx'));
  const preds = await rt.predict(rows);
  rt.dispose();
  const labels = rt.labels!;
  let correct = 0;
  let nll = 0;
  preds.forEach((p, i) => {
    if (p.value === rows[i].weather) correct++;
    const q = p.probabilities![labels.indexOf(String(rows[i].weather))];
    nll -= Math.log(Math.min(Math.max(q, 2.220446049250313e-16), 1 - 2.220446049250313e-16));
  });
  assert.equal(r.rows, rows.length);
  assert.ok(
    Math.abs(r.metrics.accuracy - correct / rows.length) < 1e-12,
    `accuracy ${r.metrics.accuracy} vs ${correct / rows.length}`,
  );
  assert.ok(
    Math.abs(r.metrics.log_loss - nll / rows.length) < 1e-9,
    `log_loss ${r.metrics.log_loss} vs ${nll / rows.length}`,
  );
  assert.match(r.data, /seattle-weather\.csv \(test split\)/);
  assert.equal(gateState(r.version.gates), 'failed');
  assert.deepEqual(
    r.gates?.results.map((g) => g.passed),
    [false, true],
  );
});

test('a model with its own label output: accuracy follows that output', async () => {
  const ref = await register('weather-label', 'weather-mlp-label-probs.onnx', { target: 'weather' });
  const r = await evaluateVersion({
    registry,
    ref,
    configPath: config(
      'l',
      'weather-label',
      'classification',
      'weather',
      FOUR,
      '{ accuracy: ">= 0.5" }',
      'weather-mlp-label-probs.onnx',
    ),
  });
  const rows = await testRows('weather', FOUR);
  const rt = await openOnnxFile(join(FIX, 'weather-mlp-label-probs.onnx'));
  const preds = await rt.predict(rows);
  rt.dispose();
  const correct = preds.filter((p, i) => p.value === rows[i].weather).length;
  assert.ok(Math.abs(r.metrics.accuracy - correct / rows.length) < 1e-12);
  assert.equal(gateState(r.version.gates), 'passed');
});

test('per-column inputs and derived inputs evaluate through the same path', async () => {
  const ref = await register('weather-6in', 'weather-mlp-6in.onnx', {
    target: 'weather',
    derived: { month: 'month(date)', day_of_year: 'dayofyear(date)' },
  });
  const r = await evaluateVersion({
    registry,
    ref,
    configPath: config(
      'd',
      'weather-6in',
      'classification',
      'weather',
      FOUR,
      '{}',
      'weather-mlp-6in.onnx',
      '  onnx:\n    derived: { month: "month(date)", day_of_year: "dayofyear(date)" }\n',
    ),
  });
  const rows = await testRows('weather', [...FOUR, 'date']);
  const rt = await openOnnxFile(join(FIX, 'weather-mlp-6in.onnx'), {
    derived: { month: 'month(date)', day_of_year: 'dayofyear(date)' },
  });
  const preds = await rt.predict(rows);
  rt.dispose();
  assert.ok(
    Math.abs(r.metrics.accuracy - preds.filter((p, i) => p.value === rows[i].weather).length / rows.length) < 1e-12,
  );
  assert.equal(r.gates, null);

  const pc = await register('weather-pc', 'weather-logreg-per-column.onnx', { target: 'weather' });
  const r2 = await evaluateVersion({
    registry,
    ref: pc,
    configPath: config('p', 'weather-pc', 'classification', 'weather', FOUR, '{}', 'weather-logreg-per-column.onnx'),
  });
  assert.equal(r2.rows, rows.length);
  assert.ok(r2.metrics.accuracy > 0.5 && r2.metrics.accuracy <= 1);
});

test('a regressor: MAE, MSE, RMSE and R² equal the hand-computed ones, on the test split and on --data', async () => {
  const three = ['precipitation', 'temp_min', 'wind'];
  const ref = await register('temp', 'temp-max-regressor.onnx', { target: 'temp_max', task: 'regression' });
  const configPath = config(
    'r',
    'temp',
    'regression',
    'temp_max',
    three,
    '{ rmse: "<= 10" }',
    'temp-max-regressor.onnx',
  );
  const r = await evaluateVersion({ registry, ref, configPath });
  const rows = await testRows('temp_max', three);
  const rt = await openOnnxFile(join(FIX, 'temp-max-regressor.onnx'), { task: 'regression' });
  const preds = (await rt.predict(rows)).map((p) => p.value as number);
  rt.dispose();
  const y = rows.map((row) => row.temp_max as number);
  const n = y.length;
  const mean = y.reduce((a, b) => a + b, 0) / n;
  const mae = y.reduce((a, v, i) => a + Math.abs(v - preds[i]), 0) / n;
  const mse = y.reduce((a, v, i) => a + (v - preds[i]) ** 2, 0) / n;
  const r2 = 1 - (mse * n) / y.reduce((a, v) => a + (v - mean) ** 2, 0);
  for (const [k, want] of Object.entries({ mae, mse, rmse: Math.sqrt(mse), r2 }))
    assert.ok(Math.abs(r.metrics[k] - want) < 1e-9, `${k}: ${r.metrics[k]} vs ${want}`);
  assert.equal(gateState(r.version.gates), 'passed');

  const file = join(root, 'data', 'few.csv');
  writeFileSync(file, 'precipitation,temp_min,wind,temp_max\n0,5,3,12\n10,2,6,8\n');
  const onFile = await evaluateVersion({ registry, ref, configPath, dataPath: file, gate: false });
  assert.equal(onFile.rows, 2);
  const rt2 = await openOnnxFile(join(FIX, 'temp-max-regressor.onnx'), { task: 'regression' });
  const p2 = (
    await rt2.predict([
      { precipitation: 0, temp_min: 5, wind: 3 },
      { precipitation: 10, temp_min: 2, wind: 6 },
    ])
  ).map((p) => p.value as number);
  rt2.dispose();
  assert.ok(Math.abs(onFile.metrics.mae - (Math.abs(12 - p2[0]) + Math.abs(8 - p2[1])) / 2) < 1e-9);

  // With its test split (as `versions register --config` passes it), the bundle records the rows'
  // inputs, predictions and true values: DLE's reference while production labels are late.
  const dir = join(root, 'bundles', 'temp-with-split');
  const manifest = await writeOnnxBundle(dir, join(FIX, 'temp-max-regressor.onnx'), {
    task: 'regression',
    target: 'temp_max',
    columns: three,
    reference: { rows },
    evaluation: { rows },
  });
  const split = manifest.profile!.evaluationLoss!;
  assert.equal(split.rows, n);
  assert.deepEqual(split.truth, y);
  assert.deepEqual(split.predictions, preds);
  assert.deepEqual(
    split.inputs.wind,
    rows.map((row) => row.wind),
  );
});
