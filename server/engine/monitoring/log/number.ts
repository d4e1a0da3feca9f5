/**
 * JSON numbers read from UTF-8 bytes in place, bit for bit what JSON.parse gives. The short
 * decimal forms a log is full of are computed exactly (Clinger's fast path); anything else is
 * handed to `Number()` on the number's own text.
 */

/** 10^0 … 10^22: the powers of ten a double holds exactly. */
export const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** 2^53: below it every integer is a double, so the digits accumulate without rounding. */
const EXACT = 9007199254740992;

/**
 * Reads JSON numbers from bytes; `numEnd` is where the last one stopped (the byte after it). A
 * class rather than functions so the line cursor inherits the reads as its own methods: no
 * module getter or call through another object on the hot path.
 */
export class JsonNumberReader {
  /** Where the last `parseNumber` / `parseFloat32` stopped (the byte after the number). */
  numEnd = 0;
  // The pieces of the last number scanned: ±mant × 10^exp, `sig` significant digits.
  private mant = 0;
  private exp = 0;
  private neg = false;
  private sig = 0;

  /**
   * The JSON number at `b[i]`, exactly as JSON.parse reads it; its end in `numEnd`. NaN when the
   * bytes there are not a JSON number (a JSON number never is NaN).
   */
  parseNumber(b: Buffer, i: number): number {
    if (!this.scan(b, i)) return NaN;
    const { mant, exp } = this;
    // Clinger: with the digits an exact integer (≤ 2^53; once past it the sum never comes back
    // below) and 10^|exp| exact (≤ 10^22), one multiplication or division rounds once, as Number() does.
    if (mant <= EXACT && exp >= -22 && exp <= 22) {
      const v = exp < 0 ? mant / POW10[-exp] : mant * POW10[exp];
      return this.neg ? -v : v;
    }
    return Number(b.toString('latin1', i, this.numEnd));
  }

  /**
   * `Math.fround` of the JSON number at `b[i]` (what storing JSON.parse's value in a
   * Float32Array keeps), NaN when there is none. A float32 written out as a double
   * (0.10000000149011612) has too many digits for the exact path, but a double approximation
   * within 2^-50 of it decides the float32 whenever that whole neighbourhood rounds to one
   * float32 — always, unless the number sits on a float32 rounding boundary (then Number()).
   */
  parseFloat32(b: Buffer, i: number): number {
    if (!this.scan(b, i)) return NaN;
    const { mant, exp } = this;
    if (exp >= -22 && exp <= 22) {
      if (mant <= EXACT) {
        const v = exp < 0 ? mant / POW10[-exp] : mant * POW10[exp];
        return Math.fround(this.neg ? -v : v);
      }
      // ≤ 19 digits: at most 4 accumulation steps rounded (2 roundings each) and one division.
      if (this.sig <= 19) {
        const d = exp < 0 ? mant / POW10[-exp] : mant * POW10[exp];
        const f = Math.fround(d);
        if (Math.fround(d * SLACK_LO) === f && Math.fround(d * SLACK_HI) === f) return this.neg ? -f : f;
      }
    }
    return Math.fround(Number(b.toString('latin1', i, this.numEnd)));
  }

  /**
   * Scans JSON's number grammar, `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`, at `b[i]`; false when
   * the bytes there are not a number. It stops at the first byte that cannot continue the
   * number, which the caller checks.
   */
  private scan(b: Uint8Array, i: number): boolean {
    let c = b[i];
    const neg = c === 45;
    if (neg) c = b[++i];
    let mant = 0;
    let sig = 0;
    if (c === 48) {
      c = b[++i];
      // A leading zero followed by digits is not JSON.
      if (c >= 48 && c <= 57) return false;
    } else if (c >= 49 && c <= 57) {
      do {
        mant = mant * 10 + (c - 48);
        sig++;
        c = b[++i];
      } while (c >= 48 && c <= 57);
    } else return false;
    let exp = 0;
    if (c === 46) {
      c = b[++i];
      if (!(c >= 48 && c <= 57)) return false;
      do {
        mant = mant * 10 + (c - 48);
        if (mant !== 0) sig++;
        exp--;
        c = b[++i];
      } while (c >= 48 && c <= 57);
    }
    if (c === 101 || c === 69) {
      c = b[++i];
      let eneg = false;
      if (c === 43 || c === 45) {
        eneg = c === 45;
        c = b[++i];
      }
      if (!(c >= 48 && c <= 57)) return false;
      let e = 0;
      do {
        // Past a few digits the exponent is outside every fast range: bounded, Number() decides.
        if (e < 100_000) e = e * 10 + (c - 48);
        c = b[++i];
      } while (c >= 48 && c <= 57);
      exp += eneg ? -e : e;
    }
    this.numEnd = i;
    this.mant = mant;
    this.exp = exp;
    this.neg = neg;
    this.sig = sig;
    return true;
  }
}

/** Relative error allowed around the float32 approximation: well above its worst case (~2^-50). */
const SLACK_LO = 1 - 2 ** -48;
const SLACK_HI = 1 + 2 ** -48;
