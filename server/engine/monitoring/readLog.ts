/**
 * Reads a model's prediction log (rotated files oldest first, then the current one) into
 * column arrays: one entry per predicted row. Streams the files in large chunks and keeps
 * values in typed arrays so a million predictions fit in little memory and time.
 */
import { open } from 'node:fs/promises';
import type { FeatureTransform } from '../model/types';
import { logFiles } from '../serving/predictionLog';

class F64 {
  data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Float64Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

class I32 {
  data = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Int32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
  view(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

/** String ↔ small integer, for categories, labels and versions. */
export class Dictionary {
  readonly values: string[] = [];
  private index = new Map<string, number>();
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
}


const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

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
    if (!this.s.startsWith(t, this.i)) return false;
    this.i += t.length;
    return true;
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
    let digits = 0;
    let exp = 0;
    let any = false;
    let c = s.charCodeAt(k);
    while (c >= 48 && c <= 57) {
      if (digits > 0 || c !== 48) digits++;
      mant = mant * 10 + (c - 48);
      any = true;
      c = s.charCodeAt(++k);
    }
    if (c === 46) {
      c = s.charCodeAt(++k);
      while (c >= 48 && c <= 57) {
        if (digits > 0 || c !== 48) digits++;
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
    // Clinger's fast path: an exact integer mantissa and an exact power of ten round once.
    if (!slow && digits <= 15 && exp >= -22) {
      const v = exp === 0 ? mant : mant / POW10[-exp];
      return neg ? -v : v;
    }
    const v = Number(s.slice(start, k));
    return Number.isNaN(v) ? undefined : v;
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

/** Reads every log file under `dir` for a model with these features. */
export async function readPredictionLog(dir: string, features: FeatureTransform[], task: 'classification' | 'regression', labelOrder: readonly string[] = []): Promise<LogColumns> {
  const numeric = new Map<string, F64>();
  const categorical = new Map<string, I32>();
  const dictionaries: Record<string, Dictionary> = {};
  for (const f of features) {
    if (f.kind === 'numeric') numeric.set(f.name, new F64());
    else {
      categorical.set(f.name, new I32());
      dictionaries[f.name] = new Dictionary(f.categories);
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
  /** request id → [first row, rows] */
  const requests = new Map<string, [number, number]>();
  const feedback: Array<[string, Array<string | number>]> = [];
  let count = 0;
  let badLines = 0;


  const scanner = new LineScanner();
  // Each input as its JSON key token, so a key is matched in place without slicing its name.
  const inputs = [
    ...numericNames.map((name, k) => ({ token: `"${name}":[`, num: numericCols[k] as F64 | null, cat: null as I32 | null, dict: null as Dictionary | null })),
    ...categoricalNames.map((name, k) => ({ token: `"${name}":[`, num: null as F64 | null, cat: categoricalCols[k] as I32 | null, dict: dictionaries[name] })),
  ];
  const marks = new Int32Array(inputs.length);
  const filled = new Uint8Array(inputs.length);
  let markLabel = 0;
  let markValue = 0;
  const undo = (): false => {
    for (let k = 0; k < inputs.length; k++) {
      const inp = inputs[k];
      if (inp.num) inp.num.length = marks[k];
      else inp.cat!.length = marks[k];
    }
    if (predLabel) predLabel.length = markLabel;
    if (predValue) predValue.length = markValue;
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
  const pushLabel = (v: string) => predLabel!.push(labels.code(v));
  let feedbackValues: Array<string | number> = [];
  const pushFeedback = (v: string) => feedbackValues.push(v);

  /** The server's own lines without JSON.parse; false leaves every column as it was. */
  const fastLine = (text: string, a: number, b: number): boolean => {
    const sc = scanner;
    sc.s = text;
    sc.i = a;
    sc.end = b;
    if (sc.lit('{"type":"feedback","id":"')) {
      const id = sc.str();
      if (id === null || !sc.lit(',"time":"') || sc.str() === null || !sc.lit(',"labels":[')) return false;
      feedbackValues = [];
      if (stringArray(pushFeedback) < 0 || !sc.lit('}') || sc.i !== b) return false;
      feedback.push([id, feedbackValues]);
      return true;
    }
    if (!sc.lit('{"type":"prediction","id":"')) return false;
    const id = sc.str();
    if (id === null || !sc.lit(',"time":"')) return false;
    const timeText = sc.str();
    if (timeText === null || !sc.lit(',"version":"')) return false;
    const ver = sc.str();
    if (ver === null || !sc.lit(',"latencyMs":')) return false;
    const lat = sc.num();
    if (lat === undefined || !sc.lit(',"inputs":{')) return false;
    for (let k = 0; k < inputs.length; k++) {
      const inp = inputs[k];
      marks[k] = inp.num ? inp.num.length : inp.cat!.length;
      filled[k] = 0;
    }
    markLabel = predLabel?.length ?? 0;
    markValue = predValue?.length ?? 0;
    let n = -1;
    let next = 0;
    if (text.charCodeAt(sc.i) !== 125) {
      for (;;) {
        // Inputs usually come in feature order: try the expected one first.
        let which = -1;
        for (let t = 0; t < inputs.length; t++) {
          const k = (next + t) % inputs.length;
          if (text.startsWith(inputs[k].token, sc.i)) {
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
        if (text.charCodeAt(sc.i) !== 93) {
          for (;;) {
            if (text.charCodeAt(sc.i) === 34) {
              sc.i++;
              const v = sc.str();
              if (v === null) return undo();
              if (inp.num) inp.num.push(NaN);
              else inp.cat!.push(inp.dict!.code(v));
            } else {
              const v = sc.num();
              if (v === undefined) return undo();
              if (inp.num) inp.num.push(v);
              else inp.cat!.push(-1);
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
    let outCount: number;
    if (task === 'classification') {
      if (!sc.lit(',"outputs":{"label":[')) return undo();
      outCount = stringArray(pushLabel);
    } else {
      if (!sc.lit(',"outputs":{"value":[')) return undo();
      outCount = 0;
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
    if (outCount < 0 || sc.i > b || (n !== -1 && n !== outCount)) return undo();
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
    const vcode = versions.code(ver);
    const t = Date.parse(timeText);
    for (let r = 0; r < n; r++) {
      version.push(vcode);
      time.push(t);
      latency.push(lat);
    }
    requests.set(id, [count, n]);
    count += n;
    return true;
  };

  const onLine = (raw: string) => {
    if (raw.length === 0) return;
    // Probabilities are the last key of a prediction line and monitoring does not need them:
    // cutting them off before parsing nearly halves the work.
    let line = raw;
    const cut = raw.lastIndexOf(',"probabilities":[');
    if (cut > 0 && raw.endsWith(']}}')) line = raw.slice(0, cut) + '}}';
    let o: PredLine;
    try {
      o = JSON.parse(line) as PredLine;
    } catch {
      badLines++;
      return;
    }
    if (o.type === 'feedback') {
      if (typeof o.id === 'string' && Array.isArray(o.labels)) feedback.push([o.id, o.labels]);
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
        col.push(typeof v === 'number' ? v : NaN);
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
    for (let i = 0; i < n; i++) {
      version.push(vcode);
      time.push(t);
      latency.push(lat);
    }
    if (typeof o.id === 'string') requests.set(o.id, [count, n]);
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
  const CHUNK = 4 * 1024 * 1024;
  for (const file of logFiles(dir)) {
    const fh = await open(file, 'r').catch(() => null);
    if (!fh) continue;
    // The next chunk is read while this one is parsed.
    let pending: Promise<{ bytesRead: number; buffer: Buffer }> | null = fh.read(Buffer.allocUnsafe(CHUNK), 0, CHUNK, null);
    try {
      let carry: Buffer = Buffer.alloc(0);
      for (;;) {
        const { bytesRead, buffer } = await pending!;
        pending = null;
        if (bytesRead === 0) break;
        pending = fh.read(Buffer.allocUnsafe(CHUNK), 0, CHUNK, null);
        const data = carry.length ? Buffer.concat([carry, buffer.subarray(0, bytesRead)]) : buffer.subarray(0, bytesRead);
        // Cut at the last newline, in bytes, so a multi-byte character is never split.
        const lastNl = data.lastIndexOf(10);
        if (lastNl < 0) {
          carry = data;
          continue;
        }
        carry = data.subarray(lastNl + 1);
        lines(data.toString('utf8', 0, lastNl));
      }
      if (carry.length) lines(carry.toString('utf8'));
    } finally {
      if (pending) await pending.catch(() => undefined);
      await fh.close();
    }
  }

  let truthLabel: Int32Array | null = null;
  let truthValue: Float64Array | null = null;
  if (task === 'classification') {
    truthLabel = new Int32Array(count).fill(-1);
  } else {
    truthValue = new Float64Array(count).fill(NaN);
  }
  for (const [id, values] of feedback) {
    const req = requests.get(id);
    if (!req) continue;
    const [first, n] = req;
    for (let i = 0; i < Math.min(n, values.length); i++) {
      if (truthLabel) truthLabel[first + i] = labels.code(String(values[i]));
      else if (truthValue) truthValue[first + i] = Number(values[i]);
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
  };
}
