/**
 * Tree-structured Parzen Estimator (Bergstra et al., 2011), after Optuna's TPESampler in its
 * default independent (univariate) mode:
 * - the first `startupTrials` trials are random;
 * - finished trials are split into good ("below") and bad ("above") by γ(n) = min(⌈0.1·n⌉, 25),
 *   best first; pruned trials always count as bad;
 * - per parameter, l(x) is a Parzen estimator over the good values and g(x) over the bad ones:
 *   numeric: a mixture of truncated Gaussians, one per observation plus a prior at the middle of
 *   the range (σ = range), bandwidths from the distances to the neighbours, clipped to
 *   [range / min(100, 1 + kernels), range] ("magic clip"), weights ramping up for old trials
 *   past 25; in log space for loguniform; ints as a continuous range widened by step/2, rounded;
 *   categorical: each observation a kernel with its mass on its category plus
 *   prior_weight / kernels smoothing on every category, and a uniform prior kernel;
 * - `candidates` values are drawn from l(x) and the one with the largest log l(x) − log g(x) wins.
 */
import type { TuneParamConfig } from '../../config/types';
import { spaceKeys, type ParamValue, type Params } from '../space';
import { drawPrior, trialRandom, type Observation, type SampleRequest, type Sampler } from './types';

export interface TpeOptions {
  /** Random trials before the model is used (n_startup_trials). */
  startupTrials: number;
  /** Candidates drawn from l(x) per parameter (n_ei_candidates). */
  candidates: number;
  priorWeight: number;
}

export const TPE_DEFAULTS: TpeOptions = { startupTrials: 10, candidates: 24, priorWeight: 1 };

/** Optuna's default γ. */
export function gamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/** Optuna's default_weights: flat for the newest 25 observations, a ramp from 1/n for older ones. */
export function defaultWeights(n: number): number[] {
  if (n === 0) return [];
  if (n < 25) return Array.from({ length: n }, () => 1);
  const rampLen = n - 25;
  const ramp = Array.from({ length: rampLen }, (_, i) =>
    rampLen === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (rampLen - 1),
  );
  return [...ramp, ...Array.from({ length: 25 }, () => 1)];
}

/** Splits finished trials into the good γ(n) and the rest, each in trial order. */
export function splitObservations(
  history: readonly Observation[],
  direction: 'minimize' | 'maximize',
): { below: Observation[]; above: Observation[] } {
  const sign = direction === 'maximize' ? -1 : 1;
  const completed = history.filter((o) => o.state === 'completed' && Number.isFinite(o.value));
  const ranked = [...completed].sort((a, b) => sign * (a.value - b.value) || a.number - b.number);
  const k = Math.min(gamma(history.length), ranked.length);
  const good = new Set(ranked.slice(0, k).map((o) => o.number));
  const byNumber = [...history].sort((a, b) => a.number - b.number);
  return { below: byNumber.filter((o) => good.has(o.number)), above: byNumber.filter((o) => !good.has(o.number)) };
}

// ---- numeric Parzen estimator ----

interface Mixture {
  mus: number[];
  sigmas: number[];
  weights: number[];
  low: number;
  high: number;
}

const SQRT2 = Math.SQRT2;
/** erf, Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): enough for kernel normalisers. */
function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}
const phi = (z: number): number => 0.5 * (1 + erf(z / SQRT2));

/** The estimator over `obs` (already in the internal space) on [low, high], with Optuna's bandwidths and prior. */
export function parzen(obs: number[], low: number, high: number, priorWeight: number): Mixture {
  const span = high - low;
  const priorMu = 0.5 * (low + high);
  const withPrior = [...obs, priorMu];
  const order = withPrior.map((_, i) => i).sort((a, b) => withPrior[a] - withPrior[b]);
  const sorted = order.map((i) => withPrior[i]);
  const ends = [low, ...sorted, high];
  const sortedSigmas = sorted.map((_, i) => Math.max(ends[i + 1] - ends[i], ends[i + 2] - ends[i + 1]));
  if (ends.length >= 4) {
    // consider_endpoints=False: the outermost kernels look at their inner neighbour only.
    sortedSigmas[0] = ends[2] - ends[1];
    sortedSigmas[sortedSigmas.length - 1] = ends[ends.length - 2] - ends[ends.length - 3];
  }
  const sigmasAll = new Array<number>(withPrior.length);
  order.forEach((orig, i) => (sigmasAll[orig] = sortedSigmas[i]));
  const minSigma = span / Math.min(100, 1 + obs.length + 1);
  const sigmas = sigmasAll.slice(0, obs.length).map((s) => Math.min(span, Math.max(minSigma, s)));
  const w = defaultWeights(obs.length);
  const weights = [...w, priorWeight];
  const total = weights.reduce((a, b) => a + b, 0);
  return { mus: [...obs, priorMu], sigmas: [...sigmas, span], weights: weights.map((x) => x / total), low, high };
}

/** log of the mixture density at x (each Gaussian truncated to [low, high]). */
export function logPdf(m: Mixture, x: number): number {
  let p = 0;
  for (let k = 0; k < m.mus.length; k++) {
    const s = m.sigmas[k];
    const z = (x - m.mus[k]) / s;
    const mass = Math.max(phi((m.high - m.mus[k]) / s) - phi((m.low - m.mus[k]) / s), 1e-12);
    p += (m.weights[k] * Math.exp(-0.5 * z * z)) / (s * Math.sqrt(2 * Math.PI) * mass);
  }
  return Math.log(Math.max(p, 1e-300));
}

/** Standard normal draw (Box–Muller) from the trial's stream. */
function gauss(rnd: () => number): number {
  const u = Math.max(rnd(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

function pick(weights: number[], rnd: () => number): number {
  let u = rnd();
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  return weights.length - 1;
}

export function drawFrom(m: Mixture, rnd: () => number): number {
  const k = pick(m.weights, rnd);
  // Rejection sampling from the truncated kernel: σ ≤ range and μ inside it keep acceptance high.
  for (let i = 0; i < 100; i++) {
    const x = m.mus[k] + m.sigmas[k] * gauss(rnd);
    if (x >= m.low && x <= m.high) return x;
  }
  return Math.min(m.high, Math.max(m.low, m.mus[k]));
}

/** Internal space of a numeric parameter: log for loguniform, widened by step/2 for ints. */
function numericFrame(p: Exclude<TuneParamConfig, { type: 'choice' }>): {
  low: number;
  high: number;
  to(v: number): number;
  from(x: number): number;
} {
  if (p.type === 'loguniform')
    return {
      low: Math.log(p.low),
      high: Math.log(p.high),
      to: Math.log,
      from: (x) => Math.min(p.high, Math.max(p.low, Math.exp(x))),
    };
  if (p.type === 'int') {
    const step = p.step ?? 1;
    const top = p.low + step * Math.floor((p.high - p.low) / step);
    return {
      low: p.low - step / 2,
      high: top + step / 2,
      to: (v) => v,
      from: (x) => Math.min(top, Math.max(p.low, p.low + step * Math.round((x - p.low) / step))),
    };
  }
  return { low: p.low, high: p.high, to: (v) => v, from: (x) => x };
}

// ---- categorical ----

export function categoricalProbs(obsIdx: number[], nChoices: number, priorWeight: number): number[] {
  const w = [...defaultWeights(obsIdx.length), priorWeight];
  const total = w.reduce((a, b) => a + b, 0);
  const kernels = obsIdx.length + 1;
  const smooth = priorWeight / kernels;
  const probs = new Array<number>(nChoices).fill(0);
  obsIdx.forEach((c, k) => {
    const norm = 1 + nChoices * smooth;
    for (let j = 0; j < nChoices; j++) probs[j] += (w[k] / total) * ((smooth + (j === c ? 1 : 0)) / norm);
  });
  for (let j = 0; j < nChoices; j++) probs[j] += w[obsIdx.length] / total / nChoices;
  return probs;
}

export class TpeSampler implements Sampler {
  readonly name = 'tpe' as const;
  readonly options: TpeOptions;

  constructor(options: Partial<TpeOptions> = {}) {
    this.options = { ...TPE_DEFAULTS, ...options };
  }

  sample(req: SampleRequest): Params {
    const rnd = trialRandom(req.seed, req.number);
    const keys = spaceKeys(req.space);
    const out: Params = {};
    if (req.history.length < this.options.startupTrials || req.history.length === 0) {
      for (const key of keys) out[key] = drawPrior(req.space[key], rnd);
      return out;
    }
    const { below, above } = splitObservations(req.history, req.direction);
    for (const key of keys) out[key] = this.sampleOne(req.space[key], below, above, key, rnd);
    return out;
  }

  private sampleOne(
    p: TuneParamConfig,
    below: Observation[],
    above: Observation[],
    key: string,
    rnd: () => number,
  ): ParamValue {
    const pw = this.options.priorWeight;
    if (p.type === 'choice') {
      const index = (obs: Observation[]) =>
        obs.map((o) => p.values.indexOf(o.params[key] as never)).filter((i) => i >= 0);
      const l = categoricalProbs(index(below), p.values.length, pw);
      const g = categoricalProbs(index(above), p.values.length, pw);
      let best = -1;
      let bestScore = -Infinity;
      for (let i = 0; i < this.options.candidates; i++) {
        const c = pick(l, rnd);
        const score = Math.log(l[c]) - Math.log(g[c]);
        if (score > bestScore) [best, bestScore] = [c, score];
      }
      return p.values[best];
    }
    const f = numericFrame(p);
    const values = (obs: Observation[]) =>
      obs
        .map((o) => o.params[key])
        .filter((v): v is number => typeof v === 'number')
        .map(f.to);
    const l = parzen(values(below), f.low, f.high, pw);
    const g = parzen(values(above), f.low, f.high, pw);
    let best = l.mus[0];
    let bestScore = -Infinity;
    for (let i = 0; i < this.options.candidates; i++) {
      const x = drawFrom(l, rnd);
      const score = logPdf(l, x) - logPdf(g, x);
      if (score > bestScore) [best, bestScore] = [x, score];
    }
    return f.from(best);
  }
}
