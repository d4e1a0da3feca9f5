/**
 * The epoch loop, independent of threads so the worker and the benchmark share it: a seeded
 * shuffle per epoch, one optimiser step per batch, validation after each epoch, early
 * stopping, and a cancellation check after every batch.
 *
 * This is our own loop rather than `model.fit`: for the small networks a config usually
 * describes, fit's per-call and per-batch bookkeeping (re-standardising the data every epoch,
 * gathering each batch by index, an async callback chain per batch that reads the loss back,
 * running-average tensors per metric) cost as much as the kernels themselves. The arithmetic is
 * the same as fit's, op for op (same loss and metric functions, same per-sample class weights,
 * same float32 running mean of the batch metrics, validation through `evaluate` with the same
 * batch size), so a seed gives the same weights and metrics as `fit` did; test/unit/training
 * checks that against `fit` itself.
 */
import { seededPermutation } from '../data/split';
import { ModelOpsError } from '../errors';
import type * as tf from '@tensorflow/tfjs';
import { tfjs } from '../tfjs/load';
import { buildModel, type LossName } from './model';
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

type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

/** The tfjs-layers loss function that `compile({ loss: name })` looks up. */
function lossFnFor(name: LossName): LossFn {
  const { metrics } = tfjs();
  switch (name) {
    case 'categoricalCrossentropy':
      return metrics.categoricalCrossentropy;
    case 'binaryCrossentropy':
      return metrics.binaryCrossentropy;
    case 'meanSquaredError':
      return metrics.meanSquaredError;
  }
}

/** Hand the event loop a turn this often, so in-process callers can flip a cancel flag. */
const YIELD_EVERY_MS = 100;

function gatherRows(src: Float32Array, width: number, perm: Uint32Array, out: Float32Array): Float32Array {
  for (let i = 0; i < perm.length; i++) {
    const s = perm[i] * width;
    out.set(src.subarray(s, s + width), i * width);
  }
  return out;
}

/**
 * Per-sample weights from class weights, as fit's `standardizeWeights`: the class of a
 * one-hot row is its arg-max, of a single-column target its value.
 */
function sampleWeights(y: Float32Array, n: number, width: number, classWeight: Record<number, number>): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let c = 0;
    if (width === 1) c = y[i];
    else {
      let best = y[i * width];
      for (let j = 1; j < width; j++) {
        if (y[i * width + j] > best) {
          best = y[i * width + j];
          c = j;
        }
      }
    }
    const w = classWeight[c];
    if (w === undefined) {
      throw new ModelOpsError(
        'bad-class-weight',
        `Class index ${c} occurs in the training data but has no class weight.`,
        'Give every label a weight in train.classWeights, or use balanced.',
      );
    }
    out[i] = w;
  }
  return out;
}

/**
 * The running mean of per-batch scalars over an epoch, in float32 exactly as tfjs-layers'
 * BaseLogger computes it with tensors: total += value · batchSize, then (1 / seen) · total.
 */
function epochMean(values: Float32Array, sizes: Uint32Array, count: number): number {
  const f = Math.fround;
  let total = 0;
  let seen = 0;
  for (let b = 0; b < count; b++) {
    total = f(total + f(values[b] * sizes[b]));
    seen += sizes[b];
  }
  return f(f(1 / seen) * total);
}

/** Lower is better for losses and errors; higher for accuracy-like metrics. */
function higherIsBetter(metric: string): boolean {
  return /acc|auc|precision|recall|f1|r2/.test(metric);
}

export async function runTraining(job: TrainJob, hooks: LoopHooks): Promise<LoopResult> {
  const tf = tfjs();
  const { model, loss } = buildModel(job.network);
  const lossFn = lossFnFor(loss);
  // compile() gives one metric ('accuracy' → acc, or mae); names are ['loss', <metric>].
  const metricFns = model.metricsTensors.map(([fn]) => fn as LossFn);
  const metricNames = model.metricsNames.slice(1, 1 + metricFns.length);
  const optimizer = model.optimizer;
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const width = job.network.inputWidth;
  const outWidth = job.outputWidth;
  const n = job.n;
  const batch = Math.max(1, job.batchSize);
  const batchesPerEpoch = Math.ceil(n / batch);
  const notes: string[] = [];
  const validation =
    job.valX && job.valY && job.nVal > 0
      ? ([tf.tensor2d(job.valX, [job.nVal, width]), tf.tensor2d(job.valY, [job.nVal, outWidth])] as [
          tf.Tensor,
          tf.Tensor,
        ])
      : undefined;
  let metric = job.earlyStopping?.metric;
  if (metric && metric.startsWith('val_') && !validation) {
    notes.push(`early stopping watches '${metric.slice(4)}' because there is no validation split`);
    metric = metric.slice(4);
  }
  const weights = job.classWeight ? sampleWeights(job.y, n, outWidth, job.classWeight) : null;
  const dropout = dropoutSeeds(model);
  // Epoch buffers, reused: the shuffled rows, and per-batch scalars read back once per epoch.
  const xs = new Float32Array(n * width);
  const ys = new Float32Array(n * outWidth);
  const ws = weights ? new Float32Array(n) : null;
  const batchSizes = new Uint32Array(batchesPerEpoch);
  const lossValues = new Float32Array(batchesPerEpoch);
  const metricValues = metricFns.map(() => new Float32Array(batchesPerEpoch));

  let best = Number.NaN;
  let wait = 0;
  let cancelled = false;
  let stoppedEarly = false;
  let epochsRun = 0;
  let samples = 0;
  let trainMs = 0;
  let lastYield = performance.now();
  try {
    for (let epoch = 0; epoch < job.epochs; epoch++) {
      if (hooks.isCancelled()) {
        cancelled = true;
        break;
      }
      const t0 = performance.now();
      const perm = seededPermutation(n, job.seed + epoch);
      gatherRows(job.x, width, perm, xs);
      gatherRows(job.y, outWidth, perm, ys);
      if (ws && weights) for (let i = 0; i < n; i++) ws[i] = weights[perm[i]];
      // Scalars stay on the backend until the epoch ends: no read-back per batch.
      const pending: tf.Scalar[][] = [];
      let batches = 0;
      try {
        for (let b = 0; b < batchesPerEpoch; b++) {
          const start = b * batch;
          const m = Math.min(batch, n - start);
          dropout.step(epoch * batchesPerEpoch + b);
          const scalars = tf.tidy(() => {
            const xb = tf.tensor2d(xs.subarray(start * width, (start + m) * width), [m, width]);
            const yb = tf.tensor2d(ys.subarray(start * outWidth, (start + m) * outWidth), [m, outWidth]);
            const wb = ws ? tf.tensor1d(ws.subarray(start, start + m)) : null;
            // The forward pass's output, kept past minimize() for the metrics.
            const kept: { out?: tf.Tensor } = {};
            const cost = optimizer.minimize(
              () => {
                const out = tf.keep(model.apply(xb, { training: true }) as tf.Tensor);
                kept.out = out;
                let l = lossFn(yb, out);
                if (wb) l = tf.mul(l, wb);
                return tf.mean(l) as tf.Scalar;
              },
              true,
              variables,
            ) as tf.Scalar;
            const out = kept.out!;
            // Metrics off the gradient tape: same values, less for the tape to walk.
            const ms = metricFns.map((fn) => tf.mean(fn(yb, out)) as tf.Scalar);
            out.dispose();
            return [cost, ...ms];
          });
          pending.push(scalars);
          batchSizes[b] = m;
          batches++;
          if (hooks.isCancelled()) break;
          if (performance.now() - lastYield > YIELD_EVERY_MS) {
            await new Promise<void>((resolve) => setImmediate(resolve));
            lastYield = performance.now();
          }
        }
        for (let b = 0; b < pending.length; b++) {
          lossValues[b] = pending[b][0].dataSync()[0];
          metricFns.forEach((_, j) => (metricValues[j][b] = pending[b][j + 1].dataSync()[0]));
        }
      } finally {
        pending.forEach((s) => tf.dispose(s));
      }
      samples += Math.min(n, batches * batch);
      if (hooks.isCancelled()) {
        trainMs += performance.now() - t0;
        cancelled = true;
        break;
      }
      const metrics: Record<string, number> = { loss: epochMean(lossValues, batchSizes, batches) };
      metricNames.forEach((name, j) => (metrics[name] = epochMean(metricValues[j], batchSizes, batches)));
      if (validation) {
        const out = model.evaluate(validation[0], validation[1], { batchSize: batch });
        const list = Array.isArray(out) ? out : [out];
        metrics.val_loss = list[0].dataSync()[0];
        metricNames.forEach((name, j) => (metrics[`val_${name}`] = list[j + 1].dataSync()[0]));
        tf.dispose(list);
      }
      trainMs += performance.now() - t0;
      epochsRun = epoch + 1;
      hooks.onEpoch(epoch + 1, metrics, trainMs > 0 ? (samples / trainMs) * 1000 : 0);
      if (metric && job.earlyStopping) {
        const value = metrics[metric];
        if (value === undefined) {
          notes.push(
            `early stopping metric '${metric}' is not reported (have: ${Object.keys(metrics).join(', ')}); early stopping is off`,
          );
          metric = undefined;
          continue;
        }
        const up = higherIsBetter(metric);
        const improved =
          Number.isNaN(best) ||
          (up ? value > best + job.earlyStopping.minDelta : value < best - job.earlyStopping.minDelta);
        if (improved) {
          best = value;
          wait = 0;
        } else if (++wait >= job.earlyStopping.patience) {
          stoppedEarly = true;
          notes.push(
            `stopped early after epoch ${epoch + 1}: ${metric} did not improve by ${job.earlyStopping.minDelta} for ${job.earlyStopping.patience} epochs`,
          );
          break;
        }
      }
    }
  } finally {
    dropout.restore();
    validation?.forEach((t) => t.dispose());
    // compile() was given an optimiser object, so model.dispose() leaves its slots (Adam's
    // moments) behind; the trained model does not need them.
    optimizer.dispose();
  }
  return {
    model,
    cancelled,
    epochsRun,
    stoppedEarly,
    samplesPerSecond: trainMs > 0 ? (samples / trainMs) * 1000 : 0,
    notes,
  };
}

/**
 * tfjs-layers' Dropout draws its mask from its `seed` on every call, so a seeded layer would drop
 * the same units in every batch. Each training step gets its own seed (derived from the layer's seed and the step): a new
 * mask per batch that is still the same from run to run. The layer's own seed is put back at the
 * end, so the saved model carries the configured one.
 */
export function dropoutSeeds(model: tf.LayersModel): { step(step: number): void; restore(): void } {
  const layers = model.layers.filter((l) => l.getClassName() === 'Dropout') as unknown as Array<{ seed?: number }>;
  const base = layers.map((l) => l.seed);
  return {
    step(step) {
      layers.forEach((l, i) => {
        if (base[i] !== undefined) l.seed = (base[i] as number) + step * 7919;
      });
    },
    restore() {
      layers.forEach((l, i) => (l.seed = base[i]));
    },
  };
}
