/**
 * Trials that train: the data is read, split and preprocessed once per study (preprocessing
 * does not depend on any tunable field), then each trial sends a `TrainJob` to its own
 * training worker thread — the same worker and loop `modelops train` uses — and streams its
 * epochs into a registry run (kind `train`, params naming the study and trial). Pruning and
 * cancellation set the worker's cancel flag, which it checks after every batch. Trials are not
 * registered as versions: `registerBest` retrains the chosen one through the trainer.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { LoadedConfig, ModelOpsConfig } from '../config/types';
import {
  encodeLabels,
  encodeRegressionTarget,
  fitLabels,
  fitTransforms,
  inputWidth,
  transformRows,
} from '../data/preprocess';
import { loadTrainingData } from '../data/splits';
import { describeError, ModelOpsError } from '../errors';
import { isErrorCode } from '../../../shared/errorCodes';
import type { Registry } from '../registry/types';
import { parseBackendChoice } from '../tfjs/backend';
import type { TrainJob, WorkerMessage } from '../training/messages';
import { classWeights, defaultLayers, lossFor, type NetworkSpec } from '../training/model';
import { applyParams } from './space';
import type { TrialContext, TrialFn, TrialOutcome } from './study';

/** The training worker's entry: dist/trainWorker.js when bundled, training/worker.ts under tsx. */
function workerEntry(): { file: string; bootstrap: string | null } {
  if (!__filename.endsWith('.ts')) return { file: join(__dirname, 'trainWorker.js'), bootstrap: null };
  const file = join(__dirname, '..', 'training', 'worker.ts');
  return {
    file,
    bootstrap: `require(${JSON.stringify(require.resolve(['tsx', 'cjs'].join('/')))}); require(${JSON.stringify(file)});`,
  };
}

/** The encoded splits, shared by every trial of a study. */
interface Prepared {
  task: ModelOpsConfig['model']['task'];
  x: Float32Array;
  n: number;
  valX: Float32Array | null;
  nVal: number;
  width: number;
  classes: number;
  labels: string[] | undefined;
  trainIdx: Int32Array | null;
  trainValues: Float64Array | null;
  valIdx: Int32Array | null;
  valValues: Float64Array | null;
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
  const features = fitTransforms(data.train.rows, data.features, config.data.missing);
  const task = config.model.task;
  const labels =
    task === 'classification'
      ? fitLabels([...data.train.rows, ...data.validation.rows, ...data.test.rows], config.data.target)
      : undefined;
  const enc = (set: typeof data.train) => transformRows(set.rows, features, { source: set.source, lines: set.lines });
  const idx = (set: typeof data.train) =>
    labels ? encodeLabels(set.rows, config.data.target, labels, { source: set.source, lines: set.lines }) : null;
  const values = (set: typeof data.train) =>
    labels ? null : encodeRegressionTarget(set.rows, config.data.target, { source: set.source, lines: set.lines });
  return {
    task,
    x: enc(data.train),
    n: data.train.rows.length,
    valX: enc(data.validation),
    nVal: data.validation.rows.length,
    width: inputWidth(features),
    classes: labels?.length ?? 1,
    labels,
    trainIdx: idx(data.train),
    trainValues: values(data.train),
    valIdx: idx(data.validation),
    valValues: values(data.validation),
  };
}

function targets(idx: Int32Array | null, values: Float64Array | null, outputWidth: number): Float32Array {
  if (values) return Float32Array.from(values);
  const y = new Float32Array(idx!.length * outputWidth);
  if (outputWidth === 1) for (let i = 0; i < idx!.length; i++) y[i] = idx![i];
  else for (let i = 0; i < idx!.length; i++) y[i * outputWidth + idx![i]] = 1;
  return y;
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
  const layers =
    config.model.layers && config.model.layers.length > 0 ? config.model.layers : defaultLayers(d.task, d.classes);
  const network: NetworkSpec = {
    task: d.task,
    inputWidth: d.width,
    classes: d.classes,
    layers,
    optimizer: config.train.optimizer,
    learningRate: config.train.learningRate,
    seed: config.train.seed,
  };
  lossFor(network);
  const last = layers[layers.length - 1];
  const outputWidth = last.type === 'dense' ? last.units : d.classes;
  const entry = workerEntry();
  if (!existsSync(entry.file))
    throw new ModelOpsError(
      'worker-missing',
      `The training worker ${entry.file} is missing.`,
      'Rebuild the extension (npm run build).',
    );
  const cancelFlag = new SharedArrayBuffer(4);
  const cancel = () => Atomics.store(new Int32Array(cancelFlag), 0, 1);
  const workerData = { backend, cancelFlag };
  const worker = entry.bootstrap
    ? new Worker(entry.bootstrap, { eval: true, workerData })
    : new Worker(entry.file, { workerData });
  const queue: WorkerMessage[] = [];
  const waiters: Array<(m: WorkerMessage) => void> = [];
  const push = (m: WorkerMessage) => (waiters.length ? waiters.shift()!(m) : queue.push(m));
  const next = () =>
    queue.length ? Promise.resolve(queue.shift()!) : new Promise<WorkerMessage>((r) => waiters.push(r));
  let crashed = false;
  worker.on('message', push);
  worker.on('error', (e) => {
    crashed = true;
    push({ type: 'error', code: 'worker-crashed', message: `The training worker failed: ${e.message}` });
  });
  worker.on('exit', (code) => {
    if (!crashed)
      push({
        type: 'error',
        code: 'worker-crashed',
        message: `The training worker exited (code ${code}) before it finished.`,
      });
  });
  ctx.signal.addEventListener('abort', cancel);
  const run = registry.createRun({
    kind: 'train',
    model: config.model.name,
    params: {
      study: ctx.studyId,
      trial: ctx.number,
      tuned: ctx.params,
      layers,
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
    const ready = await next();
    if (ready.type === 'error')
      throw new ModelOpsError(
        isErrorCode(ready.code) ? ready.code : 'training-failed',
        ready.message,
        ready.hint ?? 'See the trial run for details.',
      );
    await mkdir(bundleDir, { recursive: true });
    const job: TrainJob = {
      type: 'train',
      network,
      x: d.x,
      y: targets(d.trainIdx, d.trainValues, outputWidth),
      n: d.n,
      valX: d.valX,
      valY: targets(d.valIdx, d.valValues, outputWidth),
      nVal: d.nVal,
      outputWidth,
      epochs: config.train.epochs,
      batchSize: config.train.batchSize,
      seed: config.train.seed,
      classWeight:
        d.task === 'classification' ? classWeights(config.train.classWeights, d.labels!, d.trainIdx!) : undefined,
      earlyStopping: config.train.earlyStopping,
      predict: [],
      bundleDir,
    };
    if (ctx.signal.aborted) cancel();
    worker.postMessage(job);
    let finalMetrics: Record<string, number> = {};
    for (;;) {
      const m = await next();
      if (m.type === 'error')
        throw new ModelOpsError(
          isErrorCode(m.code) ? m.code : 'training-failed',
          m.message,
          m.hint ?? 'See the trial run for details.',
        );
      if (m.type === 'epoch') {
        registry.appendRunMetrics(run.id, m.epoch, m.metrics);
        epochs = m.epoch;
        finalMetrics = m.metrics;
        if (ctx.report(m.epoch, m.metrics) && !pruned) {
          pruned = true;
          cancel();
        }
      } else if (m.type === 'done') break;
    }
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
