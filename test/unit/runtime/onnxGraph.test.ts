import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkGraph, readOnnxGraph } from '../../../server/engine/runtime/onnxGraph';
import { createOnnxSession } from '../../../server/engine/runtime/onnx';
import { ModelOpsError } from '../../../server/engine/errors';
import { addModel, FLOAT, model, node, valueInfo } from './onnxBytes';

const FIX = join(__dirname, '..', '..', 'fixtures', 'onnx');
const bytesOf = (f: string): Uint8Array => readFileSync(join(FIX, f));

const isError =
  (code: string, ...parts: string[]) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof ModelOpsError, String(e));
    assert.equal(e.code, code, e.message);
    for (const p of parts) assert.ok(e.message.includes(p), `'${e.message}' should mention ${p}`);
    assert.ok(e.hint && e.hint.length > 10);
    return true;
  };

test('graph of the common case: names, types, symbolic batch, opset, producer, metadata, operators', () => {
  const g = readOnnxGraph(bytesOf('weather-mlp-v1.onnx'), 'weather-mlp-v1.onnx');
  assert.equal(g.irVersion, 8);
  assert.equal(g.producerName, 'pytorch');
  assert.equal(g.producerVersion, '2.13.0');
  assert.deepEqual(g.opsets, { '': 17 });
  assert.deepEqual(g.inputs, [
    { name: 'features', kind: 'tensor', elemType: 'float32', dims: ['batch', 4], shape: [-1, 4] },
  ]);
  assert.deepEqual(g.outputs, [
    { name: 'probabilities', kind: 'tensor', elemType: 'float32', dims: ['batch', 5], shape: [-1, 5] },
  ]);
  assert.deepEqual(JSON.parse(g.metadata.labels), ['drizzle', 'fog', 'rain', 'snow', 'sun']);
  assert.deepEqual(JSON.parse(g.metadata.features), ['precipitation', 'temp_max', 'temp_min', 'wind']);
  assert.equal(g.metadata.task, 'classification');
  assert.deepEqual(g.operators, ['Div', 'Gemm', 'Relu', 'Softmax', 'Sub']);
  checkGraph(g, 'weather-mlp-v1.onnx');
});

test('graph reading agrees with ONNX Runtime on every fixture (reference-outputs.json signatures)', () => {
  const refs = JSON.parse(readFileSync(join(FIX, 'reference-outputs.json'), 'utf8')) as Array<{
    model: string;
    signature: {
      inputs: Array<{ name: string; type: string; shape: Array<string | number> }>;
      outputs: Array<{ name: string; type: string; shape: Array<string | number> }>;
    };
  }>;
  assert.equal(refs.length, 6);
  const typeName = (t: string): string => ({ 'tensor(float)': 'float32', 'tensor(int64)': 'int64' })[t] ?? t;
  for (const r of refs) {
    const g = readOnnxGraph(bytesOf(r.model), r.model);
    for (const [ours, theirs] of [
      [g.inputs, r.signature.inputs],
      [g.outputs, r.signature.outputs],
    ] as const) {
      assert.deepEqual(
        ours.map((v) => ({ name: v.name, type: v.elemType, shape: v.dims })),
        theirs.map((v) => ({ name: v.name, type: typeName(v.type), shape: v.shape })),
        r.model,
      );
    }
  }
  const two = readOnnxGraph(bytesOf('weather-mlp-label-probs.onnx'), 'x');
  assert.deepEqual(two.operators, ['ArgMax', 'Div', 'Gemm', 'Relu', 'Softmax', 'Sub']);
  const perColumn = readOnnxGraph(bytesOf('weather-logreg-per-column.onnx'), 'x');
  assert.equal(perColumn.producerName, 'onnx-helper');
  assert.deepEqual(
    perColumn.inputs.map((i) => i.name),
    ['precipitation', 'temp_max', 'temp_min', 'wind'],
  );
});

test('initializers listed as graph inputs are not inputs', () => {
  const g = readOnnxGraph(addModel(), 'add.onnx');
  assert.deepEqual(
    g.inputs.map((i) => i.name),
    ['x'],
  );
  assert.deepEqual(g.operators, ['Add']);
});

test('a crafted model built by the test writer runs in ONNX Runtime (the writer is faithful)', async () => {
  const s = await createOnnxSession(addModel(), 'add.onnx');
  assert.deepEqual(s.inputNames, ['x']);
  await s.release();
});

test('corrupt, truncated and empty files are refused with the file named', () => {
  const v1 = bytesOf('weather-mlp-v1.onnx');
  assert.throws(() => readOnnxGraph(new Uint8Array(0), 'empty.onnx'), isError('onnx-corrupt', 'empty.onnx', 'empty'));
  assert.throws(() => readOnnxGraph(v1.subarray(0, 700), 'cut.onnx'), isError('onnx-corrupt', 'cut.onnx'));
  assert.throws(
    () => readOnnxGraph(Buffer.from('{"format": "layers-model"}'), 'model.json'),
    isError('onnx-corrupt', 'model.json'),
  );
  // Every truncation of a real model fails cleanly (never hangs, never another error type).
  for (let n = 1; n < v1.length; n += 7) {
    assert.throws(
      () => checkGraph(readOnnxGraph(v1.subarray(0, n), 'cut.onnx'), 'cut.onnx'),
      (e: unknown) => e instanceof ModelOpsError,
      `cut at ${n}`,
    );
  }
  // A length prefix far past the end, and a group wire type.
  assert.throws(
    () => readOnnxGraph(Uint8Array.from([0x08, 0x08, 0x3a, 0xff, 0xff, 0xff, 0x7f]), 'big.onnx'),
    isError('onnx-corrupt', 'past the end'),
  );
  assert.throws(
    () => readOnnxGraph(Uint8Array.from([0x08, 0x08, 0x0b]), 'group.onnx'),
    isError('onnx-corrupt', 'group'),
  );
  // Flipped bytes: whatever they parse to, the result is an error or a graph, never a crash.
  const flipped = Uint8Array.from(v1);
  for (let i = 0; i < flipped.length; i += 13) flipped[i] ^= 0x5a;
  try {
    checkGraph(readOnnxGraph(flipped, 'flipped.onnx'), 'flipped.onnx');
  } catch (e) {
    assert.ok(e instanceof ModelOpsError, String(e));
  }
});

test('opset 12 is refused, 13 accepted', () => {
  assert.throws(
    () => checkGraph(readOnnxGraph(addModel({ opset: 12 }), 'old.onnx'), 'old.onnx'),
    isError('onnx-opset', 'old.onnx', 'opset 12', '13'),
  );
  checkGraph(readOnnxGraph(addModel({ opset: 13 }), 'ok.onnx'), 'ok.onnx');
  // The fixture itself with its opset_import version byte (17) edited to 12.
  const v1 = Uint8Array.from(bytesOf('weather-mlp-v1.onnx'));
  const at = Buffer.from(v1).indexOf(Buffer.from([0x42, 0x02, 0x10, 17]));
  assert.ok(at > 0, 'opset_import { version: 17 } found');
  v1[at + 3] = 12;
  assert.throws(
    () => checkGraph(readOnnxGraph(v1, 'weather-mlp-v1.onnx'), 'weather-mlp-v1.onnx'),
    isError('onnx-opset', 'weather-mlp-v1.onnx', 'opset 12'),
  );
});

test('a dynamic non-batch dimension is refused naming the input', () => {
  assert.throws(
    () => checkGraph(readOnnxGraph(addModel({ xDims: ['batch', 'n'] }), 'dyn.onnx'), 'dyn.onnx'),
    isError('onnx-dynamic-dim', 'dyn.onnx', "input 'x'", 'dimension 1'),
  );
  assert.throws(
    () => checkGraph(readOnnxGraph(addModel({ xDims: [-1, null] }), 'unk.onnx'), 'unk.onnx'),
    isError('onnx-dynamic-dim', "input 'x'"),
  );
  // A fixed batch is fine; -1 as dim_value is read as dynamic (batch only).
  const g = readOnnxGraph(addModel({ xDims: [8, 3] }), 'fixed.onnx');
  assert.deepEqual(g.inputs[0].shape, [8, 3]);
});

test('no inputs (all initializers) or no outputs are refused', () => {
  const noInputs = model({ inputs: [], outputs: [valueInfo('y', FLOAT, [1])], nodes: [node('Constant', [], ['y'])] });
  assert.throws(
    () => checkGraph(readOnnxGraph(noInputs, 'none.onnx'), 'none.onnx'),
    isError('onnx-signature', 'none.onnx', 'no graph inputs'),
  );
  const noOutputs = model({ inputs: [valueInfo('x', FLOAT, ['batch', 3])], outputs: [], nodes: [] });
  assert.throws(
    () => checkGraph(readOnnxGraph(noOutputs, 'out.onnx'), 'out.onnx'),
    isError('onnx-signature', 'no graph outputs'),
  );
});

test('an operator ONNX Runtime cannot run: the session error names the operator and the file', async () => {
  await assert.rejects(
    createOnnxSession(addModel({ op: 'NoSuchOperator' }), 'custom.onnx'),
    isError('onnx-unsupported-op', 'custom.onnx', 'NoSuchOperator'),
  );
  await assert.rejects(
    createOnnxSession(
      addModel({ op: 'Scaler', nodes: [node('Scaler', ['x'], ['y'], 'com.example.custom')] }),
      'dom.onnx',
    ),
    (e: unknown) => e instanceof ModelOpsError && e.message.includes('dom.onnx'),
  );
});
