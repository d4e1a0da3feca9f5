/**
 * Reads a model's prediction log (rotated files oldest first, then the current one) into
 * column arrays: one entry per predicted row. Streams the files in large chunks and keeps
 * values in typed arrays so a million predictions fit in little memory and time.
 */
import { open } from 'node:fs/promises';
import { logFiles } from '../serving/predictionLog';

type TypedColumn = Float64Array | Float32Array | Int32Array;

/** A growable typed-array column: doubling pushes, a view of what is filled, streaming discards. */
class Column<T extends TypedColumn> {
  data: T;
  length = 0;
  constructor(private readonly make: (n: number) => T) {
    this.data = make(1024);
  }
  push(v: number): void {
    if (this.length === this.data.length) this.grow(this.data.length * 2);
    this.data[this.length++] = v;
  }
  /** Room for n more values, so a caller can write `data[length++]` without a check per value. */
  reserve(n: number): void {
    if (this.length + n > this.data.length) this.grow(Math.max(this.data.length * 2, this.length + n));
  }
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
  /** Drops the first n values (streaming: rows no window needs any more). */
  discard(n: number): void {
    this.data.copyWithin(0, n, this.length);
    this.length -= n;
  }
  private grow(size: number): void {
    const d = this.make(size);
    d.set(this.data);
    this.data = d;
  }
}

class F64 extends Column<Float64Array> {
  constructor() {
    super((n) => new Float64Array(n));
  }
}
class F32 extends Column<Float32Array> {
  constructor() {
    super((n) => new Float32Array(n));
  }
}
class I32 extends Column<Int32Array> {
  constructor() {
    super((n) => new Int32Array(n));
  }
}

/** String ↔ small integer, for categories, labels and versions. */
export class Dictionary {
  readonly values: string[] = [];
  private index = new Map<string, number>();
  /** The code last found in place: a column often repeats its value. */
  private hint = 0;
  constructor(initial: readonly string[] = []) {
    for (const v of initial) this.code(v);
  }
  code(v: string): number {
    let c = this.index.get(v);
    if (c === undefined) {
      c = this.values.length;
      this.values.push(v);
      this.index.set(v, c);
    }
    return c;
  }
  /** The code of a value, without adding it; −1 when unknown. */
  lookup(v: string): number {
    return this.index.get(v) ?? -1;
  }
  /**
   * The code of `text[at, at + len)` when it is a known value, compared in place so the common
   * case slices no string and hashes nothing; −1 when unknown, or when there are too many
   * values to compare one by one (then the caller slices and uses `code` or `lookup`).
   */
  find(text: string, at: number, len: number): number {
    const vals = this.values;
    const h = this.hint;
    if (h < vals.length && vals[h].length === len && matchAt(text, at, vals[h])) return h;
    if (vals.length > 32) return -1;
    const first = text.charCodeAt(at);
    for (let k = 0; k < vals.length; k++) {
      const v = vals[k];
      if (v.length === len && v.charCodeAt(0) === first && matchAt(text, at, v)) {
        this.hint = k;
        return k;
      }
    }
    return -1;
  }
}

export interface LogColumns {
  /** Rows read. */
  count: number;
  /** Numeric features: values (NaN when missing). Categorical: codes into `dictionaries` (−1 missing). */
  numeric: Record<string, Float64Array>;
  categorical: Record<string, Int32Array>;
  dictionaries: Record<string, Dictionary>;
  /** Classification: predicted label codes into `labels`; regression: predicted values. */
  predictedLabel: Int32Array | null;
  predictedValue: Float64Array | null;
  /** Truth from feedback: label codes (−1 none) or values (NaN none). */
  truthLabel: Int32Array | null;
  truthValue: Float64Array | null;
  labels: Dictionary;
  /** Version code per row into `versions`. */
  version: Int32Array;
  versions: Dictionary;
  /** Request time per row (ms since epoch). */
  time: Float64Array;
  latencyMs: Float64Array;
  /** Lines that could not be parsed (skipped). */
  badLines: number;
  /**
   * Classification with `probabilities` asked for: row i's class probabilities at
   * [i·K, (i + 1)·K), K = the label order's length, in that order; NaN where the line had none
   * (or not K of them). Null otherwise.
   */
  probabilities: Float32Array | null;
}

export interface ReadLogOptions {
  /** Also read the logged class probabilities (CBPE needs them); they are skipped otherwise. */
  probabilities?: boolean;
  /**
   * Streaming: `onBlock` is called after each chunk of the log (and once at the end) with the
   * rows read and not yet discarded; it discards the rows it no longer needs, so memory stays
   * bounded whatever the log's length. Feedback is joined as it is read, to requests among the
   * latest `pendingRows` rows (see `FeedbackCounts`).
   */
  stream?: {
    pendingRows: number;
    onBlock: (block: LogBlock) => void | Promise<void>;
    /** Read size (default 4 MB; tests use less to get many blocks). */ chunkBytes?: number;
  };
}

/** What happened to feedback lines in a streamed read. */
export interface FeedbackCounts {
  /** Joined to their request's rows. */
  applied: number;
  /** For a request read more than `pendingRows` rows earlier: late, ignored. */
  late: number;
  /** For an id not among the pending requests (never predicted, predicted later in the log, or evicted long ago). */
  unmatched: number;
}

/** The retained rows of a streamed read: row i of `cols` is row `base + i` of the log. */
export interface LogBlock {
  cols: LogColumns;
  base: number;
  /** Rows read so far. */
  total: number;
  /** True on the last call (the whole log is read). */
  done: boolean;
  feedback: FeedbackCounts;
  /** Request ids held for feedback (bounded by the pending rows, not the log). */
  pendingIds: number;
  /**
   * Forgets rows before log row `upTo` (clamped so rows that may still get feedback stay).
   * `cols` views are stale afterwards.
   */
  discard(upTo: number): void;
}

const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** `text.startsWith(t, at)` as a loop the JIT inlines: cheaper than the builtin call for short keys. */
function matchAt(text: string, at: number, t: string): boolean {
  if (at + t.length > text.length) return false;
  for (let k = 0; k < t.length; k++) if (text.charCodeAt(at + k) !== t.charCodeAt(k)) return false;
  return true;
}

/**
 * A scanner for the exact shape the model server writes, so the common line costs no
 * JSON.parse. Any surprise (escapes, other key order, malformed text) returns false and the
 * line goes through JSON.parse instead, so it only has to be right when it says it is.
 */
class LineScanner {
  s = '';
  i = 0;
  end = 0;

  lit(t: string): boolean {
    if (!matchAt(this.s, this.i, t)) return false;
    this.i += t.length;
    return true;
  }

  /** Index of the closing quote of a plain string (no escapes) starting at `i`; −1 on anything else. */
  strEnd(): number {
    const { s } = this;
    for (let k = this.i; k < this.end; k++) {
      const c = s.charCodeAt(k);
      if (c === 34) return k;
      if (c === 92) return -1;
    }
    return -1;
  }

  /**
   * The code of a plain string (after its opening quote) in `dict`, adding it when new;
   * −1 on escapes or a missing quote. Known values are matched without slicing.
   */
  code(dict: Dictionary): number {
    const q = this.strEnd();
    if (q < 0) return -1;
    let c = dict.find(this.s, this.i, q - this.i);
    if (c < 0) c = dict.code(this.s.slice(this.i, q));
    this.i = q + 1;
    return c;
  }

  /** FNV-1a hash of the last string `hashedStr` read. */
  hash = 0;

  /** As `str`, also leaving the string's `hashString` in `hash`. */
  hashedStr(): string | null {
    const { s } = this;
    const start = this.i;
    let h = 0x811c9dc5;
    for (let k = start; k < this.end; k++) {
      const c = s.charCodeAt(k);
      if (c === 34) {
        this.i = k + 1;
        this.hash = h;
        return s.slice(start, k);
      }
      if (c === 92) return null;
      h = Math.imul(h ^ c, 0x01000193);
    }
    return null;
  }

  /** A plain string (no escapes) after its opening quote; null on anything else. */
  str(): string | null {
    const { s } = this;
    const start = this.i;
    for (let k = start; k < this.end; k++) {
      const c = s.charCodeAt(k);
      if (c === 34) {
        this.i = k + 1;
        return s.slice(start, k);
      }
      if (c === 92) return null;
    }
    return null;
  }

  /** A JSON number or null (→ NaN); undefined when neither. Correctly rounded like JSON.parse. */
  num(): number | undefined {
    const { s } = this;
    let k = this.i;
    if (s.charCodeAt(k) === 110) {
      if (!s.startsWith('null', k)) return undefined;
      this.i = k + 4;
      return NaN;
    }
    const start = k;
    let neg = false;
    if (s.charCodeAt(k) === 45) {
      neg = true;
      k++;
    }
    let mant = 0;
    let exp = 0;
    let any = false;
    let c = s.charCodeAt(k);
    while (c >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48);
      any = true;
      c = s.charCodeAt(++k);
    }
    if (c === 46) {
      c = s.charCodeAt(++k);
      while (c >= 48 && c <= 57) {
        mant = mant * 10 + (c - 48);
        exp--;
        any = true;
        c = s.charCodeAt(++k);
      }
    }
    if (!any) return undefined;
    let slow = false;
    if (c === 101 || c === 69) {
      slow = true;
      c = s.charCodeAt(++k);
      if (c === 43 || c === 45) c = s.charCodeAt(++k);
      while (c >= 48 && c <= 57) c = s.charCodeAt(++k);
    }
    this.i = k;
    // Clinger's fast path: when the digits as an integer stay below 2^53 every step above was
    // exact, and dividing by an exact power of ten (≤ 1e22) rounds once, as Number() does.
    if (!slow && mant < 9007199254740992 && exp >= -22) {
      const v = exp === 0 ? mant : mant / POW10[-exp];
      return neg ? -v : v;
    }
    const v = Number(s.slice(start, k));
    return Number.isNaN(v) ? undefined : v;
  }
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** FNV-1a over UTF-16 code units, the same whether taken in place by the scanner or from a string. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
  return h;
}

/**
 * Request id → slot (a later request with the same id replaces the earlier, as a Map would).
 * Open addressing on hashes the scanner computes while it finds the end of the id, so a
 * hundred thousand ids cost no string hashing and no Map growth.
 */
class IdTable {
  private ids: string[] = [];
  private hashes = new Int32Array(1024);
  private values = new Int32Array(1024);
  /** Entry index + 1 per bucket; 0 is empty. */
  private table = new Int32Array(2048);
  private mask = 2047;

  set(id: string, hash: number, value: number): void {
    let p = hash & this.mask;
    for (;;) {
      const e = this.table[p] - 1;
      if (e < 0) break;
      if (this.hashes[e] === hash && this.ids[e] === id) {
        this.values[e] = value;
        return;
      }
      p = (p + 1) & this.mask;
    }
    const e = this.ids.length;
    if (e === this.hashes.length) {
      const h = new Int32Array(e * 2);
      h.set(this.hashes);
      this.hashes = h;
      const v = new Int32Array(e * 2);
      v.set(this.values);
      this.values = v;
    }
    this.ids.push(id);
    this.hashes[e] = hash;
    this.values[e] = value;
    this.table[p] = e + 1;
    if ((e + 1) * 2 > this.table.length) this.grow();
  }

  /** The value for an id, or −1. */
  get(id: string, hash: number): number {
    for (let p = hash & this.mask; ; p = (p + 1) & this.mask) {
      const e = this.table[p] - 1;
      if (e < 0) return -1;
      if (this.hashes[e] === hash && this.ids[e] === id) return this.values[e];
    }
  }

  private grow(): void {
    const size = this.table.length * 2;
    this.table = new Int32Array(size);
    this.mask = size - 1;
    for (let e = 0; e < this.ids.length; e++) {
      let p = this.hashes[e] & this.mask;
      while (this.table[p] !== 0) p = (p + 1) & this.mask;
      this.table[p] = e + 1;
    }
  }
}

/**
 * Streaming: request id → (first row, rows) for the latest requests only. Entries are evicted
 * in bulk (a rebuild keeping requests that start at or after the cut) once the table holds
 * twice what it kept at the last rebuild, so its size follows the pending rows, not the log.
 */
class PendingRequests {
  private ids: string[] = [];
  private hashes = new Int32Array(1024);
  private first = new Float64Array(1024);
  private rows = new Int32Array(1024);
  private table = new Int32Array(2048);
  private mask = 2047;
  private limit = 4096;
  /** Slot of the last `get`. */
  found = -1;

  get size(): number {
    return this.ids.length;
  }

  set(id: string, hash: number, first: number, rows: number, cut: number): void {
    let p = hash & this.mask;
    for (;;) {
      const e = this.table[p] - 1;
      if (e < 0) break;
      if (this.hashes[e] === hash && this.ids[e] === id) {
        this.first[e] = first;
        this.rows[e] = rows;
        return;
      }
      p = (p + 1) & this.mask;
    }
    if (this.ids.length >= this.limit) {
      this.rebuild(cut);
      this.set(id, hash, first, rows, cut);
      return;
    }
    const e = this.ids.length;
    if (e === this.hashes.length) {
      const hashes = new Int32Array(e * 2);
      hashes.set(this.hashes);
      this.hashes = hashes;
      const first = new Float64Array(e * 2);
      first.set(this.first);
      this.first = first;
      const rows = new Int32Array(e * 2);
      rows.set(this.rows);
      this.rows = rows;
    }
    this.ids.push(id);
    this.hashes[e] = hash;
    this.first[e] = first;
    this.rows[e] = rows;
    this.table[p] = e + 1;
    if ((e + 1) * 2 > this.table.length) this.reindex(this.table.length * 2);
  }

  /** First row of an id's request (its row count in `rowsOf`), or −1. */
  get(id: string, hash: number): number {
    for (let p = hash & this.mask; ; p = (p + 1) & this.mask) {
      const e = this.table[p] - 1;
      if (e < 0) return -1;
      if (this.hashes[e] === hash && this.ids[e] === id) {
        this.found = e;
        return this.first[e];
      }
    }
  }

  rowsOf(): number {
    return this.rows[this.found];
  }

  /** Keeps requests that start at or after `cut`. */
  private rebuild(cut: number): void {
    let n = 0;
    for (let e = 0; e < this.ids.length; e++) {
      if (this.first[e] < cut) continue;
      this.ids[n] = this.ids[e];
      this.hashes[n] = this.hashes[e];
      this.first[n] = this.first[e];
      this.rows[n] = this.rows[e];
      n++;
    }
    this.ids.length = n;
    this.limit = Math.max(4096, n * 2);
    let size = 2048;
    while (size < n * 2 + 2) size *= 2;
    this.reindex(size);
  }

  private reindex(size: number): void {
    this.table = new Int32Array(size);
    this.mask = size - 1;
    for (let e = 0; e < this.ids.length; e++) {
      let p = this.hashes[e] & this.mask;
      while (this.table[p] !== 0) p = (p + 1) & this.mask;
      this.table[p] = e + 1;
    }
  }
}

/**
 * Request times exactly as `Date.parse` reads them. The server writes 'YYYY-MM-DDTHH:MM:SS.sssZ':
 * the minute is parsed once for each run of lines that share it, seconds and milliseconds are
 * added in place; any other shape goes to `Date.parse`.
 */
class TimeParser {
  private prefix = '';
  private base = NaN;

  parse(text: string, a: number, b: number): number {
    if (b - a === 24) {
      // Same minute as the line before (the prefix was checked then): check the rest only.
      const same = this.prefix.length === 16 && matchAt(text, a, this.prefix);
      if (same ? this.fixedShape(text, a, 16) : this.fixedShape(text, a, 0)) {
        if (!same) {
          this.prefix = text.slice(a, a + 16);
          // Hour 24 means the end of the day only at 24:00:00.000: leave it to Date.parse.
          this.base = text.startsWith('24', a + 11) ? NaN : Date.parse(`${this.prefix}:00.000Z`);
        }
        const s10 = text.charCodeAt(a + 17) - 48;
        if (this.base === this.base && s10 <= 5) {
          const ms =
            (text.charCodeAt(a + 20) - 48) * 100 + (text.charCodeAt(a + 21) - 48) * 10 + (text.charCodeAt(a + 22) - 48);
          return this.base + (s10 * 10 + text.charCodeAt(a + 18) - 48) * 1000 + ms;
        }
      }
    }
    return Date.parse(text.slice(a, b));
  }

  /** 'YYYY-MM-DDTHH:MM:SS.sssZ' from position `from` of the 24 characters at `a`. */
  private fixedShape(text: string, a: number, from: number): boolean {
    for (let k = from; k < 23; k++) {
      const c = text.charCodeAt(a + k);
      const want = k === 4 || k === 7 ? 45 : k === 10 ? 84 : k === 13 || k === 16 ? 58 : k === 19 ? 46 : -1;
      if (want < 0 ? !isDigit(c) : c !== want) return false;
    }
    return text.charCodeAt(a + 23) === 90;
  }
}

interface PredLine {
  type?: string;
  id?: string;
  time?: string;
  version?: string;
  latencyMs?: number;
  inputs?: Record<string, unknown[]>;
  outputs?: { label?: string[]; value?: number[] };
  labels?: Array<string | number>;
}

/**
 * A logged input column: numeric ones are read as numbers; categorical and date (text) ones as
 * codes into a dictionary seeded with the known categories, when there are any.
 */
export interface LogFeature {
  name: string;
  kind: 'numeric' | 'categorical' | 'date';
  categories?: readonly string[];
}

/** Reads every log file under `dir` for a model with these features. */
export async function readPredictionLog(
  dir: string,
  features: readonly LogFeature[],
  task: 'classification' | 'regression',
  labelOrder: readonly string[] = [],
  options: ReadLogOptions = {},
): Promise<LogColumns> {
  const K = labelOrder.length;
  const probs = task === 'classification' && options.probabilities && K > 0 ? new F32() : null;
  const numeric = new Map<string, F64>();
  const categorical = new Map<string, I32>();
  const dictionaries: Record<string, Dictionary> = {};
  for (const f of features) {
    if (f.kind === 'numeric') numeric.set(f.name, new F64());
    else {
      categorical.set(f.name, new I32());
      dictionaries[f.name] = new Dictionary(f.categories ?? []);
    }
  }
  const numericNames = [...numeric.keys()];
  const numericCols = [...numeric.values()];
  const categoricalNames = [...categorical.keys()];
  const categoricalCols = [...categorical.values()];
  const labels = new Dictionary(labelOrder);
  const versions = new Dictionary();
  const predLabel = task === 'classification' ? new I32() : null;
  const predValue = task === 'regression' ? new F64() : null;
  const version = new I32();
  const time = new F64();
  const latency = new F64();
  // Requests: id → slot; the slot's first row and row count.
  const requests = new IdTable();
  const reqFirst = new I32();
  const reqRows = new I32();
  // Streaming: rows before `base` are discarded; requests and truth are kept for the latest rows only.
  const stream = options.stream ?? null;
  const pendingRows = stream ? Math.max(0, stream.pendingRows) : Infinity;
  const pendingReq = stream ? new PendingRequests() : null;
  const truthL = stream && task === 'classification' ? new I32() : null;
  const truthV = stream && task === 'regression' ? new F64() : null;
  const fbCounts: FeedbackCounts = { applied: 0, late: 0, unmatched: 0 };
  let base = 0;
  const addRequest = (id: string, hash: number, first: number, rows: number) => {
    if (pendingReq) {
      pendingReq.set(id, hash, first, rows, first + rows - pendingRows);
      return;
    }
    requests.set(id, hash, reqFirst.length);
    reqFirst.push(first);
    reqRows.push(rows);
  };
  // Feedback in log order: its request id, and either label codes in `fbCodes` (start, length)
  // or, for lines JSON.parse read, the raw values (start −1). Labels are joined after reading
  // so codes are given in the same order whichever path read a line; a label not yet known
  // when its line is scanned waits in `fbPending` (code −2 − k) and is coded in that pass.
  const fbIds: string[] = [];
  const fbHashes = new I32();
  const fbStart = new I32();
  const fbLen = new I32();
  const fbCodes = new I32();
  const fbPending: string[] = [];
  const fbRaw = new Map<number, Array<string | number>>();
  const addRawFeedback = (id: string, values: Array<string | number>) => {
    fbRaw.set(fbIds.length, values);
    fbIds.push(id);
    fbHashes.push(hashString(id));
    fbStart.push(-1);
    fbLen.push(values.length);
    if (stream) joinNow();
  };
  /** Streaming: truth columns cover every row read. */
  const extendTruth = () => {
    if (truthL) while (base + truthL.length < count) truthL.push(-1);
    if (truthV) while (base + truthV.length < count) truthV.push(NaN);
  };
  /** Streaming: joins the feedback just read (the only entry of the fb arrays) and clears them. */
  const joinNow = () => {
    extendTruth();
    const codes = fbCodes.view();
    for (let f = 0; f < fbIds.length; f++) {
      const first = pendingReq!.get(fbIds[f], fbHashes.data[f]);
      if (first < 0) fbCounts.unmatched++;
      else if (first < count - pendingRows || first < base) fbCounts.late++;
      else {
        fbCounts.applied++;
        const at = first - base;
        const m = Math.min(pendingReq!.rowsOf(), fbLen.data[f]);
        const start = fbStart.data[f];
        if (start >= 0) {
          for (let i = 0; i < m; i++) {
            const c = codes[start + i];
            truthL!.data[at + i] = c >= 0 ? c : labels.code(fbPending[-2 - c]);
          }
        } else {
          const values = fbRaw.get(f)!;
          for (let i = 0; i < m; i++) {
            if (truthL) truthL.data[at + i] = labels.code(String(values[i]));
            else truthV!.data[at + i] = Number(values[i]);
          }
        }
      }
    }
    fbIds.length = 0;
    fbHashes.length = 0;
    fbStart.length = 0;
    fbLen.length = 0;
    fbCodes.length = 0;
    fbPending.length = 0;
    fbRaw.clear();
  };
  let count = 0;
  let badLines = 0;

  const scanner = new LineScanner();
  const times = new TimeParser();
  // Each input as its JSON key token, so a key is matched in place without slicing its name.
  const inputs = [
    ...numericNames.map((name, k) => ({
      token: `"${name}":[`,
      num: numericCols[k] as F64 | null,
      cat: null as I32 | null,
      dict: null as Dictionary | null,
    })),
    ...categoricalNames.map((name, k) => ({
      token: `"${name}":[`,
      num: null as F64 | null,
      cat: categoricalCols[k] as I32 | null,
      dict: dictionaries[name],
    })),
  ];
  const marks = new Int32Array(inputs.length);
  const filled = new Uint8Array(inputs.length);
  let markLabel = 0;
  let markValue = 0;
  let markProbs = 0;
  const undo = (): false => {
    for (let k = 0; k < inputs.length; k++) {
      const inp = inputs[k];
      if (inp.num) inp.num.length = marks[k];
      else inp.cat!.length = marks[k];
    }
    if (predLabel) predLabel.length = markLabel;
    if (predValue) predValue.length = markValue;
    if (probs) probs.length = markProbs;
    return false;
  };
  /** Parses a JSON array of strings into `push`; false on anything else. */
  const stringArray = (push: (v: string) => void): number => {
    const sc = scanner;
    const text = sc.s;
    let items = 0;
    if (text.charCodeAt(sc.i) === 93) {
      sc.i++;
      return 0;
    }
    for (;;) {
      if (text.charCodeAt(sc.i) !== 34) return -1;
      sc.i++;
      const v = sc.str();
      if (v === null) return -1;
      push(v);
      items++;
      const d = text.charCodeAt(sc.i++);
      if (d === 93) return items;
      if (d !== 44) return -1;
    }
  };
  let feedbackValues: Array<string | number> = [];
  const pushFeedback = (v: string) => feedbackValues.push(v);

  const dropFeedback = (codes: number, pending: number): false => {
    fbCodes.length = codes;
    fbPending.length = pending;
    return false;
  };
  /** A feedback line's labels as codes (classification); false leaves everything as it was. */
  const fastFeedbackCodes = (id: string, hash: number, b: number): boolean => {
    const sc = scanner;
    const text = sc.s;
    const start = fbCodes.length;
    const pending = fbPending.length;
    if (text.charCodeAt(sc.i) === 93) sc.i++;
    else {
      for (;;) {
        if (text.charCodeAt(sc.i) !== 34) return dropFeedback(start, pending);
        sc.i++;
        const q = sc.strEnd();
        if (q < 0) return dropFeedback(start, pending);
        let c = labels.find(text, sc.i, q - sc.i);
        if (c < 0) {
          const v = text.slice(sc.i, q);
          c = labels.lookup(v);
          if (c < 0) {
            c = -2 - fbPending.length;
            fbPending.push(v);
          }
        }
        fbCodes.push(c);
        sc.i = q + 1;
        const d = text.charCodeAt(sc.i++);
        if (d === 93) break;
        if (d !== 44) return dropFeedback(start, pending);
      }
    }
    if (!sc.lit('}') || sc.i !== b) return dropFeedback(start, pending);
    fbIds.push(id);
    fbHashes.push(hash);
    fbStart.push(start);
    fbLen.push(fbCodes.length - start);
    if (stream) joinNow();
    return true;
  };

  /** The server's own lines without JSON.parse; false leaves every column as it was. */
  const fastLine = (text: string, a: number, b: number): boolean => {
    const sc = scanner;
    sc.s = text;
    sc.i = a;
    sc.end = b;
    if (sc.lit('{"type":"feedback","id":"')) {
      const id = sc.hashedStr();
      const hash = sc.hash;
      if (id === null || !sc.lit(',"time":"') || sc.str() === null || !sc.lit(',"labels":[')) return false;
      if (task === 'classification') return fastFeedbackCodes(id, hash, b);
      feedbackValues = [];
      if (stringArray(pushFeedback) < 0 || !sc.lit('}') || sc.i !== b) return false;
      addRawFeedback(id, feedbackValues);
      return true;
    }
    if (!sc.lit('{"type":"prediction","id":"')) return false;
    const id = sc.hashedStr();
    const idHash = sc.hash;
    if (id === null || !sc.lit(',"time":"')) return false;
    const timeStart = sc.i;
    const timeEnd = sc.strEnd();
    if (timeEnd < 0) return false;
    sc.i = timeEnd + 1;
    if (!sc.lit(',"version":"')) return false;
    // The version is coded only once the line has parsed, as the JSON.parse path would.
    const verStart = sc.i;
    const verEnd = sc.strEnd();
    if (verEnd < 0) return false;
    sc.i = verEnd + 1;
    if (!sc.lit(',"latencyMs":')) return false;
    const lat = sc.num();
    if (lat === undefined || !sc.lit(',"inputs":{')) return false;
    for (let k = 0; k < inputs.length; k++) {
      const inp = inputs[k];
      marks[k] = inp.num ? inp.num.length : inp.cat!.length;
      filled[k] = 0;
    }
    markLabel = predLabel?.length ?? 0;
    markValue = predValue?.length ?? 0;
    markProbs = probs?.length ?? 0;
    let n = -1;
    let next = 0;
    if (text.charCodeAt(sc.i) !== 125) {
      for (;;) {
        // Inputs usually come in feature order: try the expected one first.
        let which = -1;
        for (let t = 0; t < inputs.length; t++) {
          const k = (next + t) % inputs.length;
          if (matchAt(text, sc.i, inputs[k].token)) {
            which = k;
            break;
          }
        }
        if (which < 0 || filled[which]) return undo();
        const inp = inputs[which];
        filled[which] = 1;
        next = which + 1;
        sc.i += inp.token.length;
        let items = 0;
        const num = inp.num;
        const cat = inp.cat;
        if (text.charCodeAt(sc.i) !== 93) {
          for (;;) {
            if (text.charCodeAt(sc.i) === 34) {
              sc.i++;
              if (num) {
                const q = sc.strEnd();
                if (q < 0) return undo();
                sc.i = q + 1;
                num.push(NaN);
              } else {
                const c = sc.code(inp.dict!);
                if (c < 0) return undo();
                cat!.push(c);
              }
            } else {
              const v = sc.num();
              if (v === undefined) return undo();
              if (num) num.push(v);
              else cat!.push(-1);
            }
            items++;
            const d = text.charCodeAt(sc.i++);
            if (d === 93) break;
            if (d !== 44) return undo();
          }
        } else sc.i++;
        if (n === -1) n = items;
        else if (n !== items) return undo();
        const d = text.charCodeAt(sc.i++);
        if (d === 125) break;
        if (d !== 44) return undo();
      }
    } else sc.i++;
    let outCount = 0;
    if (task === 'classification') {
      if (!sc.lit(',"outputs":{"label":[')) return undo();
      if (text.charCodeAt(sc.i) === 93) sc.i++;
      else {
        for (;;) {
          if (text.charCodeAt(sc.i) !== 34) return undo();
          sc.i++;
          const c = sc.code(labels);
          if (c < 0) return undo();
          predLabel!.push(c);
          outCount++;
          const d = text.charCodeAt(sc.i++);
          if (d === 93) break;
          if (d !== 44) return undo();
        }
      }
    } else {
      if (!sc.lit(',"outputs":{"value":[')) return undo();
      if (text.charCodeAt(sc.i) !== 93) {
        for (;;) {
          const v = sc.num();
          if (v === undefined) return undo();
          predValue!.push(v);
          outCount++;
          const d = text.charCodeAt(sc.i++);
          if (d === 93) break;
          if (d !== 44) return undo();
        }
      }
    }
    if (probs) {
      // `,"probabilities":[[…],…]` after the labels: K numbers per row, or the line takes the slow path.
      if (sc.lit(',"probabilities":[')) {
        probs.reserve(outCount * K);
        const pd = probs.data;
        for (let r = 0; r < outCount; r++) {
          if (r > 0 && text.charCodeAt(sc.i++) !== 44) return undo();
          if (text.charCodeAt(sc.i++) !== 91) return undo();
          for (let k = 0; k < K; k++) {
            if (k > 0 && text.charCodeAt(sc.i++) !== 44) return undo();
            const v = sc.num();
            if (v === undefined) return undo();
            pd[probs.length++] = v;
          }
          if (text.charCodeAt(sc.i++) !== 93) return undo();
        }
        if (text.charCodeAt(sc.i++) !== 93) return undo();
      } else for (let r = 0; r < outCount * K; r++) probs.push(NaN);
    }
    if (sc.i > b || (n !== -1 && n !== outCount)) return undo();
    n = outCount;
    // Inputs the line did not carry count as missing.
    for (let k = 0; k < inputs.length; k++) {
      if (filled[k]) continue;
      const inp = inputs[k];
      for (let r = 0; r < n; r++) {
        if (inp.num) inp.num.push(NaN);
        else inp.cat!.push(-1);
      }
    }
    let vcode = versions.find(text, verStart, verEnd - verStart);
    if (vcode < 0) vcode = versions.code(text.slice(verStart, verEnd));
    const t = times.parse(text, timeStart, timeEnd);
    for (let r = 0; r < n; r++) {
      version.push(vcode);
      time.push(t);
      latency.push(lat);
    }
    addRequest(id, idHash, count, n);
    count += n;
    return true;
  };

  const onLine = (raw: string) => {
    if (raw.length === 0) return;
    // Probabilities are the last key of a prediction line and monitoring does not need them:
    // cutting them off before parsing nearly halves the work.
    let line = raw;
    const cut = probs ? -1 : raw.lastIndexOf(',"probabilities":[');
    if (cut > 0 && raw.endsWith(']}}')) line = raw.slice(0, cut) + '}}';
    let o: PredLine;
    try {
      o = JSON.parse(line) as PredLine;
    } catch {
      badLines++;
      return;
    }
    if (o.type === 'feedback') {
      if (typeof o.id === 'string' && Array.isArray(o.labels)) addRawFeedback(o.id, o.labels);
      return;
    }
    if (o.type !== 'prediction' || !o.inputs || !o.outputs) {
      badLines++;
      return;
    }
    const out = task === 'classification' ? o.outputs.label : o.outputs.value;
    if (!Array.isArray(out)) {
      badLines++;
      return;
    }
    const n = out.length;
    const vcode = versions.code(String(o.version));
    const t = o.time ? Date.parse(o.time) : NaN;
    const lat = typeof o.latencyMs === 'number' ? o.latencyMs : NaN;
    for (let k = 0; k < numericCols.length; k++) {
      const col = numericCols[k];
      const vals = o.inputs[numericNames[k]];
      for (let i = 0; i < n; i++) {
        const v = vals?.[i];
        col.push(typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : NaN);
      }
    }
    for (let k = 0; k < categoricalCols.length; k++) {
      const col = categoricalCols[k];
      const vals = o.inputs[categoricalNames[k]];
      const dict = dictionaries[categoricalNames[k]];
      for (let i = 0; i < n; i++) {
        const v = vals?.[i];
        col.push(typeof v === 'string' ? dict.code(v) : -1);
      }
    }
    if (predLabel) for (let i = 0; i < n; i++) predLabel.push(labels.code(String(out[i])));
    if (predValue) for (let i = 0; i < n; i++) predValue.push(Number(out[i]));
    if (probs) {
      const rowsP = (o.outputs as { probabilities?: unknown }).probabilities;
      for (let i = 0; i < n; i++) {
        const row = Array.isArray(rowsP) ? (rowsP[i] as unknown) : undefined;
        const ok = Array.isArray(row) && row.length === K;
        for (let k = 0; k < K; k++) {
          const v = ok ? (row as unknown[])[k] : undefined;
          probs.push(typeof v === 'number' ? v : NaN);
        }
      }
    }
    for (let i = 0; i < n; i++) {
      version.push(vcode);
      time.push(t);
      latency.push(lat);
    }
    if (typeof o.id === 'string') addRequest(o.id, hashString(o.id), count, n);
    count += n;
  };

  const lines = (text: string) => {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      const stop = nl < 0 ? text.length : nl;
      if (stop > start && !fastLine(text, start, stop)) onLine(text.slice(start, stop));
      if (nl < 0) break;
      start = nl + 1;
    }
  };
  const columns = (): LogColumns => {
    extendTruth();
    return {
      count: count - base,
      numeric: Object.fromEntries([...numeric].map(([k, v]) => [k, v.view()])),
      categorical: Object.fromEntries([...categorical].map(([k, v]) => [k, v.view()])),
      dictionaries,
      predictedLabel: predLabel?.view() ?? null,
      predictedValue: predValue?.view() ?? null,
      truthLabel: truthL?.view() ?? null,
      truthValue: truthV?.view() ?? null,
      labels,
      version: version.view(),
      versions,
      time: time.view(),
      latencyMs: latency.view(),
      badLines,
      probabilities: probs?.view() ?? null,
    };
  };
  const discard = (upTo: number) => {
    // Rows that may still get feedback stay.
    const d = Math.min(upTo, count - pendingRows, count) - base;
    if (!(d > 0)) return;
    for (const c of numericCols) c.discard(d);
    for (const c of categoricalCols) c.discard(d);
    predLabel?.discard(d);
    predValue?.discard(d);
    truthL?.discard(d);
    truthV?.discard(d);
    version.discard(d);
    time.discard(d);
    latency.discard(d);
    probs?.discard(d * K);
    base += d;
  };
  const block = async (done: boolean) => {
    await stream!.onBlock({
      cols: columns(),
      base,
      total: count,
      done,
      feedback: { ...fbCounts },
      pendingIds: pendingReq!.size,
      discard,
    });
  };
  const CHUNK = Math.max(1024, stream?.chunkBytes ?? 4 * 1024 * 1024);
  // Two buffers in turn: one is parsed while the next chunk is read into the other.
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  for (const file of logFiles(dir)) {
    const fh = await open(file, 'r').catch(() => null);
    if (!fh) continue;
    let turn = 0;
    let pending: Promise<{ bytesRead: number; buffer: Buffer }> | null = fh.read(buffers[turn], 0, CHUNK, null);
    try {
      // The unfinished line at the end of the previous chunk (it lives in the other buffer).
      let carry: Buffer = Buffer.alloc(0);
      for (;;) {
        const { bytesRead, buffer } = await pending!;
        pending = null;
        if (bytesRead === 0) break;
        const data = buffer.subarray(0, bytesRead);
        let from = 0;
        if (carry.length) {
          const nl = data.indexOf(10);
          const head = nl < 0 ? data : data.subarray(0, nl);
          const joined = Buffer.concat([carry, head]);
          carry = Buffer.alloc(0);
          if (nl < 0) {
            carry = joined;
            from = data.length;
          } else {
            lines(joined.toString('utf8'));
            from = nl + 1;
          }
        }
        // The carry is consumed: the other buffer may be refilled now, while this one is parsed.
        turn ^= 1;
        pending = fh.read(buffers[turn], 0, CHUNK, null);
        if (from >= data.length) continue;
        // Cut at the last newline, in bytes, so a multi-byte character is never split.
        const lastNl = data.lastIndexOf(10);
        if (lastNl < from) {
          carry = Buffer.from(data.subarray(from));
          continue;
        }
        lines(data.toString('utf8', from, lastNl));
        carry = data.subarray(lastNl + 1);
        if (stream) await block(false);
      }
      if (carry.length) lines(carry.toString('utf8'));
    } finally {
      if (pending) await pending.catch(() => undefined);
      await fh.close();
    }
  }

  if (stream) {
    await block(true);
    return columns();
  }
  let truthLabel: Int32Array | null = null;
  let truthValue: Float64Array | null = null;
  if (task === 'classification') {
    truthLabel = new Int32Array(count).fill(-1);
  } else {
    truthValue = new Float64Array(count).fill(NaN);
  }
  const first = reqFirst.view();
  const rows = reqRows.view();
  const starts = fbStart.view();
  const lens = fbLen.view();
  const codes = fbCodes.view();
  const fbHash = fbHashes.view();
  for (let f = 0; f < fbIds.length; f++) {
    const slot = requests.get(fbIds[f], fbHash[f]);
    if (slot < 0) continue;
    const at = first[slot];
    const m = Math.min(rows[slot], lens[f]);
    if (starts[f] >= 0) {
      for (let i = 0; i < m; i++) {
        const c = codes[starts[f] + i];
        truthLabel![at + i] = c >= 0 ? c : labels.code(fbPending[-2 - c]);
      }
      continue;
    }
    const values = fbRaw.get(f)!;
    for (let i = 0; i < m; i++) {
      if (truthLabel) truthLabel[at + i] = labels.code(String(values[i]));
      else if (truthValue) truthValue[at + i] = Number(values[i]);
    }
  }

  return {
    count,
    numeric: Object.fromEntries([...numeric].map(([k, v]) => [k, v.view()])),
    categorical: Object.fromEntries([...categorical].map(([k, v]) => [k, v.view()])),
    dictionaries,
    predictedLabel: predLabel?.view() ?? null,
    predictedValue: predValue?.view() ?? null,
    truthLabel,
    truthValue,
    labels,
    version: version.view(),
    versions,
    time: time.view(),
    latencyMs: latency.view(),
    badLines,
    probabilities: probs?.view() ?? null,
  };
}
