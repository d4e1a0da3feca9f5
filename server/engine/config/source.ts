/**
 * The text of a modelops.yaml as both parsers see it (the full one in parse.ts, the incremental
 * one in incremental.ts): a line index for offsets ↔ positions, and the YAML options they share.
 */
import type { Position, Range } from './types';

export const YAML_OPTIONS = { prettyErrors: false, uniqueKeys: true, keepSourceTokens: false, strict: true } as const;

/** Offsets ↔ zero-based LSP positions (UTF-16 code units, which is what JS strings index). */
export class LineIndex {
  constructor(
    readonly text: string,
    readonly lineStarts: number[],
  ) {}

  static of(text: string): LineIndex {
    const starts = [0];
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    return new LineIndex(text, starts);
  }

  position(offset: number): Position {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: o - this.lineStarts[lo] };
  }

  offset(p: Position): number {
    // Positions come from clients: a fractional, NaN or missing number means the nearest place.
    const whole = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) ? Math.floor(n) : 0);
    const line = whole(p?.line);
    if (line >= this.lineStarts.length) return this.text.length;
    if (line < 0) return 0;
    const start = this.lineStarts[line];
    const end = line + 1 < this.lineStarts.length ? this.lineStarts[line + 1] - 1 : this.text.length;
    return Math.min(start + Math.max(0, whole(p?.character)), end);
  }

  range(start: number, end: number): Range {
    return { start: this.position(start), end: this.position(Math.max(start, end)) };
  }

  /** Text of a line without its line break. */
  lineText(line: number): string {
    const start = this.lineStarts[line] ?? this.text.length;
    const next = this.lineStarts[line + 1];
    return this.text.slice(start, next === undefined ? this.text.length : next).replace(/\r?\n$/, '');
  }

  get lineCount(): number {
    return this.lineStarts.length;
  }
}
