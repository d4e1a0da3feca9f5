/** Reading a line of UTF-8 bytes in place: a cursor for JSON pieces, and the server's request times. */
import { type Dictionary, hashString } from './columns';
import { JsonNumberReader } from './number';

/**
 * A cursor over one line's bytes with the reads the server-line scanner needs: literals, plain
 * strings (no escapes), numbers. Each read fails (−1, null, undefined) on anything unexpected,
 * so the caller can hand the line to JSON.parse instead. Strings are decoded only when a value
 * is new (dictionaries compare bytes) or is kept as text (request ids).
 */
export class LineCursor extends JsonNumberReader {
  s: Buffer = Buffer.alloc(0);
  /** The line's end (exclusive). */
  i = 0;
  end = 0;

  /** Whether the bytes at `i` are `t` (a loop here, not columns' `bytesAt`: no module getter per call). */
  at(t: Uint8Array): boolean {
    const { s, i } = this;
    if (i + t.length > s.length) return false;
    for (let k = 0; k < t.length; k++) if (s[i + k] !== t[k]) return false;
    return true;
  }

  lit(t: Uint8Array): boolean {
    if (!this.at(t)) return false;
    this.i += t.length;
    return true;
  }

  /** Index of the closing quote of a plain string (no escapes) starting at `i`; −1 on anything else. */
  strEnd(): number {
    const { s } = this;
    for (let k = this.i; k < this.end; k++) {
      const c = s[k];
      if (c === 34) return k;
      if (c === 92) return -1;
    }
    return -1;
  }

  /**
   * The code of a plain string (after its opening quote) in `dict`, adding it when new;
   * −1 on escapes or a missing quote. Known values are matched as bytes, without decoding.
   */
  code(dict: Dictionary): number {
    const q = this.strEnd();
    if (q < 0) return -1;
    let c = dict.find(this.s, this.i, q - this.i);
    if (c < 0) c = dict.code(this.s.toString('utf8', this.i, q));
    this.i = q + 1;
    return c;
  }

  /** `hashString` of the last string `hashedStr` read. */
  hash = 0;

  /** As `str`, also leaving the string's `hashString` in `hash`. */
  hashedStr(): string | null {
    const { s } = this;
    const start = this.i;
    let h = 0x811c9dc5;
    let high = 0;
    for (let k = start; k < this.end; k++) {
      const c = s[k];
      if (c === 34) {
        this.i = k + 1;
        // ASCII bytes are the UTF-16 code units `hashString` hashes; other text is hashed as decoded.
        if (high < 128) {
          this.hash = h;
          return s.toString('latin1', start, k);
        }
        const v = s.toString('utf8', start, k);
        this.hash = hashString(v);
        return v;
      }
      if (c === 92) return null;
      high |= c;
      h = Math.imul(h ^ c, 0x01000193);
    }
    return null;
  }

  /** A plain string (no escapes) after its opening quote; null on anything else. */
  str(): string | null {
    const q = this.strEnd();
    if (q < 0) return null;
    const v = this.s.toString('utf8', this.i, q);
    this.i = q + 1;
    return v;
  }

  /** A JSON number or null (→ NaN); undefined when neither. Exactly as JSON.parse reads it. */
  num(): number | undefined {
    const { s } = this;
    const k = this.i;
    if (s[k] === 110) return this.null();
    const v = this.parseNumber(s, k);
    if (v !== v) return undefined;
    this.i = this.numEnd;
    return v;
  }

  /** As `num`, rounded to float32 (what a Float32Array keeps), which is cheaper for long digits. */
  num32(): number | undefined {
    const { s } = this;
    const k = this.i;
    if (s[k] === 110) return this.null();
    const v = this.parseFloat32(s, k);
    if (v !== v) return undefined;
    this.i = this.numEnd;
    return v;
  }

  private null(): number | undefined {
    const { s, i } = this;
    if (s[i + 1] !== 117 || s[i + 2] !== 108 || s[i + 3] !== 108) return undefined;
    this.i = i + 4;
    return NaN;
  }
}

/**
 * Request times exactly as `Date.parse` reads them. The server writes 'YYYY-MM-DDTHH:MM:SS.sssZ':
 * the minute is parsed once for each run of lines that share it, seconds and milliseconds are
 * added in place; any other shape goes to `Date.parse`.
 */
export class TimeParser {
  /** 'YYYY-MM-DDTHH:MM' of the last time in the fixed shape; `valid` once there is one. */
  private readonly prefix = new Uint8Array(16);
  private valid = false;
  private base = NaN;

  parse(b: Buffer, a: number, z: number): number {
    if (z - a === 24) {
      // Same minute as the line before (the prefix was checked then): check the rest only.
      const same = this.valid && this.samePrefix(b, a);
      if (same ? this.fixedShape(b, a, 16) : this.fixedShape(b, a, 0)) {
        if (!same) {
          this.prefix.set(b.subarray(a, a + 16));
          this.valid = true;
          // Hour 24 means the end of the day only at 24:00:00.000: leave it to Date.parse.
          this.base =
            b[a + 11] === 50 && b[a + 12] === 52 ? NaN : Date.parse(`${b.toString('latin1', a, a + 16)}:00.000Z`);
        }
        const s10 = b[a + 17] - 48;
        if (this.base === this.base && s10 <= 5) {
          const ms = (b[a + 20] - 48) * 100 + (b[a + 21] - 48) * 10 + (b[a + 22] - 48);
          return this.base + (s10 * 10 + b[a + 18] - 48) * 1000 + ms;
        }
      }
    }
    return Date.parse(b.toString('utf8', a, z));
  }

  private samePrefix(b: Uint8Array, a: number): boolean {
    const p = this.prefix;
    for (let k = 0; k < 16; k++) if (b[a + k] !== p[k]) return false;
    return true;
  }

  /** 'YYYY-MM-DDTHH:MM:SS.sssZ' from position `from` of the 24 bytes at `a`. */
  private fixedShape(b: Uint8Array, a: number, from: number): boolean {
    for (let k = from; k < 23; k++) {
      const c = b[a + k];
      const want = k === 4 || k === 7 ? 45 : k === 10 ? 84 : k === 13 || k === 16 ? 58 : k === 19 ? 46 : -1;
      if (want < 0 ? !(c >= 48 && c <= 57) : c !== want) return false;
    }
    return b[a + 23] === 90;
  }
}
