import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import type { Registry } from '../../../server/engine/registry/types';
import { train } from '../../../server/engine/training/trainer';
import { parseMetricsLine } from '../../../server/engine/training/external';
import { ModelOpsError } from '../../../server/engine/errors';
import { gateState } from '../../../shared/gateState';
import { openOnnxFile } from '../../../server/engine/runtime';
import { loadTrainingData } from '../../../server/engine/data/splits';

const root = mkdtempSync(join(tmpdir(), 'modelops-ext-'));
mkdirSync(join(root, 'data'));
copyFileSync(join(__dirname, '../../../examples/sample/data/seattle-weather.csv'), join(root, 'data/d.csv'));
const FIXTURE = join(__dirname, '../../fixtures/onnx/weather-mlp-v1.onnx');

// A trainer script: metrics as JSON lines on stdout, a log line, the env, an output file.
writeFileSync(
  join(root, 'train.js'),
  `const fs = require('fs');
const path = require('path');
if (process.env.FAIL) { for (let i = 1; i <= 25; i++) console.error('trace line ' + i); process.exit(3); }
console.log('loading data');
for (let s = 1; s <= 3; s++) console.log(JSON.stringify({ step: s, metrics: { loss: 1 / s, accuracy: 0.5 + s / 10 } }));
fs.writeFileSync(path.join(process.env.MODELOPS_RUN_DIR, 'env.json'), JSON.stringify({ id: process.env.MODELOPS_RUN_ID, file: process.env.MODELOPS_METRICS_FILE, cwd: process.cwd() }));
fs.mkdirSync('out', { recursive: true });
// A PyTorch export of a classifier trained on the same data (a real trainer would train it here).
fs.copyFileSync(${JSON.stringify(FIXTURE)}, process.env.OUT || 'out/model.onnx');
`,
);

function config(name: string, command: string, gates = '{}', outputs = 'out/model.onnx'): string {
  const p = join(root, name);
  writeFileSync(
    p,
    `version: 1
project: ext
data:
  train: data/d.csv
  target: weather
  features: [precipitation, temp_max, temp_min, wind]
  split: { train: 0.7, validation: 0.15, test: 0.15, seed: 42 }
  missing: drop
model:
  name: ext-model
  task: classification
  framework: command
train:
  epochs: 3
  batchSize: 2
  optimizer: adam
  learningRate: 0.01
  seed: 1
  classWeights: none
  command: ${command}
  outputs: ${outputs}
evaluate:
  metrics: [accuracy, log_loss]
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

test('metrics lines are JSON objects with a metrics object; anything else is a log line', () => {
  assert.deepEqual(parseMetricsLine('{"step": 3, "metrics": {"loss": 0.31, "note": "x"}}'), {
    step: 3,
    metrics: { loss: 0.31 },
  });
  assert.equal(parseMetricsLine('epoch 3 loss 0.31'), null);
  assert.equal(parseMetricsLine('{"loss": 0.31}'), null);
  assert.equal(parseMetricsLine('{not json'), null);
});

test('an untrusted workspace does not run train.command', async () => {
  await assert.rejects(
    train({ configPath: config('a.yaml', 'node train.js'), registry, trusted: false }),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'untrusted-workspace',
  );
  assert.equal(registry.listRuns().length, 0, 'no run was even created');
});

test('a trusted external trainer streams metrics and its output is registered', async () => {
  const logs: string[] = [];
  const steps: number[] = [];
  const r = await train({
    configPath: config('b.yaml', 'node train.js'),
    registry,
    trusted: true,
    onLog: (l) => logs.push(l),
    onProgress: (p) => p.epoch > 0 && steps.push(p.epoch),
  });
  assert.equal(r.backend, 'command');
  assert.equal(r.version.model, 'ext-model');
  assert.equal(r.version.format, 'onnx');
  assert.equal(r.version.runId, r.run.id);
  // The trainer's own accuracy (0.8) gives way to the one ModelOps measured on the test split.
  assert.equal(r.metrics.loss, 1 / 3);
  assert.notEqual(r.metrics.accuracy, 0.8);
  assert.ok(r.report && r.report.task === 'classification');
  assert.equal(r.version.metrics.accuracy, r.metrics.accuracy);
  assert.equal(r.gates, null, 'no gates configured');
  assert.deepEqual(
    registry.runMetrics(r.run.id).map((p) => p.step),
    [1, 2, 3],
  );
  assert.ok(steps.includes(3));
  assert.deepEqual(logs, ['loading data']);
  assert.equal(registry.getRun(r.run.id).status, 'succeeded');
  const env = JSON.parse(
    await import('node:fs').then((fs) =>
      fs.readFileSync(join(registry.storeDir, 'runs', r.run.id, 'env.json'), 'utf8'),
    ),
  ) as Record<string, string>;
  assert.equal(env.id, r.run.id);
  assert.equal(env.cwd, root);
  assert.ok(env.file.endsWith('metrics.jsonl'));
});

test('a non-zero exit fails the run with the last 20 lines of stderr and registers nothing', async () => {
  const before = registry.listVersions({ model: 'ext-model' }).total;
  await assert.rejects(
    train({ configPath: config('c.yaml', 'FAIL=1 node train.js'), registry, trusted: true }),
    (e: unknown) => {
      assert.ok(e instanceof ModelOpsError && e.code === 'trainer-failed');
      assert.match(e.message, /exited with code 3/);
      assert.match(e.message, /trace line 25/);
      assert.match(e.message, /trace line 6\n/);
      assert.doesNotMatch(e.message, /trace line 5\n/);
      return true;
    },
  );
  assert.equal(registry.listVersions({ model: 'ext-model' }).total, before);
  const run = registry.listRuns({ model: 'ext-model' })[0];
  assert.equal(run.status, 'failed');
  assert.match(run.error ?? '', /trace line 25/);
});

/** Accuracy of the fixture on the config's test split, computed here from the runtime's predictions. */
async function expectedAccuracy(): Promise<number> {
  const d = await loadTrainingData(
    {
      train: 'data/d.csv',
      format: 'csv',
      target: 'weather',
      features: ['precipitation', 'temp_max', 'temp_min', 'wind'],
      split: { train: 0.7, validation: 0.15, test: 0.15, seed: 42 },
      missing: 'drop',
    },
    { configDir: root, root },
  );
  const rt = await openOnnxFile(FIXTURE);
  try {
    const preds = await rt.predict(d.test.rows);
    return preds.filter((p, i) => p.value === d.test.rows[i].weather).length / preds.length;
  } finally {
    rt.dispose();
  }
}

test('an .onnx output is evaluated on the test split and gated; a failed gate refuses promotion without a reason', async () => {
  const accuracy = await expectedAccuracy();
  const r = await train({
    configPath: config('g.yaml', 'node train.js', '{ accuracy: ">= 0.99" }'),
    registry,
    trusted: true,
  });
  assert.ok(Math.abs(r.metrics.accuracy - accuracy) < 1e-12, `accuracy ${r.metrics.accuracy} vs ${accuracy}`);
  assert.ok(r.gates);
  assert.equal(r.gates.passed, false);
  assert.equal(r.gates.results[0].actual, r.metrics.accuracy);
  assert.equal(gateState(r.version.gates), 'failed');
  assert.throws(
    () => registry.setAlias('ext-model', 'production', r.version.version),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.code === 'gates-failed' &&
      e.message.includes(
        `ext-model@${r.version.version} cannot become 'production': its quality gates failed (accuracy ${r.metrics.accuracy.toFixed(4)} is not ≥ 0.9900)`,
      ),
  );
  const move = registry.setAlias('ext-model', 'production', r.version.version, null, {
    forceReason: 'demo, accepted by the lead',
  });
  assert.equal(move.forceReason, 'demo, accepted by the lead');
  assert.equal(gateState(registry.getVersion(`ext-model@${r.version.version}`).gates), 'overridden');

  const ok = await train({
    configPath: config('h.yaml', 'node train.js', '{ accuracy: ">= 0.5" }'),
    registry,
    trusted: true,
  });
  assert.equal(gateState(ok.version.gates), 'passed');
});

test('an output ModelOps cannot run is registered with its gates "not evaluated", and promotion needs a reason', async () => {
  const r = await train({
    configPath: config('n.yaml', 'OUT=out/model.pt node train.js', '{ accuracy: ">= 0.5" }', 'out/model.pt'),
    registry,
    trusted: true,
  });
  assert.equal(gateState(r.version.gates), 'not-evaluated');
  assert.equal(r.version.gates?.passed, false);
  assert.match(r.notes.join('\n'), /train.outputs 'out\/model.pt' is not an .onnx file/);
  assert.throws(
    () => registry.setAlias('ext-model', 'staging', r.version.version),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.code === 'gates-failed' &&
      /its quality gates were not evaluated \(train.outputs 'out\/model.pt' is not an .onnx file/.test(e.message),
  );
});

test('a corrupt .onnx output fails the run and registers nothing', async () => {
  writeFileSync(
    join(root, 'corrupt.js'),
    `require('fs').mkdirSync('out', { recursive: true }); require('fs').writeFileSync('out/bad.onnx', 'not really onnx');`,
  );
  const before = registry.listVersions({ model: 'ext-model' }).total;
  await assert.rejects(
    train({ configPath: config('k.yaml', 'node corrupt.js', '{}', 'out/bad.onnx'), registry, trusted: true }),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'onnx-corrupt' && e.message.includes('bad.onnx'),
  );
  assert.equal(registry.listVersions({ model: 'ext-model' }).total, before);
});
