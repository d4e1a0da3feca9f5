import { isAbsolute, relative } from 'node:path';

/** Small, dependency-free helpers for CLI output: tables, colours, progress bars. */

const useColor = (isTTY: boolean): boolean => isTTY && !process.env.NO_COLOR;

export function paint(isTTY: boolean) {
  const wrap = (code: number) => (s: string) => (useColor(isTTY) ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { bold: wrap(1), dim: wrap(2), red: wrap(31), green: wrap(32), yellow: wrap(33), cyan: wrap(36) };
}

/**
 * The only escape sequences the CLI itself writes: the SGR styles of `paint` and the
 * "up one line, erase it" that redraws a progress bar. Everything else that a terminal acts
 * on is shown escaped, so stored or user text (notes, tags, names, arguments) cannot retitle,
 * clear or reorder the terminal.
 */
const OWN_STYLE = /\x1b\[(?:0|1|2|31|32|33|36)m/g;
export const REDRAW_PREVIOUS_LINE = '\x1b[1A\x1b[2K';

// C0 controls, DEL, C1 controls, bidi embeddings/overrides (U+202A–U+202E) and isolates (U+2066–U+2069).
const ACTIVE_IN_LINE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// The same, but a multi-line text keeps its tabs, newlines and CRLF line ends.
const ACTIVE_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\r(?!\n)/g;

/** `\uXXXX`: visible, so a reader sees something was there, and a valid escape inside JSON strings. */
const escapeChar = (ch: string): string => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;

export interface PrintableOptions {
  /** Keep \n, \t and CRLF (default: escape them too, for one-line fields such as table cells). */
  multiline?: boolean;
  /** Keep the exact styles `paint` writes (only where `paint` may have written them). */
  keepStyles?: boolean;
  /** Keep a leading REDRAW_PREVIOUS_LINE (progress bars on a terminal). */
  keepRedraw?: boolean;
}

/** `text` with every character a terminal would act on shown escaped (`\u001b`, `\u202e`, …). */
export function printable(text: string, options: PrintableOptions = {}): string {
  const active = options.multiline ? ACTIVE_IN_TEXT : ACTIVE_IN_LINE;
  let prefix = '';
  let rest = text;
  if (options.keepRedraw && rest.startsWith(REDRAW_PREVIOUS_LINE)) {
    prefix = REDRAW_PREVIOUS_LINE;
    rest = rest.slice(REDRAW_PREVIOUS_LINE.length);
  }
  if (!options.keepStyles) return prefix + rest.replace(active, escapeChar);
  let out = prefix;
  let last = 0;
  for (const m of rest.matchAll(OWN_STYLE)) {
    out += rest.slice(last, m.index).replace(active, escapeChar) + m[0];
    last = (m.index ?? 0) + m[0].length;
  }
  return out + rest.slice(last).replace(active, escapeChar);
}

/** Left-aligned text table; numbers are right-aligned. Cells are one line each, shown printable. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => printable(String(c), { keepStyles: true })));
  const head = headers.map((h) => printable(h, { keepStyles: true }));
  const widths = head.map((h, i) => Math.max(visibleLength(h), ...cells.map((r) => visibleLength(r[i] ?? ''))));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => {
        const pad = ' '.repeat(Math.max(0, widths[i] - visibleLength(c)));
        return numeric[i] ? pad + c : c + pad;
      })
      .join('  ')
      .trimEnd();
  return [fmt(head), fmt(widths.map((w) => '─'.repeat(w))), ...cells.map(fmt)].join('\n');
}

function visibleLength(s: string): number {
  return s.replace(OWN_STYLE, '').length;
}

/** A progress bar line such as "[████████░░░░]  66%  epoch 8/12". */
export function progressBar(fraction: number, width = 24): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}] ${String(Math.round(f * 100)).padStart(3)}%`;
}

/** Formats a metric value for tables: 4 significant decimals, integers as they are. */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(4);
}

/** A path as a user reads it: relative when it lies under `cwd`, absolute otherwise. */
export function displayPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}
