/** Rows for the smoke test, and the comparison of endpoint predictions with local ones. */
import { isAbsolute, resolve } from 'node:path';
import type { ModelOpsConfig } from '../config/types';
import { readDataset } from '../data/read';
import { splitRows } from '../data/split';
import type { ModelManifest, Prediction } from '../model/types';

/**
 * N rows of the validation data (data.validation; else data.test; else the validation part of
 * data.train split as configured), keeping rows whose features the model can take.
 */
export async function smokeRows(config: ModelOpsConfig, configDir: string, manifest: ModelManifest, n: number): Promise<Array<Record<string, unknown>>> {
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
  const usable = (r: Record<string, unknown>) =>
    manifest.features.every((f) => {
      const v = r[f.name];
      if (v === null || v === undefined || v === '') return f.impute !== null;
      return f.kind === 'numeric' ? typeof v === 'number' && Number.isFinite(v) : f.categories.includes(String(v));
    });
  const out: Array<Record<string, unknown>> = [];
  for (const r of rows) {
    if (out.length >= n) break;
    if (!usable(r)) continue;
    const row: Record<string, unknown> = {};
    for (const f of manifest.features) row[f.name] = r[f.name] === '' || r[f.name] === undefined ? null : f.kind === 'categorical' && r[f.name] !== null ? String(r[f.name]) : r[f.name];
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
  if (remote.length !== total) return { matched: 0, total, maxDelta: Infinity, firstMismatch: `the endpoint returned ${remote.length} predictions for ${total} rows` };
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
