/**
 * The model server's explain extension: `POST /v2/models/{m}[/versions/{v}]/explain` takes an
 * Open Inference Protocol infer body (the rows to explain) and answers their Shapley values.
 * Bounded: at most EXPLAIN_MAX_ROWS rows and background rows, at most EXPLAIN_MAX_EVALUATIONS
 * model rows (413 beyond), and a deadline (504). The background is the request's own
 * `background.inputs` when sent (the way to match SHAP against training rows), else rows drawn
 * from the version's reference profile (background.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isModelOpsError } from '../errors';
import { HttpError, decodeInferRequest } from '../serving/v2';
import type { Predictor } from '../serving/types';
import { backgroundFromProfile } from './background';
import { explainModelOf, type RawRow } from './model';
import { MAX_EXACT_FEATURES, shapValues, type ShapMethod } from './shapley';

export const EXPLAIN_MAX_ROWS = 100;
export const EXPLAIN_MAX_BACKGROUND = 100;
export const EXPLAIN_DEFAULT_BACKGROUND = 50;
/** Model rows (coalitions × background × explained rows) one request may cost. */
export const EXPLAIN_MAX_EVALUATIONS = 4_000_000;
export const EXPLAIN_DEFAULT_TIMEOUT_MS = 10_000;
export const EXPLAIN_MAX_TIMEOUT_MS = 60_000;

export interface ExplainTarget {
  model: string;
  version: string;
  bundleDir: string;
  predictor: Predictor;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function intParam(
  params: Record<string, unknown>,
  key: string,
  dflt: number,
  min: number,
  max: number,
  status = 400,
): number {
  const v = params[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new HttpError(
      400,
      `parameters.${key} must be a whole number ≥ ${min}; got ${JSON.stringify(v).slice(0, 40)}.`,
    );
  if (v > max) throw new HttpError(status, `parameters.${key} is ${v}; the limit is ${max}.`);
  return v;
}

export async function explainRequest(body: unknown, t: ExplainTarget): Promise<Record<string, unknown>> {
  const { predictor } = t;
  const served = predictor.manifest;
  const decoded = decodeInferRequest(body, served);
  const rows = decoded.rows;
  if (rows.length > EXPLAIN_MAX_ROWS)
    throw new HttpError(413, `The request has ${rows.length} rows to explain; the limit is ${EXPLAIN_MAX_ROWS}.`);
  const params = decoded.parameters ?? {};
  const method = params.method ?? 'auto';
  if (method !== 'auto' && method !== 'exact' && method !== 'permutation')
    throw new HttpError(
      400,
      `parameters.method must be "auto", "exact" or "permutation"; got ${JSON.stringify(method).slice(0, 40)}.`,
    );
  const pairs = intParam(params, 'pairs', 32, 2, 1000, 413);
  const seed = intParam(params, 'seed', 0, 0, 2 ** 31);
  const timeoutMs = intParam(params, 'timeout_ms', EXPLAIN_DEFAULT_TIMEOUT_MS, 1, EXPLAIN_MAX_TIMEOUT_MS);
  const features = served.features.map((f) => f.name);

  let bg: RawRow[];
  let source: 'request' | 'reference-profile';
  const sent = isObject(body) ? body.background : undefined;
  if (sent !== undefined) {
    if (!isObject(sent))
      throw new HttpError(400, '"background" must be an object {"inputs": [...]}, the same tensors as "inputs".');
    bg = decodeInferRequest({ inputs: sent.inputs }, served).rows;
    if (bg.length > EXPLAIN_MAX_BACKGROUND)
      throw new HttpError(413, `The background has ${bg.length} rows; the limit is ${EXPLAIN_MAX_BACKGROUND}.`);
    source = 'request';
  } else {
    const n = intParam(params, 'background', EXPLAIN_DEFAULT_BACKGROUND, 1, EXPLAIN_MAX_BACKGROUND, 413);
    if (!served.profile)
      throw new HttpError(
        400,
        `${t.model}@${t.version} has no reference profile to draw a background from; send "background": {"inputs": [...]} with training rows.`,
      );
    try {
      bg = backgroundFromProfile(served.profile, features, n, seed);
    } catch (e) {
      throw isModelOpsError(e) ? new HttpError(400, `${e.message} ${e.hint}`) : e;
    }
    source = 'reference-profile';
  }

  const m = features.length;
  const chosen: ShapMethod = method === 'auto' ? (m <= 12 ? 'exact' : 'permutation') : method;
  if (chosen === 'exact' && m > MAX_EXACT_FEATURES)
    throw new HttpError(
      413,
      `Exact values for ${m} features need 2^${m} coalitions per row; the limit is ${MAX_EXACT_FEATURES} features. Use parameters.method "permutation".`,
    );
  const perRow = chosen === 'exact' ? 2 ** m - 2 : 2 * pairs * Math.max(0, m - 1);
  const cost = rows.length * perRow * bg.length;
  if (cost > EXPLAIN_MAX_EVALUATIONS) {
    throw new HttpError(
      413,
      `Explaining ${rows.length} rows against ${bg.length} background rows costs ${cost} model rows (${perRow} coalitions per row); the limit is ${EXPLAIN_MAX_EVALUATIONS}. Send fewer rows, a smaller background or fewer pairs.`,
    );
  }

  let manifest: unknown = null;
  try {
    manifest = JSON.parse(await readFile(join(t.bundleDir, 'modelops.json'), 'utf8'));
  } catch {
    // No owner map: raw hybrid rows are encoded instead (slower, same values).
  }
  const width =
    predictor.encode && predictor.predictBatch ? predictor.encode(bg.slice(0, 1), { source: 'background' }).length : 0;
  const { encode, predictBatch } = predictor;
  const runtime = {
    task: served.task,
    labels: served.labels,
    predict: (r: RawRow[]) => predictor.predict(r),
    ...(encode && predictBatch ? { encode: encode.bind(predictor), predictBatch: predictBatch.bind(predictor) } : {}),
  };
  const model = explainModelOf(runtime, features, manifest, width);
  let r;
  try {
    r = await shapValues(model, rows, bg, { method: chosen, pairs, seed, deadline: Date.now() + timeoutMs });
  } catch (e) {
    if (isModelOpsError(e) && e.code === 'explain-timeout')
      throw new HttpError(504, `The explanation did not finish within ${timeoutMs} ms. ${e.hint}`);
    throw e;
  }
  return {
    model_name: t.model,
    model_version: t.version,
    id: decoded.id ?? null,
    method: r.method,
    features: r.features,
    outputs: r.outputs,
    base_values: r.base,
    background: { rows: r.background, source },
    ...(r.pairs ? { pairs: r.pairs, seed } : {}),
    rows: r.rows,
  };
}
