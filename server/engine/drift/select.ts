/**
 * Which drift test a column gets, as Evidently's default algorithm chooses it (docs-old
 * evidentlyai.com/reference/data-drift-algorithm), and the tests it needs beyond PSI and KS:
 *   reference ≤ 1000 rows: numeric (n_unique > 5) → two-sample KS (drift when p < 0.05);
 *     categorical, or numeric with n_unique ≤ 5 → chi-square (p < 0.05), or the two-proportion
 *     Z-test when n_unique ≤ 2 (p < 0.05);
 *   reference > 1000 rows: numeric → Wasserstein distance normed by the reference's std
 *     (drift when > 0.1); categorical → Jensen–Shannon distance (> 0.1).
 * Tests work on counts over the same bins/categories (expected = reference, actual = window),
 * so the monitor can reuse its per-window buffers.
 */
import { chi2Sf } from './chisquare';
import { PSI_EPSILON } from './psi';

export type DriftTest = 'ks' | 'psi' | 'wasserstein' | 'jensenshannon' | 'chisquare' | 'ztest';
export type DriftTestChoice = 'auto' | DriftTest;

export const DRIFT_TESTS: readonly DriftTestChoice[] = [
  'auto',
  'ks',
  'psi',
  'wasserstein',
  'jensenshannon',
  'chisquare',
];

/** Reference rows above which Evidently switches from hypothesis tests to distances. */
export const SMALL_REFERENCE = 1000;

/** A p-value test flags drift below its threshold; a distance above it. */
export function isPValueTest(test: DriftTest): boolean {
  return test === 'ks' || test === 'chisquare' || test === 'ztest';
}

/** Evidently's default threshold per test (PSI keeps this project's 0.2, "significant"). */
export function defaultThreshold(test: DriftTest): number {
  return isPValueTest(test) ? 0.05 : test === 'psi' ? 0.2 : 0.1;
}

export function isDrifted(test: DriftTest, score: number, pValue: number | null, threshold: number): boolean {
  if (isPValueTest(test)) return pValue !== null && pValue < threshold;
  return score > threshold;
}

/**
 * The test a column gets. `referenceRows` is the number of reference observations, `nUnique`
 * the distinct values seen in the reference. A named test applies where it can: KS and
 * Wasserstein need a numeric column, chi-square and Jensen–Shannon are run on categories (a
 * numeric column then uses its reference bins as categories).
 */
export function chooseDriftTest(
  choice: DriftTestChoice,
  kind: 'numeric' | 'categorical',
  referenceRows: number,
  nUnique: number,
): DriftTest {
  if (choice !== 'auto') {
    if (kind === 'categorical' && (choice === 'ks' || choice === 'wasserstein'))
      return referenceRows <= SMALL_REFERENCE ? 'chisquare' : 'jensenshannon';
    return choice;
  }
  const categorical = kind === 'categorical' || nUnique <= 5;
  if (referenceRows <= SMALL_REFERENCE) {
    if (!categorical) return 'ks';
    return nUnique <= 2 ? 'ztest' : 'chisquare';
  }
  return categorical ? 'jensenshannon' : 'wasserstein';
}

/** Share of each bin, with empty bins at `epsilon` (as Evidently fills zeroes). */
function shares(counts: ArrayLike<number>, epsilon: number): Float64Array {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  const out = new Float64Array(counts.length);
  for (let i = 0; i < counts.length; i++) out[i] = total > 0 ? counts[i] / total || epsilon : epsilon;
  return out;
}

/**
 * Jensen–Shannon distance (scipy.spatial.distance.jensenshannon, natural log): √((KL(p‖m) +
 * KL(q‖m)) / 2) with m the mean of the two normalised distributions. In [0, √ln 2].
 */
export function jensenShannonFromCounts(
  expected: ArrayLike<number>,
  actual: ArrayLike<number>,
  epsilon = PSI_EPSILON,
): number {
  const p = shares(expected, epsilon);
  const q = shares(actual, epsilon);
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p.length; i++) {
    sp += p[i];
    sq += q[i];
  }
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] / sp;
    const b = q[i] / sq;
    const m = (a + b) / 2;
    if (a > 0) js += a * Math.log(a / m);
    if (b > 0) js += b * Math.log(b / m);
  }
  return Math.sqrt(Math.max(0, js / 2));
}

export interface TestResult {
  statistic: number;
  pValue: number;
}

/**
 * Chi-square goodness of fit of the window's counts against the reference's shares
 * (scipy.stats.chisquare, f_exp = reference share × window total; a category unseen in the
 * reference gets the PSI epsilon as its share so it raises the statistic instead of dividing by 0).
 */
export function chiSquareFromCounts(
  expected: ArrayLike<number>,
  actual: ArrayLike<number>,
  epsilon = PSI_EPSILON,
): TestResult {
  const p = shares(expected, epsilon);
  let ps = 0;
  let n = 0;
  for (let i = 0; i < p.length; i++) {
    ps += p[i];
    n += actual[i];
  }
  if (n === 0) return { statistic: NaN, pValue: NaN };
  let stat = 0;
  for (let i = 0; i < p.length; i++) {
    const e = (p[i] / ps) * n;
    const d = actual[i] - e;
    stat += (d * d) / e;
  }
  const dof = p.length - 1;
  return { statistic: stat, pValue: dof > 0 ? chi2Sf(stat, dof) : 1 };
}

/** Standard normal survival function, two-sided: P(|Z| > z). */
export function twoSidedNormalP(z: number): number {
  // The fit is off by ~1e-7 at 0: keep a p-value a probability.
  return Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
}

/** erfc with relative error < 1.2e-7 (Numerical Recipes' Chebyshev fit). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/**
 * Two-proportion Z-test (Evidently's z_stat_test for binary columns): the share of the
 * reference's first category in the reference and in the window, pooled standard error.
 * `statistic` is |z|.
 */
export function zTestFromCounts(expected: ArrayLike<number>, actual: ArrayLike<number>): TestResult {
  let n1 = 0;
  let n2 = 0;
  for (let i = 0; i < expected.length; i++) {
    n1 += expected[i];
    n2 += actual[i];
  }
  if (n1 === 0 || n2 === 0) return { statistic: NaN, pValue: NaN };
  const p1 = expected[0] / n1;
  const p2 = actual[0] / n2;
  const p = (expected[0] + actual[0]) / (n1 + n2);
  const se = Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
  if (se === 0) return { statistic: 0, pValue: 1 };
  const z = (p1 - p2) / se;
  return { statistic: Math.abs(z), pValue: twoSidedNormalP(z) };
}

/** Population standard deviation (numpy's default ddof = 0), as Evidently norms by it. */
export function populationStd(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  const m = s / values.length;
  let ss = 0;
  for (let i = 0; i < values.length; i++) ss += (values[i] - m) * (values[i] - m);
  return Math.sqrt(ss / values.length);
}

/**
 * First Wasserstein distance between two sorted samples (scipy.stats.wasserstein_distance):
 * ∫ |F₁(x) − F₂(x)| dx over the pooled values.
 */
export function wassersteinSorted(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return NaN;
  let i = 0;
  let j = 0;
  let prev = Math.min(a[0], b[0]);
  let w = 0;
  while (i < n1 || j < n2) {
    const x = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j];
    w += Math.abs(i / n1 - j / n2) * (x - prev);
    prev = x;
    while (i < n1 && a[i] <= x) i++;
    while (j < n2 && b[j] <= x) j++;
  }
  return w;
}

/** Wasserstein distance normed by the reference's std (Evidently's `wasserstein`); raw when the std is 0. */
export function wassersteinNormed(refSorted: ArrayLike<number>, winSorted: ArrayLike<number>, refStd: number): number {
  const w = wassersteinSorted(refSorted, winSorted);
  return refStd > 0 ? w / refStd : w;
}

/** Distinct values of a sample (sorted ascending input), up to `limit` + 1. */
export function distinctSorted(sorted: ArrayLike<number>, limit: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < sorted.length && out.length <= limit; i++)
    if (i === 0 || sorted[i] !== sorted[i - 1]) out.push(sorted[i]);
  return out;
}
