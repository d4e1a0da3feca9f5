/**
 * Direct loss estimation (DLE, as NannyML defines it): a regression model's MAE, RMSE or MSE per
 * window, estimated before any true value arrives.
 *
 *  - On the reference period's labelled rows a second model, the loss model, learns the monitored
 *    model's loss per row from the row's features and the model's own prediction: |y − ŷ| for
 *    MAE, (y − ŷ)² for RMSE and MSE.
 *  - A window's estimate is the mean of the loss model's predictions over its rows (no label
 *    needed); RMSE is the square root of the mean predicted squared error.
 *
 * Assumptions (NannyML's): no concept shift (P(y | x) is the reference's), no shift into regions
 * of the inputs the reference did not cover (trees predict the nearest region's loss there), and
 * a loss that depends on the inputs (heteroscedastic noise); with constant noise the estimate is
 * flat, as the true MAE is.
 *
 * The loss model is a small gradient-boosted regression-tree ensemble written here, fitted on at
 * most MAX_DLE_ROWS rows: squared-error boosting from the mean, `trees` trees of depth ≤ `depth`,
 * each leaf shrunk by `shrinkage`, splits searched over histograms of ≤ `bins` quantile bins per
 * input (categorical inputs by their codes), missing values in a bin of their own below every value.
 * No randomness: the same rows give the same model. Why not a library: NannyML uses LightGBM;
 * npm has no maintained, typed, small pure-JS boosting library (ml-xgboost is an unmaintained
 * Emscripten build without types, ml-cart fits single CART trees by sorting every feature, with
 * no boosting, decision-tree is ID3 for classes), and this fit is ~200 lines.
 */
import { MAX_REFERENCE_ROWS } from './cbpe';
import type { LogColumns } from './log/columns';
import type { LossSample } from '../model/types';

/** Rows of the reference the loss model is fitted on at most (as CBPE's reference is capped). */
export const MAX_DLE_ROWS = MAX_REFERENCE_ROWS;
/** Labelled reference rows needed to fit a loss model; fewer and there is no estimate. */
export const MIN_DLE_ROWS = 100;

export type DleLoss = 'absolute' | 'squared';

export interface BoostOptions {
  trees: number;
  /** Splits from the root to a leaf, at most. */
  depth: number;
  /** Each tree's leaves are multiplied by it. */
  shrinkage: number;
  /** Histogram bins per input (missing values get one more). */
  bins: number;
  /** Rows a leaf needs at least. */
  minLeaf: number;
}

export const DLE_BOOST: Readonly<BoostOptions> = { trees: 100, depth: 3, shrinkage: 0.1, bins: 32, minLeaf: 20 };

/** An input column: values (NaN missing), or category codes (−1 missing) used as numbers. */
export interface DleColumn {
  values: Float64Array | Int32Array;
  codes: boolean;
}

/**
 * The loss model's inputs in `c`, in `features` order: a numeric feature's values, a categorical
 * one's codes (the batch monitor's columns and the live window's view alike).
 */
export function dleColumns(c: LogColumns, features: readonly string[]): DleColumn[] {
  return features.map((name) =>
    c.numeric[name] ? { values: c.numeric[name], codes: false } : { values: c.categorical[name], codes: true },
  );
}

/** Loss-model rows from outside the log: one column per input, the predictions and the true values. */
export interface DleRows {
  rows: number;
  x: Float64Array[];
  prediction: Float64Array;
  truth: Float64Array;
}

/**
 * A recorded test split (LossSample) as loss-model rows in the encoding of `c`: numbers as they
 * are, categories by the codes of `c`'s dictionaries (a category the log has not seen gets a code
 * past them, and is not added), anything else missing (NaN), as the log reader reads a value.
 */
export function lossSampleRows(sample: LossSample, c: LogColumns, features: readonly string[]): DleRows {
  const n = sample.rows;
  const x = features.map((name) => {
    const values = sample.inputs[name] ?? [];
    const out = new Float64Array(n).fill(NaN);
    const dict = c.numeric[name] ? null : (c.dictionaries[name] ?? null);
    const unseen = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (!dict) out[i] = typeof v === 'number' ? v : NaN;
      else if (typeof v === 'string') {
        let code = dict.lookup(v);
        if (code < 0) {
          code = unseen.get(v) ?? dict.values.length + unseen.size;
          unseen.set(v, code);
        }
        out[i] = code;
      }
    }
    return out;
  });
  return { rows: n, x, prediction: Float64Array.from(sample.predictions), truth: Float64Array.from(sample.truth) };
}

function valueAt(c: DleColumn, i: number): number {
  const v = c.values[i];
  return c.codes && v < 0 ? NaN : v;
}

/**
 * Upper bin edges of a column's non-missing values: each distinct value its own bin when there
 * are ≤ `bins` of them, else ≤ `bins` quantile bins. Value v is in bin 1 + #{edges < v} (bin 0
 * holds missing values), so a split "bin > t" is "v > edges[t − 1]" on raw values (t = 0: v present).
 */
export function binEdges(values: ArrayLike<number>, bins: number): Float64Array {
  const present: number[] = [];
  for (let i = 0; i < values.length; i++) if (values[i] === values[i]) present.push(values[i]);
  const sorted = Float64Array.from(present).sort();
  const n = sorted.length;
  const distinct: number[] = [];
  for (let i = 0; i < n && distinct.length <= bins; i++)
    if (distinct.length === 0 || sorted[i] !== distinct[distinct.length - 1]) distinct.push(sorted[i]);
  if (distinct.length <= bins) return Float64Array.from(distinct.slice(0, -1));
  const edges: number[] = [];
  const max = sorted[n - 1];
  for (let j = 1; j < bins; j++) {
    const e = sorted[Math.ceil((j * n) / bins) - 1];
    if (e < max && (edges.length === 0 || e > edges[edges.length - 1])) edges.push(e);
  }
  return Float64Array.from(edges);
}

/** Bin of v over `edges` (1 + #edges < v); missing values get 0. */
function binOf(edges: Float64Array, v: number): number {
  if (v !== v) return 0;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo + 1;
}

/**
 * A gradient-boosted ensemble of complete binary trees of depth D, stored flat: node k's
 * children are 2k + 1 and 2k + 2. A row goes right when its value > the node's threshold, so
 * missing values (NaN) go left; a node that does not split has threshold NaN and sends every row
 * left. No branch on the path (`+(x > t)`): a tree walk is a few loads and adds.
 */
export class BoostedTrees {
  private constructor(
    readonly base: number,
    readonly depth: number,
    readonly trees: number,
    private readonly feature: Int32Array,
    private readonly threshold: Float64Array,
    /** Leaf values, already shrunk. */
    private readonly leaf: Float64Array,
  ) {}

  /** Fits squared-error boosting of `y` on the input columns over rows [0, n). */
  static fit(columns: readonly DleColumn[], y: ArrayLike<number>, n: number, options: BoostOptions = DLE_BOOST) {
    const { trees, depth, shrinkage, minLeaf } = options;
    const F = columns.length;
    const inner = (1 << depth) - 1;
    const leaves = 1 << depth;
    const edges = columns.map((c) => {
      const v = new Float64Array(n);
      for (let i = 0; i < n; i++) v[i] = valueAt(c, i);
      return binEdges(v, options.bins);
    });
    // Bins per column: edges.length + 1 value bins and one for missing values.
    const B = Math.max(...edges.map((e) => e.length + 2), 2);
    const bin = columns.map((c, f) => {
      const b = new Uint16Array(n);
      for (let i = 0; i < n; i++) b[i] = binOf(edges[f], valueAt(c, i));
      return b;
    });
    let base = 0;
    for (let i = 0; i < n; i++) base += y[i];
    base = n > 0 ? base / n : 0;
    const pred = new Float64Array(n).fill(base);
    const g = new Float64Array(n);
    const node = new Int32Array(n);
    const feature = new Int32Array(trees * inner);
    const threshold = new Float64Array(trees * inner).fill(NaN);
    const leaf = new Float64Array(trees * leaves);
    const width = leaves >> 1;
    const sum = new Float64Array(width * F * B);
    const cnt = new Float64Array(width * F * B);
    const splitBin = new Int32Array(inner);
    for (let t = 0; t < trees; t++) {
      for (let i = 0; i < n; i++) g[i] = y[i] - pred[i];
      node.fill(0);
      const tf = t * inner;
      for (let d = 0, first = 0; d < depth; d++, first = 2 * first + 1) {
        const w = 1 << d;
        sum.fill(0, 0, w * F * B);
        cnt.fill(0, 0, w * F * B);
        for (let i = 0; i < n; i++) {
          const at = node[i] * F * B;
          for (let f = 0; f < F; f++) {
            const idx = at + f * B + bin[f][i];
            sum[idx] += g[i];
            cnt[idx]++;
          }
        }
        for (let k = 0; k < w; k++) {
          const at = k * F * B;
          let S = 0;
          let N = 0;
          for (let b = 0; b < B; b++) {
            S += sum[at + b];
            N += cnt[at + b];
          }
          let best = 0;
          let bestF = -1;
          let bestT = 0;
          if (N >= 2 * minLeaf) {
            const parent = (S * S) / N;
            for (let f = 0; f < F; f++) {
              const h = at + f * B;
              let SL = 0;
              let NL = 0;
              // Left: bins 0..tb (tb = 0: the missing values alone against every present one).
              for (let tb = 0; tb <= edges[f].length; tb++) {
                SL += sum[h + tb];
                NL += cnt[h + tb];
                const NR = N - NL;
                if (NL < minLeaf || NR < minLeaf) continue;
                const SR = S - SL;
                const gain = (SL * SL) / NL + (SR * SR) / NR - parent;
                if (gain > best) {
                  best = gain;
                  bestF = f;
                  bestT = tb;
                }
              }
            }
          }
          const nodeAt = first + k;
          if (bestF >= 0) {
            feature[tf + nodeAt] = bestF;
            splitBin[nodeAt] = bestT;
            threshold[tf + nodeAt] = bestT === 0 ? -Infinity : edges[bestF][bestT - 1];
          } else splitBin[nodeAt] = -1;
        }
        for (let i = 0; i < n; i++) {
          const nodeAt = first + node[i];
          const sb = splitBin[nodeAt];
          node[i] = 2 * node[i] + (sb >= 0 && bin[feature[tf + nodeAt]][i] > sb ? 1 : 0);
        }
      }
      const lf = t * leaves;
      const ls = new Float64Array(leaves);
      const lc = new Float64Array(leaves);
      for (let i = 0; i < n; i++) {
        ls[node[i]] += g[i];
        lc[node[i]]++;
      }
      for (let k = 0; k < leaves; k++) leaf[lf + k] = lc[k] > 0 ? (shrinkage * ls[k]) / lc[k] : 0;
      for (let i = 0; i < n; i++) pred[i] += leaf[lf + node[i]];
    }
    return new BoostedTrees(base, depth, trees, feature, threshold, leaf);
  }

  /** The prediction for input values x (one per column, NaN missing); `predictColumns` is the fast path. */
  predict(x: ArrayLike<number>): number {
    const { depth, trees, feature, threshold, leaf } = this;
    const inner = (1 << depth) - 1;
    let s = this.base;
    for (let t = 0, tf = 0, lf = -inner; t < trees; t++, tf += inner, lf += inner + 1) {
      let k = 0;
      for (let d = 0; d < depth; d++) k = 2 * k + 1 + +(x[feature[tf + k]] > threshold[tf + k]);
      s += leaf[lf + k];
    }
    return s;
  }

  /**
   * The predictions of rows [0, rows) of `x`, column-major (input f of row i at f·stride + i, NaN
   * missing), into out[0, rows): the same sums as `predict`, in the same order (base, then tree 0,
   * 1, …), so the same bits, but tree by tree over all the rows, which is ~2× faster than row by
   * row (a tree's splits stay in registers and the rows' walks are independent).
   */
  predictColumns(x: Float64Array, stride: number, rows: number, out: Float64Array): void {
    const { depth, trees, feature, threshold, leaf } = this;
    out.fill(this.base, 0, rows);
    if (depth !== 3) {
      const inner = (1 << depth) - 1;
      for (let t = 0, tf = 0, lf = -inner; t < trees; t++, tf += inner, lf += inner + 1)
        for (let i = 0; i < rows; i++) {
          let k = 0;
          for (let d = 0; d < depth; d++) k = 2 * k + 1 + +(x[feature[tf + k] * stride + i] > threshold[tf + k]);
          out[i] += leaf[lf + k];
        }
      return;
    }
    // Depth 3: all 7 splits of a row compared, then its path picked with bit arithmetic: no branch
    // and no load that waits on the previous level (a dependent walk was slower).
    for (let t = 0, tf = 0, lf = 0; t < trees; t++, tf += 7, lf += 8) {
      const o0 = feature[tf] * stride;
      const o1 = feature[tf + 1] * stride;
      const o2 = feature[tf + 2] * stride;
      const o3 = feature[tf + 3] * stride;
      const o4 = feature[tf + 4] * stride;
      const o5 = feature[tf + 5] * stride;
      const o6 = feature[tf + 6] * stride;
      const t0 = threshold[tf];
      const t1 = threshold[tf + 1];
      const t2 = threshold[tf + 2];
      const t3 = threshold[tf + 3];
      const t4 = threshold[tf + 4];
      const t5 = threshold[tf + 5];
      const t6 = threshold[tf + 6];
      for (let i = 0; i < rows; i++) {
        // Level 1 goes to node 1 + r0; level 2 to node 3 + k (k = 2·r0 + r1); the leaf is 2k + r2.
        const r0 = +(x[o0 + i] > t0);
        const r1 = ((+(x[o1 + i] > t1) | (+(x[o2 + i] > t2) << 1)) >> r0) & 1;
        const k = 2 * r0 + r1;
        const m = +(x[o3 + i] > t3) | (+(x[o4 + i] > t4) << 1) | (+(x[o5 + i] > t5) << 2) | (+(x[o6 + i] > t6) << 3);
        out[i] += leaf[lf + 2 * k + ((m >> k) & 1)];
      }
    }
  }

  /** Splits made over every tree (0 when the ensemble is the mean). */
  get splits(): number {
    let s = 0;
    for (const t of this.threshold) if (t === t) s++;
    return s;
  }
}

/** What the loss model was fitted on, for the result. */
export interface LossModelReport {
  /**
   * The rows fitted on: the reference windows' labelled rows, or the version's test split
   * recorded at training when the windows had fewer than MIN_DLE_ROWS labelled rows.
   */
  source: 'reference windows' | 'test split';
  loss: DleLoss;
  /** Labelled rows fitted on (after the MAX_DLE_ROWS cap). */
  rows: number;
  /** Every how many reference rows one was kept (1: all). */
  stride: number;
  /** Inputs: the model's features and its prediction. */
  inputs: string[];
  trees: number;
  depth: number;
  shrinkage: number;
  bins: number;
  /** Mean loss of the fitted rows (realised) and the loss model's mean prediction on them (in-sample). */
  realisedLoss: number | null;
  fittedLoss: number | null;
  /** Why there is no loss model (too few labelled rows). */
  note: string | null;
}

export interface DleEstimate {
  /** Rows behind the estimate (a prediction and every input read). */
  rows: number;
  /** Mean predicted loss: the MAE for absolute loss, the MSE for squared loss. */
  meanLoss: number | null;
}

/** Rows a loss model evaluates at once (its buffers: inputs + 1 columns of this many rows, and two more). */
export const DLE_CHUNK = 4096;

/** The fitted loss model of a reference. */
export class LossModel {
  /** Column-major inputs then the prediction of up to DLE_CHUNK rows; made on first use. */
  private x: Float64Array | null = null;
  private out: Float64Array | null = null;
  private rowAt: Int32Array | null = null;

  constructor(
    readonly loss: DleLoss,
    private readonly trees: BoostedTrees,
    private readonly inputs: number,
  ) {}

  /**
   * DLE of rows [start, end): the mean of the predicted losses (each ≥ 0). Rows go through the
   * trees DLE_CHUNK at a time (`predictColumns`) and are summed in row order, so the result is
   * bit for bit the row-by-row `predict`'s.
   */
  estimate(columns: readonly DleColumn[], prediction: Float64Array, start: number, end: number): DleEstimate {
    const F = this.inputs;
    const C = DLE_CHUNK;
    const x = (this.x ??= new Float64Array((F + 1) * C));
    const out = (this.out ??= new Float64Array(C));
    const rowAt = (this.rowAt ??= new Int32Array(C));
    let rows = 0;
    let sum = 0;
    for (let from = start; from < end;) {
      // The next ≤ C rows that have a prediction.
      let n = 0;
      for (; from < end && n < C; from++) {
        const p = prediction[from];
        if (p !== p) continue;
        x[F * C + n] = p;
        rowAt[n++] = from;
      }
      for (let f = 0; f < F; f++) {
        const { values, codes } = columns[f];
        const at = f * C;
        if (codes) for (let j = 0; j < n; j++) x[at + j] = values[rowAt[j]] < 0 ? NaN : values[rowAt[j]];
        else for (let j = 0; j < n; j++) x[at + j] = values[rowAt[j]];
      }
      this.trees.predictColumns(x, C, n, out);
      for (let j = 0; j < n; j++) sum += Math.max(0, out[j]);
      rows += n;
    }
    return { rows, meanLoss: rows > 0 ? sum / rows : null };
  }
}

/** A row's loss. */
export function lossOf(loss: DleLoss, truth: number, prediction: number): number {
  const d = truth - prediction;
  return loss === 'absolute' ? Math.abs(d) : d * d;
}

/**
 * The reference rows of DLE, kept a window at a time as each gets its labels: the first
 * `capacity` windows (or, with `ring`, the last `capacity`, the oldest dropped). Memory is capped
 * at MAX_DLE_ROWS rows: past that, every s-th row of each window is kept
 * (s = ⌈capacity·windowSize / MAX_DLE_ROWS⌉), as CBPE's live reference does.
 */
export class DleReference {
  readonly stride: number;
  /** Rows kept per window. */
  readonly per: number;
  /** Inputs then the prediction, one column each. */
  private readonly x: Float64Array[];
  private readonly truth: Float64Array;
  /** Global indices of the windows held, oldest first. */
  readonly held: number[] = [];

  constructor(
    readonly inputs: number,
    windowSize: number,
    readonly capacity: number,
    readonly ring: boolean,
  ) {
    this.stride = Math.max(1, Math.ceil((Math.max(1, capacity) * windowSize) / MAX_DLE_ROWS));
    this.per = Math.ceil(windowSize / this.stride);
    const rows = Math.max(1, capacity) * this.per;
    this.x = Array.from({ length: inputs + 1 }, () => new Float64Array(rows));
    this.truth = new Float64Array(rows);
  }

  /** Rows held (all windows). */
  get rows(): number {
    return this.held.length * this.per;
  }

  get full(): boolean {
    return this.held.length >= this.capacity;
  }

  /** Adds the window `index` of rows [start, start + windowSize) (every stride-th). */
  add(
    columns: readonly DleColumn[],
    prediction: Float64Array,
    truth: Float64Array,
    start: number,
    index: number,
  ): void {
    const { per, stride } = this;
    if (this.full) {
      if (!this.ring) return;
      for (const c of this.x) c.copyWithin(0, per);
      this.truth.copyWithin(0, per);
      this.held.shift();
    }
    const at = this.held.length * per;
    for (let j = 0; j < per; j++) {
      const i = start + j * stride;
      for (let f = 0; f < this.inputs; f++) this.x[f][at + j] = valueAt(columns[f], i);
      this.x[this.inputs][at + j] = prediction[i];
      this.truth[at + j] = truth[i];
    }
    this.held.push(index);
  }

  /**
   * Fits the loss model on the labelled rows of the first `windows` windows held (default all) —
   * or on `testSplit` when they are fewer than MIN_DLE_ROWS and the split has more; null (with
   * the report's note) when there are too few.
   */
  fit(
    loss: DleLoss,
    inputNames: readonly string[],
    options: BoostOptions = DLE_BOOST,
    windows = this.held.length,
    testSplit?: DleRows | null,
  ): { model: LossModel | null; report: LossModelReport } {
    const F = this.inputs + 1;
    const labelled = (x: readonly Float64Array[], truth: Float64Array, rows: number): number[] => {
      const keep: number[] = [];
      for (let i = 0; i < rows; i++) if (truth[i] === truth[i] && x[this.inputs][i] === x[this.inputs][i]) keep.push(i);
      return keep;
    };
    let x: readonly Float64Array[] = this.x;
    let truth = this.truth;
    let keep = labelled(x, truth, Math.min(this.rows, Math.max(0, windows) * this.per));
    let source: LossModelReport['source'] = 'reference windows';
    if (keep.length < MIN_DLE_ROWS && testSplit && testSplit.rows > keep.length) {
      x = [...testSplit.x, testSplit.prediction];
      truth = testSplit.truth;
      keep = labelled(x, truth, testSplit.rows);
      source = 'test split';
    }
    const n = keep.length;
    const cols: DleColumn[] = Array.from({ length: F }, (_, f) => ({
      values: Float64Array.from(keep, (i) => x[f][i]),
      codes: false,
    }));
    const y = Float64Array.from(keep, (i) => lossOf(loss, truth[i], x[this.inputs][i]));
    const report: LossModelReport = {
      source,
      loss,
      rows: n,
      stride: source === 'test split' ? 1 : this.stride,
      inputs: [...inputNames, '(prediction)'],
      trees: options.trees,
      depth: options.depth,
      shrinkage: options.shrinkage,
      bins: options.bins,
      realisedLoss: n > 0 ? y.reduce((s, v) => s + v, 0) / n : null,
      fittedLoss: null,
      note: null,
    };
    if (n < MIN_DLE_ROWS) {
      report.note =
        source === 'test split'
          ? `Only ${n} rows in the version's test split (and fewer labelled in the reference windows); at least ${MIN_DLE_ROWS} are needed to fit the loss model.`
          : `Only ${n} labelled reference rows${testSplit === null ? ' and no test split recorded with the version' : ''}; at least ${MIN_DLE_ROWS} are needed to fit the loss model.`;
      return { model: null, report };
    }
    const model = new LossModel(loss, BoostedTrees.fit(cols, y, n, options), this.inputs);
    const prediction = cols[this.inputs].values as Float64Array;
    report.fittedLoss = model.estimate(cols.slice(0, this.inputs), prediction, 0, n).meanLoss;
    return { model, report };
  }

  /** The estimate of the j-th window held, on its kept rows. */
  estimateHeld(model: LossModel, j: number): DleEstimate {
    const cols = this.x.slice(0, this.inputs).map((values) => ({ values, codes: false }));
    return model.estimate(cols, this.x[this.inputs], j * this.per, (j + 1) * this.per);
  }
}
