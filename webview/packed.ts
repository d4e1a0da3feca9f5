/**
 * Number columns of a standalone report, packed: a long array of finite numbers is inlined as
 * `{ "$f64": "<base64 of its little-endian float64 bytes>" }` when that is shorter than its
 * JSON text. Random-looking measurements (0.9134712…) take ~10.7 characters a number instead of
 * ~19 and are decoded without parsing; short decimals such as window sizes stay plain JSON.
 * When anything was packed, the inlined JSON is `{ "$packed": [path, …], "value": … }` so the
 * page unpacks exactly those paths right after JSON.parse and the chart gets ordinary arrays.
 */

/** Arrays shorter than this are never packed: not worth it. */
export const PACK_MIN_LENGTH = 256;

export interface PackedNumbers {
  $f64: string;
}

/** The inlined form when some column was packed: where the packed columns are, and the value. */
export interface PackedValue {
  $packed: Array<Array<string | number>>;
  value: unknown;
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const native = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;
  if (native) return native(text);
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function pack(xs: readonly number[]): PackedNumbers | null {
  const bytes = new Uint8Array(xs.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < xs.length; i++) view.setFloat64(i * 8, xs[i], true);
  const b64 = toBase64(bytes);
  return b64.length + 12 < JSON.stringify(xs).length ? { $f64: b64 } : null;
}

function unpack(p: PackedNumbers): number[] {
  const bytes = fromBase64(p.$f64);
  const n = bytes.length >> 3;
  // Filled by push, so the engine keeps it a packed array of doubles (fast to read).
  const out: number[] = [];
  if (new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f && bytes.byteOffset % 8 === 0) {
    // Little-endian platform (all of today's): read the bytes in place.
    const f = new Float64Array(bytes.buffer, bytes.byteOffset, n);
    for (let i = 0; i < n; i++) out.push(f[i]);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) out.push(view.getFloat64(i * 8, true));
  }
  return out;
}

const isNumberColumn = (x: unknown[]): x is number[] =>
  x.length >= PACK_MIN_LENGTH && x.every((v) => typeof v === 'number' && Number.isFinite(v));

/** `value` with every long number array packed where that is shorter (a copy; `value` is untouched). */
export function packNumberColumns(value: unknown): unknown {
  const paths: Array<Array<string | number>> = [];
  const walk = (v: unknown, path: Array<string | number>): unknown => {
    if (Array.isArray(v)) {
      if (isNumberColumn(v)) {
        const p = pack(v);
        if (p) {
          paths.push(path);
          return p;
        }
        return v;
      }
      return v.map((x, i) => walk(x, [...path, i]));
    }
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, [...path, k]);
      return out;
    }
    return v;
  };
  const packed = walk(value, []);
  return paths.length ? ({ $packed: paths, value: packed } satisfies PackedValue) : value;
}

const isPackedValue = (x: unknown): x is PackedValue =>
  typeof x === 'object' &&
  x !== null &&
  Array.isArray((x as PackedValue).$packed) &&
  'value' in x &&
  Object.keys(x).length === 2;

/** Undoes packNumberColumns on freshly parsed JSON (changed in place); returns the value. */
export function unpackNumberColumns(parsed: unknown): unknown {
  if (!isPackedValue(parsed)) return parsed;
  for (const path of parsed.$packed) {
    if (path.length === 0) return unpack(parsed.value as PackedNumbers);
    let parent = parsed.value as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
    const last = path[path.length - 1];
    parent[last] = unpack(parent[last] as PackedNumbers);
  }
  return parsed.value;
}
