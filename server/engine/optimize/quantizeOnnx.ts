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
 * through. Dynamic int8 (MatMulInteger/DynamicQuantizeLinear) is not written here: see
 * docs/optimisation.md.
 */
import { ModelOpsError } from '../errors';
import { encodeHalf } from './half';
import { copyBytes } from './tfjsFiles';
import { ProtoReader, type ProtoRange } from '../runtime/protobuf';

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
}

function readTensor(w: ProtoReader): Tensor {
  const t: Tensor = { name: '', dataType: 0, rest: [], values: null, external: false };
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

/** Rewrites a float32 ONNX model with float16 initializers (see the module comment). */
export function quantizeOnnxFloat16(bytes: Uint8Array, file: string): OnnxQuantizeResult {
  const model = wire(bytes, file);
  const modelParts: Uint8Array[] = [];
  let graphSeen = false;
  const converted: OnnxQuantizeResult['converted'] = [];
  const kept: string[] = [];
  for (const f of model.fields()) {
    if (f.field === 14 && f.payload) {
      const m = model.sub(f.payload);
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
