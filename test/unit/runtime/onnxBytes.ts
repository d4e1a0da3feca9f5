/**
 * A tiny ONNX writer for tests: enough protobuf to build small models (opset, shapes, dynamic
 * dimensions, initializers, arbitrary operators) whose bytes the tests then feed to the reader
 * and to ONNX Runtime.
 */
type Bytes = number[];

function varint(value: number): Bytes {
  // Negative int64 values are written as 10-byte two's complement, as protobuf does.
  let n = value < 0 ? BigInt.asUintN(64, BigInt(value)) : BigInt(value);
  const out: Bytes = [];
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return out;
}
const key = (field: number, wire: number): Bytes => varint(field * 8 + wire);
const len = (field: number, data: Bytes): Bytes => [...key(field, 2), ...varint(data.length), ...data];
const str = (field: number, s: string): Bytes => len(field, [...Buffer.from(s, 'utf8')]);
const int = (field: number, n: number): Bytes => [...key(field, 0), ...varint(n)];

export const FLOAT = 1;
export const INT64 = 7;
export const STRING = 8;

/** A dimension: a number (dim_value), a string (dim_param) or null (unknown). */
export type Dim = number | string | null;

export function valueInfo(name: string, elemType: number, dims: Dim[]): Bytes {
  const shape = dims.flatMap((d) => len(1, d === null ? [] : typeof d === 'number' ? int(1, d) : str(2, d)));
  const tensorType = [...int(1, elemType), ...len(2, shape)];
  return [...str(1, name), ...len(2, len(1, tensorType))];
}

export function node(op: string, inputs: string[], outputs: string[], domain = ''): Bytes {
  return [
    ...inputs.flatMap((i) => str(1, i)),
    ...outputs.flatMap((o) => str(2, o)),
    ...str(4, op),
    ...(domain ? str(7, domain) : []),
  ];
}

/** A float initializer with packed float_data. */
export function floatInit(name: string, dims: number[], values: number[]): Bytes {
  const data = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => data.writeFloatLE(v, i * 4));
  return [...dims.flatMap((d) => int(1, d)), ...int(2, FLOAT), ...len(4, [...data]), ...str(8, name)];
}

export interface ModelSpec {
  opset?: number;
  irVersion?: number;
  producer?: string;
  inputs: Bytes[];
  outputs: Bytes[];
  nodes: Bytes[];
  initializers?: Bytes[];
  metadata?: Record<string, string>;
}

export function model(spec: ModelSpec): Uint8Array {
  const graph = [
    ...spec.nodes.flatMap((n) => len(1, n)),
    ...str(2, 'test-graph'),
    ...(spec.initializers ?? []).flatMap((t) => len(5, t)),
    ...spec.inputs.flatMap((i) => len(11, i)),
    ...spec.outputs.flatMap((o) => len(12, o)),
  ];
  const bytes = [
    ...int(1, spec.irVersion ?? 8),
    ...str(2, spec.producer ?? 'modelops-test'),
    ...str(3, '1.0'),
    ...len(7, graph),
    ...len(8, [...str(1, ''), ...int(2, spec.opset ?? 17)]),
    ...Object.entries(spec.metadata ?? {}).flatMap(([k, v]) => len(14, [...str(1, k), ...str(2, v)])),
  ];
  return Uint8Array.from(bytes);
}

/** y = x + b over a [batch, 3] float input: a valid model to vary one thing at a time. */
export function addModel(over: Partial<ModelSpec> & { xDims?: Dim[]; op?: string } = {}): Uint8Array {
  return model({
    inputs: [valueInfo('x', FLOAT, over.xDims ?? ['batch', 3]), valueInfo('b', FLOAT, [3])],
    outputs: [valueInfo('y', FLOAT, over.xDims ?? ['batch', 3])],
    nodes: [node(over.op ?? 'Add', ['x', 'b'], ['y'])],
    initializers: [floatInit('b', [3], [1, 2, 3])],
    ...over,
  });
}
