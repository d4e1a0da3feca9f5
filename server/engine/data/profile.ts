/**
 * The reference profile of training data: what drift checks compare production inputs to.
 * Numeric columns keep moments, decile edges and a seeded sample; categorical ones keep counts.
 */
import type {
  CategoricalProfile,
  ColumnProfile,
  EvaluationSample,
  FeatureTransform,
  LossSample,
  NumericProfile,
  ReferenceProfile,
} from '../model/types';
import { isMissingValue } from './preprocess';
import { seededRandom } from './split';

export const PROFILE_SAMPLE_SIZE = 2000;

/** Quantile with linear interpolation between order statistics (numpy's default method). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function numericProfile(values: ArrayLike<unknown>, seed: number): NumericProfile {
  const xs: number[] = [];
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number' && Number.isFinite(v)) xs.push(v);
    else if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) xs.push(Number(v));
    else missing++;
  }
  const n = xs.length;
  const sorted = Float64Array.from(xs).sort();
  let mean = 0;
  for (const x of xs) mean += x;
  mean = n ? mean / n : NaN;
  let ss = 0;
  for (const x of xs) ss += (x - mean) * (x - mean);
  const quantiles: number[] = [];
  for (let k = 0; k <= 10; k++) quantiles.push(quantileSorted(sorted, k / 10));
  return {
    kind: 'numeric',
    count: n,
    missing,
    mean,
    std: n ? Math.sqrt(ss / n) : NaN,
    min: n ? sorted[0] : NaN,
    max: n ? sorted[n - 1] : NaN,
    quantiles,
    sample: sampleWithoutReplacement(xs, PROFILE_SAMPLE_SIZE, seed),
  };
}

export function categoricalProfile(values: ArrayLike<unknown>): CategoricalProfile {
  const counts: Record<string, number> = {};
  let missing = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (isMissingValue(v)) {
      missing++;
      continue;
    }
    count++;
    const key = String(v);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return { kind: 'categorical', count, missing, counts };
}

/** Partial Fisher–Yates: k values without replacement, in a seeded order. */
export function sampleWithoutReplacement(xs: readonly number[], k: number, seed: number): number[] {
  if (xs.length <= k) return xs.slice();
  const rnd = seededRandom(seed);
  const a = xs.slice();
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rnd() * (a.length - i));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a.slice(0, k);
}

/** Profiles each feature of the rows and the model's predictions on them. */
export function buildProfile(
  rows: ReadonlyArray<Record<string, unknown>>,
  features: FeatureTransform[],
  predictions: ReadonlyArray<string | number>,
  seed: number,
): ReferenceProfile {
  const out: Record<string, ColumnProfile> = {};
  for (const f of features) {
    const values = rows.map((r) => r[f.name]);
    out[f.name] = f.kind === 'numeric' ? numericProfile(values, seed) : categoricalProfile(values);
  }
  const numericPredictions = predictions.length > 0 && typeof predictions[0] === 'number';
  return {
    rows: rows.length,
    features: out,
    predictions: numericPredictions ? numericProfile(predictions, seed) : categoricalProfile(predictions),
  };
}

/** Test rows an EvaluationSample or LossSample keeps at most (about 60 KB of JSON with five classes). */
export const EVALUATION_SAMPLE_ROWS = 2000;
/** Numbers a sample keeps at most, so a wide model's manifest stays small (fewer rows then). */
export const EVALUATION_SAMPLE_VALUES = 100_000;

/**
 * The rows a sample keeps of those `qualify` accepts, `width` numbers each: every s-th, so at most
 * EVALUATION_SAMPLE_ROWS rows and EVALUATION_SAMPLE_VALUES numbers, evenly spread.
 */
function sampleRows(n: number, qualify: (i: number) => boolean, width: number): number[] {
  const known: number[] = [];
  for (let i = 0; i < n; i++) if (qualify(i)) known.push(i);
  const most = Math.max(1, Math.min(EVALUATION_SAMPLE_ROWS, Math.floor(EVALUATION_SAMPLE_VALUES / width)));
  const stride = Math.max(1, Math.ceil(known.length / most));
  return known.filter((_, j) => j % stride === 0);
}

/**
 * A classifier's test split as CBPE's fallback reference: rows with a known true class (index
 * `truth[i]` in 0…k−1), every s-th row when there are more than EVALUATION_SAMPLE_ROWS (or more
 * than EVALUATION_SAMPLE_VALUES numbers).
 */
export function evaluationSample(
  probabilities: ArrayLike<number>,
  truth: ArrayLike<number>,
  k: number,
): EvaluationSample {
  const out: EvaluationSample = { rows: 0, probabilities: [], truth: [] };
  for (const i of sampleRows(truth.length, (i) => truth[i] >= 0 && truth[i] < k, k + 1)) {
    for (let c = 0; c < k; c++) out.probabilities.push(Math.round(probabilities[i * k + c] * 1e6) / 1e6);
    out.truth.push(truth[i]);
    out.rows++;
  }
  return out;
}

/**
 * A regression model's test split as DLE's fallback reference: each feature's raw value, the
 * prediction and the true value of rows where both are numbers, every s-th row when there are
 * more than EVALUATION_SAMPLE_ROWS (or more than EVALUATION_SAMPLE_VALUES values).
 */
export function lossSample(
  rows: ReadonlyArray<Record<string, unknown>>,
  features: readonly string[],
  predictions: ArrayLike<number>,
  truth: ArrayLike<number>,
): LossSample {
  const out: LossSample = {
    rows: 0,
    inputs: Object.fromEntries(features.map((f) => [f, []])),
    predictions: [],
    truth: [],
  };
  const kept = sampleRows(
    rows.length,
    (i) => Number.isFinite(predictions[i]) && Number.isFinite(truth[i]),
    features.length + 2,
  );
  for (const i of kept) {
    for (const f of features) {
      const v = rows[i][f];
      out.inputs[f].push(typeof v === 'number' || typeof v === 'string' ? v : null);
    }
    out.predictions.push(predictions[i]);
    out.truth.push(truth[i]);
    out.rows++;
  }
  return out;
}
