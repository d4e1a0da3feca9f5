/**
 * Evaluation metrics with scikit-learn's definitions and conventions:
 * - precision/recall/F1 with zero_division=0 (an undefined ratio counts as 0, silently);
 *   averages over the labels present in y_true or y_pred, as sklearn does without `labels`;
 * - ROC AUC as the trapezoid under the ROC curve (ties share a threshold), binary or
 *   one-vs-rest macro; undefined (null) when a class has no positives or no negatives;
 * - log loss clipped to [eps, 1 − eps] with eps = float64 machine epsilon, rows renormalised;
 * - R² is 1 for a perfect fit of a constant y_true and 0 otherwise (force_finite);
 *   MAPE divides by max(|y|, eps).
 * Typed arrays and single passes keep 1,000,000 rows well under two seconds.
 */

export const FLOAT64_EPS = 2.220446049250313e-16;

export interface ClassScores {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface AveragedScores {
  precision: number;
  recall: number;
  f1: number;
}

export interface ClassificationReport {
  task: 'classification';
  labels: string[];
  rows: number;
  accuracy: number;
  /** Labels present in y_true or y_pred, in label order. */
  perClass: ClassScores[];
  macro: AveragedScores;
  micro: AveragedScores;
  weighted: AveragedScores;
  /** confusion[i][j]: rows with true label i predicted as j (all labels). */
  confusion: number[][];
  rocAuc: number | null;
  logLoss: number | null;
  /** Why a metric is undefined, e.g. "roc_auc: class 'fog' has no positive rows". */
  notes: string[];
}

export interface RegressionReport {
  task: 'regression';
  rows: number;
  mae: number;
  mse: number;
  rmse: number;
  r2: number;
  mape: number;
  notes: string[];
}

export type MetricsReport = ClassificationReport | RegressionReport;

/** Neumaier-compensated sum accumulator: long sums match numpy's pairwise sums closely. */
class Sum {
  private s = 0;
  private c = 0;
  add(x: number): void {
    const t = this.s + x;
    if (Math.abs(this.s) >= Math.abs(x)) this.c += this.s - t + x;
    else this.c += x - t + this.s;
    this.s = t;
  }
  get value(): number {
    return this.s + this.c;
  }
}

function divide(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

/** Index of the largest value in each row of a row-major n × k matrix (first on ties). */
export function argmaxRows(p: ArrayLike<number>, n: number, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let best = 0;
    let bv = p[o];
    for (let j = 1; j < k; j++) {
      const v = p[o + j];
      if (v > bv) {
        bv = v;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}

/**
 * Classification metrics. `yTrue`/`yPred` are label indexes into `labels`; `proba` (optional,
 * row-major n × labels.length, in label order) enables ROC AUC and log loss.
 */
export function classificationMetrics(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number> | null,
  labels: string[],
  proba?: ArrayLike<number> | null,
): ClassificationReport {
  const n = yTrue.length;
  const k = labels.length;
  const pred = yPred ?? (proba ? argmaxRows(proba, n, k) : null);
  if (!pred) throw new Error('classificationMetrics needs predictions or probabilities');
  if (pred.length !== n) throw new Error(`y_true has ${n} rows but y_pred has ${pred.length}`);
  const cm = new Float64Array(k * k);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const t = yTrue[i];
    const p = pred[i];
    cm[t * k + p]++;
    if (t === p) correct++;
  }
  const trueSum = new Float64Array(k);
  const predSum = new Float64Array(k);
  for (let t = 0; t < k; t++) {
    for (let p = 0; p < k; p++) {
      trueSum[t] += cm[t * k + p];
      predSum[p] += cm[t * k + p];
    }
  }
  const perClass: ClassScores[] = [];
  let tpAll = 0;
  let predAll = 0;
  let trueAll = 0;
  const macro = { precision: 0, recall: 0, f1: 0 };
  const weighted = { precision: 0, recall: 0, f1: 0 };
  for (let c = 0; c < k; c++) {
    if (trueSum[c] === 0 && predSum[c] === 0) continue;
    const tp = cm[c * k + c];
    const precision = divide(tp, predSum[c]);
    const recall = divide(tp, trueSum[c]);
    const f1 = divide(2 * tp, trueSum[c] + predSum[c]);
    perClass.push({ label: labels[c], precision, recall, f1, support: trueSum[c] });
    tpAll += tp;
    predAll += predSum[c];
    trueAll += trueSum[c];
    macro.precision += precision;
    macro.recall += recall;
    macro.f1 += f1;
    weighted.precision += precision * trueSum[c];
    weighted.recall += recall * trueSum[c];
    weighted.f1 += f1 * trueSum[c];
  }
  const m = perClass.length;
  const microP = divide(tpAll, predAll);
  const microR = divide(tpAll, trueAll);
  const confusion: number[][] = [];
  for (let t = 0; t < k; t++) confusion.push(Array.from(cm.subarray(t * k, (t + 1) * k)));
  const notes: string[] = [];
  let rocAuc: number | null = null;
  let logLoss: number | null = null;
  if (proba) {
    if (proba.length !== n * k) throw new Error(`probabilities have ${proba.length} values, expected ${n} × ${k}`);
    rocAuc =
      k === 2
        ? binaryAucFromMatrix(yTrue, proba, n, 2, 1, notes, labels)
        : ovrMacroAuc(yTrue, proba, n, k, notes, labels);
    logLoss = n > 0 ? multiclassLogLoss(yTrue, proba, n, k) : null;
  }
  return {
    task: 'classification',
    labels,
    rows: n,
    accuracy: n ? correct / n : 0,
    perClass,
    macro: { precision: divide(macro.precision, m), recall: divide(macro.recall, m), f1: divide(macro.f1, m) },
    micro: { precision: microP, recall: microR, f1: divide(2 * tpAll, trueAll + predAll) },
    weighted: {
      precision: divide(weighted.precision, trueAll),
      recall: divide(weighted.recall, trueAll),
      f1: divide(weighted.f1, trueAll),
    },
    confusion,
    rocAuc,
    logLoss,
    notes,
  };
}

/**
 * Area under the ROC curve of `scores` for the rows where `positive[i]` is true, by the
 * trapezoid rule over thresholds at distinct scores: a tied positive/negative pair counts ½.
 * Positives and negatives are sorted separately (native typed-array sorts) and merged.
 */
export function rocAucBinary(positive: ArrayLike<boolean | number>, scores: ArrayLike<number>): number | null {
  const n = scores.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) if (positive[i]) nPos++;
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(n - nPos);
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    if (positive[i]) pos[a++] = scores[i];
    else neg[b++] = scores[i];
  }
  return aucFromSplit(pos, neg);
}

/**
 * Sorts float64 values ascending in place with an LSD radix sort over their IEEE-754 bits
 * (4 passes of 16 bits): about 4× faster than a comparison sort at a million values.
 * NaN is not expected (scores are finite).
 */
export function sortFloat64(a: Float64Array): Float64Array {
  const n = a.length;
  if (n < 512) return a.sort();
  const words = new Uint32Array(a.buffer, a.byteOffset, n * 2);
  let hi = new Uint32Array(n);
  let lo = new Uint32Array(n);
  // Map to unsigned order: negative → flip all bits, positive → flip the sign bit.
  for (let i = 0; i < n; i++) {
    const h = words[2 * i + 1];
    const l = words[2 * i];
    if (h & 0x80000000) {
      hi[i] = ~h >>> 0;
      lo[i] = ~l >>> 0;
    } else {
      hi[i] = (h | 0x80000000) >>> 0;
      lo[i] = l;
    }
  }
  let hi2 = new Uint32Array(n);
  let lo2 = new Uint32Array(n);
  const counts = new Uint32Array(65536);
  for (let pass = 0; pass < 4; pass++) {
    const src = pass < 2 ? lo : hi;
    const shift = pass % 2 === 0 ? 0 : 16;
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(src[i] >>> shift) & 0xffff]++;
    if (counts[(src[0] >>> shift) & 0xffff] === n) continue; // every key shares this digit
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = counts[d];
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const j = counts[(src[i] >>> shift) & 0xffff]++;
      hi2[j] = hi[i];
      lo2[j] = lo[i];
    }
    [hi, hi2] = [hi2, hi];
    [lo, lo2] = [lo2, lo];
  }
  for (let i = 0; i < n; i++) {
    const h = hi[i];
    if (h & 0x80000000) {
      words[2 * i + 1] = (h & 0x7fffffff) >>> 0;
      words[2 * i] = lo[i];
    } else {
      words[2 * i + 1] = ~h >>> 0;
      words[2 * i] = ~lo[i] >>> 0;
    }
  }
  return a;
}

function aucFromSplit(pos: Float64Array, neg: Float64Array): number | null {
  const P = pos.length;
  const N = neg.length;
  if (P === 0 || N === 0) return null;
  sortFloat64(pos);
  sortFloat64(neg);
  // For each run of equal positive scores: negatives strictly below count 1, equal count ½.
  let below = 0;
  let twiceU = 0;
  let i = 0;
  while (i < P) {
    const s = pos[i];
    let j = i;
    while (j < P && pos[j] === s) j++;
    while (below < N && neg[below] < s) below++;
    let equal = 0;
    while (below + equal < N && neg[below + equal] === s) equal++;
    twiceU += (j - i) * (2 * below + equal);
    i = j;
  }
  return twiceU / 2 / P / N;
}

function binaryAucFromMatrix(
  yTrue: ArrayLike<number>,
  proba: ArrayLike<number>,
  n: number,
  k: number,
  cls: number,
  notes: string[],
  labels: string[],
): number | null {
  let nPos = 0;
  for (let i = 0; i < n; i++) if (yTrue[i] === cls) nPos++;
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(n - nPos);
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    const s = proba[i * k + cls];
    if (yTrue[i] === cls) pos[a++] = s;
    else neg[b++] = s;
  }
  const auc = aucFromSplit(pos, neg);
  if (auc === null) {
    notes.push(
      k === 2
        ? 'roc_auc: only one class is present in y_true, so ROC AUC is not defined'
        : `roc_auc: class '${labels[cls]}' has ${nPos === 0 ? 'no rows' : 'every row'} in y_true, so one-vs-rest ROC AUC is not defined`,
    );
  }
  return auc;
}

function ovrMacroAuc(
  yTrue: ArrayLike<number>,
  proba: ArrayLike<number>,
  n: number,
  k: number,
  notes: string[],
  labels: string[],
): number | null {
  let sum = 0;
  for (let c = 0; c < k; c++) {
    const auc = binaryAucFromMatrix(yTrue, proba, n, k, c, notes, labels);
    if (auc === null) return null;
    sum += auc;
  }
  return sum / k;
}

/** Machine epsilon of float32, what scikit-learn clips float32 probabilities with. */
export const FLOAT32_EPS = 1.1920928955078125e-7;

/**
 * Mean negative log-likelihood of the true class, as scikit-learn ≥ 1.5 computes it: each
 * probability is clipped to [eps, 1 − eps] with eps the machine epsilon of the array's dtype
 * (float32 for a Float32Array, else float64), and rows are NOT renormalised — a model whose rows
 * do not sum to 1 is scored on what it said (scikit-learn ≤ 1.4 divided by the row sum).
 */
export function multiclassLogLoss(yTrue: ArrayLike<number>, proba: ArrayLike<number>, n: number, k: number): number {
  const eps = proba instanceof Float32Array ? FLOAT32_EPS : FLOAT64_EPS;
  const lo = eps;
  const hi = 1 - eps;
  const total = new Sum();
  for (let i = 0; i < n; i++) {
    const t = proba[i * k + yTrue[i]];
    total.add(-Math.log(t < lo ? lo : t > hi ? hi : t));
  }
  return total.value / n;
}

export function regressionMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): RegressionReport {
  const n = yTrue.length;
  if (yPred.length !== n) throw new Error(`y_true has ${n} rows but y_pred has ${yPred.length}`);
  const notes: string[] = [];
  const sy = new Sum();
  for (let i = 0; i < n; i++) sy.add(yTrue[i]);
  const mean = sy.value / n;
  const abs = new Sum();
  const sq = new Sum();
  const tot = new Sum();
  const ape = new Sum();
  for (let i = 0; i < n; i++) {
    const y = yTrue[i];
    const e = y - yPred[i];
    const ae = Math.abs(e);
    abs.add(ae);
    sq.add(e * e);
    const d = y - mean;
    tot.add(d * d);
    const ay = Math.abs(y);
    ape.add(ae / (ay > FLOAT64_EPS ? ay : FLOAT64_EPS));
  }
  const ssRes = sq.value;
  const ssTot = tot.value;
  let r2: number;
  if (ssTot === 0) {
    r2 = ssRes === 0 ? 1 : 0;
    notes.push('r2: y_true is constant, so R² is 1 for a perfect fit and 0 otherwise');
  } else {
    r2 = 1 - ssRes / ssTot;
  }
  return {
    task: 'regression',
    rows: n,
    mae: abs.value / n,
    mse: ssRes / n,
    rmse: Math.sqrt(ssRes / n),
    r2,
    mape: ape.value / n,
    notes,
  };
}

/** The report as the flat metric names of the config (accuracy, f1_macro, …, mae, r2). */
export function flattenMetrics(report: MetricsReport): Record<string, number> {
  if (report.task === 'regression')
    return { mae: report.mae, mse: report.mse, rmse: report.rmse, r2: report.r2, mape: report.mape };
  const out: Record<string, number> = {
    accuracy: report.accuracy,
    precision_macro: report.macro.precision,
    recall_macro: report.macro.recall,
    f1_macro: report.macro.f1,
    precision_micro: report.micro.precision,
    recall_micro: report.micro.recall,
    f1_micro: report.micro.f1,
    precision_weighted: report.weighted.precision,
    recall_weighted: report.weighted.recall,
    f1_weighted: report.weighted.f1,
  };
  if (report.rocAuc !== null) out.roc_auc = report.rocAuc;
  if (report.logLoss !== null) out.log_loss = report.logLoss;
  return out;
}
