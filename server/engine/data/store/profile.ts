/**
 * The profile recorded with a data version, per column: type, count, missing; min/max/mean for
 * numbers; a distinct count (exact up to DISTINCT_LIMIT, then "at least") and the top values for
 * strings and booleans. (The drift reference profile in ../profile.ts is per feature of a model;
 * this one describes the file.)
 */
import { isMissingValue } from '../preprocess';
import type { Dataset } from '../read';

/** Distinct values counted exactly up to this many; beyond it the count is a lower bound. */
export const DISTINCT_LIMIT = 10_000;
export const TOP_VALUES = 5;

export interface ColumnStats {
  name: string;
  type: 'number' | 'string' | 'boolean';
  /** Non-missing values. */
  count: number;
  missing: number;
  min?: number;
  max?: number;
  mean?: number;
  distinct?: number;
  /** True when `distinct` stopped at DISTINCT_LIMIT. */
  distinctCapped?: boolean;
  top?: Array<{ value: string; count: number }>;
}

export function profileDataset(ds: Pick<Dataset, 'columns' | 'rows'>): ColumnStats[] {
  return ds.columns.map((c) => {
    let count = 0;
    let missing = 0;
    if (c.type === 'number') {
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      for (const r of ds.rows) {
        const v = r[c.name];
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          missing++;
          continue;
        }
        count++;
        sum += v;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      return count
        ? { name: c.name, type: c.type, count, missing, min, max, mean: sum / count }
        : { name: c.name, type: c.type, count, missing };
    }
    const counts = new Map<string, number>();
    let capped = false;
    for (const r of ds.rows) {
      const v = r[c.name];
      if (isMissingValue(v)) {
        missing++;
        continue;
      }
      count++;
      const key = String(v);
      const n = counts.get(key);
      if (n !== undefined) counts.set(key, n + 1);
      else if (counts.size < DISTINCT_LIMIT) counts.set(key, 1);
      else capped = true;
    }
    // Top values among those counted: exact unless the column has more than DISTINCT_LIMIT distinct values.
    const top = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, TOP_VALUES)
      .map(([value, n]) => ({ value: value.length > 200 ? `${value.slice(0, 200)}…` : value, count: n }));
    return {
      name: c.name,
      type: c.type,
      count,
      missing,
      distinct: counts.size,
      ...(capped ? { distinctCapped: true } : {}),
      top,
    };
  });
}
