/**
 * ONNX versions through the model server: real ONNX Runtime, real HTTP on 127.0.0.1. Outputs
 * equal the fixtures' reference (ONNX Runtime in Python) to 1e-5; inputs are checked against the
 * Open Inference Protocol datatypes of the signature.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeOnnxBundle } from '../../../server/engine/runtime';
import { startModelServer, type RunningModelServer } from '../../../server/engine/serving';
import { FLOAT, INT64, STRING, model, node, valueInfo } from '../runtime/onnxBytes';

const FIX = join(__dirname, '..', '..', 'fixtures', 'onnx');
const LABELS = ['drizzle', 'fog', 'rain', 'snow', 'sun'];
const FOUR = ['precipitation', 'temp_max', 'temp_min', 'wind'];
const TOL = 1e-5;
const TOKEN = 'tok-onnx-serving-4e1d';
const BOOL = 9;
const DOUBLE = 11;

interface Ref {
  model: string;
  inputs: Record<string, { shape: number[]; data: number[] }>;
  outputs: Record<string, { shape: number[]; dtype: string; data: number[] }>;
}
const refs = JSON.parse(readFileSync(join(FIX, 'reference-outputs.json'), 'utf8')) as Ref[];
const ref = (name: string): Ref => refs.find((r) => r.model === name)!;

/** The reference rows as columns: name → 8 values. */
function columnsOf(r: Ref, cols: string[]): Record<string, number[]> {
  const entries = Object.entries(r.inputs);
  const out: Record<string, number[]> = {};
  if (entries.length === 1) {
    const { shape, data } = entries[0][1];
    cols.forEach((c, j) => (out[c] = Array.from({ length: shape[0] }, (_, i) => data[i * shape[1] + j])));
  } else for (const [name, { data }] of entries) out[name] = data;
  return out;
}

function inferBody(columns: Record<string, unknown[]>, datatype: Record<string, string> = {}): Record<string, unknown> {
  return {
    inputs: Object.entries(columns).map(([name, data]) => ({
      name,
      datatype: datatype[name] ?? 'FP32',
      shape: [data.length, 1],
      data,
    })),
  };
}

function close(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++)
    assert.ok(Math.abs(actual[i] - expected[i]) <= TOL, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

let tmp: string;
let server: RunningModelServer;
const bundles: Record<string, string> = {};

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(server.url + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: res.status, json };
}
const auth = { authorization: `Bearer ${TOKEN}` };

type Output = { name: string; datatype: string; shape: number[]; data: unknown[] };
const output = (json: Record<string, unknown>, name: string): Output =>
  (json.outputs as Output[]).find((o) => o.name === name)!;

// --- hand-built models for the datatypes the fixtures do not have -------------------------------

const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
};
const lenField = (field: number, data: number[]): number[] => [
  ...varint(field * 8 + 2),
  ...varint(data.length),
  ...data,
];
const strField = (field: number, s: string): number[] => lenField(field, [...Buffer.from(s, 'utf8')]);
/** A scalar initializer: float (raw_data) or string (string_data). */
function scalarInit(name: string, value: number | string): number[] {
  if (typeof value === 'string')
    return [...varint(2 * 8), ...varint(STRING), ...strField(6, value), ...strField(8, name)];
  const raw = Buffer.alloc(4);
  raw.writeFloatLE(value);
  return [...varint(2 * 8), ...varint(FLOAT), ...lenField(9, [...raw]), ...strField(8, name)];
}

/** value = float(count) + float(flag) + float(rate): INT64, BOOL and FP64 inputs, one per column. */
function mixedModel(): Uint8Array {
  return model({
    inputs: [
      valueInfo('count', INT64, ['N', 1]),
      valueInfo('flag', BOOL, ['N', 1]),
      valueInfo('rate', DOUBLE, ['N', 1]),
    ],
    outputs: [valueInfo('value', FLOAT, ['N', 1])],
    nodes: [
      node('CastLike', ['count', 'zero'], ['c']),
      node('CastLike', ['flag', 'zero'], ['f']),
      node('CastLike', ['rate', 'zero'], ['r']),
      node('Add', ['c', 'f'], ['cf']),
      node('Add', ['cf', 'r'], ['value']),
    ],
    initializers: [scalarInit('zero', 0)],
    metadata: { task: 'regression' },
  });
}

/** value = x + (city == 'london'): a text (BYTES) input, so no numeric batch path. */
function textModel(): Uint8Array {
  return model({
    inputs: [valueInfo('city', STRING, ['N', 1]), valueInfo('x', FLOAT, ['N', 1])],
    outputs: [valueInfo('value', FLOAT, ['N', 1])],
    nodes: [
      node('Equal', ['city', 'london'], ['is']),
      node('CastLike', ['is', 'zero'], ['isf']),
      node('Add', ['x', 'isf'], ['value']),
    ],
    initializers: [scalarInit('london', 'london'), scalarInit('zero', 0)],
    // Equal takes strings from opset 19.
    opset: 19,
    metadata: { task: 'regression' },
  });
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'modelops-onnx-serving-'));
  for (const [name, file] of [
    ['mlp', 'weather-mlp-v1.onnx'],
    ['labelprobs', 'weather-mlp-label-probs.onnx'],
    ['percol', 'weather-logreg-per-column.onnx'],
    ['tempmax', 'temp-max-regressor.onnx'],
  ]) {
    bundles[name] = join(tmp, name);
    await writeOnnxBundle(bundles[name], join(FIX, file), { target: name === 'tempmax' ? 'temp_max' : 'weather' });
  }
  for (const [name, bytes] of [
    ['mixed', mixedModel()],
    ['text', textModel()],
  ] as const) {
    const file = join(tmp, `${name}.onnx`);
    writeFileSync(file, bytes);
    bundles[name] = join(tmp, name);
    await writeOnnxBundle(bundles[name], file);
  }
  server = await startModelServer({
    port: 0,
    storeDir: join(tmp, 'store'),
    token: TOKEN,
    log: { flushMs: 20 },
    maxWaitMs: 2,
  });
  await server.restored;
});

after(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('an ONNX bundle uploaded as files loads (model.onnx + modelops.json), and only whole bundles do', async () => {
  const files = Object.fromEntries(
    readdirSync(bundles.mlp).map((f) => [f, readFileSync(join(bundles.mlp, f)).toString('base64')]),
  );
  assert.deepEqual(Object.keys(files).sort(), ['model.onnx', 'modelops.json']);
  const up = await call('POST', '/v2/repository/models/mlp/versions/1.0.0/load', { files }, auth);
  assert.equal(up.status, 200, JSON.stringify(up.json));
  assert.match(String(up.json.digest), /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(readdirSync(join(tmp, 'store', 'bundles', 'mlp', '1.0.0')).sort(), ['model.onnx', 'modelops.json']);

  const partial = await call(
    'POST',
    '/v2/repository/models/mlp/versions/1.0.1/load',
    { files: { 'modelops.json': files['modelops.json'] } },
    auth,
  );
  assert.equal(partial.status, 400);
  assert.match(String(partial.json.error), /missing 'model\.(onnx|json)'/);
  const mixed = await call(
    'POST',
    '/v2/repository/models/mlp/versions/1.0.2/load',
    { files: { ...files, 'weights.bin': 'AAAA' } },
    auth,
  );
  assert.equal(mixed.status, 400);
  assert.match(String(mixed.json.error), /'weights\.bin' does not belong/);
  assert.equal((await call('GET', '/v2/models/mlp/versions/1.0.2/ready')).status, 404);

  const meta = await call('GET', '/v2/models/mlp');
  assert.equal(meta.status, 200);
  assert.equal(meta.json.platform, 'modelops-onnx');
  assert.deepEqual(
    meta.json.inputs,
    FOUR.map((name) => ({ name, datatype: 'FP32', shape: [-1] })),
  );
  assert.deepEqual(meta.json.labels, LABELS);
});

for (const c of [
  { name: 'mlp', file: 'weather-mlp-v1.onnx', cols: FOUR },
  { name: 'labelprobs', file: 'weather-mlp-label-probs.onnx', cols: FOUR },
  { name: 'percol', file: 'weather-logreg-per-column.onnx', cols: FOUR },
]) {
  test(`${c.file} served: labels and probabilities equal the ONNX Runtime reference (1e-5)`, async () => {
    if (c.name !== 'mlp')
      assert.equal(
        (await call('POST', `/v2/repository/models/${c.name}/versions/1.0.0/load`, { path: bundles[c.name] }, auth))
          .status,
        200,
      );
    const r = ref(c.file);
    const res = await call('POST', `/v2/models/${c.name}/infer`, {
      id: `ref-${c.name}`,
      ...inferBody(columnsOf(r, c.cols)),
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.id, `ref-${c.name}`);
    const probs = output(res.json, 'probabilities');
    assert.deepEqual(probs.shape, [8, 5]);
    assert.equal(probs.datatype, 'FP32');
    close(probs.data as number[], r.outputs.probabilities.data, c.name);
    const labels = output(res.json, 'label').data as string[];
    // The model's own label output when it has one; else the most probable class.
    const expected = r.outputs.label
      ? r.outputs.label.data.map((k) => LABELS[k])
      : Array.from({ length: 8 }, (_, i) => {
          const p = r.outputs.probabilities.data.slice(i * 5, i * 5 + 5);
          return LABELS[p.indexOf(Math.max(...p))];
        });
    assert.deepEqual(labels, expected);
  });
}

test('the regression model serves its value (1e-5), one request or many batched together', async () => {
  assert.equal(
    (await call('POST', '/v2/repository/models/tempmax/versions/1.0.0/load', { path: bundles.tempmax }, auth)).status,
    200,
  );
  const r = ref('temp-max-regressor.onnx');
  const cols = columnsOf(r, ['precipitation', 'temp_min', 'wind']);
  const whole = await call('POST', '/v2/models/tempmax/infer', inferBody(cols));
  assert.equal(whole.status, 200, JSON.stringify(whole.json));
  const value = output(whole.json, 'value');
  assert.equal(value.datatype, 'FP32');
  close(value.data as number[], r.outputs.temp_max.data, 'tempmax');
  // Eight one-row requests at once: merged by the batcher, each answered with its own row.
  const single = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      call(
        'POST',
        '/v2/models/tempmax/infer',
        inferBody(Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, [v[i]]]))),
      ),
    ),
  );
  close(
    single.map((s) => (output(s.json, 'value').data as number[])[0]),
    r.outputs.temp_max.data,
    'tempmax one row each',
  );
});

test('a wrong datatype or a missing input is a 400 naming the input', async () => {
  const r = ref('weather-mlp-v1.onnx');
  const cols = columnsOf(r, FOUR);
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'text for FP32',
      inferBody(cols, { temp_max: 'BYTES' }),
      /Input 'temp_max'.*datatype must be FP32 \(got "BYTES"\)/,
    ],
    ['BOOL for FP32', inferBody(cols, { wind: 'BOOL' }), /Input 'wind'.*datatype must be FP32/],
    [
      'a string value',
      inferBody({ ...cols, precipitation: ['a', ...cols.precipitation.slice(1)] }),
      /Input 'precipitation' value 0 is the string 'a', not a finite number/,
    ],
    [
      'missing input',
      inferBody({ precipitation: cols.precipitation, temp_max: cols.temp_max, temp_min: cols.temp_min }),
      /Input 'wind' is missing/,
    ],
    ['unknown input', inferBody({ ...cols, gust: cols.wind }), /Unknown input 'gust'/],
    ['missing value', inferBody({ ...cols, wind: [null, ...cols.wind.slice(1)] }), /column 'wind'.*missing/],
  ];
  for (const [what, body, re] of cases) {
    const res = await call('POST', '/v2/models/mlp/infer', body);
    assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.json)}`);
    assert.match(String(res.json.error), re, what);
  }
  // The server still answers.
  assert.equal((await call('POST', '/v2/models/mlp/infer', inferBody(cols))).status, 200);
});

test('INT64, BOOL and FP64 inputs take their own datatypes; a mismatch is a 400 naming the input', async () => {
  assert.equal(
    (await call('POST', '/v2/repository/models/mixed/versions/1.0.0/load', { path: bundles.mixed }, auth)).status,
    200,
  );
  const meta = await call('GET', '/v2/models/mixed');
  assert.deepEqual(meta.json.inputs, [
    { name: 'count', datatype: 'INT64', shape: [-1] },
    { name: 'flag', datatype: 'BOOL', shape: [-1] },
    { name: 'rate', datatype: 'FP64', shape: [-1] },
  ]);
  const dt = { count: 'INT64', flag: 'BOOL', rate: 'FP64' };
  const ok = await call(
    'POST',
    '/v2/models/mixed/infer',
    inferBody({ count: [3, -2, 40], flag: [true, false, true], rate: [0.25, 1.5, -0.5] }, dt),
  );
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  assert.deepEqual(output(ok.json, 'value').data, [4.25, -0.5, 40.5]);
  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'FP32 for INT64',
      inferBody({ count: [3], flag: [true], rate: [0.25] }, { ...dt, count: 'FP32' }),
      /Input 'count' is INT64; its datatype must be INT64 \(got "FP32"\)/,
    ],
    [
      'a fraction for INT64',
      inferBody({ count: [3.5], flag: [true], rate: [0.25] }, dt),
      /Input 'count' value 0 is 3.5, not a whole number/,
    ],
    [
      'INT64 for BOOL',
      inferBody({ count: [3], flag: [1], rate: [0.25] }, { ...dt, flag: 'INT64' }),
      /Input 'flag' is BOOL; its datatype must be BOOL \(got "INT64"\)/,
    ],
    [
      'a number for BOOL',
      inferBody({ count: [3], flag: [1], rate: [0.25] }, dt),
      /Input 'flag' value 0 is 1, not true or false/,
    ],
    [
      'BYTES for FP64',
      inferBody({ count: [3], flag: [true], rate: ['0.25'] }, { ...dt, rate: 'BYTES' }),
      /Input 'rate' is numeric; its datatype must be FP64/,
    ],
  ];
  for (const [what, body, re] of bad) {
    const res = await call('POST', '/v2/models/mixed/infer', body);
    assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.json)}`);
    assert.match(String(res.json.error), re, what);
  }
});

test('a model with a text input takes BYTES; a request the model refuses fails alone in a shared batch', async () => {
  assert.equal(
    (await call('POST', '/v2/repository/models/text/versions/1.0.0/load', { path: bundles.text }, auth)).status,
    200,
  );
  const meta = await call('GET', '/v2/models/text');
  assert.deepEqual(meta.json.inputs, [
    { name: 'city', datatype: 'BYTES', shape: [-1] },
    { name: 'x', datatype: 'FP32', shape: [-1] },
  ]);
  const dt = { city: 'BYTES' };
  const ok = await call('POST', '/v2/models/text/infer', inferBody({ city: ['london', 'paris'], x: [1, 2] }, dt));
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  assert.deepEqual(output(ok.json, 'value').data, [2, 2]);
  const numbers = await call('POST', '/v2/models/text/infer', inferBody({ city: [1], x: [1] }, { city: 'FP32' }));
  assert.equal(numbers.status, 400);
  assert.match(String(numbers.json.error), /Input 'city' is categorical; its datatype must be BYTES/);
  // No numeric path: rows are merged; the one with a missing city fails, its neighbours do not.
  const [good1, badOne, good2] = await Promise.all([
    call('POST', '/v2/models/text/infer', inferBody({ city: ['london'], x: [5] }, dt)),
    call('POST', '/v2/models/text/infer', inferBody({ city: [null], x: [5] }, dt)),
    call('POST', '/v2/models/text/infer', inferBody({ city: ['rome'], x: [7] }, dt)),
  ]);
  assert.equal(good1.status, 200);
  assert.deepEqual(output(good1.json, 'value').data, [6]);
  assert.equal(badOne.status, 400);
  assert.match(String(badOne.json.error), /column 'city'.*missing/);
  assert.equal(good2.status, 200);
  assert.deepEqual(output(good2.json, 'value').data, [7]);
});

test('ONNX predictions are logged with their inputs and outputs', async () => {
  await server.log!.flush();
  const lines = readFileSync(join(tmp, 'store', 'logs', 'mixed', 'predictions.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { inputs: Record<string, unknown[]>; outputs: { value: number[] } });
  assert.equal(lines.length, 1, 'refused requests are not logged');
  assert.deepEqual(lines[0].inputs, { count: [3, -2, 40], flag: [true, false, true], rate: [0.25, 1.5, -0.5] });
  assert.deepEqual(lines[0].outputs.value, [4.25, -0.5, 40.5]);
});
