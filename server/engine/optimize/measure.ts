/**
 * What an optimised version is measured by, through the model runtime layer (so TF.js and ONNX
 * are measured alike): the bundle's size on disk, the time to load it, and the median (p50)
 * latency of one prediction call at batch 1 and at batch 256.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadRuntime, type ModelRuntime } from '../runtime';

export interface Measurement {
  size_bytes: number;
  load_ms: number;
  latency_p50_ms_b1: number;
  latency_p50_ms_b256: number;
}

export const MEASUREMENT_KEYS: ReadonlyArray<keyof Measurement> = [
  'size_bytes',
  'load_ms',
  'latency_p50_ms_b1',
  'latency_p50_ms_b256',
];

export interface MeasureOptions {
  /** Raw rows to predict (repeated to fill a batch of 256). */
  rows: ReadonlyArray<Record<string, unknown>>;
  /** Timed calls per batch size after the warm-up (default 30 at batch 1, 15 at batch 256). */
  repeats?: number;
  signal?: AbortSignal;
}

/** Bytes of every file under `dir`. */
export async function bundleBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? await bundleBytes(p) : (await stat(p)).size;
  }
  return total;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Size, load time and p50 latency of the bundle in `dir`. */
export async function measureBundle(dir: string, options: MeasureOptions): Promise<Measurement> {
  const size = await bundleBytes(dir);
  const t0 = performance.now();
  const rt = await loadRuntime(dir);
  const loadMs = performance.now() - t0;
  try {
    const b1 = await latency(rt, options.rows, 1, options.repeats ?? 30, options.signal);
    const b256 = await latency(
      rt,
      options.rows,
      256,
      Math.max(5, Math.round((options.repeats ?? 30) / 2)),
      options.signal,
    );
    return { size_bytes: size, load_ms: round(loadMs), latency_p50_ms_b1: round(b1), latency_p50_ms_b256: round(b256) };
  } finally {
    rt.dispose();
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** p50 of one prediction call over `n` rows: the numeric path (encode once, time predictBatch), else predict. */
async function latency(
  rt: ModelRuntime,
  rows: ReadonlyArray<Record<string, unknown>>,
  n: number,
  repeats: number,
  signal?: AbortSignal,
): Promise<number> {
  if (rows.length === 0) return Number.NaN;
  const batch = Array.from({ length: n }, (_, i) => rows[i % rows.length]);
  let call: () => Promise<unknown>;
  if (rt.encode && rt.predictBatch) {
    const x = rt.encode(batch);
    const run = rt.predictBatch.bind(rt);
    call = () => run(x, n);
  } else call = () => rt.predict(batch);
  // Warm-up: the first calls compile kernels and allocate.
  for (let i = 0; i < 3; i++) await call();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    if (signal?.aborted) break;
    const t = performance.now();
    await call();
    times.push(performance.now() - t);
  }
  return median(times);
}
