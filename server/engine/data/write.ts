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
