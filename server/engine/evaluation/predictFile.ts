/**
 * Batch scoring: a registered version's prediction for every row of a CSV or JSONL file, through
 * whichever runtime runs it (TensorFlow.js or ONNX Runtime), written as CSV or JSONL one row per
 * input row in the input's order — with its file line, the columns asked to be kept (as written),
 * the prediction and, for a classifier, each class's probability.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ModelOpsError } from '../errors';
import type { Registry, VersionRecord } from '../registry/types';
import { isMissingValue } from '../data/preprocess';
import { formatFromPath, readDatasetBatches, type CellValue, type ColumnType, type DataFormat } from '../data/read';
import { csvCell, shortestFloat32 } from '../data/write';
import { loadRuntime, runtimeMissingPolicy, type ModelRuntime } from '../runtime';
import { runnableBundle } from './evaluate';
import { predictionsFileName, type PredictionSummary } from '../../../shared/format';
import { checkOutputPath, tempBeside, workspacePath } from '../paths';

/** How far a batch scoring is. */
export interface PredictProgress {
  /** Rows scored (or skipped) so far. */
  rows: number;
  /** Bytes of the input read so far, and its size: the fraction done. */
  bytes: number;
  totalBytes: number;
}

export interface PredictFileOptions {
  registry: Registry;
  /** model@version or model@alias. */
  ref: string;
  /** The file to score (absolute). */
  dataPath: string;
  /** Where the predictions go: a file (absolute; .jsonl/.ndjson → JSONL, else CSV), or a writer (CSV). */
  out: string | PredictionSink;
  /** Replace an existing output file (default: refuse, and write nothing). */
  force?: boolean;
  /** Columns of the input carried into the output as written (e.g. an id to join on). */
  keep?: string[];
  /** Rows per model call (default 4096); the file is read a batch at a time. */
  batchRows?: number;
  signal?: AbortSignal;
  /** After each batch: rows scored so far, and the bytes of the file read of its size. */
  onProgress?: (progress: PredictProgress) => void;
}

/** Text out, with back-pressure (stdout). */
export interface PredictionSink {
  write(text: string): Promise<void>;
}

export interface PredictFileResult {
  version: VersionRecord;
  ref: string;
  runtime: ModelRuntime['kind'];
  /** The input as shown (workspace-relative when inside it). */
  data: string;
  /** The output file as shown, or null for a writer. */
  out: string | null;
  format: DataFormat;
  rows: number;
  predicted: number;
  /** Rows with a missing feature the version cannot impute: no prediction, their file lines (first 10). */
  skipped: { rows: number; lines: number[] };
  /** Classifier: rows per predicted class; regression: the predictions' range and mean (null with none). */
  summary: PredictionSummary;
  /** Output column names, in order. */
  columns: string[];
}

const BATCH_ROWS = 4096;

/** Where a kept column's text sits in a read row: apart from the feature of the same name. */
const keptKey = (column: string): string => `\u0000kept:${column}`;

/**
 * How a column is read so its values reach the model as training saw them: numbers as numbers, a
 * categorical column whose categories are all numbers' own spellings as numbers (training read
 * it so, and keyed categories by String(value)), anything else as text.
 */
function readType(rt: ModelRuntime, name: string): ColumnType {
  const col = rt.columns.find((c) => c.name === name);
  if (col?.datatype === 'BOOL') return 'boolean';
  if (col?.kind === 'numeric') return 'number';
  const m = rt.manifest;
  const f = 'features' in m && Array.isArray(m.features) ? m.features.find((x) => x.name === name) : undefined;
  if (f?.kind === 'categorical' && f.categories.every((c) => String(Number(c)) === c)) return 'number';
  return 'string';
}

/** `name`, or with leading underscores until no other output column has it. */
function freeName(name: string, taken: ReadonlySet<string>): string {
  let n = name;
  while (taken.has(n)) n = `_${n}`;
  return n;
}

/** A sink that writes a temporary file beside `path` and moves it into place only when all is written. */
function fileSink(path: string): PredictionSink & { commit(): Promise<void>; abort(): Promise<void> } {
  const tmp = tempBeside(path);
  const stream: WriteStream = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
  let failed: Error | null = null;
  stream.on('error', (e) => (failed = e));
  const finish = () =>
    new Promise<void>((done, fail) => {
      if (failed) return fail(failed);
      stream.end((e?: Error | null) => (e ? fail(e) : done()));
    });
  return {
    write: (text) =>
      new Promise<void>((done, fail) => {
        if (failed) return fail(failed);
        if (stream.write(text)) done();
        else stream.once('drain', done);
      }),
    async commit() {
      await finish();
      await rename(tmp, path);
    },
    async abort() {
      await finish().catch(() => undefined);
      await rm(tmp, { force: true });
    },
  };
}

/** Scores `dataPath` with the version `ref` and writes the predictions (see the module comment). */
export async function predictFile(options: PredictFileOptions): Promise<PredictFileResult> {
  const { registry } = options;
  const version = registry.getVersion(options.ref);
  const ref = `${version.model}@${version.version}`;
  const outPath = typeof options.out === 'string' ? options.out : null;
  if (outPath) checkOutputPath(registry.root, outPath, options.force === true, 'data-out-exists');
  const format: DataFormat = outPath ? formatFromPath(outPath) : 'csv';
  const bundleDir = await runnableBundle(registry, ref, version, 'predicted');
  const rt = await loadRuntime(bundleDir);
  try {
    const data = workspacePath(registry.root, options.dataPath);
    const keep = options.keep ?? [];
    const inFormat = formatFromPath(options.dataPath);
    const batches = readDatasetBatches(options.dataPath, {
      columns: [
        ...rt.features.map((f) => ({ name: f, type: readType(rt, f), role: 'feature' })),
        // Kept columns as written (an id "007" stays "007"), apart from the model's reading of them.
        ...keep.map((k) => ({ name: k, type: 'string' as const, role: 'kept', key: keptKey(k) })),
      ],
      format: inFormat,
      displayName: data,
      batchRows: Math.max(1, options.batchRows ?? BATCH_ROWS),
    });
    const taken = new Set([...rt.features, ...keep]);
    const lineCol = freeName('line', taken);
    const predCol = freeName('prediction', taken);
    const labels = rt.task === 'classification' ? (rt.labels ?? []) : [];
    const probCols = labels.map((l) => freeName(`probability_${l}`, taken));
    const columns = [lineCol, ...keep, predCol, ...probCols];

    // Without imputation a row with a missing feature has no prediction (the server refuses such a request too).
    const imputes = runtimeMissingPolicy(rt) === 'impute';
    // For progress only: a missing file is the batch reader's to report, with its words.
    const fileBytes = options.onProgress
      ? await stat(options.dataPath).then(
          (st) => st.size,
          () => 0,
        )
      : 0;
    /** Rows without a prediction, and the first lines of them (the summary names ten). */
    let skippedRows = 0;
    const skipped: number[] = [];
    const classes: Record<string, number> = Object.fromEntries(labels.map((l) => [l, 0]));
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    let predicted = 0;
    let n = 0;

    const sink = outPath ? fileSink(outPath) : null;
    const out: PredictionSink = sink ?? (options.out as PredictionSink);
    // Float32 outputs are written in their shortest form; a model with a float64 output as it is.
    const float32 = rt.kind === 'tfjs' || !rt.signature.outputs.some((o) => o.datatype === 'FP64');
    const out32 = (x: number | undefined): number | null => (x === undefined ? null : float32 ? shortestFloat32(x) : x);
    const line = (cells: Array<CellValue | undefined>): string =>
      format === 'csv'
        ? `${cells.map(csvCell).join(',')}\n`
        : `${JSON.stringify(Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? null])))}\n`;
    try {
      if (format === 'csv') await out.write(`${columns.map(csvCell).join(',')}\n`);
      for await (const batch of batches) {
        if (options.signal?.aborted)
          throw new ModelOpsError(
            'cancelled',
            outPath ? 'Prediction was cancelled; nothing was written.' : 'Prediction was cancelled.',
            'Run it again.',
          );
        const index: number[] = [];
        for (let i = 0; i < batch.rows.length; i++) {
          if (imputes || !rt.features.some((f) => isMissingValue(batch.rows[i][f]))) index.push(i);
          else if (skippedRows++ < 10) skipped.push(batch.lines[i]);
        }
        const preds =
          index.length > 0
            ? await rt.predict(
                index.map((i) => batch.rows[i]),
                { source: data, lines: index.map((i) => batch.lines[i]) },
              )
            : [];
        let text = '';
        for (let i = 0, j = 0; i < batch.rows.length; i++) {
          const p = index[j] === i ? preds[j++] : undefined;
          const kept = keep.map((k) => batch.rows[i][keptKey(k)]);
          if (!p) {
            text += line([batch.lines[i], ...kept, null, ...labels.map(() => null)]);
            continue;
          }
          predicted++;
          if (rt.task === 'classification') classes[String(p.value)] = (classes[String(p.value)] ?? 0) + 1;
          else {
            const v = Number(p.value);
            min = Math.min(min, v);
            max = Math.max(max, v);
            sum += v;
          }
          const value = typeof p.value === 'number' ? out32(p.value) : p.value;
          text += line([batch.lines[i], ...kept, value, ...labels.map((_, k) => out32(p.probabilities?.[k]))]);
        }
        await out.write(text);
        n += batch.rows.length;
        options.onProgress?.({ rows: n, bytes: batch.bytes, totalBytes: Math.max(fileBytes, batch.bytes) });
      }
      await sink?.commit();
    } catch (e) {
      await sink?.abort();
      throw e;
    }
    return {
      version,
      ref,
      runtime: rt.kind,
      data,
      out: outPath ? workspacePath(registry.root, outPath) : null,
      format,
      rows: n,
      predicted,
      skipped: { rows: skippedRows, lines: skipped },
      summary:
        rt.task === 'classification'
          ? { classes }
          : predicted
            ? { min, max, mean: sum / predicted }
            : { min: null, max: null, mean: null },
      columns,
    };
  } finally {
    rt.dispose();
  }
}

/** Where predictions go by default: `<input>.predictions.csv` beside the input. */
export function defaultPredictionsPath(dataPath: string): string {
  return join(dirname(dataPath), predictionsFileName(basename(dataPath)));
}
