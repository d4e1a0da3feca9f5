/**
 * Confidence-based performance estimation (CBPE, as NannyML defines it): a classifier's
 * accuracy and macro F1 per window, estimated from its (calibrated) class probabilities,
 * before any true label arrives.
 *
 *  - Expected accuracy of a window = mean over rows of the calibrated probability of the
 *    predicted class (the max-class probability when the model predicts the arg-max).
 *  - Expected F1 per class c (one-vs-rest) from the expected confusion matrix:
 *    TP = Σ_{pred=c} p_c, FP = Σ_{pred=c} (1 − p_c), FN = Σ_{pred≠c} p_c; macro F1 = mean.
 *  - Calibration is checked on the reference period's labelled rows (expected calibration
 *    error of the predicted class's probability, 10 equal-width bins). When the error is beyond
 *    what sampling noise explains, each class's probability is recalibrated one-vs-rest with
 *    isotonic regression fitted on those rows, then rows are renormalised to sum 1 (as NannyML).
 *    When the reference windows have fewer than MIN_CALIBRATION_ROWS labelled rows (labels come
 *    late) and the version recorded its test split at training (ReferenceProfile.evaluation),
 *    that split is the reference instead: NannyML's own choice of reference period.
 *
 * Assumptions (NannyML's): no concept shift (P(y | x) is the same as in the reference) and
 * probabilities that are calibrated on the reference, or made so. Covariate shift is fine.
 */

import type { EvaluationSample } from '../model/types';
import { argmaxRows } from '../evaluation/metrics';

/** Rows of the reference needed to fit a calibrator; fewer and probabilities are used as they are. */
export const MIN_CALIBRATION_ROWS = 100;
export const ECE_BINS = 10;

/** Isotonic (non-decreasing) regression by pool-adjacent-violators; a step function. */
export class IsotonicCalibrator {
  /** Right edges of the steps (x of the last point pooled in each) and their values. */
  private xs: Float64Array;
  private ys: Float64Array;

  constructor(x: ArrayLike<number>, y: ArrayLike<number>) {
    const n = x.length;
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a] - x[b]);
    const val: number[] = [];
    const wt: number[] = [];
    const lo: number[] = [];
    const hi: number[] = [];
    for (const i of order) {
      val.push(y[i]);
      wt.push(1);
      lo.push(x[i]);
      hi.push(x[i]);
      // Pool while the last two blocks decrease.
      while (val.length > 1 && val[val.length - 2] >= val[val.length - 1]) {
        const w = wt[wt.length - 2] + wt[wt.length - 1];
        const v = (val[val.length - 2] * wt[wt.length - 2] + val[val.length - 1] * wt[wt.length - 1]) / w;
        const h = hi[hi.length - 1];
        val.pop();
        wt.pop();
        lo.pop();
        hi.pop();
        val[val.length - 1] = v;
        wt[wt.length - 1] = w;
        hi[hi.length - 1] = h;
      }
    }
    this.xs = Float64Array.from(hi);
    this.ys = Float64Array.from(val);
    // Blocks meet half-way between one block's last x and the next block's first x.
    for (let b = 0; b + 1 < this.xs.length; b++) this.xs[b] = (hi[b] + lo[b + 1]) / 2;
  }

  predict(x: number): number {
    const xs = this.xs;
    if (xs.length === 0) return x;
    let lo = 0;
    let hi = xs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (xs[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return this.ys[lo];
  }
}

export interface ReliabilityBin {
  /** Mean probability of the predicted class in the bin. */
  confidence: number;
  /** Share of the bin's rows predicted right. */
  accuracy: number;
  count: number;
}

export interface CalibrationCheck {
  /**
   * The rows checked: the reference windows' labelled rows, or the version's test split
   * recorded at training when the windows had fewer than MIN_CALIBRATION_ROWS labelled rows.
   */
  source: 'reference windows' | 'test split';
  /** Labelled rows with probabilities in that source. */
  rows: number;
  /** Expected calibration error of the raw probabilities: Σ (n_b/n)·|accuracy_b − confidence_b|. */
  ece: number;
  /**
   * The ECE a perfectly calibrated model would show on these rows from sampling alone,
   * Σ (n_b/n)·√(2/π)·√(c_b(1 − c_b)/n_b): the raw probabilities count as miscalibrated
   * when the ECE exceeds twice this plus 0.01.
   */
  noise: number;
  miscalibrated: boolean;
  /** What the estimates use: the raw probabilities, or isotonic regression per class. */
  method: 'none' | 'isotonic';
  /** Why not calibrated when it was needed (too few rows). */
  note: string | null;
  /** ECE of the calibrated probabilities on the same rows (in-sample), when calibrated. */
  eceAfter: number | null;
  bins: ReliabilityBin[];
}

/** Reliability bins and ECE of the predicted class's probability. */
export function reliability(
  confidence: ArrayLike<number>,
  correct: ArrayLike<number>,
  bins = ECE_BINS,
): { ece: number; noise: number; bins: ReliabilityBin[] } {
  const sumC = new Float64Array(bins);
  const sumA = new Float64Array(bins);
  const cnt = new Float64Array(bins);
  for (let i = 0; i < confidence.length; i++) {
    const c = confidence[i];
    const b = Math.min(bins - 1, Math.max(0, Math.floor(c * bins)));
    sumC[b] += c;
    sumA[b] += correct[i];
    cnt[b]++;
  }
  const n = confidence.length;
  let ece = 0;
  let noise = 0;
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (cnt[b] === 0) continue;
    const c = sumC[b] / cnt[b];
    const a = sumA[b] / cnt[b];
    ece += (cnt[b] / n) * Math.abs(a - c);
    noise += (cnt[b] / n) * Math.sqrt(2 / Math.PI) * Math.sqrt((c * (1 - c)) / cnt[b]);
    out.push({ confidence: c, accuracy: a, count: cnt[b] });
  }
  return { ece, noise, bins: out };
}

/** Per-class calibrators (or none) applied to a row of K probabilities. */
export class Calibration {
  constructor(
    readonly k: number,
    private readonly perClass: IsotonicCalibrator[] | null,
  ) {}

  get calibrated(): boolean {
    return this.perClass !== null;
  }

  /** Writes row i's calibrated, renormalised probabilities into `out`; false when the row has none. */
  row(probs: Float32Array, i: number, out: Float64Array): boolean {
    const k = this.k;
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const p = probs[i * k + c];
      if (p !== p) return false;
      const v = this.perClass ? this.perClass[c].predict(p) : p;
      out[c] = v;
      sum += v;
    }
    if (!(sum > 0)) return false;
    // Raw probabilities are used as they are (they should already sum to 1).
    if (this.perClass) for (let c = 0; c < k; c++) out[c] /= sum;
    return true;
  }
}

/** A recorded test split as rows checkCalibration reads: the predicted class is the arg-max. */
function testSplitRows(
  sample: EvaluationSample,
  k: number,
): { probs: Float32Array; pred: Int32Array; truth: Int32Array } {
  const n = Math.min(sample.rows, sample.truth.length, Math.floor(sample.probabilities.length / k));
  const probs = Float32Array.from(sample.probabilities.slice(0, n * k));
  return { probs, pred: argmaxRows(probs, n, k), truth: Int32Array.from(sample.truth.slice(0, n)) };
}

/** Rows of `[start, end)` with a true label, a predicted class and probabilities. */
function labelledRows(
  probs: Float32Array,
  k: number,
  pred: Int32Array,
  truth: Int32Array,
  start: number,
  end: number,
): number[] {
  const rowsIdx: number[] = [];
  for (let i = start; i < end; i++) {
    if (truth[i] < 0 || pred[i] < 0 || pred[i] >= k) continue;
    if (probs[i * k] !== probs[i * k]) continue;
    rowsIdx.push(i);
  }
  return rowsIdx;
}

/**
 * Checks the calibration of the probabilities on the reference rows `[start, end)` that have
 * a true label — or on `testSplit` when they are fewer than MIN_CALIBRATION_ROWS and the split
 * has more — and returns the calibration the estimates use with its report.
 */
export function checkCalibration(
  probs: Float32Array,
  k: number,
  pred: Int32Array,
  truth: Int32Array,
  start: number,
  end: number,
  testSplit?: EvaluationSample | null,
): { calibration: Calibration; check: CalibrationCheck } {
  let rowsIdx = labelledRows(probs, k, pred, truth, start, end);
  let source: CalibrationCheck['source'] = 'reference windows';
  if (rowsIdx.length < MIN_CALIBRATION_ROWS && testSplit && testSplit.rows > rowsIdx.length) {
    ({ probs, pred, truth } = testSplitRows(testSplit, k));
    rowsIdx = labelledRows(probs, k, pred, truth, 0, pred.length);
    source = 'test split';
  }
  const n = rowsIdx.length;
  const conf = new Float64Array(n);
  const correct = new Float64Array(n);
  rowsIdx.forEach((i, j) => {
    conf[j] = probs[i * k + pred[i]];
    correct[j] = truth[i] === pred[i] ? 1 : 0;
  });
  const raw = reliability(conf, correct);
  const miscalibrated = n > 0 && raw.ece > 2 * raw.noise + 0.01;
  const none = new Calibration(k, null);
  if (!miscalibrated)
    return {
      calibration: none,
      check: {
        source,
        rows: n,
        ece: raw.ece,
        noise: raw.noise,
        miscalibrated,
        method: 'none',
        note: n === 0 ? 'No labelled reference row has probabilities.' : null,
        eceAfter: null,
        bins: raw.bins,
      },
    };
  if (n < MIN_CALIBRATION_ROWS) {
    return {
      calibration: none,
      check: {
        source,
        rows: n,
        ece: raw.ece,
        noise: raw.noise,
        miscalibrated,
        method: 'none',
        note:
          source === 'test split'
            ? `Only ${n} rows in the version's test split (and fewer labelled in the reference windows); at least ${MIN_CALIBRATION_ROWS} are needed to fit a calibrator.`
            : `Only ${n} labelled reference rows${testSplit ? '' : ' and no test split recorded with the version'}; at least ${MIN_CALIBRATION_ROWS} are needed to fit a calibrator.`,
        eceAfter: null,
        bins: raw.bins,
      },
    };
  }
  const perClass: IsotonicCalibrator[] = [];
  for (let c = 0; c < k; c++) {
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    rowsIdx.forEach((i, j) => {
      x[j] = probs[i * k + c];
      y[j] = truth[i] === c ? 1 : 0;
    });
    perClass.push(new IsotonicCalibrator(x, y));
  }
  const calibration = new Calibration(k, perClass);
  const row = new Float64Array(k);
  const after = new Float64Array(n);
  rowsIdx.forEach((i, j) => {
    after[j] = calibration.row(probs, i, row) ? row[pred[i]] : conf[j];
  });
  return {
    calibration,
    check: {
      source,
      rows: n,
      ece: raw.ece,
      noise: raw.noise,
      miscalibrated,
      method: 'isotonic',
      note: null,
      eceAfter: reliability(after, correct).ece,
      bins: raw.bins,
    },
  };
}

export interface CbpeEstimate {
  /** Rows with probabilities behind the estimate. */
  rows: number;
  accuracy: number | null;
  /** Macro F1 over the classes that occur in the expected confusion matrix. */
  f1: number | null;
  /** Standard error of the realised accuracy around the estimate, √(Σ p(1 − p))/n (calibrated). */
  accuracyStdErr: number | null;
}

/** Reusable per-window accumulators (fixed size: K classes). */
export class CbpeScratch {
  readonly row: Float64Array;
  readonly tp: Float64Array;
  readonly predicted: Float64Array;
  readonly mass: Float64Array;
  constructor(readonly k: number) {
    this.row = new Float64Array(k);
    this.tp = new Float64Array(k);
    this.predicted = new Float64Array(k);
    this.mass = new Float64Array(k);
  }
}

/** CBPE of rows `[start, end)`. */
export function estimateWindow(
  probs: Float32Array,
  pred: Int32Array,
  start: number,
  end: number,
  calibration: Calibration,
  s: CbpeScratch,
): CbpeEstimate {
  const k = calibration.k;
  s.tp.fill(0);
  s.predicted.fill(0);
  s.mass.fill(0);
  let rows = 0;
  let acc = 0;
  let variance = 0;
  for (let i = start; i < end; i++) {
    const c = pred[i];
    if (c < 0 || c >= k || !calibration.row(probs, i, s.row)) continue;
    rows++;
    const p = s.row[c];
    acc += p;
    variance += p * (1 - p);
    s.tp[c] += p;
    s.predicted[c]++;
    for (let j = 0; j < k; j++) s.mass[j] += s.row[j];
  }
  if (rows === 0) return { rows, accuracy: null, f1: null, accuracyStdErr: null };
  let f1 = 0;
  let classes = 0;
  for (let c = 0; c < k; c++) {
    const tp = s.tp[c];
    const fp = s.predicted[c] - tp;
    const fn = s.mass[c] - tp;
    const denom = 2 * tp + fp + fn;
    if (denom <= 0) continue;
    f1 += (2 * tp) / denom;
    classes++;
  }
  return { rows, accuracy: acc / rows, f1: classes ? f1 / classes : null, accuracyStdErr: Math.sqrt(variance) / rows };
}

/** Reference rows a live monitor keeps at most while it waits for its reference windows. */
export const MAX_REFERENCE_ROWS = 100_000;

/**
 * The reference period of an incremental (live) monitor: the rows of its first `windows`
 * windows, added one window at a time as each is scored, calibrated once the last is in, then
 * dropped. Calibration and estimates are `checkCalibration` and `estimateWindow` on those rows,
 * as the batch monitor's. Memory is capped at MAX_REFERENCE_ROWS rows: past that, every s-th row
 * of each window is kept (s = ⌈windows·windowSize / MAX_REFERENCE_ROWS⌉).
 */
export class CbpeReference {
  private probs: Float32Array | null;
  private pred: Int32Array | null;
  private truth: Int32Array | null;
  private held = 0;
  /** Rows kept per window. */
  private readonly per: number;
  private readonly stride: number;

  constructor(
    readonly k: number,
    windowSize: number,
    readonly windows: number,
  ) {
    this.stride = Math.max(1, Math.ceil((windows * windowSize) / MAX_REFERENCE_ROWS));
    this.per = Math.ceil(windowSize / this.stride);
    this.probs = new Float32Array(windows * this.per * k);
    this.pred = new Int32Array(windows * this.per);
    this.truth = new Int32Array(windows * this.per);
  }

  get complete(): boolean {
    return this.held >= this.windows;
  }

  /** Adds the window of rows `[start, start + windowSize)` (probabilities K per row, NaN when a row has none). */
  add(probs: Float32Array, pred: Int32Array, truth: Int32Array, start: number): void {
    if (this.complete || !this.probs || !this.pred || !this.truth) return;
    const { k, per, stride } = this;
    const at = this.held * per;
    for (let j = 0; j < per; j++) {
      const i = start + j * stride;
      this.pred[at + j] = pred[i];
      this.truth[at + j] = truth[i];
      this.probs.set(probs.subarray(i * k, (i + 1) * k), (at + j) * k);
    }
    this.held++;
  }

  /**
   * Checks the calibration on the reference's labelled rows (or `testSplit`: see checkCalibration)
   * and estimates each reference window with the calibration the estimates use; the rows are released.
   */
  calibrate(testSplit?: EvaluationSample | null): {
    calibration: Calibration;
    check: CalibrationCheck;
    estimates: CbpeEstimate[];
  } {
    const probs = this.probs ?? new Float32Array(0);
    const pred = this.pred ?? new Int32Array(0);
    const truth = this.truth ?? new Int32Array(0);
    const rows = this.held * this.per;
    const { calibration, check } = checkCalibration(probs, this.k, pred, truth, 0, rows, testSplit);
    const scratch = new CbpeScratch(this.k);
    const estimates: CbpeEstimate[] = [];
    for (let w = 0; w < this.held; w++)
      estimates.push(estimateWindow(probs, pred, w * this.per, (w + 1) * this.per, calibration, scratch));
    this.probs = null;
    this.pred = null;
    this.truth = null;
    return { calibration, check, estimates };
  }
}
