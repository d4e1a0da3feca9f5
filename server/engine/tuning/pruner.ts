/**
 * Median stopping, as Optuna's MedianPruner (a PercentilePruner at 50, optuna/pruners/_percentile.py).
 * Epoch e is Optuna's step e − 1 (the Keras/TF.js callbacks report 0-based epochs). When a trial
 * reports epoch t it is pruned if its best objective over all its epochs is worse than the median
 * of the completed trials' values at epoch t. Never before `minTrials` trials have completed
 * (n_startup_trials), never during the first `warmupEpochs` epochs (n_warmup_steps), only at the
 * first report of each `intervalEpochs` window after the warm-up (interval_steps), and never when
 * fewer than `minTrialsAtEpoch` completed trials have a value at epoch t (n_min_trials). Pruned
 * and running trials' curves are never compared against, as in Optuna.
 *
 * One deliberate difference: the registry stores a non-finite objective as null, so null stands
 * for both "not reported" and NaN. In the completed trials' curves and for the interval it counts
 * as not reported; a trial whose own values are all null is pruned, as Optuna prunes an all-NaN
 * trial (with no completed trial having a value, a missing metric never reaches that point).
 */
import type { TuneDirection } from '../config/types';

export interface MedianPrunerOptions {
  /** n_warmup_steps (Optuna's default 0). */
  warmupEpochs: number;
  /** n_startup_trials (Optuna's default 5). */
  minTrials: number;
  /** interval_steps; default 1 (every epoch), as Optuna. */
  intervalEpochs?: number;
  /** n_min_trials; default 1, as Optuna. */
  minTrialsAtEpoch?: number;
}

/** One trial's objective per epoch: index 0 is epoch 1; null where it was not reported (or not finite). */
export type Curve = ReadonlyArray<number | null>;

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = (s.length - 1) / 2;
  return (s[Math.floor(mid)] + s[Math.ceil(mid)]) / 2;
}

const reported = (v: number | null | undefined): v is number => v !== null && v !== undefined && !Number.isNaN(v);

/**
 * Optuna's `_is_first_in_interval_step` in 0-based steps: the check at `step` runs when no earlier
 * step was reported since the nearest pruning step at or below it, so a check that fell on an
 * unreported step is made at the next report.
 */
export function isFirstInInterval(curve: Curve, warmupEpochs: number, intervalEpochs: number): boolean {
  const step = curve.length - 1;
  const nearestLower = Math.floor((step - warmupEpochs) / intervalEpochs) * intervalEpochs + warmupEpochs;
  let secondLast = -1;
  for (let s = step - 1; s >= 0; s--) {
    if (reported(curve[s])) {
      secondLast = s;
      break;
    }
  }
  return secondLast < nearestLower;
}

export class MedianPruner {
  readonly intervalEpochs: number;
  readonly minTrialsAtEpoch: number;

  constructor(readonly options: MedianPrunerOptions) {
    this.intervalEpochs = Math.max(1, options.intervalEpochs ?? 1);
    this.minTrialsAtEpoch = Math.max(1, options.minTrialsAtEpoch ?? 1);
  }

  /**
   * Whether the trial with `curve` (epochs 1..curve.length, the last one just reported) should
   * stop now, given the curves of the completed trials.
   */
  shouldPrune(curve: Curve, completed: readonly Curve[], direction: TuneDirection): boolean {
    if (completed.length === 0 || completed.length < this.options.minTrials) return false;
    const epoch = curve.length;
    // Optuna: no pruning while step < n_warmup_steps, with step = epoch − 1.
    if (epoch === 0 || epoch - 1 < this.options.warmupEpochs) return false;
    if (!isFirstInInterval(curve, this.options.warmupEpochs, this.intervalEpochs)) return false;
    const seen = curve.filter(reported);
    if (seen.length === 0) return true;
    const best = direction === 'maximize' ? Math.max(...seen) : Math.min(...seen);
    const atEpoch = completed.map((c) => c[epoch - 1]).filter(reported);
    if (atEpoch.length === 0 || atEpoch.length < this.minTrialsAtEpoch) return false;
    const m = median(atEpoch);
    return direction === 'maximize' ? best < m : best > m;
  }
}
