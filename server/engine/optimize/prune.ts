/**
 * Magnitude pruning of a TF.js bundle's dense layers to a target sparsity, after TF Model
 * Optimization's `prune_low_magnitude`:
 * - a schedule gives the sparsity at each fine-tuning step: PolynomialDecay
 *   s_t = s_f + (s_i − s_f)·(1 − (t − t0)/(t1 − t0))^3, or ConstantSparsity s_t = s_f;
 * - every `frequency` steps from t0 to t1 each dense kernel's mask is recomputed: its
 *   round(s_t · n) smallest-magnitude weights are zeroed;
 * - between mask updates the model fine-tunes on the training split (Adam etc. as configured),
 *   and the masks are applied again after every step, so pruned weights stay at zero.
 * Biases are not pruned (as TF-MOT): the pruning rate counts them in the total.
 *
 * t0 = 0 and t1 = ⌊2/3 of the fine-tuning steps⌋, so the last third trains at the final
 * sparsity; with no fine-tuning epochs it is one-shot pruning at s_f.
 */
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ModelOpsError } from '../errors';
import type { ModelOpsConfig } from '../config/types';
import { optimizerFor } from '../training/model';
import { encodeLabels, encodeRegressionTarget, transformRows } from '../data/preprocess';
import { seededPermutation } from '../data/split';
import { loadTrainingData } from '../data/splits';
import type { ModelManifest } from '../model/types';
import type * as tf from '@tensorflow/tfjs';
import { ensureBackend, tfjs } from '../tfjs/load';
import { dropoutSeeds } from '../training/loop';
import { readTfjsFiles, writeTfjsFiles, type WeightSpec } from './tfjsFiles';

export type PruneSchedule = 'polynomial' | 'constant';
export const PRUNE_SCHEDULES: readonly PruneSchedule[] = ['polynomial', 'constant'];

export interface ScheduleSpec {
  kind: PruneSchedule;
  initialSparsity: number;
  finalSparsity: number;
  beginStep: number;
  endStep: number;
  frequency: number;
  /** PolynomialDecay's exponent (TF-MOT default 3). */
  power?: number;
}

/** The target sparsity at `step` (TF-MOT PolynomialDecay / ConstantSparsity). */
export function sparsityAt(step: number, s: ScheduleSpec): number {
  if (s.kind === 'constant') return s.finalSparsity;
  if (s.endStep <= s.beginStep) return s.finalSparsity;
  const p = Math.min(1, Math.max(0, (step - s.beginStep) / (s.endStep - s.beginStep)));
  return s.finalSparsity + (s.initialSparsity - s.finalSparsity) * (1 - p) ** (s.power ?? 3);
}

/** Whether masks are recomputed at `step`: every `frequency` steps in [begin, end], and at end. */
export function isPruningStep(step: number, s: ScheduleSpec): boolean {
  if (step < s.beginStep || step > s.endStep) return false;
  return step === s.endStep || (step - s.beginStep) % s.frequency === 0;
}

/** The schedule over `steps` fine-tuning steps (see the module comment). */
export function scheduleFor(kind: PruneSchedule, finalSparsity: number, steps: number): ScheduleSpec {
  const endStep = Math.floor((2 * steps) / 3);
  return {
    kind,
    initialSparsity: 0,
    finalSparsity,
    beginStep: 0,
    endStep,
    frequency: Math.max(1, Math.round(endStep / 10)),
    power: 3,
  };
}

/**
 * The mask (1 keep, 0 prune) that zeroes the round(sparsity · n) smallest |w| (ties by index),
 * so the count is exact whatever the ties.
 */
export function magnitudeMask(values: Float32Array, sparsity: number): Float32Array {
  const n = values.length;
  const k = Math.min(n, Math.max(0, Math.round(sparsity * n)));
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => Math.abs(values[a]) - Math.abs(values[b]) || a - b,
  );
  const mask = new Float32Array(n).fill(1);
  for (let i = 0; i < k; i++) mask[order[i]] = 0;
  return mask;
}

export interface LayerPruning {
  layer: string;
  /** Kernel weights set to zero. */
  pruned: number;
  kernel: number;
  bias: number;
  /** pruned / (kernel + bias): biases are counted as not pruned. */
  rate: number;
  /** pruned / kernel. */
  kernelSparsity: number;
}

export interface PruningRate {
  layers: LayerPruning[];
  /** Zero kernel weights of the pruned layers. */
  pruned: number;
  /** Every parameter of the model (all layers, biases, batch-norm statistics). */
  total: number;
  /** pruned / total. */
  rate: number;
}

/** Per-layer and overall pruning rates from the counts. */
export function pruningRate(
  layers: Array<{ layer: string; pruned: number; kernel: number; bias: number }>,
  totalParams: number,
): PruningRate {
  const out = layers.map((l) => ({
    ...l,
    rate: l.kernel + l.bias > 0 ? l.pruned / (l.kernel + l.bias) : 0,
    kernelSparsity: l.kernel > 0 ? l.pruned / l.kernel : 0,
  }));
  const pruned = layers.reduce((a, l) => a + l.pruned, 0);
  return { layers: out, pruned, total: totalParams, rate: totalParams > 0 ? pruned / totalParams : 0 };
}

export interface PruneProgress {
  epoch: number;
  epochs: number;
  /** 0..1 over the fine-tuning. */
  fraction: number;
  /** The current target sparsity. */
  sparsity: number;
  loss?: number;
  message: string;
}

export interface PruneOptions {
  sparsity: number;
  epochs: number;
  schedule: PruneSchedule;
  /** Data, split, batch size, optimiser, learning rate and seed come from here. */
  config: ModelOpsConfig;
  configPath: string;
  root: string;
  onProgress?: (p: PruneProgress) => void;
  signal?: AbortSignal;
}

export interface PruneResult {
  rate: PruningRate;
  schedule: ScheduleSpec;
  steps: number;
  /** Mean training loss of the last fine-tuning epoch (absent with 0 epochs). */
  finalLoss?: number;
  /** Bytes of the weights before and after gzip. */
  weightBytes: number;
  compressedBytes: number;
}

export class PruneCancelled extends ModelOpsError {
  constructor() {
    super('cancelled', 'Pruning was cancelled.', 'Start it again when you are ready.');
  }
}

/** Prunes the bundle in `srcDir` into `outDir` (weights gzip-compressed: weights.bin.gz). */
export async function pruneTfjsBundle(
  srcDir: string,
  outDir: string,
  manifest: ModelManifest,
  options: PruneOptions,
): Promise<PruneResult> {
  await ensureBackend();
  const tf = tfjs();
  const files = await readTfjsFiles(srcDir);
  const quantised = files.specs.find((s) => s.quantization);
  if (quantised)
    throw new ModelOpsError(
      'optimize-unsupported',
      `The bundle is quantised (weight '${quantised.name}' is ${quantised.quantization?.dtype}); pruning needs float32 weights to fine-tune.`,
      'Prune the float32 parent, then quantise the pruned version.',
    );
  const buffer = files.data.slice().buffer;
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: files.modelJson.modelTopology, weightSpecs: files.specs, weightData: buffer }),
  );
  const optimizer = optimizerFor(options.config.train.optimizer, options.config.train.learningRate);
  try {
    const dense = model.layers.filter((l) => l.getClassName() === 'Dense');
    if (dense.length === 0)
      throw new ModelOpsError(
        'optimize-unsupported',
        `The model in ${srcDir} has no dense layers to prune.`,
        'Pruning works on dense (fully connected) layers.',
      );
    const masks: Array<Float32Array | null> = dense.map(() => null);
    const applyMasks = () =>
      tf.tidy(() => {
        dense.forEach((l, i) => {
          const m = masks[i];
          if (!m) return;
          const ws = l.getWeights();
          l.setWeights([tf.mul(ws[0], tf.tensor(m, ws[0].shape)), ...ws.slice(1)]);
        });
      });
    const updateMasks = (sparsity: number) => {
      dense.forEach((l, i) => {
        masks[i] = magnitudeMask(l.getWeights()[0].dataSync() as Float32Array, sparsity);
      });
      applyMasks();
    };

    const epochs = options.epochs;
    const batch = Math.max(1, options.config.train.batchSize);
    let steps = 0;
    let finalLoss: number | undefined;
    let schedule = scheduleFor(options.schedule, options.sparsity, 0);
    if (epochs > 0) {
      const { x, y, n } = await trainingMatrix(model, manifest, options);
      const width = x.length / Math.max(1, n);
      const outWidth = y.length / Math.max(1, n);
      const perEpoch = Math.ceil(n / batch);
      schedule = scheduleFor(options.schedule, options.sparsity, perEpoch * epochs);
      const loss =
        manifest.task === 'regression'
          ? tf.metrics.meanSquaredError
          : outWidth === 1
            ? tf.metrics.binaryCrossentropy
            : tf.metrics.categoricalCrossentropy;
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const dropout = dropoutSeeds(model);
      const xs = new Float32Array(x.length);
      const ys = new Float32Array(y.length);
      let lastYield = performance.now();
      try {
        for (let epoch = 0; epoch < epochs; epoch++) {
          const perm = seededPermutation(n, options.config.train.seed + epoch);
          for (let i = 0; i < n; i++) {
            xs.set(x.subarray(perm[i] * width, (perm[i] + 1) * width), i * width);
            ys.set(y.subarray(perm[i] * outWidth, (perm[i] + 1) * outWidth), i * outWidth);
          }
          let total = 0;
          for (let b = 0; b < perEpoch; b++) {
            if (options.signal?.aborted) throw new PruneCancelled();
            if (isPruningStep(steps, schedule)) updateMasks(sparsityAt(steps, schedule));
            const start = b * batch;
            const m = Math.min(batch, n - start);
            dropout.step(steps);
            const cost = tf.tidy(() => {
              const xb = tf.tensor2d(xs.subarray(start * width, (start + m) * width), [m, width]);
              const yb = tf.tensor2d(ys.subarray(start * outWidth, (start + m) * outWidth), [m, outWidth]);
              return optimizer.minimize(
                () => tf.mean(loss(yb, model.apply(xb, { training: true }) as tf.Tensor)) as tf.Scalar,
                true,
                variables,
              ) as tf.Scalar;
            });
            total += cost.dataSync()[0] * m;
            cost.dispose();
            applyMasks();
            steps++;
            if (performance.now() - lastYield > 100) {
              await new Promise<void>((resolve) => setImmediate(resolve));
              lastYield = performance.now();
            }
          }
          finalLoss = total / n;
          const s = sparsityAt(steps, schedule);
          options.onProgress?.({
            epoch: epoch + 1,
            epochs,
            fraction: (epoch + 1) / epochs,
            sparsity: s,
            loss: finalLoss,
            message: `epoch ${epoch + 1}/${epochs} · sparsity ${s.toFixed(3)} · loss ${finalLoss.toFixed(4)}`,
          });
        }
      } finally {
        dropout.restore();
      }
    }
    // The final masks at exactly the target sparsity (one-shot when there was no fine-tuning).
    updateMasks(options.sparsity);

    const counts = dense.map((l, i) => {
      const ws = l.getWeights();
      const kernel = ws[0].size;
      return {
        layer: l.name,
        pruned: masks[i]!.reduce((a, v) => a + (v === 0 ? 1 : 0), 0),
        kernel,
        bias: ws.slice(1).reduce((a, w) => a + w.size, 0),
      };
    });
    // countParams counts every weight, trainable or not (batch-norm statistics too).
    const totalParams = model.countParams();
    const rate = pruningRate(counts, totalParams);

    const saved = await saveWeights(model);
    await writeTfjsFiles(outDir, srcDir, { modelJson: files.modelJson, specs: saved.specs, data: saved.data }, true);
    return {
      rate,
      schedule,
      steps,
      ...(finalLoss !== undefined ? { finalLoss } : {}),
      weightBytes: saved.data.byteLength,
      compressedBytes: gzipSync(saved.data, { level: 9 }).byteLength,
    };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

async function saveWeights(model: tf.LayersModel): Promise<{ specs: WeightSpec[]; data: Uint8Array }> {
  const tf = tfjs();
  let out: { specs: WeightSpec[]; data: Uint8Array } | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data =
        artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      out = { specs: artifacts.weightSpecs ?? [], data: new Uint8Array(data) };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!out)
    throw new ModelOpsError('bundle-write', 'The pruned model could not be serialised.', 'Report this as a bug.');
  return out;
}

/** The training split encoded with the parent's own preprocessing and labels. */
async function trainingMatrix(
  model: tf.LayersModel,
  manifest: ModelManifest,
  options: PruneOptions,
): Promise<{ x: Float32Array; y: Float32Array; n: number }> {
  const features = manifest.features.map((f) => f.name);
  const data = await loadTrainingData(
    { ...options.config.data, features, target: manifest.target },
    { configDir: dirname(options.configPath), root: options.root },
  );
  const set = data.train;
  if (set.rows.length === 0)
    throw new ModelOpsError(
      'no-training-rows',
      `The training split of ${set.source} has no rows to fine-tune on.`,
      'Check data.train and data.split in modelops.yaml, or prune with --epochs 0 (one-shot).',
    );
  const ctx = { source: set.source, lines: set.lines };
  const x = transformRows(set.rows, manifest.features, ctx);
  const n = set.rows.length;
  const shape = model.outputs[0].shape;
  const outWidth = (shape[shape.length - 1] as number | null) ?? 1;
  if (manifest.task === 'regression')
    return { x, y: Float32Array.from(encodeRegressionTarget(set.rows, manifest.target, ctx)), n };
  const idx = encodeLabels(set.rows, manifest.target, manifest.labels ?? [], ctx);
  const y = new Float32Array(n * outWidth);
  if (outWidth === 1) for (let i = 0; i < n; i++) y[i] = idx[i];
  else for (let i = 0; i < n; i++) y[i * outWidth + idx[i]] = 1;
  return { x, y, n };
}
