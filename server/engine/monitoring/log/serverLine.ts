/**
 * A scanner for the exact shape the model server writes (serving/logLine.ts: JSON.stringify's
 * key order, no spaces), so the common line costs no JSON.parse. It reads the line's UTF-8
 * bytes where they were read into, decoding no text but new dictionary values and request ids.
 * Any surprise (escapes, other key order, malformed text) returns false with every column as
 * it was, and the line goes through JSON.parse instead (jsonLine.ts), so it only has to be
 * right when it says it is.
 */
import { LineCursor, TimeParser } from './cursor';
import type { FeedbackJoin } from './feedback';
import type { RowStore } from './store';

const ascii = (t: string): Uint8Array => Buffer.from(t, 'latin1');
const FEEDBACK = ascii('{"type":"feedback","id":"');
const PREDICTION = ascii('{"type":"prediction","id":"');
const TIME = ascii(',"time":"');
const LABELS = ascii(',"labels":[');
const VERSION = ascii(',"version":"');
const LATENCY = ascii(',"latencyMs":');
const INPUTS = ascii(',"inputs":{');
const OUT_LABEL = ascii(',"outputs":{"label":[');
const OUT_VALUE = ascii(',"outputs":{"value":[');
const PROBS = ascii(',"probabilities":[');
const CLOSE = ascii('}');

export class ServerLineScanner {
  private readonly sc = new LineCursor();
  private readonly times = new TimeParser();
  /** Which inputs the line carried. */
  private readonly filled: Uint8Array;
  /** Regression feedback values of the line being scanned. */
  private values: Array<string | number> = [];

  constructor(
    private readonly store: RowStore,
    private readonly join: FeedbackJoin,
  ) {
    this.filled = new Uint8Array(store.inputs.length);
  }

  /** Reads the bytes `buf[a, b)` (one line); false when it is not of the server's plain shape. */
  line(buf: Buffer, a: number, b: number): boolean {
    const sc = this.sc;
    sc.s = buf;
    sc.i = a;
    sc.end = b;
    if (sc.lit(FEEDBACK)) return this.feedback(b);
    if (!sc.lit(PREDICTION)) return false;
    return this.prediction(buf, b);
  }

  private feedback(b: number): boolean {
    const sc = this.sc;
    const id = sc.hashedStr();
    const hash = sc.hash;
    if (id === null || !sc.lit(TIME)) return false;
    const timeEnd = sc.strEnd();
    if (timeEnd < 0) return false;
    sc.i = timeEnd + 1;
    if (!sc.lit(LABELS)) return false;
    if (this.store.task === 'classification') return this.feedbackCodes(id, hash, b);
    this.values = [];
    if (!this.labelArray() || !sc.lit(CLOSE) || sc.i !== b) return false;
    this.join.addRaw(id, this.values);
    return true;
  }

  /**
   * A JSON array of plain strings and numbers (a regressor's labels are numbers) into `values`, as
   * JSON.parse gives them; false on anything else (null included: the JSON path keeps it as null).
   */
  private labelArray(): boolean {
    const sc = this.sc;
    const text = sc.s;
    if (text[sc.i] === 93) {
      sc.i++;
      return true;
    }
    for (;;) {
      const t = text[sc.i];
      if (t === 34) {
        sc.i++;
        const v = sc.str();
        if (v === null) return false;
        this.values.push(v);
      } else {
        if (t === 110) return false;
        const v = sc.num();
        if (v === undefined) return false;
        this.values.push(v);
      }
      const d = text[sc.i++];
      if (d === 93) return true;
      if (d !== 44) return false;
    }
  }

  /** A feedback line's labels as codes (classification); false leaves everything as it was. */
  private feedbackCodes(id: string, hash: number, b: number): boolean {
    const { sc, join } = this;
    const labels = this.store.labels;
    const text = sc.s;
    const codes = join.codes;
    const start = codes.length;
    const pending = join.pendingLabels.length;
    if (text[sc.i] === 93) sc.i++;
    else {
      for (;;) {
        if (text[sc.i] !== 34) return join.dropCodes(start, pending);
        sc.i++;
        const q = sc.strEnd();
        if (q < 0) return join.dropCodes(start, pending);
        let c = labels.find(text, sc.i, q - sc.i);
        if (c < 0) {
          const v = text.toString('utf8', sc.i, q);
          c = labels.lookup(v);
          if (c < 0) {
            c = -2 - join.pendingLabels.length;
            join.pendingLabels.push(v);
          }
        }
        codes.push(c);
        sc.i = q + 1;
        const d = text[sc.i++];
        if (d === 93) break;
        if (d !== 44) return join.dropCodes(start, pending);
      }
    }
    if (!sc.lit(CLOSE) || sc.i !== b) return join.dropCodes(start, pending);
    join.commitCodes(id, hash, start);
    return true;
  }

  private prediction(text: Buffer, b: number): boolean {
    const { sc, store, filled } = this;
    const id = sc.hashedStr();
    const idHash = sc.hash;
    if (id === null || !sc.lit(TIME)) return false;
    const timeStart = sc.i;
    const timeEnd = sc.strEnd();
    if (timeEnd < 0) return false;
    sc.i = timeEnd + 1;
    if (!sc.lit(VERSION)) return false;
    // The version is coded only once the line has parsed, as the JSON.parse path would.
    const verStart = sc.i;
    const verEnd = sc.strEnd();
    if (verEnd < 0) return false;
    sc.i = verEnd + 1;
    if (!sc.lit(LATENCY)) return false;
    const lat = sc.num();
    if (lat === undefined || !sc.lit(INPUTS)) return false;
    const inputs = store.inputs;
    store.mark();
    filled.fill(0);
    let n = -1;
    let next = 0;
    if (text[sc.i] !== 125) {
      for (;;) {
        // Inputs usually come in feature order: try the expected one first.
        let which = -1;
        for (let t = 0; t < inputs.length; t++) {
          const k = (next + t) % inputs.length;
          if (sc.at(inputs[k].token)) {
            which = k;
            break;
          }
        }
        if (which < 0 || filled[which]) return store.undo();
        const inp = inputs[which];
        filled[which] = 1;
        next = which + 1;
        sc.i += inp.token.length;
        let items = 0;
        const num = inp.num;
        const cat = inp.cat;
        if (text[sc.i] !== 93) {
          for (;;) {
            if (text[sc.i] === 34) {
              sc.i++;
              if (num) {
                const q = sc.strEnd();
                if (q < 0) return store.undo();
                sc.i = q + 1;
                num.push(NaN);
              } else {
                const c = sc.code(inp.dict!);
                if (c < 0) return store.undo();
                cat!.push(c);
              }
            } else {
              const v = sc.num();
              if (v === undefined) return store.undo();
              if (num) num.push(v);
              else cat!.push(-1);
            }
            items++;
            const d = text[sc.i++];
            if (d === 93) break;
            if (d !== 44) return store.undo();
          }
        } else sc.i++;
        if (n === -1) n = items;
        else if (n !== items) return store.undo();
        const d = text[sc.i++];
        if (d === 125) break;
        if (d !== 44) return store.undo();
      }
    } else sc.i++;
    const outCount = this.outputs(text);
    if (outCount < 0) return store.undo();
    if (sc.i > b || (n !== -1 && n !== outCount)) return store.undo();
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
    let vcode = store.versions.find(text, verStart, verEnd - verStart);
    if (vcode < 0) vcode = store.versions.code(text.toString('utf8', verStart, verEnd));
    const t = this.times.parse(text, timeStart, timeEnd);
    if (t < store.since) {
      // Read whole (the line is the server's), left out by time: not a fallback.
      store.undo();
      store.beforeSince += n;
      return true;
    }
    const first = store.count;
    store.addRows(n, vcode, t, lat);
    this.join.addRequest(id, idHash, first, n);
    return true;
  }

  /** `,"outputs":{…}` up to its last key's end: the rows it has, or −1 (the caller undoes). */
  private outputs(text: Buffer): number {
    const { sc, store } = this;
    let outCount = 0;
    if (store.task === 'classification') {
      const pred = store.predLabel!;
      if (!sc.lit(OUT_LABEL)) return -1;
      if (text[sc.i] === 93) sc.i++;
      else {
        for (;;) {
          if (text[sc.i] !== 34) return -1;
          sc.i++;
          const c = sc.code(store.labels);
          if (c < 0) return -1;
          pred.push(c);
          outCount++;
          const d = text[sc.i++];
          if (d === 93) break;
          if (d !== 44) return -1;
        }
      }
    } else {
      const pred = store.predValue!;
      if (!sc.lit(OUT_VALUE)) return -1;
      if (text[sc.i] !== 93) {
        for (;;) {
          const v = sc.num();
          if (v === undefined) return -1;
          pred.push(v);
          outCount++;
          const d = text[sc.i++];
          if (d === 93) break;
          if (d !== 44) return -1;
        }
      }
    }
    const probs = store.probs;
    if (probs) {
      const K = store.K;
      // `,"probabilities":[[…],…]` after the labels: K numbers per row, or the line takes the slow path.
      if (sc.lit(PROBS)) {
        probs.reserve(outCount * K);
        const pd = probs.data;
        for (let r = 0; r < outCount; r++) {
          if (r > 0 && text[sc.i++] !== 44) return -1;
          if (text[sc.i++] !== 91) return -1;
          for (let k = 0; k < K; k++) {
            if (k > 0 && text[sc.i++] !== 44) return -1;
            // Kept as float32: long float32 texts (0.10000000149011612) have a cheaper exact path.
            const v = sc.num32();
            if (v === undefined) return -1;
            pd[probs.length++] = v;
          }
          if (text[sc.i++] !== 93) return -1;
        }
        if (text[sc.i++] !== 93) return -1;
      } else for (let r = 0; r < outCount * K; r++) probs.push(NaN);
    }
    return outCount;
  }
}
