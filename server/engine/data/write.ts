/** Writing data files our readers read back as they were (read.ts). */
import type { CellValue } from './read';

/**
 * One CSV field (RFC 4180): quoted when it holds a quote, comma or line break, or has spaces at
 * either end (read.ts would trim them otherwise); empty for a missing value.
 */
export function csvCell(v: CellValue | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

const FLOAT32_MIN_NORMAL = 2 ** -126;

/**
 * A float32 value as the double of its shortest decimal that reads back as the same float32 (as
 * numpy prints a float32): 0.0341158 rather than its exact expansion 0.03411579877138138, whose
 * last nine digits say nothing. A number that is not a float32 is returned as it is. The shortest
 * form has at most 9 significant digits, and (for a normal float32) one of 6 or fewer shows as such
 * at precision 6.
 */
export function shortestFloat32(x: number): number {
  if (!Number.isFinite(x) || x === 0 || Math.fround(x) !== x) return x;
  // A subnormal float32 has fewer bits, so its shortest form may have fewer than 6 digits.
  for (let p = Math.abs(x) < FLOAT32_MIN_NORMAL ? 1 : 6; p < 9; p++) {
    const d = Number(x.toPrecision(p));
    if (Math.fround(d) === x) return d;
  }
  return Number(x.toPrecision(9));
}
