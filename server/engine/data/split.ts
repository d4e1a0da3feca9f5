/** Seeded train/validation/test split: the same seed and rows give the same split everywhere. */
import { ModelOpsError } from '../errors';

/** mulberry32: a small, fast, well-distributed 32-bit PRNG; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates permutation of 0..n-1 from a seed. */
export function seededPermutation(n: number, seed: number): Uint32Array {
  const rnd = seededRandom(seed);
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export interface SplitFractions {
  train: number;
  validation: number;
  test: number;
  seed: number;
}

export interface SplitResult<T> {
  train: T[];
  validation: T[];
  test: T[];
}

/**
 * Shuffles with the seed and cuts by the fractions. Every part with a non-zero fraction gets
 * at least one row when there are enough rows.
 */
export function splitRows<T>(rows: readonly T[], fractions: SplitFractions): SplitResult<T> {
  const { train, validation, test, seed } = fractions;
  const total = train + validation + test;
  if (Math.abs(total - 1) > 1e-6) {
    throw new ModelOpsError(
      'bad-split',
      `data.split fractions sum to ${total}, not 1.`,
      'Make train + validation + test equal 1.',
    );
  }
  const n = rows.length;
  const perm = seededPermutation(n, seed);
  let nVal = Math.round(n * validation);
  let nTest = Math.round(n * test);
  if (validation > 0 && nVal === 0 && n >= 3) nVal = 1;
  if (test > 0 && nTest === 0 && n >= 3) nTest = 1;
  if (n - nVal - nTest < 1) {
    throw new ModelOpsError(
      'too-few-rows',
      `Only ${n} rows: too few to split into train, validation and test.`,
      'Add rows or give separate validation/test files.',
    );
  }
  const pick = (from: number, to: number) => {
    const out: T[] = new Array(to - from);
    for (let i = from; i < to; i++) out[i - from] = rows[perm[i]];
    return out;
  };
  const nTrain = n - nVal - nTest;
  return { train: pick(0, nTrain), validation: pick(nTrain, nTrain + nVal), test: pick(nTrain + nVal, n) };
}
