import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import type { Registry } from '../../../server/engine/registry/types';
import { train, type TrainProgress } from '../../../server/engine/training/trainer';
import { evaluateVersion, readStoredFairness } from '../../../server/engine/evaluation/evaluate';
import { loadModelBundle } from '../../../server/engine/model/bundle';
import { ModelOpsError } from '../../../server/engine/errors';
import { weatherWorkspace } from '../fixtures/weather';
import { sampleAccuracy } from '../fixtures/evaluationSample';

// A real workspace: every 4th row of the sample data (366 rows, all five classes), real
// SQLite registry, real TensorFlow.js in a real worker thread.
const ws = weatherWorkspace('modelops-train-');
const root = ws.root;

function config(name: string, extra: { epochs?: number; data?: string; units?: number; model?: string } = {}): string {
  return ws.config(name, {
    project: 'test',
    ...(extra.data ? { data: extra.data } : {}),
    model: extra.model ?? 'weather',
    layers: [
      '{ type: dense, units: 16, activation: relu }',
      '{ type: dropout, rate: 0.1 }',
      `{ type: dense, units: ${extra.units ?? 5}, activation: softmax }`,
    ],
    train: { epochs: extra.epochs ?? 4, classWeights: 'balanced' },
    rest: `evaluate:
  metrics: [accuracy, f1_macro, log_loss]
  gates:
    accuracy: ">= 0.3"
    f1_macro: ">= production - 0.02"
`,
  });
}

let registry: Registry;
const versionsOf = (model: string): number => {
  try {
    return registry.listVersions({ model }).total;
  } catch (e) {
    if (e instanceof ModelOpsError) return 0; // no such model yet
    throw e;
  }
};
const slice = ws.lines;
test.before(() => {
  registry = openRegistry(root);
});
test.after(() => {
  registry.close();
  ws.cleanup();
});

test('training registers a version with lineage, per-epoch run metrics and a loadable bundle', async () => {
  const progress: TrainProgress[] = [];
  const result = await train({ configPath: config('modelops.yaml'), registry, onProgress: (p) => progress.push(p) });
  assert.equal(result.version.model, 'weather');
  assert.equal(result.version.version, '1.0.0');
  assert.equal(result.version.format, 'modelops-tfjs');
  assert.equal(result.version.runId, result.run.id);
  assert.ok(result.version.configDigest);
  assert.deepEqual(
    result.version.datasets.map((d) => `${d.role}:${d.path}`),
    ['train:data/weather.csv'],
  );
  assert.match(result.version.datasets[0].digest, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(
    result.version.signature?.inputs.map((i) => i.name),
    ['precipitation', 'temp_max', 'temp_min', 'wind'],
  );
  assert.ok(result.metrics.accuracy > 0.3 && result.metrics.accuracy <= 1, `accuracy ${result.metrics.accuracy}`);
  assert.ok(result.version.metrics.f1_macro !== undefined);
  assert.equal(result.gates?.passed, true);
  assert.equal(result.version.gates?.results.length, 2);
  assert.ok(['tensorflow', 'wasm'].includes(result.backend), result.backend);
  assert.ok(result.samplesPerSecond > 0);

  const run = registry.getRun(result.run.id);
  assert.equal(run.status, 'succeeded');
  assert.equal(run.backend, result.backend);
  assert.equal(run.version, '1.0.0');
  const points = registry.runMetrics(run.id);
  assert.equal(points.length, result.epochsRun);
  assert.deepEqual(
    points.map((p) => p.step),
    Array.from({ length: result.epochsRun }, (_, i) => i + 1),
  );
  assert.ok(['loss', 'acc', 'val_loss', 'val_acc'].every((k) => typeof points[0].metrics[k] === 'number'));

  const epochs = progress.filter((p) => p.epoch > 0 && p.message.startsWith('epoch'));
  assert.equal(epochs.length, result.epochsRun);
  assert.match(epochs[0].message, /^epoch 1\/4 · loss \d+\.\d{3}$/);
  assert.equal(progress.at(-1)?.fraction, 1);

  // The registered artifact is a complete bundle that predicts.
  const model = await loadModelBundle(await registry.artifactPath('weather@1.0.0'));
  const preds = await model.predict([{ precipitation: 10, temp_max: 8, temp_min: 3, wind: 5 }]);
  assert.ok(model.manifest.labels?.includes(String(preds[0].value)));
  assert.equal(model.manifest.profile.features.temp_max.kind, 'numeric');
  // The test split's probabilities and classes go with the version (CBPE's reference when labels
  // come late): their arg-max accuracy is the recorded test accuracy.
  const split = model.manifest.profile.evaluation!;
  const k = model.manifest.labels!.length;
  assert.ok(split.rows > 0 && split.truth.length === split.rows && split.probabilities.length === split.rows * k);
  const accuracy = sampleAccuracy(split, k);
  assert.ok(Math.abs(accuracy - result.metrics.accuracy) < 0.01, `${accuracy} vs ${result.metrics.accuracy}`);
  model.dispose();

  // Evaluation rebuilds the same held-out split and reproduces the training metrics.
  const ev = await evaluateVersion({ registry, ref: 'weather@1.0.0', configPath: join(root, 'modelops.yaml') });
  for (const k of ['accuracy', 'f1_macro', 'log_loss'])
    assert.ok(Math.abs(ev.metrics[k] - result.metrics[k]) < 1e-6, k);
  assert.equal(ev.run.kind, 'evaluate');
  assert.equal(ev.gates?.passed, true);
  assert.match(ev.data, /test split/);
});

test('cancellation stops training, records the run as cancelled and registers nothing', async () => {
  const controller = new AbortController();
  await assert.rejects(
    train({
      configPath: config('cancel.yaml', { epochs: 200, model: 'cancel-me' }),
      registry,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.epoch === 1) controller.abort();
      },
    }),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'cancelled',
  );
  assert.equal(versionsOf('cancel-me'), 0);
  const run = registry.listRuns({ model: 'cancel-me' })[0];
  assert.equal(run.status, 'cancelled');
  assert.ok(registry.runMetrics(run.id).length < 5, 'stopped within the epoch that saw the cancel');
});

test('a failure registers nothing and marks the run failed with the error', async () => {
  writeFileSync(
    join(root, 'data/bad.csv'),
    [slice[0], slice[1], slice[2].replace(/,([\d.]+),/, ',warm,'), ...slice.slice(3)].join('\n') + '\n',
  );
  await assert.rejects(
    train({ configPath: config('bad.yaml', { data: 'data/bad.csv', model: 'bad' }), registry }),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.code === 'not-a-number' &&
      /data\/bad\.csv line 3, column 'precipitation'/.test(e.message),
  );
  assert.equal(versionsOf('bad'), 0);
  const run = registry.listRuns({ model: 'bad' })[0];
  assert.equal(run.status, 'failed');
  assert.match(run.error ?? '', /line 3, column 'precipitation'/);
});

test('the version keeps the config it was trained with, even when the file is edited mid-run', async () => {
  const path = config('snapshot.yaml', { model: 'snapshot', epochs: 3 });
  const original = readFileSync(path, 'utf8');
  let edited = false;
  const result = await train({
    configPath: path,
    registry,
    onProgress: (p) => {
      if (!edited && p.epoch >= 1) {
        edited = true;
        writeFileSync(path, original.replace('epochs: 3', 'epochs: 99'));
      }
    },
  });
  assert.ok(edited, 'the file was edited while training ran');
  assert.equal(await registry.configText(`snapshot@${result.version.version}`), original);
});

test('training again on unchanged data and config says the new version computes what the earlier one does', async () => {
  const path = config('twice.yaml', { model: 'twice', epochs: 2 });
  const first = await train({ configPath: path, registry });
  assert.ok(!first.notes.some((n) => /computes what/.test(n)), first.notes.join('; '));
  const second = await train({ configPath: path, registry });
  assert.notEqual(second.version.artifactDigest, first.version.artifactDigest, 'the manifests differ (time stamp)');
  assert.ok(
    second.notes.includes(
      `twice@${second.version.version} computes what twice@${first.version.version} computes: the same network and weights (the same data, config and seed train the same model)`,
    ),
    second.notes.join('; '),
  );
  // Another seed trains other weights: no such note.
  writeFileSync(path, readFileSync(path, 'utf8').replace('\n  seed: 42\n', '\n  seed: 4242\n'));
  const third = await train({ configPath: path, registry });
  assert.ok(!third.notes.some((n) => /computes what/.test(n)), third.notes.join('; '));
});

test("a regression model records its test split: inputs, predictions and true values (DLE's reference while labels are late)", async () => {
  const path = join(root, 'regression.yaml');
  writeFileSync(
    path,
    readFileSync(config('regression-base.yaml', { model: 'temp', units: 1, epochs: 2 }), 'utf8')
      .replace('target: weather', 'target: temp_max')
      .replace(/features: \[[^\]]*\]/, 'features: [precipitation, temp_min, wind]')
      .replace('task: classification', 'task: regression')
      .replace('activation: softmax', 'activation: linear')
      .replace(/  classWeights: \S+\n/, '')
      .replace(/evaluate:[\s\S]*$/, 'evaluate:\n  metrics: [mae, rmse]\n'),
  );
  const r = await train({ configPath: path, registry });
  const model = await loadModelBundle(await registry.artifactPath(`temp@${r.version.version}`));
  try {
    const split = model.manifest.profile.evaluationLoss!;
    assert.equal(model.manifest.profile.evaluation, undefined, 'no class probabilities for a regressor');
    assert.deepEqual(Object.keys(split.inputs), ['precipitation', 'temp_min', 'wind']);
    assert.ok(split.rows > 0 && split.predictions.length === split.rows && split.truth.length === split.rows);
    // The rows the test metrics were computed on: the same mean absolute error.
    const mae = split.truth.reduce((a, t, i) => a + Math.abs(t - split.predictions[i]), 0) / split.rows;
    assert.ok(Math.abs(mae - r.metrics.mae) < 1e-6, `${mae} vs ${r.metrics.mae}`);
  } finally {
    model.dispose();
  }
});

test('evaluate.fairness is computed at training time: the fairness gate is judged, and equals what evaluate computes later', async () => {
  // The slice with a 'half' column (first or second half of the year), not a model feature.
  writeFileSync(
    join(root, 'data/fair.csv'),
    [`${slice[0]},half`, ...slice.slice(1).map((l) => `${l},${Number(l.slice(5, 7)) <= 6 ? 'H1' : 'H2'}`)].join('\n') +
      '\n',
  );
  const path = config('fair.yaml', { data: 'data/fair.csv', model: 'fair' }).replace(/$/, '');
  writeFileSync(
    path,
    readFileSync(path, 'utf8')
      .replace(
        'evaluate:\n',
        'evaluate:\n  fairness:\n    sensitive: [half]\n    metrics: [accuracy]\n    minGroupSize: 5\n',
      )
      .replace('    f1_macro: ">= production - 0.02"\n', '    demographic_parity_difference: "<= 1"\n'),
  );
  const r = await train({ configPath: path, registry, backend: 'cpu' });
  const dpd = r.version.metrics.demographic_parity_difference;
  assert.equal(typeof dpd, 'number', 'the fairness metric is recorded with the version');
  const gate = r.gates?.results.find((g) => g.metric === 'demographic_parity_difference');
  assert.equal(gate?.passed, true, 'the fairness gate is judged, not "not computed"');
  const stored = await readStoredFairness(registry, `${r.version.model}@${r.version.version}`);
  assert.deepEqual(
    stored?.report.breakdowns[0].groups.map((g) => g.name).sort(),
    ['half=H1', 'half=H2'],
    'the per-group report is kept with the version',
  );
  const e = await evaluateVersion({ registry, ref: `${r.version.model}@${r.version.version}`, configPath: path });
  assert.ok(
    Math.abs((e.metrics.demographic_parity_difference ?? NaN) - dpd) < 1e-9,
    'training and evaluate agree on the same test rows',
  );
});
