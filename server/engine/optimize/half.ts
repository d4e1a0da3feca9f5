/**
 * IEEE 754 binary16 (half precision) from float32, rounding to nearest with ties to even, with
 * subnormals, signed zeros, infinities and NaN — what numpy's `astype(np.float16)` gives, and
 * what TF.js's float16 weight decoder and ONNX's FLOAT16 tensors read back.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The binary16 bits of a float32 value (round to nearest, ties to even). Overflow gives ±Infinity. */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): the value is m · 2^-24 with m < 1024.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    // A carry out of the mantissa lands in the exponent: the smallest normal, as it should.
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++;
  // A carry can roll the exponent up, up to 0x7c00 (Infinity): correct rounding of overflow.
  return sign | half;
}

/** The float value of binary16 bits. */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Largest finite binary16 value. */
export const HALF_MAX = 65504;

/**
 * The worst rounding error of storing `x` as binary16: half a unit in the last place of its
 * binade (2^-11 relative for normal numbers), 2^-25 absolute in the subnormal range.
 */
export function halfErrorBound(x: number): number {
  const a = Math.abs(x);
  if (a < 2 ** -14) return 2 ** -25;
  return 2 ** (Math.floor(Math.log2(a)) - 11);
}

/** Encodes float32 values as binary16, little-endian. */
export function encodeHalf(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toHalfBits(values[i]);
  return out;
}
