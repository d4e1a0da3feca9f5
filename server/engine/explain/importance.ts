/**
 * Global importance: mean |SHAP| per feature (per output, and averaged over outputs), and
 * permutation importance as scikit-learn's `permutation_importance` computes it with the
 * estimator's default score (accuracy for classifiers, R² for regressors): for each feature
 * and repeat, shuffle that raw column across the rows (seeded), score again; importance =
 * baseline score − shuffled score; reported as the mean and the (population) standard
 * deviation over the repeats.
 */
import { ModelOpsError } from '../errors';
import { seededPermutation } from '../data/split';
import { verifyOwners, type ExplainModel, type RawRow } from './model';
import type { ShapResult } from './shapley';

export interface MeanAbsShap {
  features: string[];
  outputs: string[];
  /** perOutput[feature][output] = mean over rows of |φ|. */
  perOutput: number[][];
  /** Mean of perOutput over outputs (one number per feature). */
  overall: number[];
  rows: number;
}

export function meanAbsShap(r: ShapResult): MeanAbsShap {
  const m = r.features.length;
  const k = r.outputs.length;
  const perOutput = Array.from({ length: m }, () => new Array<number>(k).fill(0));
  for (const row of r.rows)
    for (let i = 0; i < m; i++) for (let c = 0; c < k; c++) perOutput[i][c] += Math.abs(row.values[i][c]);
  const n = Math.max(1, r.rows.length);
  for (const p of perOutput) for (let c = 0; c < k; c++) p[c] /= n;
  return {
    features: r.features,
    outputs: r.outputs,
    perOutput,
    overall: perOutput.map((p) => p.reduce((a, b) => a + b, 0) / k),
    rows: r.rows.length,
  };
}

export interface PermutationImportance {
  metric: 'accuracy' | 'r2';
  baseline: number;
  repeats: number;
  seed: number;
  rows: number;
  features: Array<{ feature: string; mean: number; std: number; drops: number[] }>;
}

export interface PermutationOptions {
  repeats?: number;
  seed?: number;
  signal?: AbortSignal;
}

/**
 * Permutation importance of each raw feature on labelled rows. `truth`: class indices into the
 * model's labels (classification) or target values (regression).
 */
export async function permutationImportance(
  model: ExplainModel,
  rows: RawRow[],
  truth: ArrayLike<number>,
  options: PermutationOptions = {},
): Promise<PermutationImportance> {
  const repeats = options.repeats ?? 5;
  const seed = options.seed ?? 0;
  const n = rows.length;
  if (n < 2)
    throw new ModelOpsError(
      'explain-no-rows',
      `Permutation importance needs at least 2 labelled rows; there are ${n}.`,
      'Use a larger test split.',
    );
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new ModelOpsError(
      'explain-bad-repeats',
      `repeats is ${repeats}; use a whole number ≥ 1.`,
      'Use --repeats 5 (the default).',
    );
  const m = model.features.length;
  const k = model.outputs.length;
  const w = model.encodedWidth;
  const single = Array.from({ length: m }, (_, i) => Uint8Array.from({ length: m }, (_, j) => (j === i ? 1 : 0)));
  const assembled =
    model.owner !== null &&
    verifyOwners(model, rows.slice(0, 2), rows.slice(2, 6).length > 0 ? rows.slice(2, 6) : rows.slice(0, 1), single);
  const xe = assembled ? model.encode!(rows) : null;

  const score = async (x: Float32Array | null, raw: RawRow[] | null): Promise<number> => {
    if (model.task === 'classification') {
      let pred: Int32Array;
      if (x && model.classesEncoded) pred = await model.classesEncoded(x, n);
      else {
        const y = x ? await model.runEncoded(x, n) : await model.runRows(raw!);
        pred = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          let best = 0;
          for (let c = 1; c < k; c++) if (y[i * k + c] > y[i * k + best]) best = c;
          pred[i] = best;
        }
      }
      let right = 0;
      for (let i = 0; i < n; i++) if (pred[i] === truth[i]) right++;
      return right / n;
    }
    const y = x ? await model.runEncoded(x, n) : await model.runRows(raw!);
    let mean = 0;
    for (let i = 0; i < n; i++) mean += truth[i];
    mean /= n;
    let ssRes = 0;
    let ssTot = 0;
    for (let i = 0; i < n; i++) {
      ssRes += (truth[i] - y[i]) ** 2;
      ssTot += (truth[i] - mean) ** 2;
    }
    // scikit-learn's r2_score: 1 for a perfect fit of a constant target, else 0 when the target is constant.
    if (ssTot === 0) return ssRes === 0 ? 1 : 0;
    return 1 - ssRes / ssTot;
  };

  const baseline = await score(xe, rows);
  const out: PermutationImportance['features'] = [];
  for (let i = 0; i < m; i++) {
    const cols: number[] = [];
    if (xe) for (let c = 0; c < w; c++) if (model.owner![c] === i) cols.push(c);
    const drops: number[] = [];
    for (let r = 0; r < repeats; r++) {
      if (options.signal?.aborted)
        throw new ModelOpsError('cancelled', 'The explanation was cancelled.', 'Start it again when you are ready.');
      // One seed per (feature, repeat): a feature's shuffles do not depend on the features before it.
      const perm = seededPermutation(n, seed * 1_000_003 + i * 1009 + r);
      let s: number;
      if (xe) {
        const x = xe.slice();
        for (let row = 0; row < n; row++) for (const c of cols) x[row * w + c] = xe[perm[row] * w + c];
        s = await score(x, null);
      } else {
        const f = model.features[i];
        s = await score(
          null,
          rows.map((row, j) => ({ ...row, [f]: rows[perm[j]][f] })),
        );
      }
      drops.push(baseline - s);
    }
    const mean = drops.reduce((a, b) => a + b, 0) / repeats;
    const std = Math.sqrt(drops.reduce((a, b) => a + (b - mean) ** 2, 0) / repeats);
    out.push({ feature: model.features[i], mean, std, drops });
  }
  return {
    metric: model.task === 'classification' ? 'accuracy' : 'r2',
    baseline,
    repeats,
    seed,
    rows: n,
    features: out,
  };
}
