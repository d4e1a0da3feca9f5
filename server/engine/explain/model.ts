/**
 * The model as explanations see it: a function of *raw input columns* (what a caller sends,
 * the Shapley players) to an output vector — class probabilities in label order, or the
 * predicted value. Built on the runtime layer only (`encode` + `predictBatch`, or `predict`),
 * so TF.js and ONNX versions are explained alike.
 *
 * Perturbed rows are raw rows (x on a coalition, a background row elsewhere) put through the
 * model's own encoding. When the encoding is column-separable — every encoded column is a
 * function of one raw column, as standardisation, one-hot and derived date parts are — the
 * encoded hybrid is assembled from the encoded x and background rows instead (the same numbers,
 * far faster). The owner map comes from the bundle's manifest and is checked against a real
 * encode of raw hybrids before use (`verifyOwners`); any doubt falls back to encoding raw rows.
 */
import { ModelOpsError } from '../errors';
import type { Task } from '../model/types';
import { parseDerived } from '../runtime/derive';
import type { BatchOptions, BatchResult, ModelRuntime } from '../runtime/types';
import type { TransformContext } from '../data/preprocess';
import type { Prediction } from '../model/types';

export type RawRow = Record<string, unknown>;

/** The minimum an explanation needs of a runtime (a ModelRuntime or the server's Predictor). */
export interface RuntimeLike {
  task: Task;
  labels?: readonly string[];
  predict(rows: RawRow[]): Promise<Prediction[]>;
  encode?(rows: ReadonlyArray<RawRow>, ctx?: TransformContext): Float32Array;
  /** Called with `{ bulk: true }`: a TF.js runtime may run its verified compiled pass (runtime/tfjs.ts). */
  predictBatch?(x: Float32Array, n: number, options?: BatchOptions): Promise<BatchResult>;
}

/** Explanations evaluate millions of hybrid rows: bulk work, for every call, so f is one function throughout. */
const BULK: BatchOptions = { bulk: true };

export interface ExplainModel {
  task: Task;
  /** Raw input columns, in order: the players. */
  features: readonly string[];
  /** Names of the outputs: class labels, or ['value']. */
  outputs: readonly string[];
  /** Width of the encoded matrix (0 without a numeric path). */
  encodedWidth: number;
  /** owner[c]: the raw feature encoded column c is computed from; null: assemble raw rows. */
  owner: Int32Array | null;
  encode: ((rows: ReadonlyArray<RawRow>) => Float32Array) | null;
  /** Outputs (n × outputs.length, row-major) of an encoded matrix. */
  runEncoded(x: Float32Array, n: number): Promise<Float64Array>;
  /** Outputs of raw rows. */
  runRows(rows: RawRow[]): Promise<Float64Array>;
  /** Predicted class index per row of an encoded matrix (the model's own label output when it has one). */
  classesEncoded?(x: Float32Array, n: number): Promise<Int32Array>;
}

/** Builds the explain view of a runtime. `manifest` is the bundle's modelops.json (for the owner map). */
export function explainModelOf(
  rt: RuntimeLike,
  features: readonly string[],
  manifest: unknown,
  encodedWidth: number,
): ExplainModel {
  const outputs = rt.task === 'classification' ? [...(rt.labels ?? [])] : ['value'];
  const k = outputs.length;
  if (k === 0)
    throw new ModelOpsError(
      'bad-output',
      'The classifier has no labels, so its probabilities cannot be explained.',
      'Register the model again with its class labels.',
    );
  const { encode, predictBatch } = rt;
  const numeric = encode !== undefined && predictBatch !== undefined;
  const toScores = (r: BatchResult, n: number): Float64Array => {
    if (r.width !== k)
      throw new ModelOpsError(
        'bad-output',
        `The model returned ${r.width} scores per row for ${k} output${k === 1 ? '' : 's'} (${outputs.join(', ')}).`,
        'Register the model again with one label per probability column.',
      );
    const out = new Float64Array(n * k);
    for (let i = 0; i < n * k; i++) out[i] = r.outputs[i];
    return out;
  };
  const runEncoded = async (x: Float32Array, n: number): Promise<Float64Array> => {
    if (!numeric)
      throw new ModelOpsError(
        'not-explainable',
        'The model has no numeric batch path.',
        'Explain it through its raw rows.',
      );
    return toScores(await predictBatch.call(rt, x, n, BULK), n);
  };
  const runRows = async (rows: RawRow[]): Promise<Float64Array> => {
    if (numeric) return runEncoded(encode.call(rt, rows, { source: 'explanation' }), rows.length);
    const preds = await rt.predict(rows);
    const out = new Float64Array(rows.length * k);
    preds.forEach((p, i) => {
      if (rt.task === 'classification') {
        if (!p.probabilities || p.probabilities.length !== k)
          throw new ModelOpsError(
            'bad-output',
            `The model returned no probabilities for row ${i + 1}, so its output cannot be explained.`,
            'Explain a model that returns class probabilities.',
          );
        for (let j = 0; j < k; j++) out[i * k + j] = p.probabilities[j];
      } else out[i] = Number(p.value);
    });
    return out;
  };
  const m: ExplainModel = {
    task: rt.task,
    features,
    outputs,
    encodedWidth: numeric ? encodedWidth : 0,
    owner: numeric ? ownersFromManifest(manifest, features, encodedWidth) : null,
    encode: numeric ? (rows) => encode.call(rt, rows, { source: 'explanation' }) : null,
    runEncoded,
    runRows,
  };
  if (numeric && rt.task === 'classification') {
    m.classesEncoded = async (x, n) => {
      const r = await predictBatch.call(rt, x, n, BULK);
      if (r.labels) return r.labels;
      const s = toScores(r, n);
      const cls = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let j = 1; j < k; j++) if (s[i * k + j] > s[i * k + best]) best = j;
        cls[i] = best;
      }
      return cls;
    };
  }
  return m;
}

/** The explain view of a loaded runtime. */
export function explainRuntime(rt: ModelRuntime): ExplainModel {
  return explainModelOf(rt, rt.features, rt.manifest, rt.encodedWidth);
}

/**
 * Which raw feature each encoded column comes from, read from a TF.js or ONNX manifest; null
 * when the manifest does not say (then raw rows are encoded instead).
 */
export function ownersFromManifest(
  manifest: unknown,
  features: readonly string[],
  encodedWidth: number,
): Int32Array | null {
  if (manifest === null || typeof manifest !== 'object') return null;
  const m = manifest as Record<string, unknown>;
  const index = new Map(features.map((f, i) => [f, i]));
  const owners: number[] = [];
  type T = { name?: unknown; kind?: unknown; categories?: unknown };
  const widthOf = (t: T): number => (t.kind === 'categorical' && Array.isArray(t.categories) ? t.categories.length : 1);
  try {
    if (m.format === 'modelops-tfjs/1' && Array.isArray(m.features)) {
      for (const t of m.features as T[])
        for (let w = widthOf(t); w > 0; w--) owners.push(index.get(String(t.name)) ?? -1);
    } else if (m.format === 'modelops-onnx/1' && Array.isArray(m.columns)) {
      const derived = parseDerived(m.derived as Record<string, string> | undefined, 'modelops.json');
      const rawOf = (c: string): number => index.get(derived.get(c)?.source ?? c) ?? -1;
      if (m.preprocessing === 'config') {
        if (!Array.isArray(m.transforms)) return null;
        for (const t of m.transforms as T[]) for (let w = widthOf(t); w > 0; w--) owners.push(rawOf(String(t.name)));
      } else for (const c of m.columns as unknown[]) owners.push(rawOf(String(c)));
    } else return null;
  } catch {
    return null;
  }
  if (owners.length !== encodedWidth || owners.some((o) => o < 0)) return null;
  return Int32Array.from(owners);
}

/** A raw row with the coalition's features from x and the rest from b. */
export function hybridRow(features: readonly string[], x: RawRow, b: RawRow, inS: ArrayLike<number>): RawRow {
  const z: RawRow = { ...b };
  for (let i = 0; i < features.length; i++) if (inS[i]) z[features[i]] = x[features[i]];
  return z;
}

/**
 * Checks the owner map on real rows: hybrids assembled from encoded rows must equal the encoding
 * of the raw hybrids, bit for bit. Returns false (use raw rows) on any difference.
 */
export function verifyOwners(model: ExplainModel, xs: RawRow[], bg: RawRow[], coalitions: Uint8Array[]): boolean {
  const { owner, encode } = model;
  if (!owner || !encode) return false;
  const w = model.encodedWidth;
  const xe = encode(xs);
  const be = encode(bg);
  const raw: RawRow[] = [];
  const assembled: number[] = [];
  for (let r = 0; r < xs.length; r++) {
    for (const s of coalitions) {
      for (let j = 0; j < bg.length; j++) {
        raw.push(hybridRow(model.features, xs[r], bg[j], s));
        for (let c = 0; c < w; c++) assembled.push(s[owner[c]] ? xe[r * w + c] : be[j * w + c]);
      }
    }
  }
  const direct = encode(raw);
  for (let i = 0; i < direct.length; i++) if (!Object.is(direct[i], Math.fround(assembled[i]))) return false;
  return true;
}
