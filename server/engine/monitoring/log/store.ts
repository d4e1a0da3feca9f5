/**
 * The rows read so far, as columns: what both line readers (the server-line scanner and the
 * JSON fallback) append to. In a streamed read the rows before `base` have been discarded.
 */
import { Dictionary, F32, F64, I32, type LogColumns, type LogFeature } from './columns';

/** One logged input: its JSON key token as UTF-8 bytes (matched in place) and the column it fills. */
export interface InputSlot {
  name: string;
  token: Uint8Array;
  num: F64 | null;
  cat: I32 | null;
  dict: Dictionary | null;
}

/**
 * `"name":[` in UTF-8, as the server writes it (a name JSON.stringify escapes does not match, so
 * JSON.parse reads that line). A name UTF-8 cannot carry (a lone surrogate) gets a newline,
 * which no line holds, rather than the replacement character's bytes, which a line may.
 */
function keyToken(name: string): Uint8Array {
  const t = Buffer.from(`"${name}":[`, 'utf8');
  return t.length === name.length + 4 || t.toString('utf8') === `"${name}":[` ? t : Uint8Array.of(10);
}

export class RowStore {
  readonly task: 'classification' | 'regression';
  /** Classes in the label order (the probabilities' row length). */
  readonly K: number;
  /** Numeric inputs first, then categorical ones, each in the features' order. */
  readonly inputs: InputSlot[] = [];
  readonly dictionaries: Record<string, Dictionary> = {};
  readonly labels: Dictionary;
  readonly versions = new Dictionary();
  readonly predLabel: I32 | null;
  readonly predValue: F64 | null;
  readonly probs: F32 | null;
  readonly version = new I32();
  readonly time = new F64();
  readonly latency = new F64();
  /** Streamed reads only: truth is joined as feedback arrives, for rows from `base`. */
  readonly truthL: I32 | null;
  readonly truthV: F64 | null;
  /** Rows read (log row numbers, discarded ones included). */
  count = 0;
  /** Log row of the first retained row. */
  base = 0;
  badLines = 0;
  /** Predictions before `since`: read and left out. */
  beforeSince = 0;
  // Column lengths before the line being scanned, so a line the scanner gives up on leaves nothing.
  private readonly marks: Int32Array;
  private markLabel = 0;
  private markValue = 0;
  private markProbs = 0;

  constructor(
    features: readonly LogFeature[],
    task: 'classification' | 'regression',
    labelOrder: readonly string[],
    probabilities: boolean,
    streamed: boolean,
    /** Predictions requested before this time (ms) are left out. */
    readonly since = -Infinity,
  ) {
    this.task = task;
    this.K = labelOrder.length;
    this.probs = task === 'classification' && probabilities && this.K > 0 ? new F32() : null;
    for (const f of features)
      if (f.kind === 'numeric')
        this.inputs.push({ name: f.name, token: keyToken(f.name), num: new F64(), cat: null, dict: null });
    for (const f of features) {
      if (f.kind === 'numeric') continue;
      const dict = new Dictionary(f.categories ?? []);
      this.dictionaries[f.name] = dict;
      this.inputs.push({ name: f.name, token: keyToken(f.name), num: null, cat: new I32(), dict });
    }
    this.marks = new Int32Array(this.inputs.length);
    this.labels = new Dictionary(labelOrder);
    this.predLabel = task === 'classification' ? new I32() : null;
    this.predValue = task === 'regression' ? new F64() : null;
    this.truthL = streamed && task === 'classification' ? new I32() : null;
    this.truthV = streamed && task === 'regression' ? new F64() : null;
  }

  /** Remembers the column lengths before a line is scanned. */
  mark(): void {
    const { inputs, marks } = this;
    for (let k = 0; k < inputs.length; k++) {
      const inp = inputs[k];
      marks[k] = inp.num ? inp.num.length : inp.cat!.length;
    }
    this.markLabel = this.predLabel?.length ?? 0;
    this.markValue = this.predValue?.length ?? 0;
    this.markProbs = this.probs?.length ?? 0;
  }

  /** Back to the marked lengths; false, for the scanner to return. */
  undo(): false {
    const { inputs, marks } = this;
    for (let k = 0; k < inputs.length; k++) {
      const inp = inputs[k];
      if (inp.num) inp.num.length = marks[k];
      else inp.cat!.length = marks[k];
    }
    if (this.predLabel) this.predLabel.length = this.markLabel;
    if (this.predValue) this.predValue.length = this.markValue;
    if (this.probs) this.probs.length = this.markProbs;
    return false;
  }

  /** n rows of one request: the per-row copies of its version, time and latency. */
  addRows(n: number, vcode: number, t: number, lat: number): void {
    const { version, time, latency } = this;
    version.reserve(n);
    time.reserve(n);
    latency.reserve(n);
    for (let r = 0; r < n; r++) {
      version.data[version.length++] = vcode;
      time.data[time.length++] = t;
      latency.data[latency.length++] = lat;
    }
    this.count += n;
  }

  /** Streamed reads: truth columns cover every row read. */
  extendTruth(): void {
    const { truthL, truthV } = this;
    truthL?.fillTo(this.count - this.base, -1);
    truthV?.fillTo(this.count - this.base, NaN);
  }

  /** Views of the retained rows, with the given truth columns. */
  columns(truthLabel: Int32Array | null, truthValue: Float64Array | null): LogColumns {
    const numeric: Record<string, Float64Array> = {};
    const categorical: Record<string, Int32Array> = {};
    for (const inp of this.inputs) {
      if (inp.num) numeric[inp.name] = inp.num.view();
      else categorical[inp.name] = inp.cat!.view();
    }
    return {
      count: this.count - this.base,
      numeric,
      categorical,
      dictionaries: this.dictionaries,
      predictedLabel: this.predLabel?.view() ?? null,
      predictedValue: this.predValue?.view() ?? null,
      truthLabel,
      truthValue,
      labels: this.labels,
      version: this.version.view(),
      versions: this.versions,
      time: this.time.view(),
      latencyMs: this.latency.view(),
      badLines: this.badLines,
      beforeSince: this.beforeSince,
      probabilities: this.probs?.view() ?? null,
    };
  }

  /** Forgets the first d retained rows. */
  discard(d: number): void {
    for (const inp of this.inputs) (inp.num ?? inp.cat!).discard(d);
    this.predLabel?.discard(d);
    this.predValue?.discard(d);
    this.truthL?.discard(d);
    this.truthV?.discard(d);
    this.version.discard(d);
    this.time.discard(d);
    this.latency.discard(d);
    this.probs?.discard(d * this.K);
    this.base += d;
  }
}
