/**
 * Weight-only float16 for ONNX models: each float32 initializer (of at least MIN_ELEMENTS
 * values, and large enough that the 2 bytes saved per value pay for its Cast node) is stored as a FLOAT16 initializer `<name>__fp16`, and a `Cast(to=FLOAT)` node in
 * front of the graph gives the old name back, so no operator changes and every ONNX Runtime
 * build runs it (Runtime folds the casts at load: memory at run time is float32 as before; the
 * file is ~2× smaller).
 *
 * The rewrite is field-preserving: the ModelProto and GraphProto are copied byte for byte
 * except the initializers converted, two added metadata_props and the added Cast nodes, so
 * fields this writer does not know (doc strings, value_info, training info, functions) pass
 * through.
 *
 * Dynamic uint8 (`quantizeOnnxUint8`), as ONNX Runtime's `quantize_dynamic` does for MatMul and
 * Gemm with constant weights: see that function.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join as joinPath } from 'node:path';
import { ModelOpsError } from '../errors';
import { MANIFEST_JSON } from '../model/bundle';
import { encodeHalf } from './half';
import { copyBytes } from './tfjsFiles';
import type { QuantizeDtype } from './quantize';
import { ProtoReader, type ProtoRange } from '../runtime/protobuf';
import { readOnnxGraph } from '../runtime/onnxGraph';
import { ONNX_MODEL_FILE, type OnnxManifest } from '../runtime/types';

/** Initializers smaller than this stay float32: they save nothing and are often normalisation constants. */
export const MIN_ELEMENTS = 16;
export const QUANTIZED_KEY = 'modelops.quantization';
const FLOAT = 1;
const FLOAT16 = 10;
const SUFFIX = '__fp16';

type Range = ProtoRange;

/** A reader over `file`'s bytes whose errors name the file. */
function wire(buf: Uint8Array, file: string): ProtoReader {
  return new ProtoReader(buf, 0, buf.byteLength, (why) => {
    throw new ModelOpsError(
      'onnx-corrupt',
      `${file} is not a readable ONNX model: ${why}.`,
      'Export the model again and register that file.',
    );
  });
}

// ── writer ─────────────────────────────────────────────────────────────
function varint(value: number): number[] {
  const out: number[] = [];
  let n = value;
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}
const tag = (field: number, wire: number) => varint(field * 8 + wire);
function lenField(field: number, payload: Uint8Array): Uint8Array {
  const head = [...tag(field, 2), ...varint(payload.byteLength)];
  const out = new Uint8Array(head.length + payload.byteLength);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}
const strField = (field: number, s: string) => lenField(field, Buffer.from(s, 'utf8'));
const intField = (field: number, n: number) => Uint8Array.from([...tag(field, 0), ...varint(n)]);
function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export interface OnnxQuantizeResult {
  bytes: Uint8Array;
  /** Initializers stored as float16, with their element counts. */
  converted: Array<{ name: string; elements: number }>;
  /** float32 initializers left as they were (too small, or also a graph input). */
  kept: string[];
}

interface Tensor {
  name: string;
  dataType: number;
  /** Bytes of fields other than data_type, float_data, raw_data and name (dims, doc_string, …). */
  rest: Uint8Array[];
  values: Float32Array | null;
  external: boolean;
  dims: number[];
}

function readTensor(w: ProtoReader): Tensor {
  const t: Tensor = { name: '', dataType: 0, rest: [], values: null, external: false, dims: [] };
  let raw: Range | null = null;
  const floats: number[] = [];
  let packed: Range | null = null;
  for (const f of w.fields()) {
    if (f.field === 2 && f.wire === 0) t.dataType = w.varintAt(f.whole);
    else if (f.field === 8 && f.payload) t.name = w.text(f.payload);
    else if (f.field === 9 && f.payload) raw = f.payload;
    else if (f.field === 4 && f.payload) packed = f.payload;
    else if (f.field === 4 && f.wire === 5)
      floats.push(Buffer.from(w.buf.subarray(f.whole.end - 4, f.whole.end)).readFloatLE(0));
    else {
      if (f.field === 14 && f.wire === 0 && w.varintAt(f.whole) === 1) t.external = true;
      if (f.field === 1 && f.wire === 0) t.dims.push(w.varintAt(f.whole));
      if (f.field === 1 && f.payload) t.dims.push(...w.packedVarints(f.payload));
      t.rest.push(w.buf.subarray(f.whole.start, f.whole.end));
    }
  }
  if (t.dataType === FLOAT) {
    const src = raw ?? packed;
    if (src) {
      if ((src.end - src.start) % 4 !== 0)
        w.fail(`initializer '${t.name}' holds ${src.end - src.start} bytes, not a whole number of floats`);
      t.values = new Float32Array(copyBytes(w.buf, src.start, src.end).buffer);
    } else t.values = Float32Array.from(floats);
  }
  return t;
}

/** Refuses a model whose metadata_props entry at `entry` says it was quantised by ModelOps. */
function refuseQuantized(model: ProtoReader, entry: Range, file: string): void {
  const m = model.sub(entry);
  for (const mf of m.fields()) {
    if (mf.field === 1 && mf.payload && m.text(mf.payload) === QUANTIZED_KEY) {
      throw new ModelOpsError(
        'optimize-unsupported',
        `${file} is already quantised (metadata_props ${QUANTIZED_KEY}).`,
        'Quantise its parent, the float32 version, instead.',
      );
    }
  }
}

/** Rewrites a float32 ONNX model with float16 initializers (see the module comment). */
export function quantizeOnnxFloat16(bytes: Uint8Array, file: string): OnnxQuantizeResult {
  // metadata_props come after the graph in most files: refuse a quantised model before reading it.
  for (const f of wire(bytes, file).fields())
    if (f.field === 14 && f.payload) refuseQuantized(wire(bytes, file), f.payload, file);
  const model = wire(bytes, file);
  const modelParts: Uint8Array[] = [];
  let graphSeen = false;
  const converted: OnnxQuantizeResult['converted'] = [];
  const kept: string[] = [];
  for (const f of model.fields()) {
    if (f.field !== 7 || !f.payload) {
      modelParts.push(bytes.subarray(f.whole.start, f.whole.end));
      continue;
    }
    graphSeen = true;
    const g = model.sub(f.payload);
    const inputNames = new Set<string>();
    for (const gf of g.fields()) {
      if (gf.field === 11 && gf.payload) {
        const v = g.sub(gf.payload);
        for (const vf of v.fields()) if (vf.field === 1 && vf.payload) inputNames.add(v.text(vf.payload));
      }
    }
    const g2 = model.sub(f.payload);
    const graphParts: Uint8Array[] = [];
    const casts: Uint8Array[] = [];
    for (const gf of g2.fields()) {
      if (gf.field !== 5 || !gf.payload) {
        graphParts.push(bytes.subarray(gf.whole.start, gf.whole.end));
        continue;
      }
      const t = readTensor(g2.sub(gf.payload));
      if (t.dataType === FLOAT16 && t.name.endsWith(SUFFIX)) {
        throw new ModelOpsError(
          'optimize-unsupported',
          `${file} is already quantised (initializer '${t.name}' is float16).`,
          'Quantise its parent, the float32 version, instead.',
        );
      }
      if (t.dataType !== FLOAT || !t.values || t.external || inputNames.has(t.name) || t.values.length < MIN_ELEMENTS) {
        if (t.dataType === FLOAT) kept.push(t.name);
        graphParts.push(bytes.subarray(gf.whole.start, gf.whole.end));
        continue;
      }
      const name16 = `${t.name}${SUFFIX}`;
      // NodeProto: input (1), output (2), name (3), op_type (4), attribute (5) { name (1), i (3), type (20) = INT (2) }.
      const attr = join([strField(1, 'to'), intField(3, FLOAT), intField(20, 2)]);
      const cast = lenField(
        1,
        join([
          strField(1, name16),
          strField(2, t.name),
          strField(3, `${t.name}__cast`),
          strField(4, 'Cast'),
          lenField(5, attr),
        ]),
      );
      // Worth it only when the 2 bytes saved per value pay for the Cast node and the longer name.
      if (2 * t.values.length <= cast.byteLength + SUFFIX.length) {
        kept.push(t.name);
        graphParts.push(bytes.subarray(gf.whole.start, gf.whole.end));
        continue;
      }
      const half = encodeHalf(t.values);
      graphParts.push(
        lenField(
          5,
          join([...t.rest, intField(2, FLOAT16), strField(8, name16), lenField(9, new Uint8Array(half.buffer))]),
        ),
      );
      casts.push(cast);
      converted.push({ name: t.name, elements: t.values.length });
    }
    if (converted.length === 0) {
      throw new ModelOpsError(
        'optimize-unsupported',
        `${file} has no float32 weights of ${MIN_ELEMENTS} or more values to store as float16${kept.length ? ` (small ones kept: ${kept.slice(0, 5).join(', ')})` : ''}.`,
        'Only float32 models with stored weights (initializers) can be quantised.',
      );
    }
    // The Cast nodes first: nodes must be in topological order, and they only read initializers.
    modelParts.push(lenField(7, join([...casts, ...graphParts])));
  }
  if (!graphSeen) model.fail('it has no graph');
  // metadata_props (14): StringStringEntryProto { key (1), value (2) }.
  modelParts.push(lenField(14, join([strField(1, QUANTIZED_KEY), strField(2, 'float16')])));
  return { bytes: join(modelParts), converted, kept };
}

// ── dynamic uint8 ──────────────────────────────────────────────────────
const UINT8 = 2;
/** DynamicQuantizeLinear is opset 11 (MatMulInteger 10) in the default domain. */
export const UINT8_MIN_OPSET = 11;

/** One MatMul/Gemm weight stored as uint8. */
export interface QuantizedMatMul {
  /** The node rewritten: its name, or its first output's when it has none. */
  node: string;
  op: 'MatMul' | 'Gemm';
  /** The float32 initializer quantised. */
  name: string;
  elements: number;
  /** Output columns (N of its [K, N] form): each has its own scale and zero point. */
  columns: number;
  /** The largest of its columns' scales. */
  scale: number;
  /** Largest |w − (q − zeroPoint) · scale| over the weight: half its column's scale plus float32 rounding. */
  maxError: number;
}

export interface OnnxUint8Result {
  bytes: Uint8Array;
  quantized: QuantizedMatMul[];
  /** MatMul and Gemm nodes left float, and why. */
  skipped: Array<{ node: string; op: string; reason: string }>;
  /** Quantised weights whose float32 initializer stays too, because a float node or a subgraph may read it. */
  keptFloat: string[];
}

/**
 * Asymmetric per-tensor uint8, as ONNX Runtime quantises weights for QUInt8: the range is widened
 * to hold 0 (so 0 — pruned weights, padding — is exact), scale = (max − min) / 255 and
 * zeroPoint = round(−min / scale).
 */
export function quantizeWeightUint8(values: Float32Array): {
  q: Uint8Array;
  scale: number;
  zeroPoint: number;
  maxError: number;
} {
  let lo = 0;
  let hi = 0;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  let scale = Math.fround((hi - lo) / 255);
  if (!(scale > 0)) scale = 1;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  const q = new Uint8Array(values.length);
  let maxError = 0;
  for (let i = 0; i < values.length; i++) {
    q[i] = Math.min(255, Math.max(0, Math.round(values[i] / scale) + zeroPoint));
    maxError = Math.max(maxError, Math.abs((q[i] - zeroPoint) * scale - values[i]));
  }
  return { q, scale, zeroPoint, maxError };
}

/**
 * Per output column of a [K, N] weight (row-major), as ONNX Runtime's per-channel dynamic
 * quantisation: each column its own asymmetric uint8 range (quantizeWeightUint8), so a column of
 * large weights does not coarsen the steps of the others. MatMulInteger takes the N zero points as
 * a vector, and the N scales multiply the output columns.
 */
export function quantizeColumnsUint8(
  values: Float32Array,
  K: number,
  N: number,
): { q: Uint8Array; scales: Float32Array; zeroPoints: Uint8Array; maxError: number } {
  const q = new Uint8Array(values.length);
  const scales = new Float32Array(N);
  const zeroPoints = new Uint8Array(N);
  const column = new Float32Array(K);
  let maxError = 0;
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) column[k] = values[k * N + n];
    const r = quantizeWeightUint8(column);
    for (let k = 0; k < K; k++) q[k * N + n] = r.q[k];
    scales[n] = r.scale;
    zeroPoints[n] = r.zeroPoint;
    maxError = Math.max(maxError, r.maxError);
  }
  return { q, scales, zeroPoints, maxError };
}

interface NodeInfo {
  name: string;
  op: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  floats: Map<string, number>;
  ints: Map<string, number>;
  /** An If/Loop/Scan body: it may read any outer value by name. */
  hasSubgraph: boolean;
}

function readNode(w: ProtoReader): NodeInfo {
  const n: NodeInfo = {
    name: '',
    op: '',
    domain: '',
    inputs: [],
    outputs: [],
    floats: new Map(),
    ints: new Map(),
    hasSubgraph: false,
  };
  for (const f of w.fields()) {
    if (!f.payload) continue;
    if (f.field === 1) n.inputs.push(w.text(f.payload));
    else if (f.field === 2) n.outputs.push(w.text(f.payload));
    else if (f.field === 3) n.name = w.text(f.payload);
    else if (f.field === 4) n.op = w.text(f.payload);
    else if (f.field === 7) n.domain = w.text(f.payload);
    else if (f.field === 5) {
      // AttributeProto: name (1), f (2), i (3), g (6), graphs (11).
      const a = w.sub(f.payload);
      let name = '';
      let float: number | undefined;
      let int: number | undefined;
      for (const af of a.fields()) {
        if (af.field === 1 && af.payload) name = a.text(af.payload);
        else if (af.field === 2 && af.wire === 5) float = a.floatAt(af.whole);
        else if (af.field === 3 && af.wire === 0) {
          const v = a.varintAt(af.whole);
          int = v >= 2 ** 63 ? v - 2 ** 64 : v;
        } else if (af.field === 6 || af.field === 11) n.hasSubgraph = true;
      }
      if (float !== undefined) n.floats.set(name, float);
      if (int !== undefined) n.ints.set(name, int);
    }
  }
  return n;
}

function nodeBytes(op: string, inputs: string[], outputs: string[], name: string, attrs: Uint8Array[] = []) {
  return lenField(
    1,
    join([
      ...inputs.map((i) => strField(1, i)),
      ...outputs.map((o) => strField(2, o)),
      strField(3, name),
      strField(4, op),
      ...attrs.map((a) => lenField(5, a)),
    ]),
  );
}

function tensorBytes(name: string, dataType: number, dims: number[], raw: Uint8Array): Uint8Array {
  return lenField(
    5,
    join([...dims.map((d) => intField(1, d)), intField(2, dataType), strField(8, name), lenField(9, raw)]),
  );
}

const floatRaw = (values: Float32Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);

function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

/**
 * Dynamic uint8 quantisation of MatMul and Gemm nodes whose weight (input B) is a stored float32
 * initializer, as ONNX Runtime's `quantize_dynamic` does:
 *
 *   y = MatMul(x, W)  →  (xq, xs, xz) = DynamicQuantizeLinear(x)
 *                        y = Cast<float>(MatMulInteger(xq, Wq, xz, Wz)) · (xs · Ws)   (+ C for Gemm)
 *
 * Weights are quantised per output column (per channel) to uint8 with a zero point (asymmetric):
 * the zero points go to MatMulInteger as a vector, the scales multiply the output columns. Why uint8 and not
 * int8: DynamicQuantizeLinear only produces uint8, and ONNX Runtime's x86 kernel for uint8 × int8
 * (VPMADDUBSW on AVX2 machines without VNNI) can saturate 16-bit pair sums, which its own docs
 * name as the cause of accuracy drops; uint8 × uint8 has no such path and runs on every CPU build.
 *
 * Gemm: transB is applied to the stored weight, transA with a Transpose node, alpha folds into the
 * weight's scale and beta into a stored C; a Gemm with beta ≠ 1 and a computed C is refused, naming
 * the node. MatMul/Gemm nodes whose weight is computed, shared with a graph input, external,
 * not 2-D, not float32, smaller than MIN_ELEMENTS or not finite stay float and are listed in
 * `skipped`. The activation's range is measured per call over the whole tensor (the batch), so
 * outputs depend slightly on what else is in the batch.
 *
 * The model's default-domain opset must be ≥ 11: raising it would reinterpret every other node
 * under newer operator semantics (Upsample, Clip, Resize, … changed before 11), so older models are
 * refused rather than raised.
 */
export function quantizeOnnxUint8(bytes: Uint8Array, file: string): OnnxUint8Result {
  const model = wire(bytes, file);
  let graph: Range | null = null;
  let opset: number | undefined;
  for (const f of model.fields()) {
    if (f.field === 14 && f.payload) refuseQuantized(model, f.payload, file);
    else if (f.field === 7 && f.payload) graph = f.payload;
    else if (f.field === 8 && f.payload) {
      // OperatorSetIdProto: domain (1), version (2).
      const o = model.sub(f.payload);
      let domain = '';
      let version = 0;
      for (const of of o.fields()) {
        if (of.field === 1 && of.payload) domain = o.text(of.payload);
        else if (of.field === 2 && of.wire === 0) version = o.varintAt(of.whole);
      }
      if (domain === '' || domain === 'ai.onnx') opset = version;
    }
  }
  const graphRange = graph as Range | null;
  if (!graphRange) return model.fail('it has no graph');
  if (opset === undefined || opset < UINT8_MIN_OPSET) {
    throw new ModelOpsError(
      'optimize-unsupported',
      `${file} imports ${opset === undefined ? 'no default-domain opset' : `default-domain opset ${opset}`}; uint8 quantisation needs opset ${UINT8_MIN_OPSET} or newer (DynamicQuantizeLinear).`,
      'Convert the model to a newer opset (onnx.version_converter.convert_version(model, 17)) and register that file, or quantise it with --dtype float16.',
    );
  }

  // Read the graph: nodes in order, initializers by name, graph inputs and outputs.
  const g = model.sub(graphRange);
  const nodes: NodeInfo[] = [];
  const inits = new Map<string, Tensor>();
  const graphInputs = new Set<string>();
  const graphOutputs = new Set<string>();
  const names = new Set<string>();
  const valueName = (r: ProtoReader) => {
    for (const vf of r.fields()) if (vf.field === 1 && vf.payload) return r.text(vf.payload);
    return '';
  };
  for (const gf of g.fields()) {
    if (!gf.payload) continue;
    if (gf.field === 1) nodes.push(readNode(g.sub(gf.payload)));
    else if (gf.field === 5) {
      const t = readTensor(g.sub(gf.payload));
      inits.set(t.name, t);
    } else if (gf.field === 11) graphInputs.add(valueName(g.sub(gf.payload)));
    else if (gf.field === 12) graphOutputs.add(valueName(g.sub(gf.payload)));
  }
  for (const n of nodes) for (const v of [...n.inputs, ...n.outputs]) names.add(v);
  for (const v of [...inits.keys(), ...graphInputs, ...graphOutputs]) names.add(v);
  const fresh = (base: string) => {
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };

  const weightOf = (name: string | undefined): Tensor | string => {
    const t = name ? inits.get(name) : undefined;
    if (!name || !t) return `its weight '${name ?? ''}' is computed at run time, not stored`;
    if (graphInputs.has(name)) return `its weight '${name}' is also a graph input, so a caller may replace it`;
    if (t.external) return `its weight '${name}' is stored as external data`;
    if (t.dataType !== FLOAT || !t.values) return `its weight '${name}' is not float32`;
    if (t.dims.length !== 2) return `its weight '${name}' has ${t.dims.length} dimensions, not 2`;
    if (t.values.length !== t.dims[0] * t.dims[1])
      g.fail(`initializer '${name}' holds ${t.values.length} values for dims [${t.dims.join(', ')}]`);
    if (t.values.length < MIN_ELEMENTS) return `its weight '${name}' has ${t.values.length} values (< ${MIN_ELEMENTS})`;
    if (!t.values.every(Number.isFinite)) return `its weight '${name}' holds a non-finite value`;
    return t;
  };

  const replacements = new Map<number, Uint8Array[]>();
  const newInits: Uint8Array[] = [];
  const quantized: QuantizedMatMul[] = [];
  const skipped: OnnxUint8Result['skipped'] = [];
  /** Initializers that rewritten nodes no longer read (candidates for removal). */
  const consumed = new Set<string>();
  /** Initializers the new nodes read as they are. */
  const stillRead = new Set<string>();
  const weights = new Map<string, { q: string; zp: string; scales: Float32Array }>();
  const scales = new Map<string, string>();
  const dynamic = new Map<string, { q: string; scale: string; zp: string }>();

  nodes.forEach((n, index) => {
    if ((n.op !== 'MatMul' && n.op !== 'Gemm') || (n.domain !== '' && n.domain !== 'ai.onnx')) return;
    const label = n.name || n.outputs[0] || `${n.op} #${index}`;
    const gemm = n.op === 'Gemm';
    const w = weightOf(n.inputs[1]);
    if (typeof w === 'string') {
      skipped.push({ node: label, op: n.op, reason: w });
      return;
    }
    const transA = gemm && (n.ints.get('transA') ?? 0) !== 0;
    const transB = gemm && (n.ints.get('transB') ?? 0) !== 0;
    const alpha = gemm ? (n.floats.get('alpha') ?? 1) : 1;
    const beta = gemm ? (n.floats.get('beta') ?? 1) : 1;
    const c = gemm && n.inputs[2] ? n.inputs[2] : '';
    let bias = '';
    if (c && beta !== 0) {
      if (beta === 1) bias = c;
      else {
        const ct = inits.get(c);
        if (!ct || graphInputs.has(c) || ct.dataType !== FLOAT || !ct.values || ct.external) {
          throw new ModelOpsError(
            'optimize-unsupported',
            `${file}: Gemm node '${label}' has beta = ${beta} and a computed C ('${c}'); uint8 quantisation folds beta only into a stored C.`,
            'Export the model with beta = 1 (torch.nn.Linear does), or quantise it with --dtype float16.',
          );
        }
        bias = fresh(`${c}__beta`);
        newInits.push(tensorBytes(bias, FLOAT, ct.dims, floatRaw(ct.values.map((v) => v * beta))));
        consumed.add(c);
      }
    }
    const out: Uint8Array[] = [];
    let x = n.inputs[0];
    if (transA) {
      const xt = fresh(`${x}__transposed`);
      out.push(nodeBytes('Transpose', [x], [xt], `${label}__transpose_a`));
      x = xt;
    }
    let dq = dynamic.get(x);
    if (!dq) {
      dq = { q: fresh(`${x}__quantized`), scale: fresh(`${x}__scale`), zp: fresh(`${x}__zero_point`) };
      out.push(nodeBytes('DynamicQuantizeLinear', [x], [dq.q, dq.scale, dq.zp], `${label}__quantize_input`));
      dynamic.set(x, dq);
    }
    const wName = w.name;
    const key = `${wName}${transB ? '\u0000T' : ''}`;
    let wq = weights.get(key);
    if (!wq) {
      // MatMulInteger wants B as [K, N]; Gemm with transB stores it [N, K].
      const [rows, cols] = w.dims;
      const values = transB ? transpose(w.values as Float32Array, rows, cols) : (w.values as Float32Array);
      const [K, N] = transB ? [cols, rows] : [rows, cols];
      const r = quantizeColumnsUint8(values, K, N);
      const base = transB ? `${wName}__transposed` : wName;
      wq = { q: fresh(`${base}__quantized`), zp: fresh(`${base}__zero_point`), scales: r.scales };
      newInits.push(tensorBytes(wq.q, UINT8, [K, N], r.q));
      newInits.push(tensorBytes(wq.zp, UINT8, [N], r.zeroPoints));
      weights.set(key, wq);
      quantized.push({
        node: label,
        op: n.op as 'MatMul' | 'Gemm',
        name: wName,
        elements: values.length,
        columns: N,
        scale: r.scales.reduce((a, b) => Math.max(a, b), 0),
        maxError: r.maxError,
      });
    }
    consumed.add(wName);
    const scaleKey = `${key}\u0000${alpha}`;
    let ws = scales.get(scaleKey);
    if (!ws) {
      ws = fresh(`${transB ? `${wName}__transposed` : wName}__scale`);
      newInits.push(tensorBytes(ws, FLOAT, [wq.scales.length], floatRaw(wq.scales.map((v) => v * alpha))));
      scales.set(scaleKey, ws);
    }
    const y = n.outputs[0];
    const yInt = fresh(`${y}__int32`);
    const yFloat = fresh(`${y}__float`);
    const yScale = fresh(`${y}__scale`);
    const yScaled = bias ? fresh(`${y}__scaled`) : y;
    // Cast's `to` (1) as an INT attribute (type 20 = 2).
    const to = join([strField(1, 'to'), intField(3, FLOAT), intField(20, 2)]);
    out.push(nodeBytes('MatMulInteger', [dq.q, wq.q, dq.zp, wq.zp], [yInt], `${label}__matmul_integer`));
    out.push(nodeBytes('Cast', [yInt], [yFloat], `${label}__cast`, [to]));
    out.push(nodeBytes('Mul', [dq.scale, ws], [yScale], `${label}__scale`));
    out.push(nodeBytes('Mul', [yFloat, yScale], [yScaled], `${label}__rescale`));
    if (bias) {
      out.push(nodeBytes('Add', [yScaled, bias], [y], `${label}__bias`));
      if (bias === c) stillRead.add(c);
    }
    replacements.set(index, out);
  });

  if (quantized.length === 0) {
    throw new ModelOpsError(
      'optimize-unsupported',
      `${file} has no MatMul or Gemm node with a stored float32 weight to quantise${skipped.length ? ` (${skipped.map((s) => `${s.op} '${s.node}': ${s.reason}`).join('; ')})` : ''}.`,
      'uint8 quantises MatMul/Gemm weights only; quantise this model with --dtype float16.',
    );
  }

  // A float initializer goes when nothing reads it any more: no float node, graph output or new node.
  // A subgraph may read any outer name, so with subgraphs every one stays.
  const read = new Set<string>([...graphOutputs, ...stillRead]);
  nodes.forEach((n, i) => {
    if (!replacements.has(i)) for (const v of n.inputs) read.add(v);
  });
  const subgraphs = nodes.some((n) => n.hasSubgraph);
  const removed = new Set([...consumed].filter((name) => !subgraphs && !read.has(name)));
  const keptFloat = quantized.map((q) => q.name).filter((name) => !removed.has(name));

  const graphParts: Uint8Array[] = [];
  let nodeIndex = 0;
  const g2 = model.sub(graphRange);
  for (const gf of g2.fields()) {
    if (gf.field === 1 && gf.payload) {
      const r = replacements.get(nodeIndex++);
      if (r) {
        graphParts.push(...r);
        continue;
      }
    } else if (gf.field === 5 && gf.payload && removed.has(readTensor(g2.sub(gf.payload)).name)) continue;
    graphParts.push(bytes.subarray(gf.whole.start, gf.whole.end));
  }
  graphParts.push(...newInits);

  const modelParts: Uint8Array[] = [];
  // A new reader: the first pass consumed `model`.
  for (const f of wire(bytes, file).fields()) {
    modelParts.push(
      f.field === 7 && f.payload ? lenField(7, join(graphParts)) : bytes.subarray(f.whole.start, f.whole.end),
    );
  }
  modelParts.push(lenField(14, join([strField(1, QUANTIZED_KEY), strField(2, 'uint8')])));
  return { bytes: join(modelParts), quantized, skipped, keptFloat };
}

// ── bundles ────────────────────────────────────────────────────────────
export interface OnnxBundleDetails {
  dtype: QuantizeDtype;
  format: 'onnx';
  /** The initializers stored as float16, or the MatMul/Gemm weights stored as uint8. */
  weights: Array<{ name: string; elements: number }>;
  /** Bytes of those weights before (float32) and after (float16; uint8 plus a scale and a zero point per column). */
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * Writes the quantised copy of the ONNX bundle in `parentDir` to `outDir`: model.onnx rewritten,
 * modelops.json's operators and digest updated, every other file copied. Returns what
 * registerOptimized's `produce` returns (notes name the nodes left float).
 */
export async function quantizeOnnxBundle(
  parentDir: string,
  outDir: string,
  dtype: QuantizeDtype,
): Promise<{ details: OnnxBundleDetails; notes: string[] }> {
  const file = joinPath(parentDir, ONNX_MODEL_FILE);
  const bytes = await readFile(file);
  let out: Uint8Array;
  let details: OnnxBundleDetails;
  const notes: string[] = [];
  if (dtype === 'float16') {
    const r = quantizeOnnxFloat16(bytes, file);
    out = r.bytes;
    const before = r.converted.reduce((a, w) => a + 4 * w.elements, 0);
    details = { dtype, format: 'onnx', weights: r.converted, bytesBefore: before, bytesAfter: before / 2 };
  } else {
    const r = quantizeOnnxUint8(bytes, file);
    out = r.bytes;
    const elements = r.quantized.reduce((a, w) => a + w.elements, 0);
    details = {
      dtype,
      format: 'onnx',
      weights: r.quantized,
      bytesBefore: 4 * elements,
      bytesAfter: elements + r.quantized.reduce((a, w) => a + 5 * w.columns, 0),
    };
    notes.push(
      `${r.quantized.length} MatMul/Gemm weights stored as uint8 per output column (dynamic quantisation, MatMulInteger)`,
    );
    for (const s of r.skipped) notes.push(`${s.op} '${s.node}' left float: ${s.reason}`);
    if (r.keptFloat.length) notes.push(`float32 copies kept (also read elsewhere): ${r.keptFloat.join(', ')}`);
  }
  const manifest = JSON.parse(await readFile(joinPath(parentDir, MANIFEST_JSON), 'utf8')) as OnnxManifest;
  const updated: OnnxManifest = {
    ...manifest,
    graph: { ...manifest.graph, operators: readOnnxGraph(out, file).operators },
    modelDigest: createHash('sha256').update(out).digest('hex'),
    createdAt: new Date().toISOString(),
  };
  await mkdir(outDir, { recursive: true });
  for (const name of await readdir(parentDir)) {
    if (name === ONNX_MODEL_FILE || name === MANIFEST_JSON) continue;
    if ((await stat(joinPath(parentDir, name))).isFile())
      await copyFile(joinPath(parentDir, name), joinPath(outDir, name));
  }
  await writeFile(joinPath(outDir, ONNX_MODEL_FILE), out);
  await writeFile(joinPath(outDir, MANIFEST_JSON), JSON.stringify(updated, null, 2));
  return { details, notes };
}
