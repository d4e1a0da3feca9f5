/**
 * Control limits: μ ± Lσ for individual values, p̄ ± L·√(p̄(1−p̄)/n) for proportions.
 * μ and σ come from a baseline period (the first k points) or are given explicitly.
 */
import { ModelOpsError } from '../errors';
import { zonesAround } from '../../../shared/spc/points';
import type { Baseline, BaselineInfo, ControlLimits, SigmaEstimator, Zones } from '../../../shared/spc/types';

export interface ControlLimitOptions {
  /** L, the width of the limits in σ. Default 3. */
  sigma?: number;
  /** First k points, or an explicit { mean, std }. Default: every point. */
  baseline?: Baseline;
  /** σ of an individuals chart from the baseline: MR̄/1.128 or the sample std. Default `stddev` here (monitoring's default is the config's). */
  estimator?: SigmaEstimator;
}

/** d₂ for moving ranges of two consecutive points (NIST e-Handbook 6.3.2). */
export const D2_MR2 = 1.128;

export const SIGMA_ESTIMATORS: readonly SigmaEstimator[] = ['movingRange', 'stddev'];

export function checkEstimator(estimator: string | undefined): SigmaEstimator {
  if (estimator === undefined) return 'stddev';
  if (estimator !== 'movingRange' && estimator !== 'stddev') {
    throw new ModelOpsError(
      'spc-estimator',
      `The σ estimator ${JSON.stringify(estimator)} does not exist.`,
      'Use movingRange (MR̄/1.128) or stddev (sample standard deviation).',
    );
  }
  return estimator;
}

/** σ from the average moving range of consecutive points: MR̄ / 1.128. */
export function movingRangeStd(values: readonly number[]): number {
  let sum = 0;
  for (let i = 1; i < values.length; i++) sum += Math.abs(values[i] - values[i - 1]);
  return sum / (values.length - 1) / D2_MR2;
}

export function checkSigma(sigma: number): number {
  if (!Number.isFinite(sigma) || sigma <= 0) {
    throw new ModelOpsError(
      'spc-sigma',
      `The control limit width sigma=${sigma} is not a positive number.`,
      'Use a positive number of standard deviations, e.g. sigma: 3.',
    );
  }
  return sigma;
}

export function checkValues(values: readonly number[], what = 'value'): void {
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ModelOpsError(
        'spc-value',
        `Point ${i + 1} has ${what} ${JSON.stringify(v)}, which is not a finite number.`,
        'Give every point a numeric value.',
      );
    }
  });
}

/** Number of baseline points after checking it against the series. */
export function baselineCount(baseline: number, length: number): number {
  if (!Number.isInteger(baseline) || baseline < 2) {
    throw new ModelOpsError(
      'spc-baseline',
      `The baseline of ${baseline} points is not an integer of at least 2.`,
      'A standard deviation needs at least 2 baseline points; use e.g. baseline: 5.',
    );
  }
  if (baseline > length) {
    throw new ModelOpsError(
      'spc-baseline',
      `The baseline asks for the first ${baseline} points but the series has ${length}.`,
      `Use a baseline of at most ${length} points, or wait for more windows.`,
    );
  }
  return baseline;
}

function checkExplicit(b: { mean: number; std: number }, needStd: boolean): void {
  if (!Number.isFinite(b.mean)) {
    throw new ModelOpsError(
      'spc-baseline',
      `The baseline mean ${JSON.stringify(b.mean)} is not a finite number.`,
      'Give the baseline as { mean, std } with numbers.',
    );
  }
  if (needStd && (!Number.isFinite(b.std) || b.std < 0)) {
    throw new ModelOpsError(
      'spc-baseline',
      `The baseline std ${JSON.stringify(b.std)} is not a non-negative number.`,
      'Give the baseline as { mean, std } with std ≥ 0.',
    );
  }
}

export function mean(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Sample standard deviation (n − 1). */
export function sampleStd(values: readonly number[]): number {
  const m = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - m) * (v - m);
  return Math.sqrt(ss / (values.length - 1));
}

export function describeBaseline(baseline: Baseline | undefined, length: number): BaselineInfo {
  if (baseline === undefined) return { kind: 'points', count: length };
  return typeof baseline === 'number' ? { kind: 'points', count: baseline } : { kind: 'explicit' };
}

/** Limits of an individuals chart: μ ± Lσ with σ the sample std (n − 1) or MR̄/1.128 of the baseline. */
export function controlLimits(values: readonly number[], options: ControlLimitOptions = {}): ControlLimits {
  const L = checkSigma(options.sigma ?? 3);
  const estimator = checkEstimator(options.estimator);
  const baseline = options.baseline ?? values.length;
  let mu: number;
  let sd: number;
  if (typeof baseline === 'number') {
    checkValues(values);
    const k = baselineCount(baseline, values.length);
    const base = values.slice(0, k);
    mu = mean(base);
    sd = estimator === 'movingRange' ? movingRangeStd(base) : sampleStd(base);
  } else {
    checkExplicit(baseline, true);
    mu = baseline.mean;
    sd = baseline.std;
  }
  return { mean: mu, std: sd, sigma: L, ucl: mu + L * sd, lcl: mu - L * sd, zones: zonesAround(mu, sd) };
}

export interface ProportionPoint {
  /** The proportion in [0, 1]. */
  value: number;
  /** Number of observations behind it (> 0). */
  n: number;
}

export interface PChartPointLimits {
  std: number;
  ucl: number;
  lcl: number;
  zones: Zones;
}

export interface PChartLimits {
  /** p̄ */
  mean: number;
  sigma: number;
  /** One entry per point, from its own n. UCL/LCL are clipped to [0, 1]; zones are not. */
  points: PChartPointLimits[];
}

/**
 * p-chart: p̄ is the pooled proportion of the baseline (Σ pᵢnᵢ / Σ nᵢ), or the given mean;
 * each point gets p̄ ± L·√(p̄(1−p̄)/nᵢ) from its own nᵢ.
 */
export function pChartLimits(points: readonly ProportionPoint[], options: ControlLimitOptions = {}): PChartLimits {
  const L = checkSigma(options.sigma ?? 3);
  points.forEach((p, i) => {
    if (!Number.isFinite(p.value) || p.value < 0 || p.value > 1) {
      throw new ModelOpsError(
        'spc-value',
        `Point ${i + 1} has proportion ${JSON.stringify(p.value)}, outside [0, 1].`,
        'A p-chart charts proportions such as accuracy; use an individuals chart for other values.',
      );
    }
    if (!Number.isFinite(p.n) || p.n <= 0) {
      throw new ModelOpsError(
        'spc-n',
        `Point ${i + 1} has sample size n=${JSON.stringify(p.n)}.`,
        'Every point of a p-chart needs its window size n > 0.',
      );
    }
  });
  const baseline = options.baseline ?? points.length;
  let pbar: number;
  if (typeof baseline === 'number') {
    const k = baselineCount(baseline, points.length);
    let hits = 0;
    let total = 0;
    for (const p of points.slice(0, k)) {
      hits += p.value * p.n;
      total += p.n;
    }
    pbar = hits / total;
  } else {
    checkExplicit(baseline, false);
    if (baseline.mean < 0 || baseline.mean > 1) {
      throw new ModelOpsError(
        'spc-baseline',
        `The baseline proportion ${baseline.mean} is outside [0, 1].`,
        'Give p̄ as a proportion, e.g. { mean: 0.92 }.',
      );
    }
    pbar = baseline.mean;
  }
  return {
    mean: pbar,
    sigma: L,
    points: points.map((p) => {
      const sd = Math.sqrt((pbar * (1 - pbar)) / p.n);
      return {
        std: sd,
        ucl: Math.min(1, pbar + L * sd),
        lcl: Math.max(0, pbar - L * sd),
        zones: zonesAround(pbar, sd),
      };
    }),
  };
}
