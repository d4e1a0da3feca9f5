import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  columnsJson,
  inputsJson,
  isoTime,
  nestRows,
  predictionLine,
  quote,
  rawInputData,
  responseText,
} from '../../../server/engine/serving/logLine';
import { readPredictionLog } from '../../../server/engine/monitoring/readLog';
import type { V2InferResponse } from '../../../server/engine/serving/types';
import { tempDir } from './fixtures';

const FEATURES = [{ name: 'temp_max' }, { name: 'wind' }, { name: 'season' }];

/** The columns JSON.parse gives (what decodeInferRequest validates and the log used to serialise). */
function parsedColumns(body: string): Record<string, unknown[]> {
  const o = JSON.parse(body) as { inputs: Array<{ name: string; data: unknown[] }> };
  const out: Record<string, unknown[]> = {};
  for (const f of FEATURES) {
    const t = o.inputs.find((x) => x.name === f.name)!;
    out[f.name] = t.data.length > 0 && Array.isArray(t.data[0]) ? (t.data as unknown[][]).flat() : t.data;
  }
  return out;
}

const inOrder = (c: Record<string, unknown[]>): string =>
  JSON.stringify(Object.fromEntries(FEATURES.map((f) => [f.name, c[f.name]])));

test('a compact request body gives the same inputs text as JSON.stringify of the parsed columns', () => {
  const body = JSON.stringify({
    id: 'r1',
    inputs: [
      { name: 'season', shape: [2], datatype: 'BYTES', data: ['winter', 'sum"mer'] },
      { name: 'temp_max', shape: [2], datatype: 'FP32', data: [12.8, -0.5] },
      { name: 'wind', shape: [2], datatype: 'FP32', data: [4.7, null] },
    ],
  });
  const cols = parsedColumns(body);
  assert.equal(inputsJson(body, FEATURES, cols), inOrder(cols));
  assert.equal(rawInputData(body)!.get('temp_max'), '[12.8,-0.5]');
});

test('bodies not of the plain shape still log exactly the values that were parsed', () => {
  const bodies = [
    // Whitespace inside data, [n, 1] nesting, number spellings JSON.parse normalises.
    '{ "inputs" : [ {"name":"temp_max","shape":[2,1],"datatype":"FP32","data":[[1.0],[2e1]]}, {"name":"wind","shape":[2],"datatype":"FP32","data":[ 3, 4 ]}, {"name":"season","shape":[2],"datatype":"BYTES","data":["a","b"]} ] }',
    // A second "inputs" key wins for JSON.parse: the log must follow it, not the first.
    '{"inputs":[{"name":"temp_max","shape":[1],"datatype":"FP32","data":[999]},{"name":"wind","shape":[1],"datatype":"FP32","data":[999]},{"name":"season","shape":[1],"datatype":"BYTES","data":["x"]}],"inputs":[{"name":"temp_max","shape":[1],"datatype":"FP32","data":[1]},{"name":"wind","shape":[1],"datatype":"FP32","data":[2]},{"name":"season","shape":[1],"datatype":"BYTES","data":["y"]}]}',
    // An escaped key is "inputs" to JSON.parse; the scanner gives up rather than log the other one.
    '{"inputs":[{"name":"temp_max","shape":[1],"datatype":"FP32","data":[999]},{"name":"wind","shape":[1],"datatype":"FP32","data":[999]},{"name":"season","shape":[1],"datatype":"BYTES","data":["x"]}],"in\\u0070uts":[{"name":"temp_max","shape":[1],"datatype":"FP32","data":[1]},{"name":"wind","shape":[1],"datatype":"FP32","data":[2]},{"name":"season","shape":[1],"datatype":"BYTES","data":["y"]}]}',
    // A repeated "data" key inside a tensor, and an escaped tensor name.
    '{"inputs":[{"name":"temp_max","data":[999],"shape":[1],"datatype":"FP32","data":[1]},{"name":"wi\\u006ed","shape":[1],"datatype":"FP32","data":[2]},{"name":"season","shape":[1],"datatype":"BYTES","data":["y"]}]}',
    // Brackets and quotes inside strings.
    '{"parameters":{"note":"]}{[\\""},"inputs":[{"name":"temp_max","shape":[1],"datatype":"FP32","data":[1]},{"name":"wind","shape":[1],"datatype":"FP32","data":[2]},{"name":"season","shape":[1],"datatype":"BYTES","data":["a]\\"b"]}]}',
  ];
  for (const body of bodies) {
    const cols = parsedColumns(body);
    const text = inputsJson(body, FEATURES, cols);
    assert.deepEqual(JSON.parse(text), JSON.parse(inOrder(cols)), body);
    assert.ok(!text.includes('999'), body);
    assert.ok(!/\s/.test(text.replace(/"[^"]*"/g, '')), `no whitespace outside strings: ${text}`);
  }
});

test('the response text and the nested probabilities match JSON.stringify', () => {
  const res: V2InferResponse = {
    model_name: 'weather',
    model_version: '1.0.0',
    id: 'q"1',
    outputs: [
      { name: 'label', datatype: 'BYTES', shape: [2], data: ['sun', 'fog'] },
      {
        name: 'probabilities',
        datatype: 'FP32',
        shape: [2, 3],
        data: [0.1, 0.2, 0.7000000000000001, 1e-7, 0.5, 0.4999999],
      },
    ],
    parameters: { a: 1 },
  };
  const { text, data } = responseText(res);
  assert.equal(text, JSON.stringify(res));
  assert.equal(
    nestRows(data[1], 3),
    JSON.stringify([
      [0.1, 0.2, 0.7000000000000001],
      [1e-7, 0.5, 0.4999999],
    ]),
  );
  assert.equal(nestRows('[0.25]', 1), '[[0.25]]');
  // One row, said by the caller: no scan, the same text.
  assert.equal(nestRows('[0.1,0.2,0.7]', 3, 1), nestRows('[0.1,0.2,0.7]', 3));
  assert.equal(nestRows('[]', 3, 1), '[]');
  assert.equal(nestRows('[1,2,3]', 1), '[[1],[2],[3]]');
  const line = predictionLine({
    id: 'q"1',
    time: '2026-01-01T00:00:00.000Z',
    version: '1.0.0',
    latencyMs: 0.123,
    inputs: '{"temp_max":[1]}',
    outputs: `{"label":${data[0]},"probabilities":${nestRows(data[1], 3)}}`,
  });
  assert.equal(
    line,
    JSON.stringify({
      type: 'prediction',
      id: 'q"1',
      time: '2026-01-01T00:00:00.000Z',
      version: '1.0.0',
      latencyMs: 0.123,
      inputs: { temp_max: [1] },
      outputs: {
        label: ['sun', 'fog'],
        probabilities: [
          [0.1, 0.2, 0.7000000000000001],
          [1e-7, 0.5, 0.4999999],
        ],
      },
    }),
  );
});

test('lines built from raw text are read by the monitor like JSON.stringify lines', async () => {
  const tmp = tempDir('logline');
  try {
    const body =
      '{"inputs":[{"name":"temp_max","shape":[2],"datatype":"FP32","data":[12.5,3]},{"name":"wind","shape":[2],"datatype":"FP32","data":[1,null]},{"name":"season","shape":[2],"datatype":"BYTES","data":["winter","summer"]}]}';
    const cols = parsedColumns(body);
    const res = responseText({
      model_name: 'w',
      model_version: '1.0.0',
      id: 'a',
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [2], data: ['sun', 'fog'] },
        { name: 'probabilities', datatype: 'FP32', shape: [2, 2], data: [0.25, 0.75, 0.5, 0.5] },
      ],
    });
    const built = predictionLine({
      id: 'a',
      time: '2026-01-01T00:00:00.000Z',
      version: '1.0.0',
      latencyMs: 1.5,
      inputs: inputsJson(body, FEATURES, cols),
      outputs: `{"label":${res.data[0]},"probabilities":${nestRows(res.data[1], 2)}}`,
    });
    const reference = JSON.stringify({
      type: 'prediction',
      id: 'a',
      time: '2026-01-01T00:00:00.000Z',
      version: '1.0.0',
      latencyMs: 1.5,
      inputs: JSON.parse(inOrder(cols)) as unknown,
      outputs: {
        label: ['sun', 'fog'],
        probabilities: [
          [0.25, 0.75],
          [0.5, 0.5],
        ],
      },
    });
    assert.equal(built, reference);
    mkdirSync(join(tmp.dir, 'log'));
    writeFileSync(join(tmp.dir, 'log', 'predictions.jsonl'), built + '\n');
    const features = [
      { name: 'temp_max', kind: 'numeric' as const },
      { name: 'wind', kind: 'numeric' as const },
      { name: 'season', kind: 'categorical' as const },
    ];
    const c = await readPredictionLog(join(tmp.dir, 'log'), features, 'classification', ['fog', 'sun'], {
      probabilities: true,
    });
    assert.equal(c.count, 2);
    assert.equal(c.badLines, 0);
    assert.deepEqual([...c.numeric.temp_max.subarray(0, 2)], [12.5, 3]);
    assert.ok(Number.isNaN(c.numeric.wind[1]));
    assert.deepEqual([...c.probabilities!.subarray(0, 4)], [0.25, 0.75, 0.5, 0.5]);
  } finally {
    tmp.cleanup();
  }
});

test('quote writes what JSON.stringify writes, for plain ids and for every character that needs escaping', () => {
  const samples = [
    'a611b16a-fd60-43fb-89b1-6feb581e3792',
    '1.0.0',
    '',
    'q"1',
    'back\\slash',
    'tab\there',
    'nl\n',
    '\u0000\u001f\u007f',
    'emoji 🌧',
    'lone \ud800 surrogate',
    'lone \udfff',
    'é ü 中文',
    '\u2028\u2029',
  ];
  for (const s of samples) assert.equal(quote(s), JSON.stringify(s), JSON.stringify(s));
  for (let c = 0; c < 0x10000; c++) {
    const s = `x${String.fromCharCode(c)}y`;
    if (quote(s) !== JSON.stringify(s)) assert.fail(`U+${c.toString(16)}: ${quote(s)} vs ${JSON.stringify(s)}`);
  }
});

test('isoTime writes what toISOString writes, across seconds, days, years and outside 1970–9999', () => {
  const times = [
    0,
    999,
    1000,
    59_999,
    86_399_999,
    86_400_000,
    Date.UTC(2024, 1, 29, 23, 59, 59, 999),
    Date.UTC(2024, 2, 1),
    253_402_300_799_999,
    253_402_300_800_000,
    -1,
    -86_400_001,
  ];
  // A walk through 20,000 times with steps of a few ms to a few hours, in and out of the cached second.
  let t = Date.UTC(2026, 10, 27, 11, 59, 58, 990);
  for (let i = 0; i < 20_000; i++) {
    t += i % 7 === 0 ? 3_600_000 + (i % 1000) : i % 3;
    times.push(t);
  }
  for (const now of times) assert.equal(isoTime(now), new Date(now).toISOString(), String(now));
  // The clock itself: within the same millisecond or just after.
  const before = Date.now();
  const text = isoTime();
  assert.ok(Date.parse(text) >= before && Date.parse(text) <= Date.now(), text);
});

test('columnsJson writes what JSON.stringify writes, for every kind of value a request can carry', () => {
  const values: unknown[] = [
    0,
    -0,
    1,
    -1,
    0.1,
    1 / 3,
    12.8,
    -4.7e-7,
    1e21,
    1e-7,
    123456789012345680000,
    5e-324,
    Number.MAX_VALUE,
    Number.MIN_SAFE_INTEGER,
    NaN,
    Infinity,
    -Infinity,
    null,
    undefined,
    true,
    false,
    '',
    'sun',
    'sum"mer',
    'a\\b',
    '\u0000\u001f',
    'é€😀',
    '\ud800',
    [1, 2],
    { a: 1 },
  ];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const names = ['temp_max', 'wind', '1', '0', 'sea"son', 'é', ''];
  for (let n = 0; n < 2000; n++) {
    const columns: Record<string, unknown[]> = {};
    for (const name of names) {
      if (random() < 0.4) continue;
      columns[name] = Array.from(
        { length: Math.floor(random() * 4) },
        () => values[Math.floor(random() * values.length)],
      );
    }
    // A hole in an array, as a sparse array would have.
    if (n % 100 === 0) columns.wind = [1, , 3];
    assert.equal(columnsJson(columns), JSON.stringify(columns));
  }
  // Not an array: written as JSON.stringify writes it, or left out as it leaves it out.
  const odd = { a: 'text', b: undefined, c: [1] } as unknown as Record<string, unknown[]>;
  assert.equal(columnsJson(odd), JSON.stringify(odd));
  assert.equal(columnsJson({}), '{}');
});
