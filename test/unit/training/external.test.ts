import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import type { Registry } from '../../../server/engine/registry/types';
import { train } from '../../../server/engine/training/trainer';
import { parseMetricsLine } from '../../../server/engine/training/external';
import { ModelOpsError } from '../../../server/engine/errors';

const root = mkdtempSync(join(tmpdir(), 'modelops-ext-'));
mkdirSync(join(root, 'data'));
writeFileSync(join(root, 'data/d.csv'), 'x,y\n1,a\n2,b\n3,a\n4,b\n');

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
fs.writeFileSync('out/model.onnx', 'not really onnx ' + Date.now());
`,
);

function config(name: string, command: string): string {
  const p = join(root, name);
  writeFileSync(
    p,
    `version: 1
project: ext
data:
  train: data/d.csv
  target: y
  split: { train: 0.5, validation: 0.25, test: 0.25, seed: 1 }
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
  outputs: out/model.onnx
evaluate:
  metrics: [accuracy]
  gates: {}
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
  assert.deepEqual(parseMetricsLine('{"step": 3, "metrics": {"loss": 0.31, "note": "x"}}'), { step: 3, metrics: { loss: 0.31 } });
  assert.equal(parseMetricsLine('epoch 3 loss 0.31'), null);
  assert.equal(parseMetricsLine('{"loss": 0.31}'), null);
  assert.equal(parseMetricsLine('{not json'), null);
});

test('an untrusted workspace does not run train.command', async () => {
  await assert.rejects(train({ configPath: config('a.yaml', 'node train.js'), registry, trusted: false }), (e: unknown) => e instanceof ModelOpsError && e.code === 'untrusted-workspace');
  assert.equal(registry.listRuns().length, 0, 'no run was even created');
});

test('a trusted external trainer streams metrics and its output is registered', async () => {
  const logs: string[] = [];
  const steps: number[] = [];
  const r = await train({ configPath: config('b.yaml', 'node train.js'), registry, trusted: true, onLog: (l) => logs.push(l), onProgress: (p) => p.epoch > 0 && steps.push(p.epoch) });
  assert.equal(r.backend, 'command');
  assert.equal(r.version.model, 'ext-model');
  assert.equal(r.version.format, 'onnx');
  assert.equal(r.version.runId, r.run.id);
  assert.deepEqual(r.metrics, { loss: 1 / 3, accuracy: 0.8 });
  assert.deepEqual(registry.runMetrics(r.run.id).map((p) => p.step), [1, 2, 3]);
  assert.ok(steps.includes(3));
  assert.deepEqual(logs, ['loading data']);
  assert.equal(registry.getRun(r.run.id).status, 'succeeded');
  const env = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(join(registry.storeDir, 'runs', r.run.id, 'env.json'), 'utf8'))) as Record<string, string>;
  assert.equal(env.id, r.run.id);
  assert.equal(env.cwd, root);
  assert.ok(env.file.endsWith('metrics.jsonl'));
});

test('a non-zero exit fails the run with the last 20 lines of stderr and registers nothing', async () => {
  const before = registry.listVersions({ model: 'ext-model' }).total;
  await assert.rejects(train({ configPath: config('c.yaml', 'FAIL=1 node train.js'), registry, trusted: true }), (e: unknown) => {
    assert.ok(e instanceof ModelOpsError && e.code === 'trainer-failed');
    assert.match(e.message, /exited with code 3/);
    assert.match(e.message, /trace line 25/);
    assert.match(e.message, /trace line 6\n/);
    assert.doesNotMatch(e.message, /trace line 5\n/);
    return true;
  });
  assert.equal(registry.listVersions({ model: 'ext-model' }).total, before);
  const run = registry.listRuns({ model: 'ext-model' })[0];
  assert.equal(run.status, 'failed');
  assert.match(run.error ?? '', /trace line 25/);
});
