/**
 * Reads an ONNX file's graph without running it: input and output names, element types and
 * shapes, opsets, producer, ir_version, metadata_props and the operator types used.
 *
 * Why a hand-written protobuf reader and not protobufjs: we need about twenty fields of five
 * messages, and protobufjs would need onnx.proto shipped and compiled at run time (or a 1 MB
 * generated module), would decode every initializer's weights into JS objects, and gives no
 * bound on what junk input costs. This reader walks the wire format once, skips weights as
 * opaque byte ranges, refuses groups, truncated fields and lengths past the end of their
 * message, and caps subgraph nesting — so corrupt or hostile bytes fail fast with a clear error.
 */
import { ModelOpsError } from '../errors';
import type { Datatype, RuntimeTensorSpec } from './types';
import { ProtoReader } from './protobuf';

/** ONNX files this large are refused before parsing (the protobuf format itself stops at 2 GiB). */
export const MAX_ONNX_BYTES = 1024 * 1024 * 1024;
/** Subgraphs (If/Loop/Scan bodies) are read for their operator types up to this depth. */
const MAX_GRAPH_DEPTH = 8;
/** The oldest default-domain opset accepted: ONNX Runtime 1.30 still loads older ones, but opset 13 changed many operators and is what every current exporter writes. */
export const MIN_OPSET = 13;

/** ONNX TensorProto.DataType numbers → names. */
const ELEM_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};

/** Element type names → the Open Inference Protocol datatypes this layer supports. */
const DATATYPES: Record<string, Datatype> = {
  float32: 'FP32',
  float64: 'FP64',
  int64: 'INT64',
  int32: 'INT32',
  bool: 'BOOL',
  string: 'BYTES',
};

export function datatypeOf(elemType: string): Datatype | null {
  return DATATYPES[elemType] ?? null;
}

export type OnnxDim = number | string | null;

/** One graph input or output as declared. */
export interface OnnxValueInfo {
  name: string;
  /** 'tensor', 'sequence' (e.g. ZipMap's list of maps), 'map', 'optional', 'sparse' or 'unknown'. */
  kind: 'tensor' | 'sequence' | 'map' | 'optional' | 'sparse' | 'unknown';
  /** Element type for tensors ('float32', 'int64', 'string', …); for a sequence of maps, 'map(int64,float32)'. */
  elemType: string;
  /** Declared dimensions: numbers, symbolic names (dim_param) or null (unknown); null when the rank is unknown. */
  dims: OnnxDim[] | null;
  /** dims with every symbolic or unknown dimension as -1; null when the rank is unknown. */
  shape: number[] | null;
}

export interface OnnxGraphInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  /** Operator set versions by domain ('' is the default ai.onnx domain). */
  opsets: Record<string, number>;
  metadata: Record<string, string>;
  graphName: string;
  /** Graph inputs that are not initializers (what a caller feeds). */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Operator types used, 'domain:op' outside the default domain, sorted. */
  operators: string[];
}

/** Wire type check of a known field; mismatches mean the bytes are not ONNX. */
function want(wire: number, expected: number, what: string): void {
  if (wire !== expected) throw new WireError(`${what} has the wrong wire type`);
}

class WireError extends Error {}

/**
 * Parses the graph description of an ONNX model held in `bytes`. `file` names it in errors.
 * Throws ModelOpsError('onnx-corrupt') for bytes that are not a well-formed ONNX model.
 */
export function readOnnxGraph(bytes: Uint8Array, file: string): OnnxGraphInfo {
  const corrupt = (why: string): never => {
    throw new ModelOpsError(
      'onnx-corrupt',
      `${file} is not a readable ONNX model: ${why}.`,
      'The file is damaged or truncated, or not ONNX at all; export the model again (torch.onnx.export, skl2onnx, tf2onnx) and register that file.',
    );
  };
  if (bytes.byteLength === 0) corrupt('the file is empty');
  if (bytes.byteLength > MAX_ONNX_BYTES) {
    throw new ModelOpsError(
      'onnx-too-large',
      `${file} is ${(bytes.byteLength / 2 ** 20).toFixed(0)} MB; ONNX models larger than ${MAX_ONNX_BYTES / 2 ** 20} MB are not loaded.`,
      'Make the model smaller (e.g. quantise the exported file to uint8 with onnxruntime.quantization.quantize_dynamic) and register that file; weights stored as ONNX external data are not loaded either (docs/models.md, Limits).',
    );
  }
  try {
    return parseModel(new ProtoReader(bytes, 0, bytes.byteLength, corrupt), corrupt);
  } catch (e) {
    if (e instanceof WireError) return corrupt(e.message);
    throw e;
  }
}

function parseModel(r: ProtoReader, corrupt: (why: string) => never): OnnxGraphInfo {
  const info: OnnxGraphInfo = {
    irVersion: 0,
    producerName: '',
    producerVersion: '',
    opsets: {},
    metadata: {},
    graphName: '',
    inputs: [],
    outputs: [],
    operators: [],
  };
  let graph: { start: number; end: number } | null = null;
  r.each((field, wire) => {
    switch (field) {
      case 1:
        want(wire, 0, 'ir_version');
        info.irVersion = r.int64();
        return true;
      case 2:
        want(wire, 2, 'producer_name');
        info.producerName = r.string();
        return true;
      case 3:
        want(wire, 2, 'producer_version');
        info.producerVersion = r.string();
        return true;
      case 7:
        want(wire, 2, 'graph');
        graph = r.bytes();
        return true;
      case 8: {
        want(wire, 2, 'opset_import');
        const o = r.sub(r.bytes());
        let domain = '';
        let version = 0;
        o.each((f, w) => {
          if (f === 1 && w === 2) domain = o.string();
          else if (f === 2 && w === 0) version = o.int64();
          else return false;
          return true;
        });
        info.opsets[domain === 'ai.onnx' ? '' : domain] = version;
        return true;
      }
      case 14: {
        want(wire, 2, 'metadata_props');
        const m = r.sub(r.bytes());
        let key = '';
        let value = '';
        m.each((f, w) => {
          if (f === 1 && w === 2) key = m.string();
          else if (f === 2 && w === 2) value = m.string();
          else return false;
          return true;
        });
        info.metadata[key] = value;
        return true;
      }
      default:
        return false;
    }
  });
  // Every real ONNX file has an ir_version and a graph; random bytes that happen to parse do not.
  if (info.irVersion <= 0 || info.irVersion > 100) corrupt(`ir_version is ${info.irVersion}`);
  // Assigned inside the callback, which TypeScript's narrowing does not see.
  const graphRange = graph as { start: number; end: number } | null;
  if (graphRange === null) return corrupt('it has no graph');
  const ops = new Set<string>();
  const g = parseGraph(r.sub(graphRange), ops, 0, corrupt);
  info.graphName = g.name;
  info.inputs = g.inputs.filter((i) => !g.initializers.has(i.name));
  info.outputs = g.outputs;
  info.operators = [...ops].sort();
  return info;
}

interface ParsedGraph {
  name: string;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: Set<string>;
}

function parseGraph(r: ProtoReader, ops: Set<string>, depth: number, corrupt: (why: string) => never): ParsedGraph {
  if (depth > MAX_GRAPH_DEPTH) corrupt(`subgraphs are nested more than ${MAX_GRAPH_DEPTH} deep`);
  const g: ParsedGraph = { name: '', inputs: [], outputs: [], initializers: new Set() };
  r.each((field, wire) => {
    switch (field) {
      case 1:
        want(wire, 2, 'node');
        parseNode(r.sub(r.bytes()), ops, depth, corrupt);
        return true;
      case 2:
        want(wire, 2, 'graph name');
        g.name = r.string();
        return true;
      case 5:
        want(wire, 2, 'initializer');
        g.initializers.add(tensorName(r.sub(r.bytes())));
        return true;
      case 15: {
        want(wire, 2, 'sparse_initializer');
        // SparseTensorProto.values (1) is a TensorProto that carries the name.
        const s = r.sub(r.bytes());
        s.each((f, w) => {
          if (f !== 1 || w !== 2) return false;
          g.initializers.add(tensorName(s.sub(s.bytes())));
          return true;
        });
        return true;
      }
      case 11:
        want(wire, 2, 'input');
        g.inputs.push(parseValueInfo(r.sub(r.bytes())));
        return true;
      case 12:
        want(wire, 2, 'output');
        g.outputs.push(parseValueInfo(r.sub(r.bytes())));
        return true;
      default:
        return false;
    }
  });
  return g;
}

function tensorName(r: ProtoReader): string {
  let name = '';
  r.each((f, w) => {
    if (f !== 8 || w !== 2) return false;
    name = r.string();
    return true;
  });
  return name;
}

function parseNode(r: ProtoReader, ops: Set<string>, depth: number, corrupt: (why: string) => never): void {
  let op = '';
  let domain = '';
  r.each((f, w) => {
    if (f === 4 && w === 2) op = r.string();
    else if (f === 7 && w === 2) domain = r.string();
    else if (f === 5 && w === 2) {
      // AttributeProto: g (6) and graphs (11) hold subgraphs whose operators count too.
      const a = r.sub(r.bytes());
      a.each((af, aw) => {
        if ((af === 6 || af === 11) && aw === 2) {
          parseGraph(a.sub(a.bytes()), ops, depth + 1, corrupt);
          return true;
        }
        return false;
      });
    } else return false;
    return true;
  });
  if (op) ops.add(domain && domain !== 'ai.onnx' ? `${domain}:${op}` : op);
}

function parseValueInfo(r: ProtoReader): OnnxValueInfo {
  let name = '';
  let type: Omit<OnnxValueInfo, 'name'> = { kind: 'unknown', elemType: 'unknown', dims: null, shape: null };
  r.each((f, w) => {
    if (f === 1 && w === 2) name = r.string();
    else if (f === 2 && w === 2) type = parseType(r.sub(r.bytes()), 0);
    else return false;
    return true;
  });
  return { name, ...type };
}

function parseType(r: ProtoReader, depth: number): Omit<OnnxValueInfo, 'name'> {
  let out: Omit<OnnxValueInfo, 'name'> = { kind: 'unknown', elemType: 'unknown', dims: null, shape: null };
  if (depth > MAX_GRAPH_DEPTH) return out;
  r.each((f, w) => {
    if (w !== 2) return false;
    if (f === 1 || f === 8) {
      // Tensor (1) or SparseTensor (8): elem_type (1), shape (2).
      const t = r.sub(r.bytes());
      let elem = 0;
      let dims: OnnxDim[] | null = null;
      t.each((tf, tw) => {
        if (tf === 1 && tw === 0) elem = t.varint();
        else if (tf === 2 && tw === 2) dims = parseShape(t.sub(t.bytes()));
        else return false;
        return true;
      });
      const d = dims as OnnxDim[] | null;
      out = {
        kind: f === 1 ? 'tensor' : 'sparse',
        elemType: ELEM_TYPES[elem] ?? `type ${elem}`,
        dims: d,
        shape: d ? d.map((x) => (typeof x === 'number' ? x : -1)) : null,
      };
    } else if (f === 4 || f === 9) {
      // Sequence (4) or Optional (9): elem_type (1) is a TypeProto.
      const s = r.sub(r.bytes());
      let inner = 'unknown';
      s.each((sf, sw) => {
        if (sf !== 1 || sw !== 2) return false;
        const t = parseType(s.sub(s.bytes()), depth + 1);
        inner = t.kind === 'tensor' ? t.elemType : t.kind === 'map' ? t.elemType : t.kind;
        return true;
      });
      out = { kind: f === 4 ? 'sequence' : 'optional', elemType: inner, dims: null, shape: null };
    } else if (f === 5) {
      // Map: key_type (1, an element type number), value_type (2, a TypeProto).
      const m = r.sub(r.bytes());
      let key = 'unknown';
      let value = 'unknown';
      m.each((mf, mw) => {
        if (mf === 1 && mw === 0) key = ELEM_TYPES[m.varint()] ?? 'unknown';
        else if (mf === 2 && mw === 2) value = parseType(m.sub(m.bytes()), depth + 1).elemType;
        else return false;
        return true;
      });
      out = { kind: 'map', elemType: `map(${key},${value})`, dims: null, shape: null };
    } else return false;
    return true;
  });
  return out;
}

function parseShape(r: ProtoReader): OnnxDim[] {
  const dims: OnnxDim[] = [];
  r.each((f, w) => {
    if (f !== 1 || w !== 2) return false;
    const d = r.sub(r.bytes());
    let dim: OnnxDim = null;
    d.each((df, dw) => {
      if (df === 1 && dw === 0) {
        const v = d.int64();
        dim = v >= 0 ? v : null;
      } else if (df === 2 && dw === 2) dim = d.string() || null;
      else return false;
      return true;
    });
    dims.push(dim);
    return true;
  });
  return dims;
}

/** A value's declared type for messages: "float32 [batch, 4]". */
export function describeValue(v: OnnxValueInfo): string {
  if (v.kind !== 'tensor') return `${v.kind} of ${v.elemType}`;
  return `${v.elemType} [${v.dims ? v.dims.map((d) => (d === null ? '?' : String(d))).join(', ') : '…'}]`;
}

/** The tensor spec of a graph value (datatype and shape, batch as -1), or null for non-tensors or unsupported element types. */
export function tensorSpecOf(v: OnnxValueInfo): RuntimeTensorSpec | null {
  const datatype = datatypeOf(v.elemType);
  if (v.kind !== 'tensor' || !datatype || !v.shape) return null;
  return { name: v.name, datatype, shape: v.shape };
}

/**
 * Checks what every consumer relies on: a default-domain opset ≥ 13, at least one input and
 * one output, and no dynamic dimension other than the first (batch) in any input.
 */
export function checkGraph(info: OnnxGraphInfo, file: string): void {
  const opset = info.opsets[''];
  if (opset === undefined) {
    throw new ModelOpsError(
      'onnx-opset',
      `${file} imports no default-domain (ai.onnx) opset.`,
      'Export it with opset 13 or newer (torch.onnx.export(..., opset_version=17); skl2onnx target_opset=17).',
    );
  }
  if (opset < MIN_OPSET) {
    throw new ModelOpsError(
      'onnx-opset',
      `${file} uses opset ${opset}; ModelOps needs opset ${MIN_OPSET} or newer.`,
      `Export it again with a newer opset (torch.onnx.export(..., opset_version=17); skl2onnx target_opset=17), or convert it with onnx.version_converter.convert_version(model, 17).`,
    );
  }
  if (info.inputs.length === 0)
    throw new ModelOpsError(
      'onnx-signature',
      `${file} has no graph inputs (every input is an initializer).`,
      'Export the model with its feature input(s) as graph inputs.',
    );
  if (info.outputs.length === 0)
    throw new ModelOpsError(
      'onnx-signature',
      `${file} has no graph outputs.`,
      'Export the model with its prediction output(s).',
    );
  for (const v of info.inputs) checkDims(v, 'input', file);
}

/** Refuses unknown rank and dynamic non-batch dimensions in a graph value. */
export function checkDims(v: OnnxValueInfo, role: 'input' | 'output', file: string): void {
  if (v.kind !== 'tensor') return;
  if (!v.dims || v.dims.length === 0) {
    if (v.dims && v.dims.length === 0) return;
    throw new ModelOpsError(
      'onnx-shape',
      `${file}: ${role} '${v.name}' has no declared shape.`,
      'Export the model with static shapes except the batch dimension (torch.onnx.export dynamic_axes={name: {0: "batch"}}).',
    );
  }
  for (let i = 1; i < v.dims.length; i++) {
    if (typeof v.dims[i] !== 'number') {
      throw new ModelOpsError(
        'onnx-dynamic-dim',
        `${file}: ${role} '${v.name}' is ${describeValue(v)}: dimension ${i} is dynamic; only the first (batch) dimension may be.`,
        'Export the model with static shapes except the batch dimension (torch.onnx.export dynamic_axes={name: {0: "batch"}}).',
      );
    }
  }
}
