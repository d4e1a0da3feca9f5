/**
 * Two-sample Kolmogorov–Smirnov test, two-sided, with the p-value computed exactly as
 * scipy.stats.ks_2samp(method='auto') does: the exact distribution when both samples have at
 * most 10,000 values (falling back to the asymptotic path when the exact sum fails), otherwise
 * kstwo.sf(D, round(n1·n2/(n1+n2))).
 *
 * Monitoring calls it for every numeric feature of every window with the same reference sample
 * and the same window size, so two costs are avoided without changing any result: a sample that
 * is already sorted (the reference's, the window's) is not copied and sorted again, and the exact
 * p-value — a lattice-path sum of O(max(n1, n2) · band) that is most of the test's time — is a
 * function of (n1, n2, h) only (h = D·lcm(n1, n2), an integer), so it is remembered for the
 * latest EXACT_CACHE_SIZE triples.
 */
import { kolmogn } from './kolmogorov';

export interface KsResult {
  /** Largest distance between the two empirical CDFs. */
  statistic: number;
  pValue: number;
  method: 'exact' | 'asymp';
}

const MAX_AUTO_N = 10000;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** The values sorted ascending: the input itself when it is a Float64Array already in order (it is only read). */
function sorted(values: ArrayLike<number>): Float64Array {
  if (values instanceof Float64Array && isAscending(values)) return values;
  const out = Float64Array.from(values as ArrayLike<number>);
  out.sort();
  return out;
}

function isAscending(a: Float64Array): boolean {
  // NaN fails every comparison, so an array holding one is sorted (and rejected as before).
  for (let i = 1; i < a.length; i++) if (!(a[i - 1] <= a[i])) return false;
  return a.length === 0 || a[0] === a[0];
}

/** Exact p-values remembered, keyed by "n1,n2,h" (least recently used dropped first). */
export const EXACT_CACHE_SIZE = 4096;
const exactCache = new Map<string, number>();
const exactCounts = { hits: 0, misses: 0 };

/** How often an exact p-value was found remembered (for benchmarks). */
export function ksExactCacheStats(): { size: number; hits: number; misses: number } {
  return { size: exactCache.size, ...exactCounts };
}

/** P(D ≥ h / lcm) for samples of n1 and n2 values, exactly (scipy's two lattice sums). */
function exactPValue(n1: number, n2: number, g: number, h: number): number {
  const key = `${n1},${n2},${h}`;
  const hit = exactCache.get(key);
  if (hit !== undefined) {
    exactCounts.hits++;
    exactCache.delete(key);
    exactCache.set(key, hit);
    return hit;
  }
  exactCounts.misses++;
  const prob = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
  if (exactCache.size >= EXACT_CACHE_SIZE) exactCache.delete(exactCache.keys().next().value as string);
  exactCache.set(key, prob);
  return prob;
}

/** D = sup |F1 − F2| over the pooled sample (ties handled like searchsorted side='right'). */
export function ksStatistic(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let maxPlus = 0;
  let maxMinus = 0;
  while (i < n1 || j < n2) {
    const x = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j];
    while (i < n1 && a[i] <= x) i++;
    while (j < n2 && b[j] <= x) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxPlus) maxPlus = diff;
    if (-diff > maxMinus) maxMinus = -diff;
  }
  return Math.min(1, Math.max(maxPlus, maxMinus));
}

/** 2·Σ ... for n1 == n2 (scipy `_compute_prob_outside_square`). */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
    k -= 1;
  }
  return 2 * P;
}

/** 1 − proportion of lattice paths strictly inside the band (scipy `_compute_outer_prob_inside_method`). */
function outerProbInside(m: number, n: number, g: number, h: number): number {
  if (m < n) [m, n] = [n, m];
  const mg = Math.floor(m / g);
  const ng = Math.floor(n / g);
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  for (let j = minj; j < maxj; j++) A[j] = 0;
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.max(Math.floor((ng * i - h) / mg) + 1, 0);
    minj = Math.min(minj, n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj] * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, Math.min(lenA, maxj - minj + (lastlen - curlen)));
  }
  return A[maxj - minj - 1];
}

/**
 * Two-sided two-sample KS test. Inputs need not be sorted; NaN values must be removed first.
 * Throws when either sample is empty.
 */
export function ks2samp(data1: ArrayLike<number>, data2: ArrayLike<number>): KsResult {
  const a = sorted(data1);
  const b = sorted(data2);
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ks2samp needs two non-empty samples');
  let d = ksStatistic(a, b);
  const g = gcd(n1, n2);
  if (Math.max(n1, n2) <= MAX_AUTO_N) {
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    if (h === 0) return { statistic: d, pValue: 1, method: 'exact' };
    const prob = exactPValue(n1, n2, g, h);
    if (Number.isFinite(prob) && prob >= 0 && prob <= 1) return { statistic: d, pValue: prob, method: 'exact' };
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  const p = kolmogn(roundHalfEven(en), d, false);
  return { statistic: d, pValue: Math.min(1, Math.max(0, p)), method: 'asymp' };
}

/** numpy's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
