/**
 * The prediction log line, built as text from what the request path already has in text form:
 * each input's `data` array sliced out of the raw request body (already validated by JSON.parse
 * and decodeInferRequest), and the outputs' `data` arrays serialised once for the response and
 * reused here. Re-serialising the parsed inputs and the probabilities (number → shortest text)
 * was most of the cost of logging.
 *
 * The line has the shape JSON.stringify gives a PredictionLogLine (key order, no spaces), which
 * readLog.ts's fast scanner expects, and parses to the same values (a number may keep the
 * request's spelling, `1.0` for `1`). Whenever the raw text is not of the plain shape (an
 * escaped key, whitespace or nesting inside `data`, a key that appears twice…) the slower
 * JSON.stringify of the parsed value is used instead, so the line always says what was validated.
 */
import type { V2InferResponse, V2Tensor } from './types';

/** Characters JSON.stringify writes escaped: quote, backslash, controls, and (alone) surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify of a string, without its cost for the usual id or version that needs no escape. */
export function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

const QUOTE = 34;
const BACKSLASH = 92;

/** Index after the string whose opening quote is at `i`; −1 when unterminated. Sets `escaped`. */
function stringEnd(s: string, i: number, out: { escaped: boolean }): number {
  out.escaped = false;
  for (let k = i + 1; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === QUOTE) return k + 1;
    if (c === BACKSLASH) {
      out.escaped = true;
      k++;
    }
  }
  return -1;
}

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;

function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Index after the JSON value at `i` (`s` is valid JSON, so only brackets and strings matter);
 * `flat` is cleared when the value is not a flat array of scalars written without whitespace.
 */
function valueEnd(s: string, i: number, flat: { ok: boolean; escaped: boolean }): number {
  const c0 = s.charCodeAt(i);
  if (c0 === QUOTE) return stringEnd(s, i, flat);
  if (c0 !== 91 && c0 !== 123) {
    let k = i;
    while (k < s.length) {
      const c = s.charCodeAt(k);
      if (c === 44 || c === 93 || c === 125 || isSpace(c)) break;
      k++;
    }
    return k;
  }
  let depth = 0;
  for (let k = i; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === QUOTE) {
      k = stringEnd(s, k, flat) - 1;
      if (k < 0) return -1;
    } else if (c === 91 || c === 123) {
      if (++depth > 1 || c === 123) flat.ok = false;
    } else if (c === 93 || c === 125) {
      if (--depth === 0) return k + 1;
    } else if (isSpace(c)) flat.ok = false;
  }
  return -1;
}

/**
 * Feature → the raw text of its `data` array in the request body, for the inputs whose text is
 * a flat array without whitespace; null when the body is not of the plain shape at all.
 */
export function rawInputData(body: string): Map<string, string> | null {
  const st = { ok: true, escaped: false };
  let i = skipSpace(body, 0);
  if (body.charCodeAt(i) !== 123) return null;
  i++;
  let inputs: Map<string, string> | null = null;
  for (;;) {
    i = skipSpace(body, i);
    if (body.charCodeAt(i) === 125) break;
    if (body.charCodeAt(i) !== QUOTE) return null;
    const keyEnd = stringEnd(body, i, st);
    if (keyEnd < 0 || st.escaped) return null;
    const key = body.slice(i + 1, keyEnd - 1);
    i = skipSpace(body, keyEnd);
    if (body.charCodeAt(i) !== 58) return null;
    i = skipSpace(body, i + 1);
    if (key === 'inputs') {
      // A later "inputs" key wins, as it does for JSON.parse.
      const r = tensors(body, i);
      if (!r) return null;
      inputs = r.data;
      i = r.end;
    } else {
      i = valueEnd(body, i, st);
      if (i < 0) return null;
    }
    i = skipSpace(body, i);
    const d = body.charCodeAt(i++);
    if (d === 125) break;
    if (d !== 44) return null;
  }
  return inputs;
}

/** The `inputs` array at `i`: name → raw data text of each tensor with a plain name and flat data. */
function tensors(s: string, i: number): { data: Map<string, string>; end: number } | null {
  const out = new Map<string, string>();
  const st = { ok: true, escaped: false };
  if (s.charCodeAt(i) !== 91) return null;
  i = skipSpace(s, i + 1);
  if (s.charCodeAt(i) === 93) return { data: out, end: i + 1 };
  for (;;) {
    i = skipSpace(s, i);
    if (s.charCodeAt(i) !== 123) return null;
    i++;
    let name: string | null = null;
    let data: string | null = null;
    let plain = true;
    for (;;) {
      i = skipSpace(s, i);
      if (s.charCodeAt(i) === 125) {
        i++;
        break;
      }
      if (s.charCodeAt(i) !== QUOTE) return null;
      const keyEnd = stringEnd(s, i, st);
      if (keyEnd < 0 || st.escaped) return null;
      const key = s.slice(i + 1, keyEnd - 1);
      i = skipSpace(s, keyEnd);
      if (s.charCodeAt(i) !== 58) return null;
      i = skipSpace(s, i + 1);
      st.ok = true;
      const end = valueEnd(s, i, st);
      if (end < 0) return null;
      if (key === 'name') {
        // Only a plain string names a tensor the way the parsed body does.
        name = s.charCodeAt(i) === QUOTE && !st.escaped ? s.slice(i + 1, end - 1) : null;
        plain = name !== null;
      } else if (key === 'data') data = st.ok && s.charCodeAt(i) === 91 ? s.slice(i, end) : null;
      i = skipSpace(s, end);
      const d = s.charCodeAt(i++);
      if (d === 125) break;
      if (d !== 44) return null;
    }
    if (!plain || name === null) return null;
    // A repeated name is refused by decodeInferRequest; never log a tensor the request did not get validated for.
    if (out.has(name)) return null;
    if (data !== null) out.set(name, data);
    else out.set(name, '');
    i = skipSpace(s, i);
    const d = s.charCodeAt(i++);
    if (d === 93) return { data: out, end: i };
    if (d !== 44) return null;
  }
}

/**
 * `"inputs"` of the log line: the raw data text of each feature in the model's order, falling
 * back to JSON.stringify of the decoded column for any feature whose raw text is not plain.
 */
export function inputsJson(
  body: string,
  features: ReadonlyArray<{ name: string }>,
  columns: Record<string, unknown[]>,
): string {
  const raw = rawInputData(body);
  let out = '{';
  for (let k = 0; k < features.length; k++) {
    const name = features[k].name;
    const text = raw?.get(name);
    out += `${k ? ',' : ''}${JSON.stringify(name)}:${text ? text : JSON.stringify(columns[name])}`;
  }
  return out + '}';
}

/** Each column name once as `"name":[` (feature names repeat on every request; quoting them did not need to). */
const columnKeys = new Map<string, string>();

/**
 * JSON.stringify(columns), character for character, at about half its cost for the few values
 * of a small request: column names quoted once, and a finite number written as its own text
 * (what JSON.stringify writes for it); anything else goes through JSON.stringify.
 */
export function columnsJson(columns: Record<string, unknown[]>): string {
  let out = '{';
  let first = true;
  for (const key of Object.keys(columns)) {
    const a: unknown = columns[key];
    if (!Array.isArray(a)) {
      const text = JSON.stringify(a) as string | undefined;
      if (text === undefined) continue; // JSON.stringify leaves such a key out
      out += `${first ? '' : ','}${JSON.stringify(key)}:${text}`;
      first = false;
      continue;
    }
    let head = columnKeys.get(key);
    if (head === undefined) {
      if (columnKeys.size >= 4096) columnKeys.clear();
      head = `${JSON.stringify(key)}:[`;
      columnKeys.set(key, head);
    }
    out += first ? head : `,${head}`;
    first = false;
    for (let i = 0; i < a.length; i++) {
      const v: unknown = a[i];
      const text =
        typeof v === 'number' && Number.isFinite(v) ? `${v}` : ((JSON.stringify(v) as string | undefined) ?? 'null');
      out += i === 0 ? text : `,${text}`;
    }
    out += ']';
  }
  return `${out}}`;
}

/** The infer response as text, and its outputs' `data` arrays as text (to reuse in the log line). */
export function responseText(res: V2InferResponse): { text: string; data: string[] } {
  const data = res.outputs.map((o) => JSON.stringify(o.data));
  const outputs = res.outputs
    .map(
      (o: V2Tensor, i) =>
        `{"name":${quote(o.name)},"datatype":${quote(o.datatype)},"shape":${JSON.stringify(o.shape)},"data":${data[i]}}`,
    )
    .join(',');
  const params = res.parameters !== undefined ? `,"parameters":${JSON.stringify(res.parameters)}` : '';
  return {
    text: `{"model_name":${quote(res.model_name)},"model_version":${quote(res.model_version)},"id":${quote(res.id)},"outputs":[${outputs}]${params}}`,
    data,
  };
}

/**
 * A flat array text of n·k numbers as n rows of k: `[a,b,c,d]` → `[[a,b],[c,d]]` (k ≥ 1, no
 * strings inside). `rows`, when the caller knows it is 1, spares the scan for commas.
 */
export function nestRows(flat: string, k: number, rows?: number): string {
  if (flat === '[]') return '[]';
  if (rows === 1) return `[${flat}]`;
  let out = '[[';
  let commas = 0;
  let from = 1;
  for (let i = 1; i < flat.length - 1; i++) {
    if (flat.charCodeAt(i) !== 44) continue;
    if (++commas % k === 0) {
      out += flat.slice(from, i) + '],[';
      from = i + 1;
    }
  }
  return out + flat.slice(from, flat.length - 1) + ']]';
}

/** "000Z" … "999Z": the milliseconds and zone of an ISO time. */
const MILLIS = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(3, '0')}Z`);
let isoSecond = NaN;
let isoPrefix = '';

/**
 * `new Date(now).toISOString()`, character for character, at a tenth of its cost: the text up
 * to the second is kept while the second lasts, which at thousands of logged requests per
 * second is nearly always (formatting a Date was a fifth of the per-request logging cost).
 */
export function isoTime(now: number = Date.now()): string {
  // Outside years 1970–9999 (never the clock, but a caller's value) the format differs: no shortcut.
  if (!(now >= 0 && now < 253_402_300_800_000)) return new Date(now).toISOString();
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
    isoSecond = second;
  }
  return isoPrefix + MILLIS[now - second * 1000];
}

export interface LogLineParts {
  id: string;
  time: string;
  version: string;
  latencyMs: number;
  inputs: string;
  outputs: string;
}

/** One prediction line, key for key what JSON.stringify(PredictionLogLine) writes. */
export function predictionLine(p: LogLineParts): string {
  return `{"type":"prediction","id":${quote(p.id)},"time":${quote(p.time)},"version":${quote(p.version)},"latencyMs":${JSON.stringify(p.latencyMs)},"inputs":${p.inputs},"outputs":${p.outputs}}`;
}
