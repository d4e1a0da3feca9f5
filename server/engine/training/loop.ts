/**
 * The epoch loop, independent of threads so the worker and the benchmark share it: a seeded
 * shuffle per epoch, `fit` for one epoch at a time, early stopping, and a cancellation check
 * after every batch (`model.stopTraining` ends the epoch at the current batch).
 */
import { seededPermutation } from '../data/split';
import { tf } from './backend';
import { buildModel } from './model';
import type { TrainJob } from './messages';

export interface LoopHooks {
  isCancelled(): boolean;
  onEpoch(epoch: number, metrics: Record<string, number>, samplesPerSecond: number): void;
}

export interface LoopResult {
  model: tf.Sequential;
  cancelled: boolean;
  epochsRun: number;
  stoppedEarly: boolean;
  samplesPerSecond: number;
  notes: string[];
}

function gatherRows(src: Float32Array, width: number, perm: Uint32Array): Float32Array {
  const out = new Float32Array(perm.length * width);
  for (let i = 0; i < perm.length; i++) {
    const s = perm[i] * width;
    out.set(src.subarray(s, s + width), i * width);
  }
  return out;
}

/** Lower is better for losses and errors; higher for accuracy-like metrics. */
function higherIsBetter(metric: string): boolean {
  return /acc|auc|precision|recall|f1|r2/.test(metric);
}

export async function runTraining(job: TrainJob, hooks: LoopHooks): Promise<LoopResult> {
  const { model } = buildModel(job.network);
  const width = job.network.inputWidth;
  const notes: string[] = [];
  const validation =
    job.valX && job.valY && job.nVal > 0
      ? ([tf.tensor2d(job.valX, [job.nVal, width]), tf.tensor2d(job.valY, [job.nVal, job.outputWidth])] as [tf.Tensor, tf.Tensor])
      : undefined;
  let metric = job.earlyStopping?.metric;
  if (metric && metric.startsWith('val_') && !validation) {
    notes.push(`early stopping watches '${metric.slice(4)}' because there is no validation split`);
    metric = metric.slice(4);
  }
  let best = Number.NaN;
  let wait = 0;
  let cancelled = false;
  let stoppedEarly = false;
  let epochsRun = 0;
  let samples = 0;
  let trainMs = 0;
  try {
    for (let epoch = 0; epoch < job.epochs; epoch++) {
      if (hooks.isCancelled()) {
        cancelled = true;
        break;
      }
      const perm = seededPermutation(job.n, job.seed + epoch);
      const xs = tf.tensor2d(gatherRows(job.x, width, perm), [job.n, width]);
      const ys = tf.tensor2d(gatherRows(job.y, job.outputWidth, perm), [job.n, job.outputWidth]);
      let batches = 0;
      const t0 = performance.now();
      let history: tf.History;
      try {
        history = await model.fit(xs, ys, {
          epochs: 1,
          batchSize: job.batchSize,
          shuffle: false,
          verbose: 0,
          classWeight: job.classWeight,
          validationData: validation,
          callbacks: {
            onBatchEnd: async () => {
              batches++;
              if (hooks.isCancelled()) model.stopTraining = true;
            },
          },
        });
      } finally {
        xs.dispose();
        ys.dispose();
      }
      trainMs += performance.now() - t0;
      samples += Math.min(job.n, batches * job.batchSize);
      if (hooks.isCancelled()) {
        cancelled = true;
        break;
      }
      epochsRun = epoch + 1;
      const metrics: Record<string, number> = {};
      for (const [key, values] of Object.entries(history.history)) {
        const v = values[values.length - 1];
        const num = typeof v === 'number' ? v : (v as tf.Tensor).dataSync()[0];
        metrics[key] = num;
      }
      hooks.onEpoch(epoch + 1, metrics, trainMs > 0 ? (samples / trainMs) * 1000 : 0);
      if (metric && job.earlyStopping) {
        const value = metrics[metric];
        if (value === undefined) {
          notes.push(`early stopping metric '${metric}' is not reported (have: ${Object.keys(metrics).join(', ')}); early stopping is off`);
          metric = undefined;
          continue;
        }
        const up = higherIsBetter(metric);
        const improved = Number.isNaN(best) || (up ? value > best + job.earlyStopping.minDelta : value < best - job.earlyStopping.minDelta);
        if (improved) {
          best = value;
          wait = 0;
        } else if (++wait >= job.earlyStopping.patience) {
          stoppedEarly = true;
          notes.push(`stopped early after epoch ${epoch + 1}: ${metric} did not improve by ${job.earlyStopping.minDelta} for ${job.earlyStopping.patience} epochs`);
          break;
        }
      }
    }
  } finally {
    validation?.forEach((t) => t.dispose());
  }
  return { model, cancelled, epochsRun, stoppedEarly, samplesPerSecond: trainMs > 0 ? (samples / trainMs) * 1000 : 0, notes };
}
