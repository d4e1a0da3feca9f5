/**
 * Batch scoring of a file (`modelops predict`): an ONNX classifier's and regressor's outputs
 * against ONNX Runtime's own (test/fixtures/onnx/reference-outputs.json, computed by Python's
 * onnxruntime), a TF.js version against its runtime row by row across batches, rows without a
 * prediction, kept columns as written, CSV and JSONL, and an output file that is only ever
 * replaced whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkspaceRegistry } from '../../../server/engine/registry';
import { predictFile, type PredictionSink, type PredictProgress } from '../../../server/engine/evaluation/predictFile';
import { loadRuntime, writeOnnxBundle } from '../../../server/engine/runtime';
import { readDataset } from '../../../server/engine/data/read';
import { ModelOpsError } from '../../../server/engine/errors';
import { predictCommand } from '../../../server/cli/commands/predict';
import type { CliIO } from '../../../server/cli/command';
import { inWorkspace, type TempWorkspace } from '../registry/helpers';
import { makeBundle, makeRows } from '../serving/fixtures';

const FIX = join(__dirname, '..', '..', 'fixtures', 'onnx');
interface Ref {
  model: string;
  inputs: Record<string, { shape: number[]; data: number[] }>;
  outputs: Record<string, { shape: number[]; data: number[] }>;
}
const refs = JSON.parse(readFileSync(join(FIX, 'reference-outputs.json'), 'utf8')) as Ref[];
const COLUMNS = ['precipitation', 'temp_max', 'temp_min', 'wind'];

const withWorkspace = (fn: (ws: TempWorkspace, reg: WorkspaceRegistry) => Promise<void>): Promise<void> =>
  inWorkspace('modelops-predict-', fn);

async function registerOnnx(ws: TempWorkspace, reg: WorkspaceRegistry, file: string, model: string): Promise<void> {
  const bundle = join(ws.root, 'bundles', model);
  mkdirSync(join(ws.root, 'bundles'), { recursive: true });
  await writeOnnxBundle(bundle, join(FIX, file), { target: model === 'temp' ? 'temp_max' : 'weather' });
  await reg.registerVersion({ model, source: bundle, version: '1.0.0' });
}

/** The reference rows as a CSV with an id column written as text ("007"), the values as float32 text. */
function referenceCsv(ws: TempWorkspace, ref: Ref, extra = ''): string {
  const x = ref.inputs.features;
  const k = x.shape[1];
  const lines = ['id,' + COLUMNS.slice(0, k).join(',')];
  for (let i = 0; i < x.shape[0]; i++) lines.push([`00${i}`, ...x.data.slice(i * k, (i + 1) * k)].join(','));
  return ws.file('data/score.csv', lines.join('\n') + '\n' + extra);
}

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-6, `${what}: ${a} vs ${b}`);

test("an ONNX classifier's predictions are ONNX Runtime's; a row with a missing feature gets none; kept columns stay as written", async () => {
  await withWorkspace(async (ws, reg) => {
    const ref = refs.find((r) => r.model === 'weather-mlp-v1.onnx')!;
    await registerOnnx(ws, reg, ref.model, 'weather');
    const data = referenceCsv(ws, ref, '009,1.5,,3,4\n');
    const out = join(ws.root, 'predictions.csv');
    const r = await predictFile({ registry: reg, ref: 'weather@1.0.0', dataPath: data, out, keep: ['id'] });
    assert.equal(r.runtime, 'onnx');
    assert.equal(r.rows, 9);
    assert.equal(r.predicted, 8);
    assert.deepEqual(r.skipped, { rows: 1, lines: [10] });
    assert.equal(r.data, 'data/score.csv');
    const labels = ['drizzle', 'fog', 'rain', 'snow', 'sun'];
    assert.deepEqual(r.columns, ['line', 'id', 'prediction', ...labels.map((l) => `probability_${l}`)]);
    const ds = await readDataset(out, { types: { id: 'string' } });
    assert.deepEqual(
      ds.columns.map((c) => c.name),
      r.columns,
    );
    const p = ref.outputs.probabilities.data;
    for (let i = 0; i < 8; i++) {
      const row = ds.rows[i];
      assert.equal(row.line, i + 2);
      assert.equal(row.id, `00${i}`);
      const probs = labels.map((l) => row[`probability_${l}`] as number);
      probs.forEach((v, j) => close(v, p[i * 5 + j], `row ${i} ${labels[j]}`));
      assert.equal(row.prediction, labels[probs.indexOf(Math.max(...probs))]);
    }
    assert.deepEqual(ds.rows[8], {
      line: 10,
      id: '009',
      prediction: null,
      ...Object.fromEntries(labels.map((l) => [`probability_${l}`, null])),
    });
    // Many rows without a prediction: all counted, the first ten named.
    const gaps = ws.file(
      'data/gaps.csv',
      'precipitation,temp_max,temp_min,wind\n' + '1,,3,4\n'.repeat(12) + '1,2,3,4\n',
    );
    const g = await predictFile({ registry: reg, ref: 'weather@1.0.0', dataPath: gaps, out: join(ws.root, 'g.csv') });
    assert.deepEqual([g.rows, g.predicted, g.skipped.rows], [13, 1, 12]);
    assert.deepEqual(g.skipped.lines, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    // A kept column the model also reads is written as written, and read by the model as a number.
    const spelled = ws.file('data/spelled.csv', 'precipitation,temp_max,temp_min,wind\n1.50,2,3,4\n1.5,2,3,4\n');
    const sOut = join(ws.root, 's.csv');
    await predictFile({ registry: reg, ref: 'weather@1.0.0', dataPath: spelled, out: sOut, keep: ['precipitation'] });
    const sRows = (await readDataset(sOut, { types: { precipitation: 'string' } })).rows;
    assert.deepEqual(
      sRows.map((x) => x.precipitation),
      ['1.50', '1.5'],
    );
    assert.equal(sRows[0].probability_sun, sRows[1].probability_sun);
    const counts = (r.summary as { classes: Record<string, number> }).classes;
    assert.equal(
      Object.values(counts).reduce((a, b) => a + b, 0),
      8,
    );
  });
});

test("an ONNX regressor's values are ONNX Runtime's, as JSON lines, with their range and mean", async () => {
  await withWorkspace(async (ws, reg) => {
    const ref = refs.find((r) => r.model === 'temp-max-regressor.onnx')!;
    await registerOnnx(ws, reg, ref.model, 'temp');
    const rt = await loadRuntime(await reg.artifactPath('temp@1.0.0'));
    const features = rt.features;
    rt.dispose();
    // The regressor's own inputs, whatever they are named.
    const x = ref.inputs.features;
    const k = x.shape[1];
    const lines = [features.join(',')];
    for (let i = 0; i < x.shape[0]; i++) lines.push(x.data.slice(i * k, (i + 1) * k).join(','));
    const data = ws.file('data/temps.csv', lines.join('\n') + '\n');
    const out = join(ws.root, 'temps.jsonl');
    const r = await predictFile({ registry: reg, ref: 'temp@1.0.0', dataPath: data, out });
    assert.equal(r.format, 'jsonl');
    const got = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; prediction: number });
    const want = ref.outputs.temp_max.data;
    assert.equal(got.length, want.length);
    got.forEach((g, i) => {
      assert.equal(g.line, i + 2);
      close(g.prediction, want[i], `row ${i}`);
    });
    const s = r.summary as { min: number; max: number; mean: number };
    close(s.min, Math.min(...got.map((g) => g.prediction)), 'min');
    close(s.max, Math.max(...got.map((g) => g.prediction)), 'max');
    close(s.mean, got.reduce((a, g) => a + g.prediction, 0) / got.length, 'mean');
  });
});

test('a TF.js version predicts every row as its runtime does, in order across batches', async () => {
  await withWorkspace(async (ws, reg) => {
    const bundle = join(ws.root, 'bundles', 'w');
    await makeBundle(bundle);
    await reg.registerVersion({ model: 'w', source: bundle, version: '1.0.0' });
    const rows = makeRows(250, 3);
    const data = ws.file(
      'data/rows.csv',
      'temp_max,wind,season\n' + rows.map((r) => `${r.temp_max},${r.wind},${r.season}`).join('\n') + '\n',
    );
    let text = '';
    const sink: PredictionSink = { write: async (t) => void (text += t) };
    const progress: PredictProgress[] = [];
    const r = await predictFile({
      registry: reg,
      ref: 'w@1.0.0',
      dataPath: data,
      out: sink,
      batchRows: 64,
      onProgress: (p) => progress.push(p),
    });
    assert.equal(r.runtime, 'tfjs');
    assert.deepEqual(
      progress.map((p) => p.rows),
      [64, 128, 192, 250],
    );
    // A small file is read in one chunk: every batch has read all of it.
    assert.ok(progress.every((p) => p.bytes === statSync(data).size && p.totalBytes === p.bytes));
    const rt = await loadRuntime(bundle);
    const want = await rt.predict(rows);
    rt.dispose();
    const lines = text.trim().split('\n');
    assert.equal(lines.length, 251);
    lines.slice(1).forEach((l, i) => {
      const cells = l.split(',');
      assert.equal(Number(cells[0]), i + 2);
      assert.equal(cells[1], String(want[i].value));
      // The same float32, written in its shortest form (0.0341158, not 0.03411579877138138).
      want[i].probabilities!.forEach((v, j) => {
        assert.equal(Math.fround(Number(cells[2 + j])), v);
        assert.ok(cells[2 + j].replace(/^0\.0*|e.*$|[-.]/g, '').length <= 9, cells[2 + j]);
      });
    });
  });
});

test('an output file is written whole or not at all, and replaced only with force', async () => {
  await withWorkspace(async (ws, reg) => {
    const ref = refs.find((r) => r.model === 'weather-mlp-v1.onnx')!;
    await registerOnnx(ws, reg, ref.model, 'weather');
    const good = referenceCsv(ws, ref);
    const out = ws.file('predictions.csv', 'the previous predictions\n');
    await assert.rejects(
      predictFile({ registry: reg, ref: 'weather@1.0.0', dataPath: good, out }),
      (e: unknown) =>
        e instanceof ModelOpsError &&
        e.code === 'data-out-exists' &&
        /predictions\.csv already exists; nothing was written/.test(e.message),
    );
    // Stopped after its first batch was written: the old file is left as it was, with no
    // temporary file beside it.
    const stop = new AbortController();
    await assert.rejects(
      predictFile({
        registry: reg,
        ref: 'weather@1.0.0',
        dataPath: good,
        out,
        force: true,
        batchRows: 2,
        signal: stop.signal,
        onProgress: () => stop.abort(),
      }),
      /Prediction was cancelled; nothing was written/,
    );
    assert.equal(readFileSync(out, 'utf8'), 'the previous predictions\n');
    assert.deepEqual(
      readdirSync(ws.root).filter((f) => f.endsWith('.tmp')),
      [],
    );
    const r = await predictFile({ registry: reg, ref: 'weather@1.0.0', dataPath: good, out, force: true });
    assert.equal(r.predicted, 8);
    assert.match(readFileSync(out, 'utf8'), /^line,prediction,probability_drizzle,/);
    // A missing folder or feature column: clear errors, nothing written.
    await assert.rejects(
      predictFile({ registry: reg, ref: 'weather@1.0.0', dataPath: good, out: join(ws.root, 'no', 'p.csv') }),
      /The folder of no\/p\.csv does not exist/,
    );
    const bad = ws.file('data/bad.csv', 'precipitation,temp_max,temp_min,wind\n1,2,3,4\n1,warm,3,4\n');
    await assert.rejects(
      predictFile({ registry: reg, ref: 'weather@1.0.0', dataPath: bad, out: join(ws.root, 'p2.csv') }),
      /data\/bad\.csv line 3, column 'temp_max': 'warm' is text in a numeric column/,
    );
    const noWind = ws.file('data/nowind.csv', 'precipitation,temp_max,temp_min\n1,2,3\n');
    await assert.rejects(
      predictFile({ registry: reg, ref: 'weather@1.0.0', dataPath: noWind, out: join(ws.root, 'p2.csv') }),
      /data\/nowind\.csv has no feature column 'wind'/,
    );
    assert.equal(existsSync(join(ws.root, 'p2.csv')), false);
  });
});

function io(cwd: string): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { cwd, isTTY: false, env: {}, out: (t) => stdout.push(t), err: (t) => stderr.push(t), stdout, stderr };
}

test('modelops predict: CSV to standard output and the summary to standard error, or a file and its summary', async () => {
  await withWorkspace(async (ws, reg) => {
    const ref = refs.find((r) => r.model === 'weather-mlp-v1.onnx')!;
    await registerOnnx(ws, reg, ref.model, 'weather');
    referenceCsv(ws, ref);
    const piped = io(ws.root);
    assert.equal(await predictCommand.run(['weather@1.0.0', '--data', 'data/score.csv'], piped), 0);
    const csv = piped.stdout.join('\n').split('\n');
    assert.equal(csv.length, 9);
    assert.match(csv[0], /^line,prediction,probability_drizzle,/);
    assert.match(piped.stderr[0], /✓ weather@1\.0\.0 \(ONNX Runtime\) predicted 8 of 8 rows of data\/score\.csv$/);
    const toFile = io(ws.root);
    assert.equal(
      await predictCommand.run(['weather@1.0.0', '--data', 'data/score.csv', '--out', 'p.csv', '--json'], toFile),
      0,
    );
    const summary = JSON.parse(toFile.stdout.join('\n')) as { out: string; predicted: number };
    assert.deepEqual([summary.out, summary.predicted], ['p.csv', 8]);
    await assert.rejects(
      predictCommand.run(['weather@1.0.0', '--data', 'data/score.csv', '--json'], io(ws.root)),
      /--json prints the summary; the predictions then need a file: give --out/,
    );
    await assert.rejects(predictCommand.run(['weather@1.0.0'], io(ws.root)), /Missing --data/);
  });
});
