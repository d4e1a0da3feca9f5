import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBackend, tf } from '../../../server/engine/tfjs/backend';
import { buildModel } from '../../../server/engine/training/model';
import { makeSignature, MANIFEST_FORMAT, writeBundle } from '../../../server/engine/model/bundle';
import { fitTransforms, transformRows } from '../../../server/engine/data/preprocess';
import { buildProfile } from '../../../server/engine/data/profile';
import { loadRuntime } from '../../../server/engine/runtime';
import { ModelOpsError } from '../../../server/engine/errors';
import type { ModelManifest, Task } from '../../../server/engine/model/types';

const dir = mkdtempSync(join(tmpdir(), 'modelops-rt-tfjs-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const rows = Array.from({ length: 30 }, (_, i) => ({ a: i / 3, b: i % 3 === 0 ? 'x' : 'y', c: Math.cos(i) }));
const cols = [
  { name: 'a', type: 'number' as const },
  { name: 'b', type: 'string' as const },
  { name: 'c', type: 'number' as const },
];

async function bundle(
  name: string,
  task: Task,
  units: number,
  activation: 'softmax' | 'sigmoid' | 'linear',
  labels?: string[],
): Promise<{ path: string; inMemory: Float32Array }> {
  await ensureBackend('auto');
  const features = fitTransforms(rows, cols, 'drop');
  // buildModel insists on softmax for classifiers; a single sigmoid unit (bundles made elsewhere) is built by hand.
  const model =
    activation === 'sigmoid'
      ? tf.sequential({
          layers: [
            tf.layers.dense({ inputShape: [4], units: 6, activation: 'relu' }),
            tf.layers.dense({ units: 1, activation: 'sigmoid' }),
          ],
        })
      : buildModel({
          task,
          inputWidth: 4,
          classes: units,
          layers: [
            { type: 'dense', units: 6, activation: 'relu' },
            { type: 'dense', units, activation },
          ],
          optimizer: 'adam',
          learningRate: 0.01,
          seed: 2,
        }).model;
  const x = transformRows(rows, features);
  const inMemory = (model.predict(tf.tensor2d(x, [rows.length, 4])) as tf.Tensor).dataSync() as Float32Array;
  const manifest: ModelManifest = {
    format: MANIFEST_FORMAT,
    task,
    target: 'y',
    features,
    labels,
    signature: makeSignature(features, task, labels),
    profile: buildProfile(rows, features, [], 1),
    backend: 'cpu',
    trainedAt: new Date().toISOString(),
  };
  const path = join(dir, name);
  await writeBundle(path, model, manifest);
  model.dispose();
  return { path, inMemory };
}

test('a TF.js bundle through the runtime interface: rows, encode + batch, decode agree with the model', async () => {
  const labels = ['l0', 'l1', 'l2'];
  const { path, inMemory } = await bundle('softmax', 'classification', 3, 'softmax', labels);
  const rt = await loadRuntime(path);
  try {
    assert.equal(rt.kind, 'tfjs');
    assert.equal(rt.task, 'classification');
    assert.deepEqual(rt.labels, labels);
    assert.deepEqual(rt.features, ['a', 'b', 'c']);
    assert.deepEqual(
      rt.columns.map((c) => c.kind),
      ['numeric', 'categorical', 'numeric'],
    );
    assert.equal(rt.target, 'y');
    assert.equal(rt.encodedWidth, 4);
    assert.deepEqual(
      rt.signature.outputs.map((o) => o.name),
      ['label', 'probabilities'],
    );
    const x = rt.encode!(rows);
    const batch = await rt.predictBatch!(x, rows.length);
    assert.equal(batch.width, 3);
    for (let i = 0; i < inMemory.length; i++) assert.ok(Math.abs(batch.outputs[i] - inMemory[i]) < 1e-6);
    const preds = await rt.predict(rows);
    assert.deepEqual(rt.decode(batch, rows.length), preds);
    await assert.rejects(
      rt.predict([{ a: 1, b: 'z', c: 0 }]),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'unseen-category',
    );
  } finally {
    rt.dispose();
  }
});

test('TF.js binary sigmoid: the batch path returns [1 − p, p] like every runtime; regression returns values', async () => {
  const bin = await bundle('sigmoid', 'classification', 1, 'sigmoid', ['no', 'yes']);
  const rt = await loadRuntime(bin.path);
  try {
    const batch = await rt.predictBatch!(rt.encode!(rows), rows.length);
    assert.equal(batch.width, 2);
    for (let i = 0; i < rows.length; i++) {
      assert.ok(Math.abs(batch.outputs[2 * i + 1] - bin.inMemory[i]) < 1e-6);
      assert.ok(Math.abs(batch.outputs[2 * i] + batch.outputs[2 * i + 1] - 1) < 1e-6);
    }
    const preds = await rt.predict(rows.slice(0, 3));
    assert.deepEqual(rt.decode(batch, 3), preds);
  } finally {
    rt.dispose();
  }
  const reg = await bundle('regression', 'regression', 1, 'linear');
  const rr = await loadRuntime(reg.path);
  try {
    const batch = await rr.predictBatch!(rr.encode!(rows), rows.length);
    assert.equal(batch.width, 1);
    const preds = await rr.predict(rows);
    preds.forEach((p, i) => assert.ok(Math.abs((p.value as number) - reg.inMemory[i]) < 1e-6));
  } finally {
    rr.dispose();
  }
});
