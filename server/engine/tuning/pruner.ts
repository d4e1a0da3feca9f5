/**
 * Median stopping, as Optuna's MedianPruner (a PercentilePruner at 50): at epoch t a trial is
 * pruned when its best objective so far is worse than the median of the completed trials'
 * values at epoch t. Never during the first `warmupEpochs` epochs (n_warmup_steps), nor before
 * `minTrials` trials have completed (n_startup_trials), nor when no completed trial reported
 * epoch t (n_min_trials = 1).
 */
import type { TuneDirection } from '../config/types';

export interface MedianPrunerOptions {
  warmupEpochs: number;
  minTrials: number;
}

/** One trial's objective per epoch: index 0 is epoch 1; null where it was not reported. */
export type Curve = ReadonlyArray<number | null>;

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = (s.length - 1) / 2;
  return (s[Math.floor(mid)] + s[Math.ceil(mid)]) / 2;
}

export class MedianPruner {
  constructor(readonly options: MedianPrunerOptions) {}

  /**
   * Whether the trial with `curve` (epochs 1..curve.length) should stop now, given the curves of
   * the completed trials.
   */
  shouldPrune(curve: Curve, completed: readonly Curve[], direction: TuneDirection): boolean {
    const epoch = curve.length;
    if (epoch === 0 || epoch <= this.options.warmupEpochs) return false;
    if (completed.length === 0 || completed.length < this.options.minTrials) return false;
    const seen = curve.filter((v): v is number => v !== null && !Number.isNaN(v));
    // A trial that reported only NaN is pruned, as Optuna does.
    if (seen.length === 0) return true;
    const best = direction === 'maximize' ? Math.max(...seen) : Math.min(...seen);
    const atEpoch = completed
      .map((c) => c[epoch - 1])
      .filter((v): v is number => v !== null && v !== undefined && !Number.isNaN(v));
    if (atEpoch.length === 0) return false;
    const m = median(atEpoch);
    return direction === 'maximize' ? best < m : best > m;
  }
}
