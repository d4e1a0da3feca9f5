/**
 * Preprocessing that travels with the model: missing values (drop, or impute mean/mode),
 * one-hot categorical columns, standardised numeric ones. Fitted on the training split only;
 * `transformRows` is the one function training, evaluation and serving all use.
 */
import { ModelOpsError } from '../errors';
import type { FeatureTransform } from '../model/types';
import type { CellValue, Column, Row } from './read';

export type MissingPolicy = 'drop' | 'impute';

export interface MissingReport {
  policy: MissingPolicy;
  /** Rows dropped per split (drop policy, or a missing target under either policy). */
  dropped: Record<string, number>;
  /** Cells imputed per column over all splits (impute policy). */
  imputed: Record<string, { cells: number; value: number | string }>;
  /** One sentence for logs and the UI. */
  summary: string;
}

/** A value as a number: a number as it is, a non-blank string parsed, anything else NaN. */
export function numberValue(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
}

export function isMissingValue(v: unknown): boolean {
  return (
    v === null ||
    v === undefined ||
    (typeof v === 'string' && v.trim() === '') ||
    (typeof v === 'number' && Number.isNaN(v))
  );
}

/** A split with its rows and their file lines (for error messages). */
export interface RowSet {
  name: string;
  rows: Row[];
  lines: number[];
  /** File shown in messages. */
  source: string;
}

/**
 * Applies the missing-value policy: rows with a missing target are always dropped (a label
 * cannot be imputed); under `drop` so are rows with any missing feature. Imputation itself
 * happens in `transformRows` from the values fitted on the training split.
 */
export function dropMissing(
  sets: RowSet[],
  features: string[],
  target: string | null,
  policy: MissingPolicy,
): { sets: RowSet[]; dropped: Record<string, number> } {
  const dropped: Record<string, number> = {};
  const out = sets.map((set) => {
    const rows: Row[] = [];
    const lines: number[] = [];
    for (let i = 0; i < set.rows.length; i++) {
      const row = set.rows[i];
      let keep = target === null || !isMissingValue(row[target]);
      if (keep && policy === 'drop') {
        for (const f of features) {
          if (isMissingValue(row[f])) {
            keep = false;
            break;
          }
        }
      }
      if (keep) {
        rows.push(row);
        lines.push(set.lines[i]);
      }
    }
    dropped[set.name] = set.rows.length - rows.length;
    return { ...set, rows, lines };
  });
  return { sets: out, dropped };
}

/** Fits one transform per feature on the training rows (after `dropMissing`). */
export function fitTransforms(rows: Row[], features: Column[], policy: MissingPolicy): FeatureTransform[] {
  return features.map((col): FeatureTransform => {
    if (col.type === 'number') {
      let n = 0;
      let mean = 0;
      let m2 = 0;
      for (const row of rows) {
        const v = row[col.name];
        if (typeof v !== 'number') continue;
        n++;
        const d = v - mean;
        mean += d / n;
        m2 += d * (v - mean);
      }
      if (n === 0) {
        throw new ModelOpsError(
          'empty-column',
          `Feature column '${col.name}' has no values in the training split.`,
          'Remove it from data.features or fill it in.',
        );
      }
      // Population standard deviation, as scikit-learn's StandardScaler; 1 for a constant column.
      const std = Math.sqrt(m2 / n);
      return {
        name: col.name,
        kind: 'numeric',
        mean,
        std: std > 0 ? std : 1,
        impute: policy === 'impute' ? mean : null,
      };
    }
    const counts = new Map<string, number>();
    for (const row of rows) {
      const v = row[col.name];
      if (isMissingValue(v)) continue;
      const key = String(v);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    if (counts.size === 0) {
      throw new ModelOpsError(
        'empty-column',
        `Feature column '${col.name}' has no values in the training split.`,
        'Remove it from data.features or fill it in.',
      );
    }
    const categories = [...counts.keys()].sort();
    let mode = categories[0];
    for (const c of categories) if ((counts.get(c) ?? 0) > (counts.get(mode) ?? 0)) mode = c;
    return { name: col.name, kind: 'categorical', categories, impute: policy === 'impute' ? mode : null };
  });
}

/** Width of the encoded input: one per numeric feature, one per category. */
export function inputWidth(features: FeatureTransform[]): number {
  let w = 0;
  for (const f of features) w += f.kind === 'numeric' ? 1 : f.categories.length;
  return w;
}

/** Counts the cells `transformRows` will impute, per column (for the missing-value report). */
export function countImputed(
  sets: RowSet[],
  features: FeatureTransform[],
): Record<string, { cells: number; value: number | string }> {
  const out: Record<string, { cells: number; value: number | string }> = {};
  for (const f of features) {
    if (f.impute === null) continue;
    let cells = 0;
    for (const set of sets) for (const row of set.rows) if (isMissingValue(row[f.name])) cells++;
    if (cells > 0) out[f.name] = { cells, value: f.impute };
  }
  return out;
}

export function summariseMissing(
  policy: MissingPolicy,
  dropped: Record<string, number>,
  imputed: MissingReport['imputed'],
): MissingReport {
  const parts: string[] = [];
  const totalDropped = Object.values(dropped).reduce((a, b) => a + b, 0);
  if (totalDropped > 0) {
    parts.push(
      `dropped ${totalDropped} row${totalDropped === 1 ? '' : 's'} with missing values (${Object.entries(dropped)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')})`,
    );
  }
  for (const [col, { cells, value }] of Object.entries(imputed)) {
    parts.push(
      `imputed ${cells} missing '${col}' with ${policy === 'impute' && typeof value === 'number' ? `the mean ${round(value)}` : `the mode '${value}'`}`,
    );
  }
  return { policy, dropped, imputed, summary: parts.length ? parts.join('; ') : 'no missing values' };
}

function round(x: number): string {
  return Number(x.toPrecision(6)).toString();
}

export interface TransformContext {
  /** File or request shown in errors. */
  source?: string;
  /** File line of each row; otherwise rows are numbered from 1. */
  lines?: number[];
}

function where(ctx: TransformContext | undefined, i: number, column: string): string {
  const pos = ctx?.lines ? `line ${ctx.lines[i]}` : `row ${i + 1}`;
  return `${ctx?.source ? `${ctx.source} ` : ''}${pos}, column '${column}'`;
}

/**
 * Encodes raw rows (keyed by feature name) into a row-major Float32Array of
 * `rows.length × inputWidth(features)`. Unseen categories, text in a numeric column, and
 * missing values without an imputation value are errors that name the row and column.
 */
export function transformRows(
  rows: ReadonlyArray<Record<string, unknown>>,
  features: FeatureTransform[],
  ctx?: TransformContext,
): Float32Array {
  const width = inputWidth(features);
  const out = new Float32Array(rows.length * width);
  const indexes = features.map((f) => (f.kind === 'categorical' ? new Map(f.categories.map((c, i) => [c, i])) : null));
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (row === null || typeof row !== 'object') {
      throw new ModelOpsError(
        'bad-input',
        `${ctx?.source ? `${ctx.source} ` : ''}row ${i + 1} is not an object of feature values.`,
        'Send one object per row, keyed by feature name.',
      );
    }
    let o = i * width;
    for (let k = 0; k < features.length; k++) {
      const f = features[k];
      let v = row[f.name];
      if (isMissingValue(v)) {
        if (f.impute === null) {
          throw new ModelOpsError(
            'missing-value',
            `${where(ctx, i, f.name)}: the value is missing.`,
            'This model was trained with missing: drop, so every feature needs a value.',
          );
        }
        v = f.impute;
      }
      if (f.kind === 'numeric') {
        const x = numberValue(v);
        if (!Number.isFinite(x)) {
          throw new ModelOpsError(
            'not-a-number',
            `${where(ctx, i, f.name)}: ${describeValue(v)} is not a finite number.`,
            'Send a number for this feature.',
          );
        }
        out[o++] = (x - f.mean) / f.std;
      } else {
        const key = String(v as CellValue);
        const idx = indexes[k]!.get(key);
        if (idx === undefined) {
          throw new ModelOpsError(
            'unseen-category',
            `${where(ctx, i, f.name)}: the value '${key}' was not seen in training (known: ${f.categories.slice(0, 10).join(', ')}${f.categories.length > 10 ? ', …' : ''}).`,
            'Map the value to a known category, or retrain with data that contains it.',
          );
        }
        out[o + idx] = 1;
        o += f.categories.length;
      }
    }
  }
  return out;
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 37)}...` : v}'`;
  return JSON.stringify(v) ?? String(v);
}

/** Class labels of a classification target, sorted for a stable output order. */
export function fitLabels(rows: Row[], target: string): string[] {
  const set = new Set<string>();
  for (const row of rows) if (!isMissingValue(row[target])) set.add(String(row[target]));
  return [...set].sort();
}

/** Label indexes of the target column; an unknown label is an error naming row and column. */
export function encodeLabels(rows: Row[], target: string, labels: string[], ctx?: TransformContext): Int32Array {
  const index = new Map(labels.map((l, i) => [l, i]));
  const out = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const key = String(rows[i][target]);
    const idx = index.get(key);
    if (idx === undefined) {
      throw new ModelOpsError(
        'unseen-label',
        `${where(ctx, i, target)}: the label '${key}' was not seen in training (labels: ${labels.join(', ')}).`,
        'Evaluate on data with the labels the model knows, or retrain.',
      );
    }
    out[i] = idx;
  }
  return out;
}

/** Numeric target values; text or a missing value is an error naming row and column. */
export function encodeRegressionTarget(rows: Row[], target: string, ctx?: TransformContext): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i][target];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ModelOpsError(
        'not-a-number',
        `${where(ctx, i, target)}: ${describeValue(v)} is not a number; a regression target must be numeric.`,
        'Fix the value, or set model.task to classification.',
      );
    }
    out[i] = v;
  }
  return out;
}
