/** Rows for the smoke test, and the comparison of endpoint predictions with local ones. */
import { isAbsolute, resolve } from 'node:path';
import type { ModelOpsConfig } from '../config/types';
import { readDataset } from '../data/read';
import { splitRows } from '../data/split';
import type { Prediction } from '../model/types';
import type { ServingFeature, ServingModel } from '../serving/types';
import { featureDatatype } from '../serving/v2';

/** Whether a CSV/JSON cell is missing (the readers give null, '' or undefined). */
const missing = (v: unknown): boolean =>
  v === null ||
  v === undefined ||
  (typeof v === 'string' && v.trim() === '') ||
  (typeof v === 'number' && Number.isNaN(v));

/**
 * Categories a smoke row may use: the description's own, else those of the reference profile
 * (the training data), so a validation row with a value the model never saw is not chosen.
 */
function knownCategories(model: ServingModel, f: ServingFeature): ReadonlySet<string> | null {
  if (f.categories) return new Set(f.categories);
  const p = model.profile?.features?.[f.name];
  return p?.kind === 'categorical' ? new Set(Object.keys(p.counts)) : null;
}

/**
 * N rows of the validation data (data.validation; else data.test; else the validation part of
 * data.train split as configured), keeping rows whose features the model can take: values of
 * each input's datatype, categories it knows, and no missing value unless the model imputes it.
 */
export async function smokeRows(
  config: ModelOpsConfig,
  configDir: string,
  model: ServingModel,
  n: number,
): Promise<Array<Record<string, unknown>>> {
  const rel = config.data.validation ?? config.data.test ?? config.data.train;
  const path = isAbsolute(rel) ? rel : resolve(configDir, rel);
  const ds = await readDataset(path, { format: config.data.format, displayName: rel });
  let rows = ds.rows as Array<Record<string, unknown>>;
  if (!config.data.validation && !config.data.test) {
    try {
      const parts = splitRows(rows, config.data.split);
      rows = parts.validation.length > 0 ? parts.validation : parts.test;
    } catch {
      /* too few rows to split: use them as they are */
    }
  }
  const checks = model.features.map((f) => {
    const datatype = featureDatatype(model, f);
    const known = datatype === 'BYTES' && f.kind === 'categorical' ? knownCategories(model, f) : null;
    // Only a description that names an imputation lets a missing value through.
    const imputes = f.impute !== undefined && f.impute !== null;
    return (v: unknown): boolean => {
      if (missing(v)) return imputes;
      switch (datatype) {
        case 'BYTES':
          return known === null || known.has(String(v));
        case 'BOOL':
          return (
            typeof v === 'boolean' ||
            v === 0 ||
            v === 1 ||
            (typeof v === 'string' && /^(true|false|0|1)$/i.test(v.trim()))
          );
        case 'INT32':
        case 'INT64':
          return Number.isSafeInteger(typeof v === 'string' ? Number(v) : v);
        default:
          return Number.isFinite(typeof v === 'string' ? Number(v) : v);
      }
    };
  });
  const out: Array<Record<string, unknown>> = [];
  for (const r of rows) {
    if (out.length >= n) break;
    if (!model.features.every((f, j) => checks[j](r[f.name]))) continue;
    const row: Record<string, unknown> = {};
    for (const f of model.features) {
      const v = r[f.name];
      const datatype = featureDatatype(model, f);
      if (missing(v)) row[f.name] = null;
      else if (datatype === 'BYTES') row[f.name] = String(v);
      else if (datatype === 'BOOL')
        row[f.name] = typeof v === 'string' ? /^(true|1)$/i.test(v.trim()) : v === true || v === 1;
      else row[f.name] = typeof v === 'string' ? Number(v) : v;
    }
    out.push(row);
  }
  return out;
}

export interface SmokeComparison {
  matched: number;
  total: number;
  maxDelta: number;
  /** First mismatch, described. */
  firstMismatch: string | null;
}

export function comparePredictions(local: Prediction[], remote: Prediction[], tolerance: number): SmokeComparison {
  let matched = 0;
  let maxDelta = 0;
  let firstMismatch: string | null = null;
  const total = local.length;
  if (remote.length !== total)
    return {
      matched: 0,
      total,
      maxDelta: Infinity,
      firstMismatch: `the endpoint returned ${remote.length} predictions for ${total} rows`,
    };
  for (let i = 0; i < total; i++) {
    const a = local[i];
    const b = remote[i];
    let ok = true;
    let why = '';
    if (typeof a.value === 'number') {
      const d = Math.abs(a.value - Number(b.value));
      maxDelta = Math.max(maxDelta, Number.isNaN(d) ? Infinity : d);
      if (!(d <= tolerance)) {
        ok = false;
        why = `value ${String(b.value)} vs local ${a.value}`;
      }
    } else {
      if (a.value !== b.value) {
        ok = false;
        why = `label '${String(b.value)}' vs local '${a.value}'`;
      }
      const pa = a.probabilities ?? [];
      const pb = b.probabilities ?? [];
      for (let j = 0; j < pa.length; j++) {
        const d = Math.abs(pa[j] - (pb[j] ?? NaN));
        maxDelta = Math.max(maxDelta, Number.isNaN(d) ? Infinity : d);
        if (!(d <= tolerance)) {
          ok = false;
          why ||= `probability ${j} differs by ${Number.isNaN(d) ? 'NaN' : d.toExponential(2)}`;
        }
      }
    }
    if (ok) matched++;
    else firstMismatch ??= `row ${i + 1}: ${why}`;
  }
  return { matched, total, maxDelta, firstMismatch };
}
