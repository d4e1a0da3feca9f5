import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBackend, tf } from '../../../server/engine/tfjs/backend';
import { loadModelBundle, MODEL_JSON, WEIGHTS_BIN, writeBundle } from '../../../server/engine/model/bundle';
import type { ModelManifest } from '../../../server/engine/model/types';
import { fromHalfBits, halfErrorBound, toHalfBits } from '../../../server/engine/optimize/half';
import { affineRange, parseDtype, quantizeTfjsBundle, quantizeUint8 } from '../../../server/engine/optimize/quantize';
import { ModelOpsError } from '../../../server/engine/errors';

const root = mkdtempSync(join(tmpdir(), 'modelops-quant-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

test('float16: IEEE rounding to nearest even, subnormals, overflow, signed zero, NaN', () => {
  const cases: Array<[number, number]> = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff], // largest finite
    [65520, 0x7c00], // rounds up to Infinity (tie to even past the max)
    [65519, 0x7bff],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // tie between 0 and 2^-24: to even (0)
    [3 * 2 ** -26, 0x0001], // 0.75 · 2^-24 rounds up
    [3 * 2 ** -25, 0x0002], // 1.5 · 2^-24: tie to even (2)
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [1023.5 * 2 ** -24, 0x0400], // tie: to even, carries into the smallest normal
    [1 + 2 ** -11, 0x3c00], // tie: to even (down)
    [1 + 3 * 2 ** -11, 0x3c02], // tie: to even (up)
    [1 + 2 ** -10, 0x3c01],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [1e-10, 0x0000],
  ];
  for (const [x, bits] of cases) assert.equal(toHalfBits(x), bits, `toHalfBits(${x})`);
  assert.ok(Number.isNaN(fromHalfBits(toHalfBits(Number.NaN))));
  // Every half value round-trips exactly through float32.
  for (let h = 0; h < 0x7c00; h += 7) assert.equal(toHalfBits(fromHalfBits(h)), h);
  // Random values stay within half an ulp.
  let seed = 7;
  for (let i = 0; i < 5000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const x = Math.fround((seed / 2 ** 31 - 0.5) * 2 ** ((i % 40) - 25));
    assert.ok(Math.abs(fromHalfBits(toHalfBits(x)) - x) <= halfErrorBound(x), `${x}`);
  }
});

test('uint8: affine range keeps 0 exact and the error within scale / 2', () => {
  const r = affineRange(-1, 3);
  assert.ok(Math.abs(r.scale / (4 / 255) - 1) < 2 ** -15); // 16 significant bits
  assert.equal(Math.round(-r.min / r.scale) * r.scale, -r.min); // 0 is a grid point
  const values = Float32Array.from([-1, -0.5, 0, 0, 0.3, 1, 2.9, 3]);
  const q = quantizeUint8(values);
  const decoded = Array.from(q.q, (v) => Math.fround(v * q.scale + q.min));
  assert.equal(decoded[2], 0);
  assert.equal(decoded[3], 0);
  for (let i = 0; i < values.length; i++)
    assert.ok(Math.abs(decoded[i] - values[i]) <= q.scale / 2 + 1e-6, `${values[i]} → ${decoded[i]}`);
  // A constant tensor is stored exactly.
  const c = quantizeUint8(Float32Array.from([0.25, 0.25]));
  assert.equal(c.q[0] * c.scale + c.min, 0.25);
});

test('unknown dtype: a clear error naming the value', () => {
  assert.throws(
    () => parseDtype('int4'),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.code === 'optimize-bad-dtype' &&
      e.message.includes("'int4'") &&
      (e.hint ?? '').includes('float16'),
  );
});

async function makeBundle(dir: string): Promise<{ model: tf.LayersModel; x: tf.Tensor2D }> {
  await ensureBackend();
  const model = tf.sequential();
  model.add(
    tf.layers.dense({
      inputShape: [6],
      units: 40,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
    }),
  );
  model.add(
    tf.layers.dense({
      units: 3,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
      biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 5 }),
    }),
  );
  // A subnormal-range weight and an exact zero, to exercise float16's edge cases on load.
  const [k, b] = model.layers[0].getWeights();
  const kv = k.dataSync().slice();
  kv[0] = 3e-6;
  kv[1] = 0;
  model.layers[0].setWeights([tf.tensor(kv, k.shape), b]);
  const manifest: ModelManifest = {
    format: 'modelops-tfjs/1',
    task: 'classification',
    target: 'y',
    features: Array.from({ length: 6 }, (_, i) => ({
      name: `f${i}`,
      kind: 'numeric' as const,
      mean: 0,
      std: 1,
      impute: null,
    })),
    labels: ['a', 'b', 'c'],
    signature: { inputs: [], outputs: [] },
    profile: { rows: 0, features: {}, predictions: { kind: 'categorical', count: 0, missing: 0, counts: {} } },
    backend: 'cpu',
    trainedAt: new Date(0).toISOString(),
  };
  await writeBundle(dir, model, manifest);
  return { model, x: tf.randomNormal([64, 6], 0, 1, 'float32', 9) as tf.Tensor2D };
}

function weightsOf(m: tf.LayersModel): Float32Array[] {
  return m.getWeights().map((w) => w.dataSync() as Float32Array);
}

for (const dtype of ['float16', 'uint8'] as const) {
  test(`TF.js ${dtype} round trip: plain tf.io loads it, weights within the dtype's bound, ~${dtype === 'float16' ? 2 : 4}× smaller`, async () => {
    const src = join(root, `src-${dtype}`);
    const out = join(root, `out-${dtype}`);
    const { model, x } = await makeBundle(src);
    const r = await quantizeTfjsBundle(src, out, dtype);

    // Plain TF.js: model.json's weightsManifest + the weights file through tf.io, nothing of ours.
    const modelJson = JSON.parse(readFileSync(join(out, MODEL_JSON), 'utf8')) as tf.io.ModelJSON;
    const specs = modelJson.weightsManifest.flatMap((g) => g.weights);
    assert.ok(specs.every((s) => s.quantization?.dtype === dtype));
    const bin = readFileSync(join(out, WEIGHTS_BIN));
    const loaded = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: specs,
        weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer,
      }),
    );

    const before = weightsOf(model);
    const after = weightsOf(loaded);
    before.forEach((w, t) => {
      const info = r.weights[t];
      for (let i = 0; i < w.length; i++) {
        const bound = dtype === 'float16' ? halfErrorBound(w[i]) : info.bound;
        assert.ok(
          Math.abs(after[t][i] - w[i]) <= bound,
          `${info.name}[${i}]: ${w[i]} → ${after[t][i]} (bound ${bound})`,
        );
      }
      assert.ok(info.maxError <= info.bound);
    });
    // Zero stays zero in both encodings; the subnormal-range weight survives float16.
    assert.equal(after[0][1], 0);
    if (dtype === 'float16') assert.ok(Math.abs(after[0][0] - 3e-6) <= 2 ** -25);

    const ratio = statSync(join(src, WEIGHTS_BIN)).size / bin.byteLength;
    assert.equal(ratio, dtype === 'float16' ? 2 : 4);

    // Predictions barely move, and ModelOps's own loader reads it too.
    const p0 = (model.predict(x) as tf.Tensor).dataSync();
    const p1 = (loaded.predict(x) as tf.Tensor).dataSync();
    const maxDiff = Array.from(p0).reduce((m, v, i) => Math.max(m, Math.abs(v - p1[i])), 0);
    assert.ok(maxDiff < (dtype === 'float16' ? 1e-3 : 5e-2), `max prediction change ${maxDiff}`);
    const bundle = await loadModelBundle(out);
    const enc = await bundle.predictEncoded(x.dataSync() as Float32Array, 64);
    assert.ok(enc.outputs.every((v, i) => Math.abs(v - p1[i]) < 1e-6));
    bundle.dispose();

    // Quantising it again is refused.
    await assert.rejects(
      quantizeTfjsBundle(out, join(root, `again-${dtype}`), 'float16'),
      (e: unknown) =>
        e instanceof ModelOpsError && e.code === 'optimize-unsupported' && /already quantised/.test(e.message),
    );
    model.dispose();
    loaded.dispose();
  });
}
