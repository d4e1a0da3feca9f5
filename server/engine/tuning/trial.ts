/**
 * Trials that train: the data is read, split and preprocessed once per study (preprocessing
 * does not depend on any tunable field), then each trial sends a `TrainJob` to its own
 * training worker thread — the same preprocessing, job, worker and loop `modelops train` uses —
 * and streams its epochs into a registry run (kind `train`, params naming the study and trial).
 * Pruning and cancellation set the worker's cancel flag, which it checks after every batch.
 * Trials are not registered as versions: `registerBest` retrains the chosen one through the trainer.
 */
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { LoadedConfig } from '../config/types';
import { loadTrainingData } from '../data/splits';
import { describeError, ModelOpsError } from '../errors';
import type { Registry } from '../registry/types';
import { parseBackendChoice } from '../tfjs/load';
import {
  encodeSplit,
  fitPreprocessing,
  networkFor,
  trainJob,
  TrainWorker,
  type EncodedSplit,
  type FittedData,
} from '../training/trainer';
import { applyParams } from './space';
import type { TrialContext, TrialFn, TrialOutcome } from './study';

/** The fitted preprocessing and the encoded splits, shared by every trial of a study. */
interface Prepared {
  fitted: FittedData;
  train: EncodedSplit;
  validation: EncodedSplit;
}

async function prepare(loaded: LoadedConfig, root: string): Promise<Prepared> {
  const { config } = loaded;
  const data = await loadTrainingData(config.data, { configDir: dirname(loaded.path), root });
  if (data.validation.rows.length === 0) {
    throw new ModelOpsError(
      'config-invalid',
      `tune: the data has no validation rows (data.split.validation is ${config.data.split.validation}), so trials cannot be scored on held-out data.`,
      'Give data.split.validation a fraction such as 0.15, or a data.validation file.',
    );
  }
  const fitted = fitPreprocessing(config, data);
  return {
    fitted,
    train: encodeSplit(config, fitted, data.train),
    validation: encodeSplit(config, fitted, data.validation),
  };
}

export interface TrainingTrialsOptions {
  loaded: LoadedConfig;
  registry: Registry;
  backend?: string;
}

/** A trial function that trains the config with the trial's params in a worker thread. */
export async function trainingTrials(options: TrainingTrialsOptions): Promise<TrialFn> {
  const { loaded, registry } = options;
  if (loaded.config.model.framework !== 'tfjs') {
    throw new ModelOpsError(
      'config-invalid',
      `tune: model.framework is '${loaded.config.model.framework}'; hyperparameter search trains model.layers with TensorFlow.js.`,
      'Use framework: tfjs for the study.',
    );
  }
  const prepared = await prepare(loaded, registry.root);
  const backend = parseBackendChoice(options.backend);
  return (ctx) => runTrial(ctx, prepared, options, backend);
}

async function runTrial(
  ctx: TrialContext,
  d: Prepared,
  options: TrainingTrialsOptions,
  backend: ReturnType<typeof parseBackendChoice>,
): Promise<TrialOutcome> {
  const { registry } = options;
  const config = applyParams(options.loaded.config, ctx.params);
  const net = networkFor(config, d.fitted);
  const worker = new TrainWorker(backend, 'See the trial run for details.');
  const cancel = () => worker.cancel();
  ctx.signal.addEventListener('abort', cancel);
  const run = registry.createRun({
    kind: 'train',
    model: config.model.name,
    params: {
      study: ctx.studyId,
      trial: ctx.number,
      tuned: ctx.params,
      layers: net.network.layers,
      epochs: config.train.epochs,
      batchSize: config.train.batchSize,
      optimizer: config.train.optimizer,
      learningRate: config.train.learningRate,
      seed: config.train.seed,
      configDigest: options.loaded.digest,
    },
    backend: null,
  });
  ctx.setRunId(run.id);
  const bundleDir = join(registry.storeDir, 'runs', run.id, 'bundle');
  let epochs = 0;
  let pruned = false;
  try {
    await worker.ready();
    await mkdir(bundleDir, { recursive: true });
    const job = trainJob(config, d.fitted, net, d, { bundleDir, predict: [] });
    if (ctx.signal.aborted) cancel();
    let finalMetrics: Record<string, number> = {};
    await worker.run(job, (m) => {
      registry.appendRunMetrics(run.id, m.epoch, m.metrics);
      epochs = m.epoch;
      finalMetrics = m.metrics;
      if (ctx.report(m.epoch, m.metrics) && !pruned) {
        pruned = true;
        cancel();
      }
    });
    registry.finishRun(
      run.id,
      ctx.signal.aborted
        ? { status: 'cancelled' }
        : pruned
          ? { status: 'cancelled', error: `pruned after epoch ${epochs} (median pruner)` }
          : { status: 'succeeded', metrics: finalMetrics },
    );
    return { metrics: finalMetrics, epochs };
  } catch (e) {
    try {
      registry.finishRun(
        run.id,
        ctx.signal.aborted ? { status: 'cancelled' } : { status: 'failed', error: describeError(e) },
      );
    } catch {
      // The trial's own error matters more than a failure to record it.
    }
    throw e;
  } finally {
    ctx.signal.removeEventListener('abort', cancel);
    await worker.terminate();
    // The worker saved a bundle nobody registers: drop it (and the run's folder if nothing else is in it).
    await rm(bundleDir, { recursive: true, force: true }).catch(() => undefined);
    await rmdir(dirname(bundleDir)).catch(() => undefined);
  }
}
