import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadRuntime,
  openOnnxFile,
  writeOnnxBundle,
  describeBundle,
  type ModelRuntime,
  type OnnxBundleSpec,
  type OnnxManifest,
} from '../../../server/engine/runtime';
import { ModelOpsError } from '../../../server/engine/errors';
import { INT64, model, node, valueInfo, FLOAT } from './onnxBytes';
import { makeBundle } from '../serving/fixtures';

const FIX = join(__dirname, '..', '..', 'fixtures', 'onnx');
const tmp = mkdtempSync(join(tmpdir(), 'modelops-onnx-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

interface Ref {
  model: string;
  inputs: Record<string, { shape: number[]; data: number[] }>;
  outputs: Record<string, { shape: number[]; dtype: string; data: number[] }>;
}
const refs = JSON.parse(readFileSync(join(FIX, 'reference-outputs.json'), 'utf8')) as Ref[];
const ref = (name: string): Ref => refs.find((r) => r.model === name)!;
const LABELS = ['drizzle', 'fog', 'rain', 'snow', 'sun'];
const FOUR = ['precipitation', 'temp_max', 'temp_min', 'wind'];
/** The dates of the 8 reference rows in the sample's seattle-weather.csv (matched on all four values). */
const DATES = [
  '2013-02-28',
  '2015-01-28',
  '2013-09-05',
  '2013-06-16',
  '2015-07-30',
  '2012-01-16',
  '2013-12-23',
  '2013-04-16',
];
const TOL = 1e-5;

/** Reference input rows as records: `cols` name the columns of a [8, n] `features` input. */
function rowsOf(r: Ref, cols: string[]): Array<Record<string, unknown>> {
  const entries = Object.entries(r.inputs);
  return Array.from({ length: 8 }, (_, i) => {
    const row: Record<string, unknown> = {};
    if (entries.length === 1) {
      const { shape, data } = entries[0][1];
      cols.forEach((c, j) => (row[c] = data[i * shape[1] + j]));
    } else for (const [name, { data }] of entries) row[name] = data[i];
    return row;
  });
}

function close(actual: ArrayLike<number>, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++)
    assert.ok(Math.abs(actual[i] - expected[i]) <= TOL, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

/** Both paths of a runtime against the reference outputs. */
async function checkAgainstReference(
  rt: ModelRuntime,
  rows: Array<Record<string, unknown>>,
  expected: number[],
  what: string,
): Promise<void> {
  const preds = await rt.predict(rows);
  assert.equal(preds.length, 8);
  if (rt.task === 'classification') {
    close(
      preds.flatMap((p) => p.probabilities!),
      expected,
      `${what} predict`,
    );
    for (const p of preds) assert.equal(p.value, LABELS[p.probabilities!.indexOf(Math.max(...p.probabilities!))]);
  } else
    close(
      preds.map((p) => p.value as number),
      expected,
      `${what} predict`,
    );
  assert.ok(rt.encode && rt.predictBatch, 'numeric models have the batch path');
  const x = rt.encode(rows);
  assert.equal(x.length, 8 * rt.encodedWidth);
  const batch = await rt.predictBatch(x, 8);
  close(batch.outputs, expected, `${what} batch`);
  assert.deepEqual(rt.decode(batch, 8), preds);
}

const cases: Array<{ file: string; spec: OnnxBundleSpec; cols: string[]; out: string; features: string[] }> = [
  { file: 'weather-mlp-v1.onnx', spec: {}, cols: FOUR, out: 'probabilities', features: FOUR },
  { file: 'weather-mlp-v2.onnx', spec: {}, cols: FOUR, out: 'probabilities', features: FOUR },
  { file: 'weather-mlp-label-probs.onnx', spec: {}, cols: FOUR, out: 'probabilities', features: FOUR },
  {
    file: 'temp-max-regressor.onnx',
    spec: {},
    cols: ['precipitation', 'temp_min', 'wind'],
    out: 'temp_max',
    features: ['precipitation', 'temp_min', 'wind'],
  },
  { file: 'weather-logreg-per-column.onnx', spec: {}, cols: FOUR, out: 'probabilities', features: FOUR },
];

for (const c of cases) {
  test(`${c.file}: predict (rows) and the batch path equal ONNX Runtime Python to 1e-5`, async () => {
    const r = ref(c.file);
    const rt = await openOnnxFile(join(FIX, c.file), c.spec);
    try {
      assert.equal(rt.kind, 'onnx');
      assert.deepEqual(rt.features, c.features);
      await checkAgainstReference(rt, rowsOf(r, c.cols), r.outputs[c.out].data, c.file);
    } finally {
      rt.dispose();
    }
  });
}

test('metadata_props give task, labels and features; the served signature names raw columns', async () => {
  const rt = await openOnnxFile(join(FIX, 'weather-mlp-v1.onnx'));
  try {
    assert.equal(rt.task, 'classification');
    assert.deepEqual(rt.labels, LABELS);
    assert.deepEqual(rt.signature, {
      inputs: FOUR.map((name) => ({ name, datatype: 'FP32', shape: [-1] })),
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 5] },
      ],
    });
    assert.deepEqual(rt.manifest.graph.inputs, [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }]);
    assert.equal((rt.manifest as OnnxManifest).inputs.mapping, 'single');
  } finally {
    rt.dispose();
  }
  const reg = await openOnnxFile(join(FIX, 'temp-max-regressor.onnx'));
  try {
    assert.equal(reg.task, 'regression');
    assert.equal(reg.labels, undefined);
    assert.deepEqual(reg.signature.outputs, [{ name: 'value', datatype: 'FP32', shape: [-1] }]);
    assert.deepEqual(reg.manifest.outputs, { value: 'temp_max' });
  } finally {
    reg.dispose();
  }
});

test('per-column mapping is detected from the graph and matches inputs by name, whatever the row key order', async () => {
  const r = ref('weather-logreg-per-column.onnx');
  const rt = await openOnnxFile(join(FIX, 'weather-logreg-per-column.onnx'));
  try {
    assert.equal((rt.manifest as OnnxManifest).inputs.mapping, 'per-column');
    const rows = rowsOf(r, FOUR).map((row) => ({
      wind: row.wind,
      temp_min: row.temp_min,
      precipitation: row.precipitation,
      temp_max: row.temp_max,
      extra: 'ignored',
    }));
    const preds = await rt.predict(rows);
    close(
      preds.flatMap((p) => p.probabilities!),
      r.outputs.probabilities.data,
      'per-column',
    );
  } finally {
    rt.dispose();
  }
  // Columns given in another order: still fed by name, so outputs are the same.
  const shuffled = await openOnnxFile(join(FIX, 'weather-logreg-per-column.onnx'), {
    columns: ['wind', 'temp_min', 'temp_max', 'precipitation'],
  });
  try {
    assert.deepEqual(shuffled.features, ['wind', 'temp_min', 'temp_max', 'precipitation']);
    const x = shuffled.encode!(rowsOf(r, FOUR));
    close((await shuffled.predictBatch!(x, 8)).outputs, r.outputs.probabilities.data, 'per-column, shuffled columns');
  } finally {
    shuffled.dispose();
  }
  await assert.rejects(
    openOnnxFile(join(FIX, 'weather-logreg-per-column.onnx'), {
      columns: ['precipitation', 'temp_max', 'temp_min', 'gust'],
    }),
    (e: unknown) => e instanceof ModelOpsError && e.message.includes("input 'wind' matches none of the columns"),
  );
});

test('label + probabilities outputs: the label output is the prediction, probabilities come along', async () => {
  const r = ref('weather-mlp-label-probs.onnx');
  const rt = await openOnnxFile(join(FIX, 'weather-mlp-label-probs.onnx'));
  try {
    assert.deepEqual(rt.manifest.outputs, { probabilities: 'probabilities', label: 'label', labelKind: 'index' });
    const batch = await rt.predictBatch!(rt.encode!(rowsOf(r, FOUR)), 8);
    assert.deepEqual(Array.from(batch.labels!), r.outputs.label.data);
    const preds = await rt.predict(rowsOf(r, FOUR));
    assert.deepEqual(
      preds.map((p) => p.value),
      r.outputs.label.data.map((i) => LABELS[i]),
    );
  } finally {
    rt.dispose();
  }
});

test('the 6-input model takes the raw date: month and day_of_year are derived', async () => {
  const r = ref('weather-mlp-6in.onnx');
  const derived = { month: 'month(date)', day_of_year: 'dayofyear(date)' };
  const rows = rowsOf(r, [...FOUR, 'month', 'day_of_year']);
  // The reference's month and day_of_year columns (pandas) are what our derivations give for the dates.
  rows.forEach((row, i) => {
    row.date = DATES[i];
  });
  const raw = rows.map((row) => ({
    precipitation: row.precipitation,
    temp_max: row.temp_max,
    temp_min: row.temp_min,
    wind: row.wind,
    date: row.date,
  }));
  const rt = await openOnnxFile(join(FIX, 'weather-mlp-6in.onnx'), { derived });
  try {
    assert.deepEqual(rt.features, [...FOUR, 'date']);
    assert.deepEqual(rt.columns.at(-1), { name: 'date', datatype: 'BYTES', kind: 'date' });
    const x = rt.encode!(raw);
    for (let i = 0; i < 8; i++)
      assert.deepEqual([x[i * 6 + 4], x[i * 6 + 5]], [rows[i].month, rows[i].day_of_year], DATES[i]);
    await checkAgainstReference(rt, raw, r.outputs.probabilities.data, '6in');
    await assert.rejects(
      rt.predict([{ ...raw[0], date: '2013-02-30' }]),
      (e: unknown) =>
        e instanceof ModelOpsError &&
        e.code === 'bad-date' &&
        e.message.includes("row 1, column 'date'") &&
        e.message.includes("'2013-02-30' is not a date"),
    );
  } finally {
    rt.dispose();
  }
  // Without derivations the model needs month and day_of_year sent as columns.
  const plain = await openOnnxFile(join(FIX, 'weather-mlp-6in.onnx'));
  try {
    assert.deepEqual(plain.features, [...FOUR, 'month', 'day_of_year']);
    close(
      (await plain.predict(rows)).flatMap((p) => p.probabilities!),
      r.outputs.probabilities.data,
      '6in, columns sent',
    );
  } finally {
    plain.dispose();
  }
  await assert.rejects(
    openOnnxFile(join(FIX, 'weather-mlp-6in.onnx'), { derived: { month: 'quarter(date)' } }),
    (e: unknown) =>
      e instanceof ModelOpsError && e.code === 'bad-derived-input' && e.message.includes("'quarter(date)'"),
  );
});

test('an ONNX bundle: written once, loaded through loadRuntime, with a reference profile for drift', async () => {
  const r = ref('weather-mlp-v1.onnx');
  const rows = rowsOf(r, FOUR);
  const dir = join(tmp, 'bundle-v1');
  const manifest = await writeOnnxBundle(dir, join(FIX, 'weather-mlp-v1.onnx'), {
    target: 'weather',
    reference: { rows, seed: 3 },
  });
  assert.deepEqual(readdirSync(dir).sort(), ['model.onnx', 'modelops.json']);
  assert.equal(manifest.format, 'modelops-onnx/1');
  assert.deepEqual(manifest.columns, FOUR);
  assert.equal(manifest.graph.producer, 'pytorch 2.13.0');
  assert.deepEqual(manifest.graph.opsets, { '': 17 });
  assert.equal(manifest.profile!.rows, 8);
  assert.deepEqual(Object.keys(manifest.profile!.features), FOUR);
  assert.equal(manifest.profile!.predictions.kind, 'categorical');
  assert.match(manifest.modelDigest, /^[0-9a-f]{64}$/);
  const rt = await loadRuntime(dir);
  try {
    assert.equal(rt.kind, 'onnx');
    assert.equal(rt.target, 'weather');
    assert.deepEqual(rt.profile, manifest.profile);
    await checkAgainstReference(rt, rows, r.outputs.probabilities.data, 'bundle');
  } finally {
    rt.dispose();
  }
  // Derived inputs survive the round trip.
  const r6 = ref('weather-mlp-6in.onnx');
  const dir6 = join(tmp, 'bundle-6in');
  await writeOnnxBundle(dir6, join(FIX, 'weather-mlp-6in.onnx'), {
    derived: { month: 'month(date)', day_of_year: 'dayofyear(date)' },
  });
  const rt6 = await loadRuntime(dir6);
  try {
    const raw = rowsOf(r6, [...FOUR, 'm', 'd']).map((row, i) => ({
      precipitation: row.precipitation,
      temp_max: row.temp_max,
      temp_min: row.temp_min,
      wind: row.wind,
      date: DATES[i],
    }));
    close(
      (await rt6.predict(raw)).flatMap((p) => p.probabilities!),
      r6.outputs.probabilities.data,
      '6in bundle',
    );
  } finally {
    rt6.dispose();
  }
  // A bundle of unknown format, and a bundle whose model file is gone.
  const odd = join(tmp, 'odd');
  await writeOnnxBundle(odd, join(FIX, 'weather-mlp-v1.onnx'));
  writeFileSync(join(odd, 'modelops.json'), JSON.stringify({ format: 'modelops-pickle/1' }));
  await assert.rejects(
    loadRuntime(odd),
    (e: unknown) =>
      e instanceof ModelOpsError && e.code === 'bundle-format' && e.message.includes("'modelops-pickle/1'"),
  );
  const gone = join(tmp, 'gone');
  await writeOnnxBundle(gone, join(FIX, 'weather-mlp-v1.onnx'));
  rmSync(join(gone, 'model.onnx'));
  await assert.rejects(
    loadRuntime(gone),
    (e: unknown) => e instanceof ModelOpsError && e.message.includes('model.onnx'),
  );
});

test('row values: text is converted, bad values name the row and column', async () => {
  const rt = await openOnnxFile(join(FIX, 'weather-mlp-v1.onnx'));
  try {
    const good = { precipitation: 0, temp_max: 12.2, temp_min: 5, wind: 1.8 };
    const asText = { precipitation: '0', temp_max: '12.2', temp_min: '5', wind: '1.8' };
    assert.deepEqual(await rt.predict([asText]), await rt.predict([good]));
    await assert.rejects(
      rt.predict([good, { ...good, temp_max: 'warm' }]),
      (e: unknown) =>
        e instanceof ModelOpsError &&
        e.code === 'not-a-number' &&
        e.message.includes("row 2, column 'temp_max'") &&
        e.message.includes("'warm'"),
    );
    await assert.rejects(
      rt.predict([{ ...good, wind: null }]),
      (e: unknown) =>
        e instanceof ModelOpsError && e.code === 'missing-value' && e.message.includes("row 1, column 'wind'"),
    );
    await assert.rejects(
      rt.predict([{ ...good, wind: '' }], { source: 'data.csv', lines: [41] }),
      (e: unknown) => e instanceof ModelOpsError && e.message.includes("data.csv line 41, column 'wind'"),
    );
    assert.deepEqual(await rt.predict([]), []);
  } finally {
    rt.dispose();
  }
  // missing: 'nan' lets NaN through to graphs that impute (this one does not, so the output is NaN).
  const nan = await openOnnxFile(join(FIX, 'temp-max-regressor.onnx'), { missing: 'nan' });
  try {
    const [p] = await nan.predict([{ precipitation: null, temp_min: 5, wind: 2 }]);
    assert.ok(Number.isNaN(p.value));
  } finally {
    nan.dispose();
  }
});

test('the batch path splits large batches into chunks with identical results', async () => {
  const rt = await openOnnxFile(join(FIX, 'weather-logreg-per-column.onnx'));
  try {
    const n = 70_000; // more than one chunk of 65,536 rows
    const x = new Float32Array(n * 4);
    for (let i = 0; i < x.length; i++) x[i] = ((i * 7919) % 400) / 10 - 5;
    const all = await rt.predictBatch!(x, n);
    assert.equal(all.outputs.length, n * 5);
    const tail = await rt.predictBatch!(x.subarray(65_530 * 4), n - 65_530);
    assert.deepEqual(all.outputs.subarray(65_530 * 5), tail.outputs);
  } finally {
    rt.dispose();
  }
});

test('output selection: wrong label count, ZipMap outputs, unknown names and missing labels are clear errors', async () => {
  await assert.rejects(
    openOnnxFile(join(FIX, 'weather-mlp-v1.onnx'), { labels: ['a', 'b', 'c'] }),
    (e: unknown) =>
      e instanceof ModelOpsError && e.code === 'onnx-labels' && e.message.includes('5 columns but 3 labels'),
  );
  await assert.rejects(
    openOnnxFile(join(FIX, 'weather-mlp-v1.onnx'), { outputs: { probabilities: 'probs' } }),
    (e: unknown) =>
      e instanceof ModelOpsError && e.message.includes("no output 'probs'") && e.message.includes("'probabilities'"),
  );
  await assert.rejects(
    openOnnxFile(join(FIX, 'weather-mlp-v1.onnx'), { columns: ['a', 'b', 'c'] }),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.code === 'onnx-inputs' &&
      e.message.includes("input 'features'") &&
      e.message.includes('3 columns'),
  );
  // A scikit-learn classifier exported with ZipMap: output_probability is a sequence of maps.
  const zipmap = model({
    producer: 'skl2onnx',
    inputs: [valueInfo('float_input', FLOAT, ['N', 4])],
    outputs: [valueInfo('output_label', INT64, ['N']), seqOfMaps('output_probability')],
    nodes: [
      node('LinearClassifier', ['float_input'], ['output_label', 'p'], 'ai.onnx.ml'),
      node('ZipMap', ['p'], ['output_probability'], 'ai.onnx.ml'),
    ],
    metadata: { labels: JSON.stringify(LABELS), features: JSON.stringify(FOUR) },
  });
  const zf = join(tmp, 'zipmap.onnx');
  writeFileSync(zf, zipmap);
  await assert.rejects(
    openOnnxFile(zf),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.code === 'onnx-zipmap' &&
      e.message.includes("'output_probability'") &&
      (e as ModelOpsError).hint!.includes('zipmap'),
  );
  // No labels anywhere.
  const nolabels = model({
    inputs: [valueInfo('x', FLOAT, ['N', 2])],
    outputs: [valueInfo('p', FLOAT, ['N', 3])],
    nodes: [node('Softmax', ['x'], ['p'])],
    metadata: { task: 'classification', features: '["a","b"]' },
  });
  const nf = join(tmp, 'nolabels.onnx');
  writeFileSync(nf, nolabels);
  await assert.rejects(
    openOnnxFile(nf),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'onnx-labels' && e.message.includes('3 classes'),
  );
});

/** ValueInfoProto of a sequence(map(int64, float)) — ZipMap's output type. */
function seqOfMaps(name: string): number[] {
  const tensorFloat = [0x0a, 2, 0x08, FLOAT]; // TypeProto { tensor_type { elem_type: FLOAT } }
  const mapType = [0x08, INT64, 0x12, tensorFloat.length, ...tensorFloat]; // Map { key_type, value_type }
  const mapTypeProto = [0x2a, mapType.length, ...mapType]; // TypeProto { map_type }
  const seq = [0x0a, mapTypeProto.length, ...mapTypeProto]; // Sequence { elem_type }
  const type = [0x22, seq.length, ...seq]; // TypeProto { sequence_type }
  const nameBytes = [...Buffer.from(name)];
  return [0x0a, nameBytes.length, ...nameBytes, 0x12, type.length, ...type];
}

test('describeBundle gives what loadRuntime gives (task, labels, target, columns, profile) without loading the model', async () => {
  const dirs = [join(tmp, 'describe-v1'), join(tmp, 'describe-6in'), join(tmp, 'describe-tfjs')];
  await writeOnnxBundle(dirs[0], join(FIX, 'weather-mlp-v1.onnx'), {
    target: 'weather',
    reference: { rows: rowsOf(ref('weather-mlp-v1.onnx'), FOUR), seed: 3 },
  });
  await writeOnnxBundle(dirs[1], join(FIX, 'weather-mlp-6in.onnx'), {
    derived: { month: 'month(date)', day_of_year: 'dayofyear(date)' },
  });
  await makeBundle(dirs[2], 2);
  for (const dir of dirs) {
    const d = await describeBundle(dir);
    const rt = await loadRuntime(dir);
    try {
      assert.deepEqual(
        d,
        {
          task: rt.task,
          ...(rt.labels ? { labels: rt.labels } : {}),
          ...(rt.target !== undefined ? { target: rt.target } : {}),
          columns: rt.columns,
          ...(rt.profile ? { profile: rt.profile } : {}),
        },
        dir,
      );
    } finally {
      rt.dispose();
    }
  }
  // The derived inputs' source is a date column the caller sends.
  assert.deepEqual(
    (await describeBundle(dirs[1])).columns.map((c) => `${c.name}:${c.kind}`),
    ['precipitation:numeric', 'temp_max:numeric', 'temp_min:numeric', 'wind:numeric', 'date:date'],
  );
});
