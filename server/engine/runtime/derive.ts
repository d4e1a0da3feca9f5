/**
 * Derived model inputs: a model column computed from a raw column by one of a small fixed set
 * of functions, e.g. `{ month: 'month(date)', day_of_year: 'dayofyear(date)' }`. Models
 * exported from pandas code often take such columns; the caller keeps sending the raw date.
 * Dates are read from their written form (calendar fields as written, no time-zone shift), as
 * pandas.to_datetime reads a naive date string.
 */
import { ModelOpsError } from '../errors';
import type { DerivedInputs } from './types';

export const DERIVE_FUNCTIONS = ['month', 'day', 'dayofyear', 'weekday', 'year', 'hour'] as const;
export type DeriveFunction = (typeof DERIVE_FUNCTIONS)[number];

export interface Derivation {
  column: string;
  fn: DeriveFunction;
  source: string;
}

const EXPR = /^\s*([a-z_]+)\s*\(\s*([^()\s][^()]*?)\s*\)\s*$/;

/** Parses `derived` entries; `where` names the manifest or config in errors. */
export function parseDerived(derived: DerivedInputs | undefined, where: string): Map<string, Derivation> {
  const out = new Map<string, Derivation>();
  for (const [column, expr] of Object.entries(derived ?? {})) {
    const m = EXPR.exec(String(expr));
    if (!m || !(DERIVE_FUNCTIONS as readonly string[]).includes(m[1])) {
      throw new ModelOpsError(
        'bad-derived-input',
        `${where}: derived input '${column}' is '${String(expr)}', which is not one of ${DERIVE_FUNCTIONS.map((f) => `${f}(column)`).join(', ')}.`,
        `Write it as e.g. "${column}: month(date)".`,
      );
    }
    out.set(column, { column, fn: m[1] as DeriveFunction, source: m[2] });
  }
  return out;
}

const CUMULATIVE = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
const DATE =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2})(?::\d{1,2}(?::\d{1,2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

function leap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysIn(y: number, m: number): number {
  return m === 2 ? (leap(y) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
}

/** Calendar fields of a date value, or null when it is not a date. */
export function dateFields(v: unknown): { year: number; month: number; day: number; hour: number } | null {
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) return null;
    return { year: v.getUTCFullYear(), month: v.getUTCMonth() + 1, day: v.getUTCDate(), hour: v.getUTCHours() };
  }
  if (typeof v !== 'string') return null;
  const m = DATE.exec(v.trim());
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23) return null;
  return { year, month, day, hour };
}

/** Applies one derivation to a raw value; null when the value is not a date. */
export function derive(fn: DeriveFunction, v: unknown): number | null {
  const d = dateFields(v);
  if (!d) return null;
  switch (fn) {
    case 'month':
      return d.month;
    case 'day':
      return d.day;
    case 'year':
      return d.year;
    case 'hour':
      return d.hour;
    case 'dayofyear':
      return CUMULATIVE[d.month - 1] + d.day + (d.month > 2 && leap(d.year) ? 1 : 0);
    case 'weekday':
      // getUTCDay: 0 = Sunday; pandas: 0 = Monday.
      return (new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay() + 6) % 7;
  }
}
