/** Decoding Open Inference Protocol (KServe V2) infer requests into rows, and encoding results. */
import type { Prediction } from '../model/types';
import type { Datatype } from '../runtime/types';
import type { ServingFeature, ServingModel, V2InferResponse, V2Tensor } from './types';

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

const FLOAT_TYPES = new Set(['FP16', 'FP32', 'FP64']);
const INT_TYPES = new Set(['INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64']);
export const MAX_ROWS = 100_000;

/** The Open Inference Protocol datatype of a feature: the signature's, else by kind. */
export function featureDatatype(model: ServingModel, f: ServingFeature): Datatype {
  const spec = model.signature.inputs.find((i) => i.name === f.name);
  return spec?.datatype ?? (f.kind === 'numeric' ? 'FP32' : 'BYTES');
}

/**
 * Whether a request tensor's datatype fits the input's. Float inputs take any numeric datatype
 * (JSON numbers are the same on the wire; the values are still checked); integer inputs take
 * integer datatypes; BOOL and BYTES only themselves.
 */
function datatypeFits(expected: Datatype, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  switch (expected) {
    case 'FP32':
    case 'FP64':
      return FLOAT_TYPES.has(given) || INT_TYPES.has(given);
    case 'INT32':
    case 'INT64':
      return INT_TYPES.has(given);
    default:
      return given === expected;
  }
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

export interface DecodedRequest {
  id: string | null;
  parameters: Record<string, unknown> | undefined;
  rows: Array<Record<string, unknown>>;
  /** Feature → values as received (for the prediction log). */
  columns: Record<string, unknown[]>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates a parsed body against the model's columns and signature; throws HttpError(400)
 * naming the input at fault. Values the model itself must judge (a category it does not know,
 * a missing value it may impute) are left to its encode step, whose errors are 400s too.
 */
export function decodeInferRequest(body: unknown, model: ServingModel): DecodedRequest {
  if (!isObject(body)) throw new HttpError(400, 'The request body must be a JSON object with an "inputs" array.');
  const { id, parameters, inputs } = body;
  if (id !== undefined && (typeof id !== 'string' || id.length === 0 || id.length > 128))
    throw new HttpError(400, '"id" must be a non-empty string of at most 128 characters.');
  if (parameters !== undefined && !isObject(parameters)) throw new HttpError(400, '"parameters" must be an object.');
  if (!Array.isArray(inputs) || inputs.length === 0)
    throw new HttpError(400, '"inputs" must be a non-empty array of tensors, one per feature.');

  const byName = new Map<string, V2Tensor>();
  for (const [i, t] of inputs.entries()) {
    if (!isObject(t) || typeof t.name !== 'string')
      throw new HttpError(400, `inputs[${i}] must be an object with a "name".`);
    if (byName.has(t.name)) throw new HttpError(400, `Input '${t.name.slice(0, 64)}' appears twice.`);
    byName.set(t.name, t as unknown as V2Tensor);
  }
  const known = new Set(model.features.map((f) => f.name));
  for (const name of byName.keys()) {
    if (!known.has(name))
      throw new HttpError(400, `Unknown input '${name.slice(0, 64)}'; this model takes: ${[...known].join(', ')}.`);
  }

  let n = -1;
  const columns: Record<string, unknown[]> = {};
  for (const f of model.features) {
    const t = byName.get(f.name);
    if (!t) throw new HttpError(400, `Input '${f.name}' is missing; this model takes: ${[...known].join(', ')}.`);
    const shape = t.shape;
    if (
      !Array.isArray(shape) ||
      shape.length < 1 ||
      shape.length > 2 ||
      !shape.every((d) => Number.isInteger(d) && d >= 0) ||
      (shape.length === 2 && shape[1] !== 1)
    ) {
      throw new HttpError(400, `Input '${f.name}' has shape ${JSON.stringify(shape)}; expected [n] or [n, 1].`);
    }
    const rows = shape[0] as number;
    if (rows === 0 || rows > MAX_ROWS)
      throw new HttpError(400, `Input '${f.name}' has ${rows} rows; send 1 to ${MAX_ROWS}.`);
    if (n === -1) n = rows;
    else if (rows !== n) throw new HttpError(400, `Input '${f.name}' has ${rows} rows but other inputs have ${n}.`);
    if (!Array.isArray(t.data)) throw new HttpError(400, `Input '${f.name}' has no "data" array.`);
    const data = t.data.length > 0 && Array.isArray(t.data[0]) ? (t.data as unknown[][]).flat() : t.data;
    if (data.length !== rows)
      throw new HttpError(400, `Input '${f.name}' has ${data.length} values for shape ${JSON.stringify(shape)}.`);
    const expected = featureDatatype(model, f);
    if (!datatypeFits(expected, t.datatype)) {
      const what =
        expected === 'BYTES'
          ? f.kind === 'date'
            ? 'a date (text)'
            : 'categorical'
          : f.kind === 'numeric' && (expected === 'FP32' || expected === 'FP64')
            ? 'numeric'
            : `${expected}`;
      throw new HttpError(
        400,
        `Input '${f.name}' is ${what}; its datatype must be ${expected} (got ${JSON.stringify(t.datatype)}).`,
      );
    }
    // A null is a missing value: refused here when the description says so, else the model's to judge.
    const nullOk = f.impute !== null;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v === null && nullOk) continue;
      switch (expected) {
        case 'FP32':
        case 'FP64':
          if (typeof v !== 'number' || !Number.isFinite(v))
            throw new HttpError(
              400,
              `Input '${f.name}' value ${i} is ${describe(v)}, not a finite number${nullOk ? ' or null' : ''}.`,
            );
          break;
        case 'INT32':
        case 'INT64':
          if (
            typeof v !== 'number' ||
            !Number.isSafeInteger(v) ||
            (expected === 'INT32' && (v < INT32_MIN || v > INT32_MAX))
          ) {
            throw new HttpError(
              400,
              `Input '${f.name}' value ${i} is ${describe(v)}, not a whole number${expected === 'INT32' ? ' in the INT32 range' : ''}${nullOk ? ' or null' : ''}.`,
            );
          }
          break;
        case 'BOOL':
          if (typeof v !== 'boolean')
            throw new HttpError(
              400,
              `Input '${f.name}' value ${i} is ${describe(v)}, not true or false${nullOk ? ' or null' : ''}.`,
            );
          break;
        case 'BYTES':
          if (typeof v !== 'string')
            throw new HttpError(400, `Input '${f.name}' value ${i} is ${describe(v)}, not a string.`);
          if (f.categories && !f.categories.includes(v)) {
            throw new HttpError(
              400,
              `Input '${f.name}' value ${i} '${v.slice(0, 40)}' was not seen in training (known: ${f.categories.slice(0, 10).join(', ')}).`,
            );
          }
          break;
      }
    }
    columns[f.name] = data;
  }
  const rows: Array<Record<string, unknown>> = new Array(n);
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {};
    for (const f of model.features) row[f.name] = columns[f.name][i];
    rows[i] = row;
  }
  return {
    id: (id as string | undefined) ?? null,
    parameters: parameters as Record<string, unknown> | undefined,
    rows,
    columns,
  };
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `the string '${v.slice(0, 20)}'`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return v === null ? 'null' : typeof v;
}

export function encodeInferResponse(
  modelName: string,
  version: string,
  id: string,
  model: ServingModel,
  preds: Prediction[],
  parameters?: Record<string, unknown>,
): V2InferResponse {
  const n = preds.length;
  const outputs: V2Tensor[] = [];
  if (model.task === 'classification') {
    const k = model.labels?.length ?? 0;
    const probs = new Array<number>(n * k);
    for (let i = 0; i < n; i++) {
      const p = preds[i].probabilities ?? [];
      for (let j = 0; j < k; j++) probs[i * k + j] = p[j];
    }
    outputs.push({ name: 'label', datatype: 'BYTES', shape: [n], data: preds.map((p) => p.value) });
    outputs.push({ name: 'probabilities', datatype: 'FP32', shape: [n, k], data: probs });
  } else {
    const datatype = model.signature.outputs.find((o) => o.name === 'value')?.datatype ?? 'FP32';
    outputs.push({ name: 'value', datatype, shape: [n], data: preds.map((p) => p.value) });
  }
  const res: V2InferResponse = { model_name: modelName, model_version: version, id, outputs };
  if (parameters) res.parameters = parameters;
  return res;
}

/** One value of a row as the input's datatype sends it (null for a missing value). */
function wireValue(v: unknown, datatype: Datatype): unknown {
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '' && datatype !== 'BYTES')) return null;
  if (datatype === 'BYTES') return String(v);
  if (datatype === 'BOOL') return typeof v === 'string' ? /^(true|1)$/i.test(v.trim()) : Boolean(v);
  return typeof v === 'string' ? Number(v) : v;
}

/** Builds a V2 request body from raw rows (used by deploy's smoke test and by clients). */
export function rowsToInferRequest(
  model: ServingModel,
  rows: Array<Record<string, unknown>>,
  id?: string,
): { id?: string; inputs: V2Tensor[] } {
  return {
    ...(id ? { id } : {}),
    inputs: model.features.map((f) => {
      const datatype = featureDatatype(model, f);
      return { name: f.name, datatype, shape: [rows.length, 1], data: rows.map((r) => wireValue(r[f.name], datatype)) };
    }),
  };
}

/** Predictions back from a V2 response. */
export function predictionsFromResponse(res: V2InferResponse): Prediction[] {
  const label = res.outputs.find((o) => o.name === 'label');
  const probs = res.outputs.find((o) => o.name === 'probabilities');
  const value = res.outputs.find((o) => o.name === 'value');
  if (label) {
    const k = probs ? probs.shape[1] : 0;
    return label.data.map((v, i) => ({
      value: v as string,
      ...(probs ? { probabilities: (probs.data as number[]).slice(i * k, (i + 1) * k) } : {}),
    }));
  }
  if (value) return value.data.map((v) => ({ value: v as number }));
  throw new Error('The response has neither a "label" nor a "value" output.');
}
