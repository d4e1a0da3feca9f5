/**
 * Streaming CSV (RFC 4180: quoted fields, doubled quotes, embedded newlines, CRLF) and JSONL
 * readers with column type inference. Every error names the file, the line (1-based, the
 * header being line 1 as in an editor) and the column.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { ModelOpsError, type ErrorCode } from '../errors';

export type CellValue = number | string | boolean | null;
export type Row = Record<string, CellValue>;
export type ColumnType = 'number' | 'string' | 'boolean';
export type DataFormat = 'csv' | 'jsonl';

export interface Column {
  name: string;
  type: ColumnType;
}

export interface Dataset {
  /** The path as given. */
  path: string;
  format: DataFormat;
  columns: Column[];
  rows: Row[];
  /** File line (1-based) where each row starts, parallel to `rows`. */
  lines: number[];
}

export interface ReadOptions {
  /** Defaults from the extension (.jsonl/.ndjson → jsonl, else csv). */
  format?: DataFormat;
  /** Columns that must be present (e.g. the target and features). */
  require?: Array<{ name: string; role: string }>;
  /** Types the columns must have (e.g. from a trained model); inference is skipped for them. */
  types?: Record<string, ColumnType>;
  /** Name shown in errors instead of the path (e.g. the workspace-relative path). */
  displayName?: string;
}

/**
 * Bounds on hostile files, enforced while streaming so a giant line is refused before it is held
 * in memory: the longest line (a CSV record, a JSONL line) in UTF-16 code units, and the most
 * columns. Both are far beyond any table a model trains on.
 */
export const MAX_LINE_CHARS = 1024 * 1024;
export const MAX_COLUMNS = 10_000;
/** Column names listed in an error message before "… and N more", so the message stays short. */
const LISTED_COLUMNS = 5;

/** Tokens that parse as numbers but are not usable values. */
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function formatFromPath(path: string): DataFormat {
  const ext = extname(path).toLowerCase();
  return ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : 'csv';
}

function dataError(code: ErrorCode, message: string, hint: string): ModelOpsError {
  return new ModelOpsError(code, message, hint);
}

/**
 * At most `limit` column names (default five), each clipped, then how many more: a message never
 * grows with the header. "… and 1 more" is never said: one more name fits instead.
 */
export function listColumns(names: readonly string[], limit = LISTED_COLUMNS): string {
  const n = names.length <= limit + 1 ? names.length : limit;
  const shown = names.slice(0, n).map((c) => truncate(c));
  return names.length > n
    ? `${shown.join(', ')} … and ${(names.length - n).toLocaleString('en-US')} more`
    : shown.join(', ');
}

function tooLong(name: string, line: number, column?: number): ModelOpsError {
  return dataError(
    'line-too-long',
    `${name} line ${line}: the line is longer than ${MAX_LINE_CHARS / (1024 * 1024)} MiB${column ? ` (at column ${column})` : ''}; reading stopped there.`,
    'A data file holds one record per line; check that this is the right file and that its quotes are balanced.',
  );
}

function tooManyColumns(name: string, line: number): ModelOpsError {
  return dataError(
    'too-many-columns',
    `${name} line ${line}: more than ${MAX_COLUMNS.toLocaleString('en-US')} columns; reading stopped there.`,
    `Use at most ${MAX_COLUMNS.toLocaleString('en-US')} columns, or check that this is the right file.`,
  );
}

/**
 * Offset of the first byte of `b` that does not start a valid UTF-8 sequence (overlong forms,
 * surrogates and code points past U+10FFFF included), or -1. A sequence cut off by the end of
 * `b` is an error only when `final`.
 */
export function utf8ErrorAt(b: Uint8Array, final = true): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return final ? i : -1;
      const d = b[i + k];
      if (k === 1 ? d < lo || d > hi : d < 0x80 || d > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** Length of a UTF-8 sequence cut off at the end of `b` (0–3 bytes). */
function cutSequence(b: Uint8Array): number {
  for (let j = 1; j <= Math.min(3, b.length); j++) {
    const c = b[b.length - j];
    if (c < 0x80) return 0;
    if (c >= 0xc0) return (c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2) > j ? j : 0;
  }
  return 0;
}

/** 1-based line holding byte `offset` of the file: counted again only when an error needs it. */
async function lineAtByte(path: string, offset: number): Promise<number> {
  if (offset <= 0) return 1;
  let line = 1;
  // `end` is inclusive: bytes [0, offset) are the ones before the bad byte.
  for await (const chunk of createReadStream(path, {
    end: offset - 1,
    highWaterMark: 1 << 16,
  }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) line++;
  }
  return line;
}

/** How far a reader is into its file, in bytes (updated as each chunk is read). */
interface ReadPosition {
  bytes: number;
}

/**
 * The file as text, chunk by chunk. Invalid UTF-8 is an error naming the file, line and byte
 * offset — never replaced by U+FFFD, which would silently make a new class label.
 */
async function* utf8Text(path: string, name: string, read?: ReadPosition): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let offset = 0;
  let previous: Uint8Array = new Uint8Array(0);
  const invalid = async (at: number): Promise<ModelOpsError> =>
    dataError(
      'invalid-utf8',
      `${name} line ${await lineAtByte(path, at)}: invalid UTF-8 at byte offset ${at}.`,
      'Save the file as UTF-8 (or convert it, e.g. iconv -f latin1 -t utf-8); undecodable bytes are not read as text.',
    );
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 16 }) as AsyncIterable<Buffer>) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      // The decoder may hold the start of a sequence from the previous chunk: look from there.
      const carried = cutSequence(previous);
      const joined = Buffer.concat([previous.subarray(previous.length - carried), chunk]);
      const at = utf8ErrorAt(joined, false);
      throw await invalid(offset - carried + Math.max(0, at));
    }
    offset += chunk.length;
    if (read) read.bytes = offset;
    previous = chunk;
    if (text) yield text;
  }
  let rest: string;
  try {
    rest = decoder.decode();
  } catch {
    throw await invalid(offset - cutSequence(previous));
  }
  if (rest) yield rest;
}

/** The file exists and is not empty, else an error naming it. */
async function checkFile(path: string, name: string): Promise<void> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw dataError(
      'data-not-found',
      `Data file ${name} does not exist.`,
      'Check the path: in modelops.yaml it is relative to the config file, on the command line to the current folder.',
    );
  }
  if (size === 0)
    throw dataError('data-empty', `Data file ${name} is empty.`, 'Add a header line and at least one row.');
}

/** Reads a CSV or JSONL file into typed rows. */
export async function readDataset(path: string, options: ReadOptions = {}): Promise<Dataset> {
  const name = options.displayName ?? path;
  await checkFile(path, name);
  const format = options.format ?? formatFromPath(path);
  const raw = format === 'csv' ? await readCsvRaw(path, name) : await readJsonlRaw(path, name);
  if (raw.records.length === 0) {
    throw dataError(
      'data-empty',
      format === 'csv' ? `Data file ${name} has a header but no rows.` : `Data file ${name} has no records.`,
      'Add at least one row of data.',
    );
  }
  for (const req of options.require ?? []) {
    if (!raw.header.includes(req.name)) {
      throw dataError(
        'missing-column',
        `Data file ${name} has no ${req.role} column '${truncate(req.name)}' (columns: ${listColumns(raw.header)}).`,
        `Fix data.${req.role === 'target' ? 'target' : 'features'} in modelops.yaml or add the column to the file.`,
      );
    }
  }
  return typeColumns(raw, name, format, path, options.types ?? {});
}

interface RawData {
  header: string[];
  /** Cells: strings from CSV (null never), JSON values from JSONL. */
  records: Array<Array<string | number | boolean | null>>;
  lines: number[];
  /** Whether cells came typed (JSONL) or as text (CSV). */
  typed: boolean;
}

/** A run of CSV records as read from one chunk of the file, with the header they belong to. */
interface CsvRecords {
  header: string[];
  records: string[][];
  lines: number[];
}

/** The whole file's records (the typed reader infers each column's type from all of them). */
async function readCsvRaw(path: string, name: string): Promise<RawData> {
  let header: string[] = [];
  const records: string[][] = [];
  const lines: number[] = [];
  for await (const run of csvRecords(path, name)) {
    header = run.header;
    for (let i = 0; i < run.records.length; i++) {
      records.push(run.records[i]);
      lines.push(run.lines[i]);
    }
  }
  return { header, records, lines, typed: false };
}

/**
 * RFC 4180 state machine over a byte stream: the records (with their starting line) of each
 * 64 KB chunk as it is read, so a caller that needs no whole-file view holds one chunk's worth.
 * The header comes with every run; a file with a header and no rows yields one empty run.
 */
async function* csvRecords(path: string, name: string, read?: ReadPosition): AsyncGenerator<CsvRecords> {
  let header: string[] | null = null;
  let records: string[][] = [];
  let lines: number[] = [];
  let field = '';
  let record: string[] = [];
  let inQuotes = false;
  let quoteSeen = false; // a quote inside a quoted field: either "" or the closing quote
  let fieldQuoted = false;
  let line = 1;
  let recordLine = 1;
  let pendingCR = false;
  let first = true;
  let recordChars = 0; // characters of the record's finished fields (with their commas)

  const endRecord = () => {
    record.push(field);
    field = '';
    fieldQuoted = false;
    recordChars = 0;
    // A blank line is no record (as Python's csv module does).
    if (!(record.length === 1 && record[0] === '')) {
      if (header === null) {
        header = record.map((h) => h.trim());
        const seen = new Set<string>();
        header.forEach((h, i) => {
          if (h === '')
            throw dataError(
              'bad-header',
              `${name} line ${recordLine}: column ${i + 1} of the header has no name.`,
              'Give every column a name in the header line.',
            );
          if (seen.has(h))
            throw dataError(
              'bad-header',
              `${name} line ${recordLine}: the header names column '${truncate(h)}' twice.`,
              'Give every column a distinct name.',
            );
          seen.add(h);
        });
      } else {
        if (record.length !== header.length) {
          throw dataError(
            'ragged-row',
            `${name} line ${recordLine}: expected ${header.length} fields (${listColumns(header)}) but found ${record.length}.`,
            'Every row needs one value per header column; quote values that contain commas.',
          );
        }
        records.push(record);
        lines.push(recordLine);
      }
    }
    record = [];
  };

  for await (const chunk of utf8Text(path, name, read)) {
    let s = chunk;
    if (first) {
      first = false;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    let start = 0; // start of the pending unquoted run inside this chunk
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (pendingCR) {
        pendingCR = false;
        if (c === 10) {
          start = i + 1;
          continue;
        }
      }
      if (inQuotes) {
        if (quoteSeen) {
          quoteSeen = false;
          if (c === 34) {
            field += '"';
            start = i + 1;
            continue;
          }
          inQuotes = false; // that quote closed the field; fall through to the unquoted handling
        } else {
          if (c === 34) {
            field += s.slice(start, i);
            quoteSeen = true;
            start = i + 1;
          } else if (c === 10) {
            line++;
          }
          continue;
        }
      }
      if (c === 44 /* , */) {
        field += s.slice(start, i);
        record.push(field);
        recordChars += field.length + 1;
        // A comma means one more field follows.
        if (record.length >= MAX_COLUMNS) throw tooManyColumns(name, recordLine);
        field = '';
        fieldQuoted = false;
        start = i + 1;
      } else if (c === 10 || c === 13) {
        field += s.slice(start, i);
        endRecord();
        line++;
        recordLine = line;
        if (c === 13) pendingCR = true;
        start = i + 1;
      } else if (c === 34 /* " */) {
        const before = field + s.slice(start, i);
        if (before === '' && !fieldQuoted) {
          inQuotes = true;
          fieldQuoted = true;
          start = i + 1;
        } else {
          throw dataError(
            'bad-csv',
            `${name} line ${line}: a quote appears inside an unquoted field (column ${record.length + 1}).`,
            'Quote the whole field and double any quote inside it: "a ""b"" c".',
          );
        }
      } else if (fieldQuoted) {
        throw dataError(
          'bad-csv',
          `${name} line ${line}: text follows a closing quote (column ${record.length + 1}).`,
          'Put the whole value inside the quotes.',
        );
      }
    }
    if (inQuotes && !quoteSeen) field += s.slice(start);
    else if (!inQuotes) field += s.slice(start);
    // Checked once per 64 KB chunk: the record held never exceeds the cap by more than a chunk.
    if (recordChars + field.length > MAX_LINE_CHARS) throw tooLong(name, recordLine, record.length + 1);
    if (header !== null && records.length > 0) {
      yield { header, records, lines };
      records = [];
      lines = [];
    }
  }
  if (inQuotes && !quoteSeen) {
    throw dataError(
      'bad-csv',
      `${name} line ${recordLine}: a quoted field is not closed before the end of the file.`,
      'Close the quote or remove it.',
    );
  }
  if (field !== '' || record.length > 0) endRecord();
  if (header === null)
    throw dataError('data-empty', `Data file ${name} has no header line.`, 'Add a header line naming the columns.');
  yield { header, records, lines };
}

/** The lines of a file (without their line break), refusing any longer than MAX_LINE_CHARS while reading. */
async function* textLines(path: string, name: string, read?: ReadPosition): AsyncGenerator<string> {
  let pending = '';
  let line = 1;
  for await (const s of utf8Text(path, name, read)) {
    let from = 0;
    for (let nl = s.indexOf('\n'); nl !== -1; nl = s.indexOf('\n', from)) {
      const text = pending + s.slice(from, nl);
      pending = '';
      from = nl + 1;
      if (text.length > MAX_LINE_CHARS) throw tooLong(name, line);
      yield text.endsWith('\r') ? text.slice(0, -1) : text;
      line++;
    }
    pending += s.slice(from);
    if (pending.length > MAX_LINE_CHARS) throw tooLong(name, line);
  }
  if (pending !== '') yield pending.endsWith('\r') ? pending.slice(0, -1) : pending;
}

async function readJsonlRaw(path: string, name: string): Promise<RawData> {
  const header: string[] = [];
  const index = new Map<string, number>();
  const objects: Array<Record<string, unknown>> = [];
  const lines: number[] = [];
  let line = 0;
  for await (const text of textLines(path, name)) {
    line++;
    const obj = jsonlObject(text, name, line);
    if (!obj) continue;
    for (const key of Object.keys(obj)) {
      if (!index.has(key)) {
        if (header.length >= MAX_COLUMNS) throw tooManyColumns(name, line);
        index.set(key, header.length);
        header.push(key);
      }
    }
    objects.push(obj);
    lines.push(line);
  }
  const records = objects.map((obj, r) => header.map((key) => jsonlCell(obj[key], name, lines[r], key)));
  return { header, records, lines, typed: true };
}

/** One JSONL line as its object; null for a blank line. */
function jsonlObject(text: string, name: string, line: number): Record<string, unknown> | null {
  const t = line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1).trim() : text.trim();
  if (t === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch (e) {
    const nonFinite = /(^|[^"\w])(-?Infinity|NaN)\b/.test(t);
    throw dataError(
      nonFinite ? 'non-finite' : 'bad-json',
      nonFinite
        ? `${name} line ${line}: NaN or Infinity is not a valid value.`
        : `${name} line ${line}: not valid JSON (${truncate(e instanceof Error ? e.message : String(e), 120)}).`,
      nonFinite ? 'Use null for a missing value, or remove the row.' : 'Each line must be one JSON object.',
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw dataError(
      'bad-json',
      `${name} line ${line}: expected a JSON object, found ${Array.isArray(value) ? 'an array' : truncate(JSON.stringify(value))}.`,
      'Each line must be one JSON object such as {"a": 1, "b": "x"}.',
    );
  }
  return value as Record<string, unknown>;
}

/** A JSONL value as a cell: a scalar or null; a nested value is an error naming line and column. */
function jsonlCell(v: unknown, name: string, line: number, key: string): string | number | boolean | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  throw dataError(
    'bad-json',
    `${name} line ${line}, column '${truncate(key)}': nested values are not supported.`,
    'Flatten the record so every value is a number, string, boolean or null.',
  );
}

export interface BatchReadOptions {
  /**
   * The columns wanted and the type each is read as (nothing is inferred); others are not kept.
   * `key` names the value in the row (default the column's name), so one column can be read twice.
   */
  columns: ReadonlyArray<{ name: string; type: ColumnType; role: string; key?: string }>;
  /** Defaults from the extension (.jsonl/.ndjson → jsonl, else csv). */
  format?: DataFormat;
  /** Name shown in errors instead of the path. */
  displayName?: string;
  /** Rows per batch at most (default 4096). */
  batchRows?: number;
}

/**
 * The rows of a CSV or JSONL file batch by batch, with only the columns asked for, each read as
 * the type given: memory bounded by a batch whatever the file's size (readDataset holds the whole
 * file, as inferring a column's type needs every value). The same checks and errors as readDataset;
 * a JSONL file's missing column is known only at its end, after the batches before it. Each
 * batch carries how many bytes of the file had been read by then (for progress; one pass).
 */
export async function* readDatasetBatches(
  path: string,
  options: BatchReadOptions,
): AsyncGenerator<{ rows: Row[]; lines: number[]; bytes: number }> {
  const name = options.displayName ?? path;
  const read: ReadPosition = { bytes: 0 };
  await checkFile(path, name);
  const format = options.format ?? formatFromPath(path);
  const wanted = options.columns;
  const size = Math.max(1, options.batchRows ?? 4096);
  let rows: Row[] = [];
  let lines: number[] = [];
  let total = 0;
  const flush = () => {
    const batch = { rows, lines, bytes: read.bytes };
    total += rows.length;
    rows = [];
    lines = [];
    return batch;
  };
  const missing = (col: { name: string; role: string }, header: readonly string[]) =>
    dataError(
      'missing-column',
      `Data file ${name} has no ${col.role} column '${truncate(col.name)}' (columns: ${listColumns(header)}).`,
      'Add the column to the file, or choose a file with the columns the model takes.',
    );
  if (format === 'csv') {
    let at: number[] | null = null;
    for await (const run of csvRecords(path, name, read)) {
      if (!at) {
        at = wanted.map((c) => run.header.indexOf(c.name));
        const absent = at.indexOf(-1);
        if (absent >= 0) throw missing(wanted[absent], run.header);
      }
      for (let r = 0; r < run.records.length; r++) {
        const rec = run.records[r];
        const row: Row = {};
        for (let k = 0; k < wanted.length; k++) {
          const v = rec[at[k]];
          row[wanted[k].key ?? wanted[k].name] = isMissing(v)
            ? null
            : convert(v, wanted[k].type, name, run.lines[r], wanted[k].name);
        }
        rows.push(row);
        lines.push(run.lines[r]);
        if (rows.length >= size) yield flush();
      }
    }
  } else {
    const seen = new Set<string>();
    let line = 0;
    for await (const text of textLines(path, name, read)) {
      line++;
      const obj = jsonlObject(text, name, line);
      if (!obj) continue;
      const row: Row = {};
      for (const c of wanted) {
        const v = jsonlCell(obj[c.name], name, line, c.name);
        if (obj[c.name] !== undefined) seen.add(c.name);
        row[c.key ?? c.name] = isMissing(v)
          ? null
          : convert(v as string | number | boolean, c.type, name, line, c.name);
      }
      rows.push(row);
      lines.push(line);
      if (rows.length >= size) yield flush();
    }
    const absent = wanted.find((c) => !seen.has(c.name));
    if (absent && total + rows.length > 0) throw missing(absent, [...seen]);
  }
  if (rows.length > 0) yield flush();
  if (total === 0)
    throw dataError(
      'data-empty',
      format === 'csv' ? `Data file ${name} has a header but no rows.` : `Data file ${name} has no records.`,
      'Add at least one row of data.',
    );
}

function isMissing(v: string | number | boolean | null): boolean {
  return v === null || (typeof v === 'string' && v.trim() === '');
}

function inferType(raw: RawData, col: number): ColumnType {
  let numbers = 0;
  let booleans = 0;
  let present = 0;
  for (const rec of raw.records) {
    const v = rec[col];
    if (isMissing(v)) continue;
    present++;
    if (typeof v === 'number') numbers++;
    else if (typeof v === 'boolean') booleans++;
    else if (typeof v === 'string') {
      const t = v.trim();
      if (NUMBER.test(t) || NON_FINITE.test(t)) numbers++;
      else if (/^(true|false)$/i.test(t)) booleans++;
    }
  }
  if (present === 0) return 'string';
  if (booleans === present) return 'boolean';
  // A column that is mostly numbers is numeric; the odd text cell in it is an error, not a category.
  if (numbers === present || numbers >= present * 0.5) return 'number';
  return 'string';
}

function typeColumns(
  raw: RawData,
  name: string,
  format: DataFormat,
  path: string,
  forced: Record<string, ColumnType>,
): Dataset {
  const columns: Column[] = raw.header.map((h, i) => ({ name: h, type: forced[h] ?? inferType(raw, i) }));
  const rows: Row[] = new Array(raw.records.length);
  for (let r = 0; r < raw.records.length; r++) {
    const rec = raw.records[r];
    const row: Row = {};
    for (let c = 0; c < columns.length; c++) {
      const { name: col, type } = columns[c];
      const v = rec[c];
      if (isMissing(v)) {
        row[col] = null;
        continue;
      }
      row[col] = convert(v as string | number | boolean, type, name, raw.lines[r], col);
    }
    rows[r] = row;
  }
  return { path, format, columns, rows, lines: raw.lines };
}

function convert(
  v: string | number | boolean,
  type: ColumnType,
  file: string,
  line: number,
  column: string,
): CellValue {
  const col = truncate(column);
  if (type === 'number') {
    let x: number;
    if (typeof v === 'number') x = v;
    else if (typeof v === 'boolean') x = v ? 1 : 0;
    else {
      const t = v.trim();
      if (NON_FINITE.test(t)) {
        throw dataError(
          'non-finite',
          `${file} line ${line}, column '${col}': '${t}' is not a finite number.`,
          'Leave the cell empty for a missing value (see data.missing) or remove the row.',
        );
      }
      if (!NUMBER.test(t)) {
        throw dataError(
          'not-a-number',
          `${file} line ${line}, column '${col}': '${truncate(t)}' is text in a numeric column.`,
          'Fix or remove the value; leave the cell empty for a missing value.',
        );
      }
      x = Number(t);
    }
    if (!Number.isFinite(x)) {
      throw dataError(
        'non-finite',
        `${file} line ${line}, column '${col}': ${String(v)} is not a finite number.`,
        'Use a finite value or leave the cell empty.',
      );
    }
    return x;
  }
  if (type === 'boolean') {
    if (typeof v === 'boolean') return v;
    const t = String(v).trim().toLowerCase();
    if (t === 'true') return true;
    if (t === 'false') return false;
    throw dataError(
      'not-a-boolean',
      `${file} line ${line}, column '${col}': '${truncate(String(v))}' is not true or false.`,
      'Use true or false in this column.',
    );
  }
  return typeof v === 'string' ? v.trim() : String(v);
}

function truncate(s: string, max = 40): string {
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
