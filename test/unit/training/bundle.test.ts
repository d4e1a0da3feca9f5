import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBackend, parseBackendChoice, tf } from '../../../server/engine/tfjs/backend';
import { buildModel, classWeights, lossFor } from '../../../server/engine/training/model';
import { loadModelBundle, makeSignature, MANIFEST_FORMAT, writeBundle } from '../../../server/engine/model/bundle';
import { fitTransforms, transformRows } from '../../../server/engine/data/preprocess';
import { buildProfile } from '../../../server/engine/data/profile';
import { ModelOpsError } from '../../../server/engine/errors';
import type { ModelManifest } from '../../../server/engine/model/types';

const dir = mkdtempSync(join(tmpdir(), 'modelops-bundle-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function hasTfjsNode(): boolean {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

test('backend: auto prefers tfjs-node, else wasm, and says why it skipped one', async () => {
  const info = await ensureBackend('auto');
  const expected = hasTfjsNode() ? 'tensorflow' : 'wasm';
  assert.equal(info.name, expected);
  assert.equal(tf.getBackend(), expected);
  assert.throws(() => parseBackendChoice('gpu'), ModelOpsError);
  if (!hasTfjsNode()) {
    assert.ok(
      info.notes.some((n) => n.startsWith('tensorflow: @tensorflow/tfjs-node is not installed')),
      info.notes.join('; '),
    );
    await assert.rejects(
      ensureBackend('tensorflow'),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'backend-unavailable',
    );
  }
  assert.equal((await ensureBackend('cpu')).name, 'cpu');
  assert.equal((await ensureBackend('auto')).name, 'cpu', 'auto keeps the backend already chosen');
  assert.equal((await ensureBackend(expected)).name, expected);
});

test('bundle round trip: predictions from the loaded bundle equal the in-memory model', async () => {
  await ensureBackend('auto');
  const rows = Array.from({ length: 40 }, (_, i) => ({ a: i / 3, b: i % 2 ? 'x' : 'y', c: Math.sin(i) }));
  const cols = [
    { name: 'a', type: 'number' as const },
    { name: 'b', type: 'string' as const },
    { name: 'c', type: 'number' as const },
  ];
  const features = fitTransforms(rows, cols, 'drop');
  const labels = ['l0', 'l1', 'l2'];
  const { model } = buildModel({
    task: 'classification',
    inputWidth: 4,
    classes: 3,
    layers: [
      { type: 'dense', units: 8, activation: 'relu' },
      { type: 'batchNormalization' },
      { type: 'dropout', rate: 0.2 },
      { type: 'dense', units: 3, activation: 'softmax' },
    ],
    optimizer: 'adam',
    learningRate: 0.01,
    seed: 1,
  });
  const x = transformRows(rows, features);
  const inMemory = (model.predict(tf.tensor2d(x, [40, 4])) as tf.Tensor).dataSync();
  const manifest: ModelManifest = {
    format: MANIFEST_FORMAT,
    task: 'classification',
    target: 'y',
    features,
    labels,
    signature: makeSignature(features, 'classification', labels),
    profile: buildProfile(rows, features, [], 1),
    backend: 'wasm',
    trainedAt: new Date().toISOString(),
  };
  const bundle = join(dir, 'b1');
  await writeBundle(bundle, model, manifest);
  assert.deepEqual(readdirSync(bundle).sort(), ['model.json', 'modelops.json', 'weights.bin']);
  const loaded = await loadModelBundle(bundle);
  const preds = await loaded.predict(rows);
  for (let i = 0; i < 40; i++) {
    const p = preds[i].probabilities!;
    for (let j = 0; j < 3; j++) assert.ok(Math.abs(p[j] - inMemory[i * 3 + j]) < 1e-6, `row ${i} class ${j}`);
    const best = p.indexOf(Math.max(...p));
    assert.equal(preds[i].value, labels[best]);
  }
  assert.deepEqual(
    loaded.manifest.signature.inputs.map((s) => `${s.name}:${s.datatype}`),
    ['a:FP32', 'b:BYTES', 'c:FP32'],
  );
  await assert.rejects(
    loaded.predict([{ a: 1, b: 'unseen', c: 0 }]),
    (e: unknown) =>
      e instanceof ModelOpsError && e.code === 'unseen-category' && /column 'b'.*'unseen'/.test(e.message),
  );
  loaded.dispose();
  model.dispose();
  await assert.rejects(
    loadModelBundle(join(dir, 'nope')),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'bundle-incomplete',
  );
});

test('seeded initialisation: the same seed builds the same weights', async () => {
  await ensureBackend('auto');
  const spec = {
    task: 'regression' as const,
    inputWidth: 3,
    classes: 1,
    layers: [
      { type: 'dense' as const, units: 4, activation: 'relu' as const },
      { type: 'dense' as const, units: 1 },
    ],
    optimizer: 'sgd' as const,
    learningRate: 0.1,
    seed: 9,
  };
  const a = buildModel(spec).model;
  const b = buildModel(spec).model;
  const c = buildModel({ ...spec, seed: 10 }).model;
  const w = (m: tf.LayersModel) => Array.from(m.getWeights()[0].dataSync());
  assert.deepEqual(w(a), w(b));
  assert.notDeepEqual(w(a), w(c));
  [a, b, c].forEach((m) => m.dispose());
});

test('loss from the task and the output layer; class weights balanced = n / (k · count)', () => {
  assert.equal(
    lossFor({ task: 'classification', classes: 3, layers: [{ type: 'dense', units: 3, activation: 'softmax' }] }),
    'categoricalCrossentropy',
  );
  assert.equal(
    lossFor({ task: 'classification', classes: 2, layers: [{ type: 'dense', units: 1, activation: 'sigmoid' }] }),
    'binaryCrossentropy',
  );
  assert.equal(lossFor({ task: 'regression', classes: 1, layers: [{ type: 'dense', units: 1 }] }), 'meanSquaredError');
  assert.throws(
    () => lossFor({ task: 'classification', classes: 5, layers: [{ type: 'dense', units: 4, activation: 'softmax' }] }),
    (e: unknown) =>
      e instanceof ModelOpsError && /model\.layers\[0\]\.units is 4 but the target has 5 classes/.test(e.message),
  );
  assert.deepEqual(classWeights('balanced', ['a', 'b'], Int32Array.from([0, 0, 0, 1])), { 0: 4 / 6, 1: 2 });
  assert.deepEqual(classWeights({ b: 3 }, ['a', 'b'], Int32Array.from([0, 1])), { 0: 1, 1: 3 });
  assert.equal(classWeights('none', ['a'], Int32Array.from([0])), undefined);
  assert.throws(() => classWeights({ zzz: 2 }, ['a', 'b'], Int32Array.from([0, 1])), ModelOpsError);
});
