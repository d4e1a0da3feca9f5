/**
 * Optimised versions (issue 14): `quantizeVersion` (TF.js float16/uint8 weights, ONNX
 * weight-only float16 or dynamic uint8) and `pruneVersion` (magnitude pruning of TF.js dense layers with
 * fine-tuning). Each writes a child bundle, scores and measures it against its parent and
 * registers it as a gated minor version (register.ts). Both take a progress callback and an
 * AbortSignal, so the CLI and the editor drive them alike.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelOpsError } from '../errors';
import { loadConfig } from '../config';
import { MANIFEST_JSON, WEIGHTS_GZ } from '../model/bundle';
import type { ModelManifest } from '../model/types';
import type { Registry } from '../registry/types';
import { loadRuntime } from '../runtime';
import { pruneTfjsBundle, PRUNE_SCHEDULES, type PruneResult, type PruneSchedule } from './prune';
import { parseDtype, quantizeTfjsBundle, type QuantizeDtype, type QuantizeTfjsResult } from './quantize';
import { quantizeOnnxBundle } from './quantizeOnnx';
import { registerOptimized, type OptimizeProgress, type OptimizeResult } from './register';

export * from './register';
export { measureBundle, measurePair, bundleBytes, MEASUREMENT_KEYS, type Measurement } from './measure';
export {
  parseDtype,
  QUANTIZE_DTYPES,
  quantizeTfjsBundle,
  type QuantizeDtype,
  type QuantizeTfjsResult,
} from './quantize';
export { quantizeOnnxBundle, quantizeOnnxFloat16, quantizeOnnxUint8, type OnnxBundleDetails } from './quantizeOnnx';
export {
  magnitudeMask,
  pruneTfjsBundle,
  pruningRate,
  PRUNE_SCHEDULES,
  scheduleFor,
  sparsityAt,
  type PruneResult,
  type PruneSchedule,
  type PruningRate,
} from './prune';

interface Common {
  registry: Registry;
  /** "model@1.2.0", "model@production" or "model". */
  ref: string;
  /** modelops.yaml: test split (and training data for pruning), optimize.gates. */
  configPath: string;
  onProgress?: (p: OptimizeProgress) => void;
  signal?: AbortSignal;
}

export interface QuantizeOptions extends Common {
  dtype: string;
}

export interface QuantizeDetails {
  dtype: QuantizeDtype;
  format: 'tfjs' | 'onnx';
  /** TF.js: per-weight errors. ONNX: the initializers stored as float16. */
  weights: QuantizeTfjsResult['weights'] | Array<{ name: string; elements: number }>;
  bytesBefore: number;
  bytesAfter: number;
}

export interface PruneVersionOptions extends Common {
  sparsity: number;
  /** Fine-tuning epochs (default 2; 0 is one-shot pruning). */
  epochs?: number;
  schedule?: string;
}

export function checkSparsity(sparsity: number): number {
  if (typeof sparsity !== 'number' || !Number.isFinite(sparsity) || sparsity <= 0 || sparsity >= 1) {
    throw new ModelOpsError(
      'optimize-bad-sparsity',
      `Sparsity ${String(sparsity)} is outside (0, 1).`,
      'Give the fraction of dense-layer weights to prune, strictly between 0 and 1, e.g. --sparsity 0.5.',
    );
  }
  return sparsity;
}

function checkEpochs(epochs: number): number {
  if (!Number.isInteger(epochs) || epochs < 0 || epochs > 10000) {
    throw new ModelOpsError(
      'optimize-bad-option',
      `Fine-tuning epochs ${String(epochs)} is not a whole number from 0 to 10000.`,
      'Use e.g. --epochs 2, or --epochs 0 for one-shot pruning.',
    );
  }
  return epochs;
}

function checkSchedule(schedule: string): PruneSchedule {
  if ((PRUNE_SCHEDULES as readonly string[]).includes(schedule)) return schedule as PruneSchedule;
  throw new ModelOpsError(
    'optimize-bad-option',
    `Unknown pruning schedule '${schedule}'.`,
    `Use --schedule ${PRUNE_SCHEDULES.join(' or --schedule ')}.`,
  );
}

/** Quantises a version's weights and registers the result as a gated child version. */
export async function quantizeVersion(options: QuantizeOptions): Promise<OptimizeResult<QuantizeDetails>> {
  const dtype = parseDtype(options.dtype);
  const { registry } = options;
  const parent = registry.getVersion(options.ref);
  const loaded = await loadConfig(options.configPath);
  return registerOptimized<QuantizeDetails>({
    registry,
    loaded,
    parent,
    method: 'quantize',
    params: { dtype },
    tags: ['quantized', dtype],
    onProgress: options.onProgress,
    signal: options.signal,
    note: (d) =>
      `${dtype} quantisation of ${parent.version} (${d.format}, weights ${d.bytesBefore} → ${d.bytesAfter} bytes)`,
    async produce(parentDir, outDir) {
      if (parent.format === 'onnx') return quantizeOnnxBundle(parentDir, outDir, dtype);
      const r = await quantizeTfjsBundle(parentDir, outDir, dtype);
      return {
        details: { dtype, format: 'tfjs', weights: r.weights, bytesBefore: r.bytesBefore, bytesAfter: r.bytesAfter },
        notes: await ensureLoadable(outDir),
      };
    },
  });
}

/** Prunes a TF.js version's dense layers and registers the result as a gated child version. */
export async function pruneVersion(options: PruneVersionOptions): Promise<OptimizeResult<PruneResult>> {
  const sparsity = checkSparsity(options.sparsity);
  const epochs = checkEpochs(options.epochs ?? 2);
  const schedule = checkSchedule(options.schedule ?? 'polynomial');
  const { registry } = options;
  const parent = registry.getVersion(options.ref);
  if (parent.format === 'onnx') {
    throw new ModelOpsError(
      'optimize-unsupported',
      `${parent.model}@${parent.version} is an ONNX version; pruning is TensorFlow.js-only for now.`,
      'Prune a version trained by ModelOps (TensorFlow.js), or prune the model where it was trained and register the result.',
    );
  }
  const loaded = await loadConfig(options.configPath);
  return registerOptimized<PruneResult>({
    registry,
    loaded,
    parent,
    method: 'prune',
    params: {
      sparsity,
      epochs,
      schedule,
      batchSize: loaded.config.train.batchSize,
      optimizer: loaded.config.train.optimizer,
      learningRate: loaded.config.train.learningRate,
      seed: loaded.config.train.seed,
    },
    tags: ['pruned', `sparsity-${sparsity}`],
    onProgress: options.onProgress,
    signal: options.signal,
    note: (d) =>
      `pruned ${parent.version} to ${sparsity} sparsity (${schedule}, ${epochs} fine-tuning epochs): ${(d.rate.rate * 100).toFixed(1)}% of parameters are zero`,
    async produce(parentDir, outDir) {
      const manifest = JSON.parse(await readFile(join(parentDir, MANIFEST_JSON), 'utf8')) as ModelManifest;
      const r = await pruneTfjsBundle(parentDir, outDir, manifest, {
        sparsity,
        epochs,
        schedule,
        config: loaded.config,
        configPath: loaded.path,
        root: registry.root,
        signal: options.signal,
        onProgress: (p) =>
          options.onProgress?.({
            fraction: 0.05 + 0.6 * p.fraction,
            message: p.message,
            epoch: p.epoch,
            epochs: p.epochs,
          }),
      });
      const notes = await ensureLoadable(outDir);
      const metrics: Record<string, number> = { pruning_rate: r.rate.rate, sparsity_target: sparsity };
      for (const l of r.rate.layers) metrics[`pruning_rate_${l.layer}`] = l.rate;
      return { details: r, metrics, notes };
    },
  });
}

/** The written bundle loads as the server will load it; a pruned one says its weights are compressed. */
async function ensureLoadable(dir: string): Promise<string[]> {
  (await loadRuntime(dir)).dispose();
  return existsSync(join(dir, WEIGHTS_GZ)) ? [`weights stored gzip-compressed (${WEIGHTS_GZ})`] : [];
}
