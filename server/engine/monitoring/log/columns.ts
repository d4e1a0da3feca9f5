/**
 * The column types of a read prediction log: growable typed-array columns, the string ↔ code
 * dictionaries, and what a read returns (`LogColumns`, streamed as `LogBlock`s).
 */

type TypedColumn = Float64Array | Float32Array | Int32Array;

/** A growable typed-array column: doubling pushes, a view of what is filled, streaming discards. */
export class Column<T extends TypedColumn> {
  data: T;
  length = 0;
  constructor(
    private readonly make: (n: number) => T,
    capacity = 1024,
  ) {
    this.data = make(Math.max(1, capacity));
  }
  push(v: number): void {
    if (this.length === this.data.length) this.grow(this.data.length * 2);
    this.data[this.length++] = v;
  }
  /** Room for n more values, so a caller can write `data[length++]` without a check per value. */
  reserve(n: number): void {
    if (this.length + n > this.data.length) this.grow(Math.max(this.data.length * 2, this.length + n));
  }
  /** Appends `v` until the column holds `n` values. */
  fillTo(n: number, v: number): void {
    if (n <= this.length) return;
    this.reserve(n - this.length);
    this.data.fill(v, this.length, n);
    this.length = n;
  }
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
  /** Starts over, empty, in `data` (memory already in use: fresh arrays fault in new pages). */
  reuse(data: T): void {
    this.data = data;
    this.length = 0;
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

export class F64 extends Column<Float64Array> {
  constructor(capacity?: number) {
    super((n) => new Float64Array(n), capacity);
  }
}
export class F32 extends Column<Float32Array> {
  constructor(capacity?: number) {
    super((n) => new Float32Array(n), capacity);
  }
}
export class I32 extends Column<Int32Array> {
  constructor(capacity?: number) {
    super((n) => new Int32Array(n), capacity);
  }
}

/** String ↔ small integer, for categories, labels and versions. */
export class Dictionary {
  readonly values: string[] = [];
  private index = new Map<string, number>();
  /** The code last found in place: a column often repeats its value. */
  private hint = 0;
  /**
   * The values' UTF-8 bytes (null for a string UTF-8 cannot carry as is, a lone surrogate:
   * no bytes in a log match it), encoded on the first `find` after they were added, and an
   * open-addressing table of their byte hashes (code + 1 per bucket, 0 empty).
   */
  private bytes: Array<Buffer | null> = [];
  private table = new Int32Array(0);
  private mask = -1;
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
   * The code of the UTF-8 bytes `b[at, at + len)` when they spell a known value, compared in
   * place so the common case decodes no string; −1 when unknown (the caller decodes them once
   * and uses `code` or `lookup`).
   */
  find(b: Uint8Array, at: number, len: number): number {
    const h = this.hint;
    const bytes = this.bytes;
    if (h < bytes.length) {
      const v = bytes[h];
      if (v !== null && v.length === len && bytesAt(b, at, v)) return h;
    }
    if (bytes.length < this.values.length) this.encode();
    if (bytes.length <= 8) {
      for (let k = 0; k < bytes.length; k++) {
        const v = bytes[k];
        if (v !== null && v.length === len && bytesAt(b, at, v)) return (this.hint = k);
      }
      return -1;
    }
    const { table, mask } = this;
    for (let p = hashBytes(b, at, at + len) & mask; ; p = (p + 1) & mask) {
      const k = table[p] - 1;
      if (k < 0) return -1;
      const v = bytes[k]!;
      if (v.length === len && bytesAt(b, at, v)) return (this.hint = k);
    }
  }
  /** Encodes the values added since the last `find` and puts them in the byte table. */
  private encode(): void {
    const { values, bytes } = this;
    let size = this.table.length;
    const grow = size < values.length * 2 + 2;
    while (size < values.length * 2 + 2) size = Math.max(16, size * 2);
    if (grow) {
      this.table = new Int32Array(size);
      this.mask = size - 1;
    }
    const from = bytes.length;
    for (let k = from; k < values.length; k++) {
      const v = values[k];
      const enc = Buffer.from(v, 'utf8');
      bytes.push(enc.length === v.length || enc.toString('utf8') === v ? enc : null);
    }
    // A new table holds nothing yet: every value goes in; otherwise only the new ones.
    for (let k = grow ? 0 : from; k < bytes.length; k++) {
      const v = bytes[k];
      if (v === null) continue;
      let p = hashBytes(v, 0, v.length) & this.mask;
      while (this.table[p] !== 0) p = (p + 1) & this.mask;
      this.table[p] = k + 1;
    }
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
  /** Predicted rows left out because they were requested before `ReadLogOptions.since`. */
  beforeSince: number;
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
   * Only predictions requested at or after this time (ms since the epoch); earlier ones are
   * counted in `beforeSince`, and feedback for them is unmatched. Rows without a time are kept.
   */
  since?: number;
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

/** Whether `b[at…]` starts with the bytes `t`. */
export function bytesAt(b: Uint8Array, at: number, t: Uint8Array): boolean {
  if (at + t.length > b.length) return false;
  for (let k = 0; k < t.length; k++) if (b[at + k] !== t[k]) return false;
  return true;
}

/** FNV-1a over UTF-16 code units, the same whether taken in place by the scanner or from a string. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
  return h;
}

/** FNV-1a over bytes [a, z): `hashString` of the same text when it is ASCII. */
export function hashBytes(b: Uint8Array, a: number, z: number): number {
  let h = 0x811c9dc5;
  for (let k = a; k < z; k++) h = Math.imul(h ^ b[k], 0x01000193);
  return h;
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

/** How many lines each path read: the server's own lines should all be `fast`. */
export interface LineStats {
  /** Read by the scanner of the server's line shape. */
  fast: number;
  /** Handed to JSON.parse (another shape, escapes, or not JSON: those are also `badLines`). */
  fallback: number;
}
