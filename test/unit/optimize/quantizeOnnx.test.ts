import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openOnnxFile, readOnnxGraph } from '../../../server/engine/runtime';
import { quantizeOnnxFloat16 } from '../../../server/engine/optimize/quantizeOnnx';
import { ModelOpsError } from '../../../server/engine/errors';
import { halfErrorBound } from '../../../server/engine/optimize/half';
import { addModel, FLOAT, floatInit, model, node, valueInfo } from '../runtime/onnxBytes';
import * as ort from 'onnxruntime-node';

const FIX = join(__dirname, '..', '..', 'fixtures', 'onnx');
const root = mkdtempSync(join(tmpdir(), 'modelops-qonnx-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

interface Reference {
  model: string;
  inputs: Record<string, { shape: number[]; data: number[] }>;
  outputs: Record<string, { shape: number[]; data: number[] }>;
}
const references = JSON.parse(readFileSync(join(FIX, 'reference-outputs.json'), 'utf8')) as Reference[];

for (const name of ['weather-mlp-v1.onnx', 'temp-max-regressor.onnx']) {
  test(`${name}: float16 initializers + Cast run in ONNX Runtime and match the float32 reference`, async () => {
    const bytes = readFileSync(join(FIX, name));
    const r = quantizeOnnxFloat16(bytes, name);
    const file = join(root, name);
    writeFileSync(file, r.bytes);
    assert.ok(r.converted.length >= (name === 'weather-mlp-v1.onnx' ? 2 : 1), 'the weight matrices are converted');
    const saved = r.converted.reduce((a, w) => a + 2 * w.elements, 0);
    // Tiny models barely shrink: each converted tensor costs a Cast node (~70 bytes).
    if (name === 'weather-mlp-v1.onnx')
      assert.ok(r.bytes.byteLength < bytes.byteLength, `${r.bytes.byteLength} < ${bytes.byteLength}`);
    // Field-preserving: metadata, opsets, inputs and outputs are those of the original, plus Cast.
    const before = readOnnxGraph(bytes, name);
    const after = readOnnxGraph(r.bytes, file);
    assert.deepEqual(after.inputs, before.inputs);
    assert.deepEqual(after.outputs, before.outputs);
    assert.deepEqual(after.opsets, before.opsets);
    const { ['modelops.quantization']: tag, ...rest } = after.metadata;
    assert.deepEqual(rest, before.metadata);
    assert.equal(tag, 'float16');
    assert.deepEqual(after.operators, [...new Set([...before.operators, 'Cast'])].sort());
    assert.ok(
      bytes.byteLength - r.bytes.byteLength >= saved - 100 * r.converted.length - 40,
      'about 2 bytes saved per converted weight',
    );

    const ref = references.find((x) => x.model === name)!;
    const input = Object.values(ref.inputs)[0];
    const expected = Object.values(ref.outputs)[0].data;
    const rt = await openOnnxFile(file);
    try {
      const n = input.shape[0];
      const out = await rt.predictBatch!(Float32Array.from(input.data), n);
      const scale = Math.max(...expected.map(Math.abs));
      for (let i = 0; i < expected.length; i++)
        assert.ok(
          Math.abs(out.outputs[i] - expected[i]) <= 5e-3 * Math.max(1, scale),
          `output ${i}: ${out.outputs[i]} vs ${expected[i]}`,
        );
    } finally {
      rt.dispose();
    }
    assert.throws(
      () => quantizeOnnxFloat16(r.bytes, file),
      (e: unknown) =>
        e instanceof ModelOpsError &&
        e.code === 'optimize-unsupported' &&
        e.message.includes(file) &&
        /already quantised/.test(e.message),
    );
  });
}

test('a model without float weights worth converting is refused, naming the file', () => {
  // Its one initializer has 3 values and is also a graph input (IR < 4 style): kept.
  assert.throws(
    () => quantizeOnnxFloat16(addModel(), 'add.onnx'),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'optimize-unsupported' && e.message.includes('add.onnx'),
  );
});

test('float_data initializers (not raw_data) are converted too, and ONNX Runtime computes with them', async () => {
  const b = Array.from({ length: 64 }, (_, i) => (i - 32) / 7);
  const bytes = model({
    inputs: [valueInfo('x', FLOAT, ['batch', 64])],
    outputs: [valueInfo('y', FLOAT, ['batch', 64])],
    nodes: [node('Add', ['x', 'b'], ['y'])],
    initializers: [floatInit('b', [64], b)],
  });
  const r = quantizeOnnxFloat16(bytes, 'add64.onnx');
  assert.deepEqual(r.converted, [{ name: 'b', elements: 64 }]);
  const session = await ort.InferenceSession.create(r.bytes);
  const x = Float32Array.from({ length: 128 }, (_, i) => i / 10);
  const y = (await session.run({ x: new ort.Tensor('float32', x, [2, 64]) })).y.data as Float32Array;
  for (let i = 0; i < 128; i++)
    assert.ok(Math.abs(y[i] - (x[i] + b[i % 64])) <= halfErrorBound(b[i % 64]) + 1e-5, `y[${i}]`);
  await session.release();
});

test('truncated bytes are an onnx-corrupt error, not a crash', () => {
  const bytes = readFileSync(join(FIX, 'weather-mlp-v1.onnx'));
  assert.throws(
    () => quantizeOnnxFloat16(bytes.subarray(0, bytes.byteLength - 7), 'cut.onnx'),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'onnx-corrupt',
  );
});
