/** Reading a line of text in place: a cursor for JSON pieces, and the server's request times. */
import { type Dictionary, isDigit, matchAt, POW10 } from './columns';

/**
 * A cursor over one line of text with the reads the server-line scanner needs: literals, plain
 * strings (no escapes), numbers. Each read fails (−1, null, undefined) on anything unexpected,
 * so the caller can hand the line to JSON.parse instead.
 */
export class LineCursor {
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

/**
 * Request times exactly as `Date.parse` reads them. The server writes 'YYYY-MM-DDTHH:MM:SS.sssZ':
 * the minute is parsed once for each run of lines that share it, seconds and milliseconds are
 * added in place; any other shape goes to `Date.parse`.
 */
export class TimeParser {
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
