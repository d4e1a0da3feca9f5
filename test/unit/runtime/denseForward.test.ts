import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBackend, tf } from '../../../server/engine/tfjs/backend';
import { buildModel } from '../../../server/engine/training/model';
import { makeSignature, MANIFEST_FORMAT, writeBundle } from '../../../server/engine/model/bundle';
import { fitTransforms, transformRows } from '../../../server/engine/data/preprocess';
import { buildProfile } from '../../../server/engine/data/profile';
import { quantizeTfjsBundle } from '../../../server/engine/optimize/quantize';
import { loadTfjsRuntime, type TfjsRuntime } from '../../../server/engine/runtime/tfjs';
import {
  compileDenseForward,
  decodeWeights,
  verifyForward,
  VERIFY_TOLERANCE,
} from '../../../server/engine/runtime/denseForward';
import type { LayerConfig } from '../../../server/engine/config/types';
import type { ModelManifest, Task } from '../../../server/engine/model/types';

const dir = mkdtempSync(join(tmpdir(), 'modelops-rt-forward-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const names = ['a', 'b', 'c', 'd', 'e'];
type Row = Record<string, number | string>;
const rows: Row[] = Array.from({ length: 300 }, (_, r) => ({
  ...Object.fromEntries(names.map((n, i) => [n, Math.sin(r * (i + 1) * 0.7) * (i + 1)])),
  kind: ['p', 'q', 'r'][r % 3],
}));
const features = fitTransforms(
  rows,
  [...names.map((name) => ({ name, type: 'number' as const })), { name: 'kind', type: 'string' as const }],
  'drop',
);
const WIDTH = 8; // 5 numeric + 3 one-hot
const LABELS = ['lo', 'mid', 'hi'];

function target(r: Row): number {
  const v = (c: string): number => Number(r[c]);
  return v('a') * 0.5 - v('b') * v('c') * 0.1 + (r.kind === 'q' ? 2 : 0);
}

/** Trains a real network (model.fit, a few epochs) and writes it as a bundle; the runtime loads it from disk. */
async function trained(name: string, task: Task, layers: LayerConfig[]): Promise<string> {
  await ensureBackend('auto');
  const { model } = buildModel({
    task,
    inputWidth: WIDTH,
    classes: task === 'classification' ? LABELS.length : 1,
    layers,
    optimizer: 'adam',
    learningRate: 0.02,
    seed: 4,
  });
  const x = transformRows(rows, features);
  const y = rows.map(target);
  const ys =
    task === 'regression'
      ? tf.tensor2d(y, [rows.length, 1])
      : tf.oneHot(
          tf.tensor1d(
            y.map((v) => (v < 0 ? 0 : v < 1.5 ? 1 : 2)),
            'int32',
          ),
          LABELS.length,
        );
  const xs = tf.tensor2d(x, [rows.length, WIDTH]);
  await model.fit(xs, ys, { epochs: 4, batchSize: 32, verbose: 0 });
  xs.dispose();
  ys.dispose();
  const path = join(dir, name);
  (await bundle(path, model, task)).dispose();
  model.dispose();
  return path;
}

async function bundle(path: string, model: tf.LayersModel, task: Task): Promise<TfjsRuntime> {
  const labels = task === 'classification' ? LABELS : undefined;
  const manifest: ModelManifest = {
    format: MANIFEST_FORMAT,
    task,
    target: 'y',
    features,
    labels,
    signature: makeSignature(features, task, labels),
    profile: buildProfile(rows, features, [], 1),
    backend: 'cpu',
    trainedAt: new Date(0).toISOString(),
  };
  await writeBundle(path, model, manifest);
  return loadTfjsRuntime(path);
}

/** Rows past the training data, so the probe's first rows are not the ones compared. */
const fresh = Array.from({ length: 2000 }, (_, r) => ({
  ...Object.fromEntries(names.map((n, i) => [n, Math.cos(r * (i + 2) * 0.31) * (i + 2)])),
  kind: ['r', 'q', 'p'][r % 3],
}));

/** Bulk and serving batches of the same matrix; asserts they agree within the verification tolerance. */
async function compare(
  rt: TfjsRuntime,
): Promise<{ bulk: Float32Array | Float64Array; tfjs: Float32Array | Float64Array }> {
  const x = rt.encode(fresh);
  const tfjs = (await rt.predictBatch(x, fresh.length)).outputs;
  assert.equal(rt.forwardPath.path, 'unchecked', 'a batch without bulk never compiles');
  const bulk = (await rt.predictBatch(x, fresh.length, { bulk: true })).outputs;
  assert.equal(bulk.length, tfjs.length);
  let scale = 0;
  for (const v of tfjs) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < tfjs.length; i++)
    assert.ok(
      Math.abs(bulk[i] - tfjs[i]) <= VERIFY_TOLERANCE * Math.max(scale, 0.1),
      `output ${i}: compiled ${bulk[i]} vs TF.js ${tfjs[i]}`,
    );
  return { bulk, tfjs };
}

test('trained regression net with dropout and batch normalisation: the compiled pass equals TF.js', async () => {
  const path = await trained('regression', 'regression', [
    { type: 'dense', units: 16, activation: 'relu' },
    { type: 'dropout', rate: 0.3 },
    { type: 'batchNormalization' },
    { type: 'dense', units: 8, activation: 'tanh' },
    { type: 'dense', units: 1, activation: 'linear' },
  ]);
  const rt = await loadTfjsRuntime(path);
  try {
    const { bulk, tfjs } = await compare(rt);
    assert.equal(rt.forwardPath.path, 'compiled', rt.forwardPath.reason);
    assert.match(rt.forwardPath.reason!, /dense\(8→16, relu\) → dropout → batchNormalization → dense\(16→8, tanh\)/);
    // Not a constant model: the comparison means something.
    assert.ok(Math.max(...tfjs) - Math.min(...tfjs) > 0.5);
    assert.notDeepEqual(Array.from(bulk), Array.from(tfjs).fill(0));
    // Serving stays on TF.js: predict and non-bulk batches give TF.js's numbers exactly.
    const preds = await rt.predict(fresh.slice(0, 20));
    preds.forEach((p, i) => assert.equal(p.value, tfjs[i]));
  } finally {
    rt.dispose();
  }
});

test('trained softmax classifier with dropout and every trainer activation: compiled equals TF.js', async () => {
  const path = await trained('softmax', 'classification', [
    { type: 'dense', units: 12, activation: 'elu' },
    { type: 'dropout', rate: 0.2 },
    { type: 'dense', units: 10, activation: 'selu' },
    { type: 'dense', units: 9, activation: 'softplus' },
    { type: 'dense', units: 7, activation: 'sigmoid' },
    { type: 'dense', units: 5 },
    { type: 'dense', units: 3, activation: 'softmax' },
  ]);
  const rt = await loadTfjsRuntime(path);
  try {
    const { bulk } = await compare(rt);
    assert.equal(rt.forwardPath.path, 'compiled', rt.forwardPath.reason);
    for (let i = 0; i < fresh.length; i++) {
      const p = bulk.subarray(3 * i, 3 * i + 3);
      assert.ok(Math.abs(p[0] + p[1] + p[2] - 1) < 1e-5);
    }
    const decoded = rt.decode(await rt.predictBatch(rt.encode(fresh), fresh.length, { bulk: true }), fresh.length);
    assert.ok(decoded.every((d) => LABELS.includes(String(d.value))));
  } finally {
    rt.dispose();
  }
});

test('quantised bundles (uint8, float16) are dequantised as TF.js does', async () => {
  const path = await trained('toquantise', 'regression', [
    { type: 'dense', units: 10, activation: 'relu' },
    { type: 'dense', units: 1 },
  ]);
  for (const dtype of ['uint8', 'float16'] as const) {
    const out = join(dir, `quantised-${dtype}`);
    await quantizeTfjsBundle(path, out, dtype);
    const rt = await loadTfjsRuntime(out);
    try {
      await compare(rt);
      assert.equal(rt.forwardPath.path, 'compiled', `${dtype}: ${rt.forwardPath.reason}`);
    } finally {
      rt.dispose();
    }
  }
});

test('a layer the compiled pass does not know falls back to TF.js, with the layer named', async () => {
  await ensureBackend('auto');
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [WIDTH], units: 6, activation: 'relu' }),
      tf.layers.leakyReLU({ alpha: 0.1 }),
      tf.layers.dense({ units: 1 }),
    ],
  });
  const path = join(dir, 'leaky');
  (await bundle(path, model, 'regression')).dispose();
  model.dispose();
  const rt = await loadTfjsRuntime(path);
  try {
    const x = rt.encode(fresh);
    const bulk = await rt.predictBatch(x, fresh.length, { bulk: true });
    assert.equal(rt.forwardPath.path, 'tfjs');
    assert.match(rt.forwardPath.reason!, /LeakyReLU/);
    assert.deepEqual(bulk.outputs, (await rt.predictBatch(x, fresh.length)).outputs);
  } finally {
    rt.dispose();
  }
});

test('weights that do not match what TF.js loaded fail verification and fall back to TF.js', async () => {
  const path = await trained('corrupt', 'regression', [
    { type: 'dense', units: 16, activation: 'relu' },
    { type: 'dense', units: 1 },
  ]);
  const rt = await loadTfjsRuntime(path);
  try {
    // TF.js holds the weights it loaded; the compiled pass reads the file at the first bulk batch.
    // The last float is the output unit's bias: every output moves by 0.01.
    const w = readFileSync(join(path, 'weights.bin'));
    w.writeFloatLE(w.readFloatLE(w.length - 4) + 0.01, w.length - 4);
    writeFileSync(join(path, 'weights.bin'), w);
    const x = rt.encode(fresh);
    const bulk = await rt.predictBatch(x, fresh.length, { bulk: true });
    assert.equal(rt.forwardPath.path, 'tfjs');
    assert.match(rt.forwardPath.reason!, /verification failed: max \|Δ\| .* against TF\.js on \d+ probe rows/);
    assert.deepEqual(bulk.outputs, (await rt.predictBatch(x, fresh.length)).outputs);
    // Decided once per loaded model.
    await rt.predictBatch(x, 10, { bulk: true });
    assert.equal(rt.forwardPath.path, 'tfjs');
  } finally {
    rt.dispose();
  }
  // Turned off: TF.js without compiling.
  const off = await loadTfjsRuntime(path, { compiled: false });
  try {
    await off.predictBatch(off.encode(fresh), fresh.length, { bulk: true });
    assert.deepEqual(off.forwardPath, { path: 'tfjs', reason: 'turned off for this runtime' });
  } finally {
    off.dispose();
  }
});

test('compile refusals name the reason; verification catches one-sided NaN and small drifts', () => {
  const w = new Map([
    ['d/kernel', new Float32Array(6)],
    ['d/bias', new Float32Array(3)],
  ]);
  const dense = { class_name: 'Dense', config: { name: 'd', units: 3, activation: 'relu' } };
  assert.equal(compileDenseForward({ class_name: 'Sequential', config: { layers: [dense] } }, w, 2).ok, true);
  const refusal = (topology: unknown, width = 2): string => {
    const c = compileDenseForward(topology, w, width);
    assert.equal(c.ok, false);
    return c.ok ? '' : c.reason;
  };
  assert.match(refusal({ class_name: 'Model', config: { layers: [dense] } }), /Model, not a Sequential/);
  assert.match(
    refusal({ class_name: 'Sequential', config: { layers: [dense] } }, 3),
    /d\/kernel' has 6 values, expected 9/,
  );
  assert.match(
    refusal({
      class_name: 'Sequential',
      config: { layers: [{ ...dense, config: { ...dense.config, activation: 'gelu' } }] },
    }),
    /activation 'gelu'/,
  );
  assert.match(
    refusal({
      class_name: 'Sequential',
      config: { layers: [{ class_name: 'Dense', config: { name: 'e', units: 3 } }] },
    }),
    /no float weight 'e\/kernel'/,
  );
  assert.equal(verifyForward(Float32Array.of(1, NaN), Float32Array.of(1, NaN), 1).ok, true);
  assert.equal(verifyForward(Float32Array.of(1, 2), Float32Array.of(1, NaN), 1).ok, false);
  assert.equal(verifyForward(Float32Array.of(100, 0), Float32Array.of(100.0005, 0), 1).ok, true);
  assert.equal(verifyForward(Float32Array.of(100, 0), Float32Array.of(100.002, 0), 1).ok, false);
  // float16 widening is exact: 1, −2, 65504 (largest), 2^−24 (smallest subnormal).
  const half = decodeWeights(
    [{ name: 'h', shape: [4], dtype: 'float32', quantization: { dtype: 'float16' } }],
    new Uint8Array(Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001).buffer),
  );
  assert.ok(typeof half !== 'string');
  assert.deepEqual(Array.from(half.get('h')!), [1, -2, 65504, 2 ** -24]);
});
