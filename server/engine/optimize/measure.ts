/**
 * What an optimised version is measured by, through the model runtime layer (so TF.js and ONNX
 * are measured alike): the bundle's size on disk, the time to load it, and the median (p50)
 * latency of one prediction call at batch 1 and at batch 256. A parent and its child are measured
 * as a pair (`measurePair`), interleaved, so neither is measured cold.
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

/**
 * A parent and its child measured alike: a throwaway pass of each (the first load in a process
 * initialises the backend and compiles the code both share, which made whichever went first look
 * several times slower), then rounds in A B B A order, so a drift of the machine's speed hits both
 * alike; each figure is the median of its rounds.
 */
export async function measurePair(
  parentDir: string,
  childDir: string,
  options: MeasureOptions,
): Promise<[parent: Measurement, child: Measurement]> {
  const per = { ...options, repeats: Math.max(5, Math.round((options.repeats ?? 30) / 2)) };
  // Each side once untimed: the child may take code paths of its own (decoding quantised weights).
  for (const dir of [parentDir, childDir]) await measureBundle(dir, { ...per, repeats: 5 });
  const runs: [Measurement[], Measurement[]] = [[], []];
  for (const side of [0, 1, 1, 0, 0, 1] as const) {
    if (options.signal?.aborted) break;
    runs[side].push(await measureBundle(side === 0 ? parentDir : childDir, per));
  }
  return [medianOf(runs[0]), medianOf(runs[1])];
}

function medianOf(ms: Measurement[]): Measurement {
  const of = (k: keyof Measurement) => (ms.length ? median(ms.map((m) => m[k])) : Number.NaN);
  return {
    size_bytes: of('size_bytes'),
    load_ms: round(of('load_ms')),
    latency_p50_ms_b1: round(of('latency_p50_ms_b1')),
    latency_p50_ms_b256: round(of('latency_p50_ms_b256')),
  };
}

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
