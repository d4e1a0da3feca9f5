/**
 * A compiled forward pass for TF.js layers models that plain TypeScript evaluates exactly:
 * a Sequential stack of Dense (linear, relu, sigmoid, softmax, tanh, elu, selu, softplus — the
 * activations the trainer offers), Dropout (identity at inference), BatchNormalization (its
 * moving statistics) and Activation layers, on rank-2 inputs. The input is the encoded matrix
 * (the runtime's preprocessing already applied), row-major float32.
 *
 * Why: an explanation evaluates millions of rows, and TF.js (wasm backend) took 9.4 s for the
 * 4.1M rows of a 12 → 16 → 1 network (docs/benchmarks.md); these loops take ~1/15 of that. Sums
 * run in float64 and every layer's output is stored as float32, so results stay within float32
 * rounding of TF.js.
 * Nothing here trusts itself: `verifyForward` compares it with TF.js on a probe batch before the
 * runtime uses it (see tfjs.ts), and anything unknown compiles to a reason, not a pass.
 */
import { specBytes, type WeightSpec } from '../optimize/tfjsFiles';

export type ForwardActivation = 'linear' | 'relu' | 'sigmoid' | 'softmax' | 'tanh' | 'elu' | 'selu' | 'softplus';

const ACTIVATIONS: readonly string[] = ['linear', 'relu', 'sigmoid', 'softmax', 'tanh', 'elu', 'selu', 'softplus'];

type Op =
  | {
      kind: 'dense';
      inWidth: number;
      outWidth: number;
      /** outWidth × inWidth, row j = the weights of unit j (the transpose of TF.js's kernel). */
      weights: Float32Array;
      /** Zeros when the layer has no bias. */
      bias: Float32Array;
      activation: ForwardActivation;
    }
  /** Batch normalisation at inference: y = (x − mean) · gamma / √(var + ε) + beta. */
  | { kind: 'batchNorm'; width: number; mean: Float32Array; factor: Float64Array; beta: Float64Array }
  | { kind: 'activation'; width: number; activation: ForwardActivation };

export interface DenseForward {
  inputWidth: number;
  outputWidth: number;
  /** The layers compiled, e.g. ['dense(12→16, relu)', 'dropout', 'dense(16→1, linear)']. */
  layers: string[];
  /** Outputs (n × outputWidth, row-major) of an encoded matrix (n × inputWidth). */
  run(x: Float32Array, n: number): Float32Array;
}

export type Compiled = { ok: true; forward: DenseForward } | { ok: false; reason: string };

/**
 * Float32 values of every float weight in a TF.js weights file, dequantised as tf.io does
 * (uint8/uint16: q · scale + min; float16: exact widening). Other dtypes are left out (no layer
 * compiled here has one); a reason string when the file cannot be read as its manifest says.
 */
export function decodeWeights(specs: readonly WeightSpec[], data: Uint8Array): Map<string, Float32Array> | string {
  const out = new Map<string, Float32Array>();
  let offset = 0;
  for (const spec of specs) {
    let bytes: number;
    try {
      bytes = specBytes(spec);
    } catch {
      return `weight '${spec.name}' has dtype '${spec.quantization?.dtype ?? spec.dtype}'`;
    }
    if (offset + bytes > data.byteLength) return `the weights file ends inside weight '${spec.name}'`;
    // A copy with its own aligned buffer: the offset need not be a multiple of 4.
    const raw = data.slice(offset, offset + bytes).buffer;
    offset += bytes;
    const q = spec.quantization;
    if (spec.dtype !== 'float32') continue;
    if (!q) out.set(spec.name, new Float32Array(raw));
    else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      if (typeof q.scale !== 'number' || typeof q.min !== 'number')
        return `weight '${spec.name}' is ${q.dtype}-quantised without scale and min`;
      const v = q.dtype === 'uint8' ? new Uint8Array(raw) : new Uint16Array(raw);
      const f = new Float32Array(v.length);
      for (let i = 0; i < v.length; i++) f[i] = v[i] * q.scale + q.min;
      out.set(spec.name, f);
    } else if (q.dtype === 'float16') {
      const v = new Uint16Array(raw);
      const f = new Float32Array(v.length);
      for (let i = 0; i < v.length; i++) f[i] = halfToFloat(v[i]);
      out.set(spec.name, f);
    } else return `weight '${spec.name}' is quantised as '${String(q.dtype)}'`;
  }
  return out;
}

/** IEEE 754 binary16 → number (exact). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The layer list of a Sequential topology (model.json's modelTopology), or a reason. */
function sequentialLayers(topology: unknown): Json[] | string {
  let t = topology;
  if (isObject(t) && isObject(t.model_config)) t = t.model_config;
  if (!isObject(t)) return 'model.json has no layers topology';
  if (t.class_name !== 'Sequential') return `the model is a ${String(t.class_name)}, not a Sequential stack`;
  const layers = Array.isArray(t.config) ? t.config : isObject(t.config) ? t.config.layers : undefined;
  if (!Array.isArray(layers) || !layers.every(isObject)) return 'the Sequential model lists no layers';
  return layers;
}

/**
 * Compiles a Sequential topology with its decoded weights for inputs `inputWidth` wide. Returns
 * the reason when any layer, activation, option or weight is not one evaluated here.
 */
export function compileDenseForward(
  topology: unknown,
  weights: ReadonlyMap<string, Float32Array>,
  inputWidth: number,
): Compiled {
  const layers = sequentialLayers(topology);
  if (typeof layers === 'string') return { ok: false, reason: layers };
  const ops: Op[] = [];
  const names: string[] = [];
  let width = inputWidth;
  const no = (reason: string): Compiled => ({ ok: false, reason });
  for (const [i, layer] of layers.entries()) {
    const cls = String(layer.class_name);
    const config = isObject(layer.config) ? layer.config : {};
    const name = String(config.name ?? `layer ${i}`);
    const shape = config.batch_input_shape ?? config.batchInputShape;
    if (Array.isArray(shape) && (shape.length !== 2 || shape[1] !== width))
      return no(`layer '${name}' takes input shape [${shape.join(', ')}], not [null, ${width}]`);
    const weight = (w: string, length: number): Float32Array | string => {
      const v = weights.get(`${name}/${w}`);
      if (!v) return `layer '${name}' has no float weight '${name}/${w}'`;
      if (v.length !== length) return `weight '${name}/${w}' has ${v.length} values, expected ${length}`;
      return v;
    };
    switch (cls) {
      case 'InputLayer':
      case 'Dropout':
        names.push(cls === 'Dropout' ? 'dropout' : 'input');
        continue;
      case 'Activation': {
        const activation = String(config.activation);
        if (!ACTIVATIONS.includes(activation)) return no(`layer '${name}' has activation '${activation}'`);
        ops.push({ kind: 'activation', width, activation: activation as ForwardActivation });
        names.push(activation);
        continue;
      }
      case 'Dense': {
        const units = config.units;
        const activation = String(config.activation ?? 'linear');
        if (typeof units !== 'number' || !Number.isInteger(units) || units < 1)
          return no(`layer '${name}' has units ${String(units)}`);
        if (!ACTIVATIONS.includes(activation)) return no(`layer '${name}' has activation '${activation}'`);
        const kernel = weight('kernel', width * units);
        if (typeof kernel === 'string') return no(kernel);
        let bias: Float32Array = new Float32Array(units);
        if (config.use_bias !== false) {
          const b = weight('bias', units);
          if (typeof b === 'string') return no(b);
          bias = b;
        }
        // TF.js stores the kernel inWidth × units; each unit's weights contiguous suit the dot product.
        const t = new Float32Array(width * units);
        for (let r = 0; r < width; r++) for (let c = 0; c < units; c++) t[c * width + r] = kernel[r * units + c];
        ops.push({
          kind: 'dense',
          inWidth: width,
          outWidth: units,
          weights: t,
          bias,
          activation: activation as ForwardActivation,
        });
        names.push(`dense(${width}→${units}, ${activation})`);
        width = units;
        continue;
      }
      case 'BatchNormalization': {
        const axis = config.axis ?? -1;
        if (axis !== -1 && axis !== 1) return no(`layer '${name}' normalises axis ${String(axis)}`);
        const epsilon = typeof config.epsilon === 'number' ? config.epsilon : 1e-3;
        const mean = weight('moving_mean', width);
        const variance = weight('moving_variance', width);
        const gamma = config.scale === false ? null : weight('gamma', width);
        const beta = config.center === false ? null : weight('beta', width);
        for (const w of [mean, variance, gamma, beta]) if (typeof w === 'string') return no(w);
        const factor = new Float64Array(width);
        const shift = new Float64Array(width);
        for (let c = 0; c < width; c++) {
          factor[c] = (gamma ? (gamma as Float32Array)[c] : 1) / Math.sqrt((variance as Float32Array)[c] + epsilon);
          shift[c] = beta ? (beta as Float32Array)[c] : 0;
        }
        ops.push({ kind: 'batchNorm', width, mean: mean as Float32Array, factor, beta: shift });
        names.push('batchNormalization');
        continue;
      }
      default:
        return no(`layer '${name}' is a ${cls}, which the compiled pass does not evaluate`);
    }
  }
  if (!ops.some((o) => o.kind === 'dense')) return no('the model has no dense layer');
  return { ok: true, forward: makeForward(ops, inputWidth, width, names) };
}

/** Rows per block: every layer's block of outputs stays in the L1/L2 cache. */
const BLOCK = 256;

function makeForward(ops: Op[], inputWidth: number, outputWidth: number, layers: string[]): DenseForward {
  const widest = Math.max(inputWidth, ...ops.map((o) => (o.kind === 'dense' ? o.outWidth : o.width)));
  return {
    inputWidth,
    outputWidth,
    layers,
    run(x: Float32Array, n: number): Float32Array {
      const out = new Float32Array(n * outputWidth);
      const a = new Float32Array(BLOCK * widest);
      const b = new Float32Array(BLOCK * widest);
      for (let r0 = 0; r0 < n; r0 += BLOCK) {
        const m = Math.min(BLOCK, n - r0);
        let src = x;
        let srcOff = r0 * inputWidth;
        for (let k = 0; k < ops.length; k++) {
          const last = k === ops.length - 1;
          const dst = last ? out : src === a ? b : a;
          const dstOff = last ? r0 * outputWidth : 0;
          runOp(ops[k], src, srcOff, dst, dstOff, m);
          src = dst;
          srcOff = dstOff;
        }
        if (ops.length === 0) out.set(x.subarray(r0 * inputWidth, (r0 + m) * inputWidth), r0 * outputWidth);
      }
      return out;
    },
  };
}

function runOp(op: Op, src: Float32Array, so: number, dst: Float32Array, d0: number, m: number): void {
  if (op.kind === 'dense') {
    const { inWidth: k, outWidth, weights: w, bias } = op;
    const relu = op.activation === 'relu';
    for (let r = 0; r < m; r++) {
      const s0 = so + r * k;
      const o0 = d0 + r * outWidth;
      let j = 0;
      // Four units at a time: each input value loaded once for four sums (~3× faster than one).
      for (; j + 3 < outWidth; j += 4) {
        let s1 = bias[j];
        let s2 = bias[j + 1];
        let s3 = bias[j + 2];
        let s4 = bias[j + 3];
        const w1 = j * k;
        const w2 = w1 + k;
        const w3 = w2 + k;
        const w4 = w3 + k;
        for (let i = 0; i < k; i++) {
          const v = src[s0 + i];
          s1 += v * w[w1 + i];
          s2 += v * w[w2 + i];
          s3 += v * w[w3 + i];
          s4 += v * w[w4 + i];
        }
        dst[o0 + j] = relu && s1 < 0 ? 0 : s1;
        dst[o0 + j + 1] = relu && s2 < 0 ? 0 : s2;
        dst[o0 + j + 2] = relu && s3 < 0 ? 0 : s3;
        dst[o0 + j + 3] = relu && s4 < 0 ? 0 : s4;
      }
      for (; j < outWidth; j++) {
        let s = bias[j];
        const w0 = j * k;
        for (let i = 0; i < k; i++) s += src[s0 + i] * w[w0 + i];
        dst[o0 + j] = relu && s < 0 ? 0 : s;
      }
    }
    if (!relu && op.activation !== 'linear') activate(op.activation, dst, d0, m, outWidth);
    return;
  }
  const w = op.width;
  if (op.kind === 'batchNorm') {
    const { mean, factor, beta } = op;
    for (let r = 0; r < m; r++)
      for (let c = 0; c < w; c++) dst[d0 + r * w + c] = (src[so + r * w + c] - mean[c]) * factor[c] + beta[c];
    return;
  }
  dst.set(src.subarray(so, so + m * w), d0);
  activate(op.activation, dst, d0, m, w);
}

const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

/** Applies an activation in place to m rows of width w (softmax per row). */
function activate(act: ForwardActivation, v: Float32Array, o: number, m: number, w: number): void {
  const end = o + m * w;
  switch (act) {
    case 'linear':
      return;
    case 'relu':
      for (let i = o; i < end; i++) if (v[i] < 0) v[i] = 0;
      return;
    case 'sigmoid':
      for (let i = o; i < end; i++) v[i] = 1 / (1 + Math.exp(-v[i]));
      return;
    case 'tanh':
      for (let i = o; i < end; i++) v[i] = Math.tanh(v[i]);
      return;
    case 'elu':
      for (let i = o; i < end; i++) if (v[i] < 0) v[i] = Math.expm1(v[i]);
      return;
    case 'selu':
      for (let i = o; i < end; i++) v[i] = v[i] < 0 ? SELU_SCALE * SELU_ALPHA * Math.expm1(v[i]) : SELU_SCALE * v[i];
      return;
    case 'softplus':
      // log(1 + e^x) without overflow: x + log1p(e^−x) for positive x.
      for (let i = o; i < end; i++) v[i] = v[i] > 0 ? v[i] + Math.log1p(Math.exp(-v[i])) : Math.log1p(Math.exp(v[i]));
      return;
    case 'softmax':
      for (let r = o; r < end; r += w) {
        let max = -Infinity;
        for (let j = 0; j < w; j++) if (v[r + j] > max) max = v[r + j];
        let sum = 0;
        for (let j = 0; j < w; j++) sum += Math.exp(v[r + j] - max);
        for (let j = 0; j < w; j++) v[r + j] = Math.exp(v[r + j] - max) / sum;
      }
      return;
  }
}

export interface Verification {
  ok: boolean;
  /** Largest |compiled − TF.js| over the probe. */
  maxDiff: number;
  /** What it is measured against: VERIFY_TOLERANCE × max(max |TF.js output|, 0.1). */
  tolerance: number;
  rows: number;
}

/** Relative tolerance of the compiled pass against TF.js. */
export const VERIFY_TOLERANCE = 1e-5;

/**
 * Compares the compiled pass with the reference outputs of the same probe (TF.js's). Any NaN
 * on one side only, or a difference above VERIFY_TOLERANCE × the output scale, fails.
 */
export function verifyForward(compiled: Float32Array, reference: Float32Array, rows: number): Verification {
  let scale = 0;
  for (let i = 0; i < reference.length; i++) if (Math.abs(reference[i]) > scale) scale = Math.abs(reference[i]);
  const tolerance = VERIFY_TOLERANCE * Math.max(scale, 0.1);
  let maxDiff = 0;
  let ok = compiled.length === reference.length;
  for (let i = 0; ok && i < reference.length; i++) {
    const a = compiled[i];
    const b = reference[i];
    if (Number.isNaN(a) || Number.isNaN(b)) {
      if (Number.isNaN(a) !== Number.isNaN(b)) ok = false;
      continue;
    }
    const d = Math.abs(a - b);
    if (d > maxDiff) maxDiff = d;
  }
  if (!ok) maxDiff = Infinity;
  return { ok: ok && maxDiff <= tolerance, maxDiff, tolerance, rows };
}

/**
 * The probe a compiled pass is verified on: the caller's first rows (real inputs), then seeded
 * rows spread over [−4, 4] (standardised and one-hot columns live there) and a zero row.
 */
export function probeRows(x: Float32Array, n: number, width: number, real = 256, synthetic = 192): Float32Array {
  const take = Math.min(n, real);
  const p = new Float32Array((take + synthetic + 1) * width);
  p.set(x.subarray(0, take * width));
  let s = 0x9e3779b9;
  for (let i = take * width; i < (take + synthetic) * width; i++) {
    // xorshift32: fixed, so a verification is reproducible.
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    p[i] = ((s >>> 0) / 0xffffffff) * 8 - 4;
  }
  return p;
}
