/**
 * Chi-square goodness-of-fit of current category counts against a reference distribution
 * (scipy.stats.chisquare with f_exp = reference proportions × current total). Categories
 * unseen in the reference get the PSI epsilon as their reference proportion, then the
 * proportions are renormalised, so an unseen category raises the statistic instead of making
 * it infinite.
 */
import { PSI_EPSILON, categoryUnion } from './psi';

export interface ChiSquareResult {
  statistic: number;
  pValue: number;
  /** Degrees of freedom: categories − 1. */
  dof: number;
}

export function chiSquareCategorical(
  reference: Record<string, number>,
  current: Record<string, number>,
  epsilon = PSI_EPSILON,
): ChiSquareResult {
  const cats = categoryUnion(reference, current);
  let refTotal = 0;
  let curTotal = 0;
  for (const c of cats) {
    refTotal += reference[c] ?? 0;
    curTotal += current[c] ?? 0;
  }
  const p = cats.map((c) => (refTotal > 0 ? (reference[c] ?? 0) / refTotal : 0) || epsilon);
  const ps = p.reduce((s, x) => s + x, 0);
  let stat = 0;
  cats.forEach((c, i) => {
    const e = (p[i] / ps) * curTotal;
    const o = current[c] ?? 0;
    stat += ((o - e) * (o - e)) / e;
  });
  const dof = cats.length - 1;
  return { statistic: stat, pValue: dof > 0 ? chi2Sf(stat, dof) : NaN, dof };
}

/** Survival function of the chi-square distribution: Q(k/2, x/2). */
export function chi2Sf(x: number, k: number): number {
  if (x <= 0) return 1;
  return gammaQ(k / 2, x / 2);
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = LANCZOS[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised lower incomplete gamma P(a, x). */
export function gammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  return x < a + 1 ? gammaSeries(a, x) : 1 - gammaContinuedFraction(a, x);
}

/** Regularised upper incomplete gamma Q(a, x) = 1 − P(a, x). */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  return x < a + 1 ? 1 - gammaSeries(a, x) : gammaContinuedFraction(a, x);
}

function gammaSeries(a: number, x: number): number {
  let ap = a;
  let sum = 1 / a;
  let del = sum;
  for (let n = 0; n < 10000; n++) {
    ap += 1;
    del *= x / ap;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * 1e-16) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

function gammaContinuedFraction(a: number, x: number): number {
  const FPMIN = 1e-300;
  let b = x + 1 - a;
  let c = 1 / FPMIN;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = b + an / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}
