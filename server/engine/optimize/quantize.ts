/**
 * Post-training weight quantisation of a TF.js bundle in the format of tfjs-converter's
 * `--quantize_float16` / `--quantize_uint8`: every float32 weight is stored as binary16 or as
 * uint8 with a per-tensor affine map, and its weights-manifest entry gets
 * `quantization: { dtype, scale, min }`. tf.io decodes that on load, so the bundle loads with
 * plain `tf.loadLayersModel` and computes in float32 as before: this shrinks the bundle (~2× /
 * ~4×), not the arithmetic.
 */
import { ModelOpsError } from '../errors';
import { encodeHalf, fromHalfBits, HALF_MAX, halfErrorBound } from './half';
import { floatValues, readTfjsFiles, specBytes, writeTfjsFiles, type WeightSpec } from './tfjsFiles';

export type QuantizeDtype = 'float16' | 'uint8';
export const QUANTIZE_DTYPES: readonly QuantizeDtype[] = ['float16', 'uint8'];

export function parseDtype(value: string | undefined): QuantizeDtype {
  if (value !== undefined && (QUANTIZE_DTYPES as readonly string[]).includes(value)) return value as QuantizeDtype;
  throw new ModelOpsError(
    'optimize-bad-dtype',
    value === undefined ? 'No quantisation dtype was given.' : `Unknown quantisation dtype '${value}'.`,
    `Use --dtype ${QUANTIZE_DTYPES.join(' or --dtype ')}.`,
  );
}

/** What happened to one weight. */
export interface QuantizedWeight {
  name: string;
  elements: number;
  /** Largest |original − stored| over the tensor. */
  maxError: number;
  /** The bound that error must stay within (float16: half an ulp; uint8: scale / 2). */
  bound: number;
  scale?: number;
  min?: number;
}

export interface QuantizeTfjsResult {
  dtype: QuantizeDtype;
  weights: QuantizedWeight[];
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * Affine uint8 range of a tensor as tfjs-converter computes it: scale = (max − min) / 255
 * (here rounded to 16 significant bits), and when the range holds 0 the minimum is nudged so
 * that 0 is exactly representable (pruned zeros stay zero). Values are clipped to the nudged
 * range, then rounded: the error is at most scale / 2 (plus float32 rounding).
 */
export function affineRange(min: number, max: number): { scale: number; min: number; max: number } {
  if (!(max > min)) return { scale: 1, min: Math.fround(min), max: Math.fround(min) };
  // 16 significant bits: then zeroPoint · scale (8 + 16 bits) is exact in float32, so the
  // decoded zero is exactly 0.
  const raw = (max - min) / 255;
  const e = Math.floor(Math.log2(raw)) - 15;
  const scale = Math.round(raw / 2 ** e) * 2 ** e;
  if (min <= 0 && max >= 0) {
    const nudgedMin = -Math.round(-min / scale) * scale;
    return { scale, min: nudgedMin, max: nudgedMin + 255 * scale };
  }
  return { scale, min: Math.fround(min), max: Math.fround(min) + 255 * scale };
}

export function quantizeUint8(values: Float32Array): { q: Uint8Array; scale: number; min: number; maxError: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (values.length === 0) lo = hi = 0;
  const r = affineRange(lo, hi);
  // What tf.io computes on load, in float32.
  const { scale, min } = r;
  const q = new Uint8Array(values.length);
  let maxError = 0;
  for (let i = 0; i < values.length; i++) {
    const clipped = Math.min(Math.max(values[i], r.min), r.max);
    q[i] = Math.min(255, Math.max(0, Math.round((clipped - min) / scale)));
    maxError = Math.max(maxError, Math.abs(Math.fround(q[i] * scale + min) - values[i]));
  }
  return { q, scale, min, maxError };
}

function checkFinite(name: string, values: Float32Array, dir: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new ModelOpsError(
        'optimize-unsupported',
        `Weight '${name}' of ${dir} holds ${values[i]} at index ${i}; it cannot be quantised.`,
        'Retrain the model: a non-finite weight means training diverged.',
      );
    }
  }
}

/** Writes a quantised copy of the TF.js bundle in `srcDir` to `outDir`. */
export async function quantizeTfjsBundle(
  srcDir: string,
  outDir: string,
  dtype: QuantizeDtype,
): Promise<QuantizeTfjsResult> {
  const files = await readTfjsFiles(srcDir);
  const already = files.specs.find((s) => s.quantization);
  if (already) {
    throw new ModelOpsError(
      'optimize-unsupported',
      `The bundle is already quantised (weight '${already.name}' is stored as ${already.quantization?.dtype}).`,
      'Quantise its parent, the float32 version, instead.',
    );
  }
  const chunks: Uint8Array[] = [];
  const specs: WeightSpec[] = [];
  const weights: QuantizedWeight[] = [];
  let offset = 0;
  for (const spec of files.specs) {
    const bytes = specBytes(spec);
    if (spec.dtype !== 'float32') {
      // int32 and bool weights are copied as they are.
      chunks.push(files.data.subarray(offset, offset + bytes));
      specs.push(spec);
      offset += bytes;
      continue;
    }
    const values = floatValues(files.data, offset, spec);
    offset += bytes;
    checkFinite(spec.name, values, srcDir);
    if (dtype === 'float16') {
      let maxError = 0;
      let bound = 0;
      const half = encodeHalf(values);
      for (let i = 0; i < values.length; i++) {
        if (Math.abs(values[i]) > HALF_MAX) {
          throw new ModelOpsError(
            'optimize-unsupported',
            `Weight '${spec.name}' holds ${values[i]}, beyond float16's largest value ${HALF_MAX}.`,
            'Quantise with --dtype uint8, which scales each tensor to its own range.',
          );
        }
        maxError = Math.max(maxError, Math.abs(fromHalfBits(half[i]) - values[i]));
        bound = Math.max(bound, halfErrorBound(values[i]));
      }
      chunks.push(new Uint8Array(half.buffer));
      specs.push({ ...spec, quantization: { dtype: 'float16' } });
      weights.push({ name: spec.name, elements: values.length, maxError, bound });
    } else {
      const { q, scale, min, maxError } = quantizeUint8(values);
      chunks.push(q);
      specs.push({ ...spec, quantization: { dtype: 'uint8', scale, min } });
      // Half a step, plus float32 rounding of q · scale + min.
      weights.push({
        name: spec.name,
        elements: values.length,
        maxError,
        bound: scale / 2 + 255 * scale * 2 ** -15 + Math.abs(min) * 2 ** -23,
        scale,
        min,
      });
    }
  }
  const data = concat(chunks);
  await writeTfjsFiles(outDir, srcDir, { modelJson: files.modelJson, specs, data }, files.compressed);
  return { dtype, weights, bytesBefore: files.data.byteLength, bytesAfter: data.byteLength };
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
