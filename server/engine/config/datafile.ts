/**
 * Bounded peeks into data files for the meaning checks: the header (CSV) or first record's
 * keys (JSONL) from the first few KB, and a sample of the target column. Never reads a whole
 * large file; results are cached by path, size and modification time.
 */
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { MAX_COLUMNS, utf8ErrorAt } from '../data/read';
import { levenshtein } from './text';

export const HEADER_BYTES = 64 * 1024;
export const SAMPLE_BYTES = 1024 * 1024;

export interface DataPeek {
  format: 'csv' | 'jsonl';
  /** Column names, or null when they could not be read. */
  columns: string[] | null;
  /** Why columns are null. */
  problem?: string;
}

export interface TargetSample {
  /** Distinct non-empty values seen. */
  distinct: Set<string>;
  /** Whether every non-empty value parsed as a number. */
  numeric: boolean;
  /** True when the whole file was read (so `distinct` is exact). */
  complete: boolean;
  rows: number;
}

interface CacheEntry {
  key: string;
  peek?: DataPeek;
  samples: Map<string, TargetSample>;
}
const cache = new Map<string, CacheEntry>();

export function formatOf(path: string, explicit?: string): 'csv' | 'jsonl' {
  if (explicit === 'csv' || explicit === 'jsonl') return explicit;
  const ext = extname(path).toLowerCase();
  return ext === '.jsonl' || ext === '.ndjson' || ext === '.json' ? 'jsonl' : 'csv';
}

/** Stat for existence; null when missing or not a regular file. */
export function fileInfo(path: string): { size: number; mtimeMs: number } | null {
  try {
    const s = statSync(path);
    return s.isFile() ? { size: s.size, mtimeMs: s.mtimeMs } : null;
  } catch {
    return null;
  }
}

function entry(path: string, info: { size: number; mtimeMs: number }): CacheEntry {
  const key = `${info.size}:${info.mtimeMs}`;
  let e = cache.get(path);
  if (!e || e.key !== key) {
    e = { key, samples: new Map() };
    cache.set(path, e);
    if (cache.size > 64) cache.delete(cache.keys().next().value as string);
  }
  return e;
}

class InvalidUtf8 extends Error {
  constructor(
    readonly line: number,
    readonly offset: number,
  ) {
    super(`invalid UTF-8 at line ${line}, byte offset ${offset}`);
  }
}

/**
 * The first `bytes` of the file as text. Invalid UTF-8 throws InvalidUtf8 rather than turning into
 * U+FFFD (a made-up column name or class label); a sequence cut by the read limit is dropped.
 */
function readHead(path: string, bytes: number): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    const head = buf.subarray(0, n);
    const bad = utf8ErrorAt(head, n < bytes);
    if (bad !== -1) {
      let line = 1;
      for (let i = head.indexOf(10); i !== -1 && i < bad; i = head.indexOf(10, i + 1)) line++;
      throw new InvalidUtf8(line, bad);
    }
    return new TextDecoder('utf-8').decode(head, { stream: true });
  } finally {
    closeSync(fd);
  }
}

/** Splits one CSV line (RFC 4180 quotes; no embedded newlines in a header). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (q) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          cur += '"';
          i++;
        } else q = false;
      } else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((c) => c.trim());
}

export function peekData(path: string, explicitFormat?: string): DataPeek | null {
  const info = fileInfo(path);
  if (!info) return null;
  const e = entry(path, info);
  const format = formatOf(path, explicitFormat);
  if (e.peek && e.peek.format === format) return e.peek;
  let peek: DataPeek;
  try {
    const head = readHead(path, HEADER_BYTES).replace(/^\uFEFF/, '');
    const nl = head.indexOf('\n');
    const first = (nl === -1 ? head : head.slice(0, nl)).replace(/\r$/, '');
    if (nl === -1 && info.size > HEADER_BYTES)
      peek = { format, columns: null, problem: `the first line is longer than ${HEADER_BYTES / 1024} KB` };
    else if (first.trim() === '') peek = { format, columns: null, problem: 'the file is empty' };
    else if (format === 'csv') {
      const columns = splitCsvLine(first);
      peek =
        columns.length > MAX_COLUMNS
          ? {
              format,
              columns: null,
              problem: `the header has ${columns.length.toLocaleString('en-US')} columns; the limit is ${MAX_COLUMNS.toLocaleString('en-US')}`,
            }
          : { format, columns };
    } else {
      try {
        const rec: unknown = JSON.parse(first);
        const keys = rec && typeof rec === 'object' && !Array.isArray(rec) ? Object.keys(rec) : null;
        peek = !keys
          ? { format, columns: null, problem: 'the first line is not a JSON object' }
          : keys.length > MAX_COLUMNS
            ? {
                format,
                columns: null,
                problem: `the first record has ${keys.length.toLocaleString('en-US')} keys; the limit is ${MAX_COLUMNS.toLocaleString('en-US')}`,
              }
            : { format, columns: keys };
      } catch {
        peek = { format, columns: null, problem: 'the first line is not valid JSON' };
      }
    }
  } catch (err) {
    peek =
      err instanceof InvalidUtf8
        ? {
            format,
            columns: null,
            problem: `it is not valid UTF-8 (line ${err.line}, byte offset ${err.offset}); save it as UTF-8`,
          }
        : { format, columns: null, problem: `it cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  e.peek = peek;
  return peek;
}

/** Values of one column from the first MB of the file. */
export function sampleColumn(path: string, column: string, explicitFormat?: string): TargetSample | null {
  const info = fileInfo(path);
  if (!info) return null;
  const e = entry(path, info);
  const format = formatOf(path, explicitFormat);
  const cacheKey = `${format}:${column}`;
  const hit = e.samples.get(cacheKey);
  if (hit) return hit;
  const peek = peekData(path, explicitFormat);
  if (!peek?.columns) return null;
  const idx = peek.columns.indexOf(column);
  if (idx === -1) return null;
  let text: string;
  try {
    text = readHead(path, SAMPLE_BYTES);
  } catch {
    return null; // unreadable or not UTF-8 in the sample: no guesses from replaced characters
  }
  const complete = info.size <= SAMPLE_BYTES;
  const lines = text.split('\n');
  if (!complete) lines.pop(); // the last line may be cut
  const distinct = new Set<string>();
  let numeric = true;
  let rows = 0;
  for (let i = format === 'csv' ? 1 : 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim() === '') continue;
    let v: unknown;
    if (format === 'csv') v = splitCsvLine(line)[idx];
    else {
      try {
        v = (JSON.parse(line) as Record<string, unknown>)[column];
      } catch {
        continue;
      }
    }
    rows++;
    if (v === undefined || v === null || v === '') continue;
    const s = String(v);
    if (numeric && !Number.isFinite(Number(s))) numeric = false;
    if (distinct.size < 10_000) distinct.add(s);
  }
  const sample: TargetSample = { distinct, numeric, complete, rows };
  e.samples.set(cacheKey, sample);
  return sample;
}

/**
 * Data files (.csv, .jsonl, .ndjson) under `base`, as `/`-separated paths relative to it. Bounded:
 * two folder levels, 500 names per folder, 100 files; dot-folders and node_modules skipped.
 */
export function dataFiles(base: string): string[] {
  const out: string[] = [];
  const visit = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names.slice(0, 500)) {
      if (n.startsWith('.') || n === 'node_modules') continue;
      const p = join(dir, n);
      if (/\.(csv|jsonl|ndjson)$/i.test(n)) out.push(relative(base, p).split('\\').join('/'));
      else if (depth < 2 && !n.includes('.')) visit(p, depth + 1);
      if (out.length >= 100) return;
    }
  };
  visit(base, 0);
  return out;
}

/**
 * The existing data files under `base` nearest to the missing `rel` by edit distance (of the
 * whole relative path, ties broken by the file name's), at most `limit`, nearest first.
 */
export function nearestDataFiles(base: string, rel: string, limit = 3): string[] {
  const want = rel.replace(/^\.\//, '').split('\\').join('/').toLowerCase();
  const name = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  return dataFiles(base)
    .map((p) => ({ p, d: levenshtein(want, p.toLowerCase()), n: levenshtein(name(want), name(p).toLowerCase()) }))
    .sort((a, b) => a.d - b.d || a.n - b.n || a.p.localeCompare(b.p))
    .slice(0, limit)
    .map((x) => x.p);
}
