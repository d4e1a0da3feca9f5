/** Decoding Open Inference Protocol (KServe V2) infer requests into rows, and encoding results. */
import type { ModelManifest, Prediction } from '../model/types';
import type { V2InferResponse, V2Tensor } from './types';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Extra response headers (Retry-After, or Connection: close when the body was not read). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const NUMERIC_TYPES = new Set(['FP16', 'FP32', 'FP64', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64']);
export const MAX_ROWS = 100_000;

export interface DecodedRequest {
  id: string | null;
  parameters: Record<string, unknown> | undefined;
  rows: Array<Record<string, unknown>>;
  /** Feature → values as received (for the prediction log). */
  columns: Record<string, unknown[]>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates a parsed body against the manifest; throws HttpError(400) naming the fault. */
export function decodeInferRequest(body: unknown, manifest: ModelManifest): DecodedRequest {
  if (!isObject(body)) throw new HttpError(400, 'The request body must be a JSON object with an "inputs" array.');
  const { id, parameters, inputs } = body;
  if (id !== undefined && (typeof id !== 'string' || id.length === 0 || id.length > 128)) throw new HttpError(400, '"id" must be a non-empty string of at most 128 characters.');
  if (parameters !== undefined && !isObject(parameters)) throw new HttpError(400, '"parameters" must be an object.');
  if (!Array.isArray(inputs) || inputs.length === 0) throw new HttpError(400, '"inputs" must be a non-empty array of tensors, one per feature.');

  const byName = new Map<string, V2Tensor>();
  for (const [i, t] of inputs.entries()) {
    if (!isObject(t) || typeof t.name !== 'string') throw new HttpError(400, `inputs[${i}] must be an object with a "name".`);
    if (byName.has(t.name)) throw new HttpError(400, `Input '${t.name.slice(0, 64)}' appears twice.`);
    byName.set(t.name, t as unknown as V2Tensor);
  }
  const known = new Set(manifest.features.map((f) => f.name));
  for (const name of byName.keys()) {
    if (!known.has(name)) throw new HttpError(400, `Unknown input '${name.slice(0, 64)}'; this model takes: ${[...known].join(', ')}.`);
  }

  let n = -1;
  const columns: Record<string, unknown[]> = {};
  for (const f of manifest.features) {
    const t = byName.get(f.name);
    if (!t) throw new HttpError(400, `Input '${f.name}' is missing; this model takes: ${[...known].join(', ')}.`);
    const shape = t.shape;
    if (!Array.isArray(shape) || shape.length < 1 || shape.length > 2 || !shape.every((d) => Number.isInteger(d) && d >= 0) || (shape.length === 2 && shape[1] !== 1)) {
      throw new HttpError(400, `Input '${f.name}' has shape ${JSON.stringify(shape)}; expected [n] or [n, 1].`);
    }
    const rows = shape[0] as number;
    if (rows === 0 || rows > MAX_ROWS) throw new HttpError(400, `Input '${f.name}' has ${rows} rows; send 1 to ${MAX_ROWS}.`);
    if (n === -1) n = rows;
    else if (rows !== n) throw new HttpError(400, `Input '${f.name}' has ${rows} rows but other inputs have ${n}.`);
    if (!Array.isArray(t.data)) throw new HttpError(400, `Input '${f.name}' has no "data" array.`);
    const data = t.data.length > 0 && Array.isArray(t.data[0]) ? (t.data as unknown[][]).flat() : t.data;
    if (data.length !== rows) throw new HttpError(400, `Input '${f.name}' has ${data.length} values for shape ${JSON.stringify(shape)}.`);
    if (f.kind === 'numeric') {
      if (!NUMERIC_TYPES.has(t.datatype)) throw new HttpError(400, `Input '${f.name}' is numeric; its datatype must be FP32 (got ${JSON.stringify(t.datatype)}).`);
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (v === null && f.impute !== null) continue;
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          throw new HttpError(400, `Input '${f.name}' value ${i} is ${describe(v)}, not a finite number${f.impute === null ? '' : ' or null'}.`);
        }
      }
    } else {
      if (t.datatype !== 'BYTES') throw new HttpError(400, `Input '${f.name}' is categorical; its datatype must be BYTES (got ${JSON.stringify(t.datatype)}).`);
      const cats = new Set(f.categories);
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (v === null && f.impute !== null) continue;
        if (typeof v !== 'string') throw new HttpError(400, `Input '${f.name}' value ${i} is ${describe(v)}, not a string.`);
        if (!cats.has(v)) throw new HttpError(400, `Input '${f.name}' value ${i} '${v.slice(0, 40)}' was not seen in training (known: ${f.categories.slice(0, 10).join(', ')}).`);
      }
    }
    columns[f.name] = data;
  }
  const rows: Array<Record<string, unknown>> = new Array(n);
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {};
    for (const f of manifest.features) row[f.name] = columns[f.name][i];
    rows[i] = row;
  }
  return { id: (id as string | undefined) ?? null, parameters: parameters as Record<string, unknown> | undefined, rows, columns };
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `the string '${v.slice(0, 20)}'`;
  if (typeof v === 'number') return String(v);
  return v === null ? 'null' : typeof v;
}

export function encodeInferResponse(
  model: string,
  version: string,
  id: string,
  manifest: ModelManifest,
  preds: Prediction[],
  parameters?: Record<string, unknown>,
): V2InferResponse {
  const n = preds.length;
  const outputs: V2Tensor[] = [];
  if (manifest.task === 'classification') {
    const k = manifest.labels?.length ?? 0;
    const probs = new Array<number>(n * k);
    for (let i = 0; i < n; i++) {
      const p = preds[i].probabilities ?? [];
      for (let j = 0; j < k; j++) probs[i * k + j] = p[j];
    }
    outputs.push({ name: 'label', datatype: 'BYTES', shape: [n], data: preds.map((p) => p.value) });
    outputs.push({ name: 'probabilities', datatype: 'FP32', shape: [n, k], data: probs });
  } else {
    outputs.push({ name: 'value', datatype: 'FP32', shape: [n], data: preds.map((p) => p.value) });
  }
  const res: V2InferResponse = { model_name: model, model_version: version, id, outputs };
  if (parameters) res.parameters = parameters;
  return res;
}

/** Builds a V2 request body from raw rows (used by deploy's smoke test and by clients). */
export function rowsToInferRequest(manifest: ModelManifest, rows: Array<Record<string, unknown>>, id?: string): { id?: string; inputs: V2Tensor[] } {
  return {
    ...(id ? { id } : {}),
    inputs: manifest.features.map((f) => ({
      name: f.name,
      datatype: f.kind === 'numeric' ? 'FP32' : 'BYTES',
      shape: [rows.length, 1],
      data: rows.map((r) => (r[f.name] === undefined ? null : f.kind === 'categorical' && r[f.name] !== null ? String(r[f.name]) : r[f.name])),
    })),
  };
}

/** Predictions back from a V2 response. */
export function predictionsFromResponse(res: V2InferResponse): Prediction[] {
  const label = res.outputs.find((o) => o.name === 'label');
  const probs = res.outputs.find((o) => o.name === 'probabilities');
  const value = res.outputs.find((o) => o.name === 'value');
  if (label) {
    const k = probs ? probs.shape[1] : 0;
    return label.data.map((v, i) => ({ value: v as string, ...(probs ? { probabilities: (probs.data as number[]).slice(i * k, (i + 1) * k) } : {}) }));
  }
  if (value) return value.data.map((v) => ({ value: v as number }));
  throw new Error('The response has neither a "label" nor a "value" output.');
}
