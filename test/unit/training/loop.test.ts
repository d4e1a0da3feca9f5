import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureBackend, tf, type BackendName } from '../../../server/engine/tfjs/backend';
import { dropoutSeeds, runTraining } from '../../../server/engine/training/loop';
import { buildModel } from '../../../server/engine/training/model';
import { seededPermutation } from '../../../server/engine/data/split';
import type { TrainJob } from '../../../server/engine/training/messages';

// Synthetic 3-class data with a learnable rule, 203 rows: batches of 32 leave a partial last one.
function job(overrides: Partial<TrainJob> = {}): TrainJob {
  const n = 203;
  const w = 4;
  const k = 3;
  const x = new Float32Array(n * w);
  const y = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < w; j++) x[i * w + j] = Math.sin(i * 1.7 + j * 0.9) + (j === 0 ? (i % 3) * 0.5 : 0);
    y[i * k + (i % 3 === 0 ? 0 : x[i * w + 1] > 0 ? 1 : 2)] = 1;
  }
  const nVal = 40;
  return {
    type: 'train',
    network: {
      task: 'classification',
      inputWidth: w,
      classes: k,
      layers: [
        { type: 'dense', units: 8, activation: 'relu' },
        { type: 'batchNormalization' },
        { type: 'dropout', rate: 0.2 },
        { type: 'dense', units: k, activation: 'softmax' },
      ],
      optimizer: 'adam',
      learningRate: 0.02,
      seed: 7,
    },
    x,
    y,
    n,
    valX: x.slice(0, nVal * w),
    valY: y.slice(0, nVal * k),
    nVal,
    outputWidth: k,
    epochs: 3,
    batchSize: 32,
    seed: 11,
    classWeight: { 0: 1.5, 1: 0.75, 2: 1 },
    predict: [],
    bundleDir: '',
    ...overrides,
  };
}

/** The reference: tfjs-layers' own `fit`, one epoch per call on the same seeded shuffle. */
async function trainWithFit(j: TrainJob): Promise<{ weights: Float32Array[]; epochs: Array<Record<string, number>> }> {
  const { model } = buildModel(j.network);
  const w = j.network.inputWidth;
  const val = [tf.tensor2d(j.valX!, [j.nVal, w]), tf.tensor2d(j.valY!, [j.nVal, j.outputWidth])];
  const epochs: Array<Record<string, number>> = [];
  for (let e = 0; e < j.epochs; e++) {
    const perm = seededPermutation(j.n, j.seed + e);
    const gx = new Float32Array(j.n * w);
    const gy = new Float32Array(j.n * j.outputWidth);
    perm.forEach((p, i) => {
      gx.set(j.x.subarray(p * w, (p + 1) * w), i * w);
      gy.set(j.y.subarray(p * j.outputWidth, (p + 1) * j.outputWidth), i * j.outputWidth);
    });
    const xs = tf.tensor2d(gx, [j.n, w]);
    const ys = tf.tensor2d(gy, [j.n, j.outputWidth]);
    const h = await model.fit(xs, ys, {
      epochs: 1,
      batchSize: j.batchSize,
      shuffle: false,
      verbose: 0,
      classWeight: j.classWeight,
      validationData: val as [tf.Tensor, tf.Tensor],
    });
    xs.dispose();
    ys.dispose();
    epochs.push(Object.fromEntries(Object.entries(h.history).map(([key, v]) => [key, v[0] as number])));
  }
  const weights = model.getWeights().map((t) => t.dataSync() as Float32Array);
  const optimizer = model.optimizer;
  model.dispose();
  optimizer.dispose();
  tf.dispose(val);
  return { weights, epochs };
}

for (const backend of ['cpu', 'wasm'] as BackendName[]) {
  test(`${backend}: the epoch loop gives bit-identical weights and metrics to model.fit, and leaks no tensors`, async () => {
    await ensureBackend(backend);
    // Without dropout: fit() reuses a seeded layer's mask on every batch, the loop does not
    // (see the dropout test below), so only dropout-free networks can match bit for bit.
    const base = job();
    const j = job({ network: { ...base.network, layers: base.network.layers.filter((l) => l.type !== 'dropout') } });
    const ref = await trainWithFit(j);
    const before = tf.memory().numTensors;
    const epochs: Array<Record<string, number>> = [];
    const r = await runTraining(j, { isCancelled: () => false, onEpoch: (_, m) => epochs.push(m) });
    assert.equal(r.epochsRun, 3);
    const weights = r.model.getWeights().map((t) => t.dataSync() as Float32Array);
    assert.equal(weights.length, ref.weights.length);
    weights.forEach((wt, i) => assert.deepEqual(Array.from(wt), Array.from(ref.weights[i]), `weight ${i}`));
    assert.deepEqual(
      epochs.map((m) => Object.keys(m).sort()),
      ref.epochs.map((m) => Object.keys(m).sort()),
    );
    epochs.forEach((m, e) => {
      for (const key of Object.keys(m)) assert.equal(m[key], ref.epochs[e][key], `epoch ${e + 1} ${key}`);
    });
    r.model.dispose();
    assert.equal(tf.memory().numTensors, before, 'model, optimiser slots and per-batch scalars are all released');
  });
}

test('cancellation stops within one batch and is reported', async () => {
  await ensureBackend('cpu');
  let asked = 0;
  // Asked before the epoch and after each batch: the flag goes up after the 2nd of 7 batches,
  // so an epoch-level check alone would let the epoch finish and call onEpoch.
  const r = await runTraining(job({ epochs: 5 }), {
    isCancelled: () => ++asked > 3,
    onEpoch: () => assert.fail('no epoch completes'),
  });
  assert.equal(r.cancelled, true);
  assert.equal(r.epochsRun, 0);
  r.model.dispose();
});

test('dropout draws a new mask for every batch, the same masks on every run, and keeps its configured seed', async () => {
  await ensureBackend('cpu');
  const { model } = buildModel({
    task: 'classification',
    inputWidth: 4,
    classes: 3,
    layers: [
      { type: 'dense', units: 64, activation: 'relu' },
      { type: 'dropout', rate: 0.5 },
      { type: 'dense', units: 3, activation: 'softmax' },
    ],
    optimizer: 'adam',
    learningRate: 0.01,
    seed: 3,
  });
  const layer = model.layers.find((l) => l.getClassName() === 'Dropout')!;
  const configured = layer.getConfig().seed;
  const x = tf.ones([8, 4]);
  const seeds = dropoutSeeds(model);
  const forward = (step: number): number[] => {
    seeds.step(step);
    return Array.from(tf.tidy(() => (model.apply(x, { training: true }) as tf.Tensor).dataSync()));
  };
  const a0 = forward(0);
  const a1 = forward(1);
  assert.notDeepEqual(a0, a1, 'a different step drops different units');
  assert.deepEqual(forward(0), a0, 'the same step drops the same units');
  seeds.restore();
  assert.equal(layer.getConfig().seed, configured, 'the saved model keeps the configured seed');
  x.dispose();
  model.dispose();
});
