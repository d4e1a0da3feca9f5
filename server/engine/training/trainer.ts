/**
 * Training from `modelops.yaml`: config → data → split → preprocessing → a worker thread that
 * trains and writes model.json + weights.bin → evaluation on the test split → bundle →
 * a new version in the registry with its lineage. A failure or a cancellation at any step
 * registers nothing and records the run as failed or cancelled. The preprocessing, the worker's
 * job and the worker itself are exported: hyperparameter-search trials (tuning/trial.ts) train
 * through the same code, so a trial with the same params trains the same model.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describeError, isModelOpsError, ModelOpsError } from '../errors';
import { workerEntry } from '../threads';
import type { LoadedConfig, ModelOpsConfig, Task } from '../config/types';
import { loadConfig } from '../config';
import type { GateReport, Registry, RunRecord, VersionRecord } from '../registry/types';
import { recordDatasets } from '../data/digest';
import {
  countImputed,
  encodeLabels,
  encodeRegressionTarget,
  fitLabels,
  fitTransforms,
  inputWidth,
  summariseMissing,
  transformRows,
  type RowSet,
} from '../data/preprocess';
import { buildProfile, evaluationSample, lossSample } from '../data/profile';
import { loadTrainingData, type LoadedData } from '../data/splits';
import { classificationMetrics, flattenMetrics, regressionMetrics, type MetricsReport } from '../evaluation/metrics';
import { evaluateGates, notEvaluatedReport } from '../evaluation/gates';
import { sameRowsResolver, storeFairness, trainingFairness } from '../evaluation/evaluate';
import { flattenFairness, type FairnessReport } from '../evaluation/fairness';
import {
  decodeOutputs,
  loadModelBundle,
  makeSignature,
  MANIFEST_FORMAT,
  MANIFEST_JSON,
  probabilitiesOf,
  writeManifest,
} from '../model/bundle';
import type { FeatureTransform, ModelManifest } from '../model/types';
import { parseBackendChoice, type BackendChoice, type BackendInfo } from '../tfjs/load';
import { classWeights, defaultLayers, lossFor, type NetworkSpec } from './model';
import type { TrainJob, WorkerInit, WorkerMessage } from './messages';
import { abortOutcome, runExternalTrainer } from './external';
import { snapshotConfig } from './snapshot';
import { isErrorCode } from '../../../shared/errorCodes';
import type { TrainProgress, TrainResult } from './types';

export type { TrainProgress, TrainResult };

export interface TrainOptions {
  configPath: string;
  registry: Registry;
  /** auto | tensorflow | wasm | cpu */
  backend?: string;
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
  /** Replaces data.train (e.g. a fresh extract). */
  dataOverride?: string;
  /** Required for `train.command`: the caller decides whether the workspace is trusted. */
  trusted?: boolean;
  /** Changelog note for the new version. */
  note?: string;
  /** Called with each log line of an external trainer. */
  onLog?: (line: string) => void;
  /** More lineage for the run's params (e.g. `fromTraffic`: the target and data version it came from). */
  runParams?: Record<string, unknown>;
}

export class TrainingCancelled extends ModelOpsError {
  constructor() {
    super('cancelled', 'Training was cancelled.', 'Start it again when you are ready.');
  }
}

type EpochMessage = Extract<WorkerMessage, { type: 'epoch' }>;
type DoneMessage = Extract<WorkerMessage, { type: 'done' }>;

/**
 * A started training worker with a typed message queue: the trainer and the tuning trials both
 * train through it. `errorHint` is the hint of an error the worker reports without one.
 */
export class TrainWorker {
  readonly worker: Worker;
  readonly cancelFlag = new SharedArrayBuffer(4);
  private queue: WorkerMessage[] = [];
  private waiters: Array<(m: WorkerMessage) => void> = [];
  private exitError: Error | null = null;

  constructor(
    backend: BackendChoice,
    private readonly errorHint = 'See the ModelOps output channel for details.',
  ) {
    const entry = workerEntry(__filename, 'trainWorker.js', 'worker.ts');
    if (!existsSync(entry.file)) {
      throw new ModelOpsError(
        'worker-missing',
        `The training worker ${entry.file} is missing.`,
        'Rebuild the extension (npm run build).',
      );
    }
    const workerData: WorkerInit = { backend, cancelFlag: this.cancelFlag };
    this.worker = entry.bootstrap
      ? new Worker(entry.bootstrap, { eval: true, workerData })
      : new Worker(entry.file, { workerData });
    this.worker.on('message', (m: WorkerMessage) => this.push(m));
    this.worker.on('error', (e) => {
      this.exitError = e;
      this.push({ type: 'error', code: 'worker-crashed', message: `The training worker failed: ${e.message}` });
    });
    this.worker.on('exit', (code) => {
      // After 'done' nobody waits any more; before it, an exit must not leave the caller hanging.
      if (!this.exitError)
        this.push({
          type: 'error',
          code: 'worker-crashed',
          message: `The training worker exited (code ${code}) before it finished.`,
        });
    });
  }

  private push(m: WorkerMessage): void {
    const w = this.waiters.shift();
    if (w) w(m);
    else this.queue.push(m);
  }

  next(): Promise<WorkerMessage> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Waits until the worker has its TensorFlow.js backend; a worker that could not start throws why. */
  async ready(): Promise<BackendInfo> {
    const m = await this.next();
    if (m.type === 'error') throw this.error(m);
    if (m.type !== 'ready')
      throw new ModelOpsError(
        'worker-protocol',
        `Unexpected message '${m.type}' from the training worker.`,
        'Report this as a bug.',
      );
    return m.backend;
  }

  /** Sends the job and hands each epoch to `onEpoch` until the worker is done (or reports an error). */
  async run(job: TrainJob, onEpoch: (m: EpochMessage) => void): Promise<DoneMessage> {
    this.worker.postMessage(job);
    for (;;) {
      const m = await this.next();
      if (m.type === 'error') throw this.error(m);
      if (m.type === 'epoch') onEpoch(m);
      else if (m.type === 'done') return m;
    }
  }

  cancel(): void {
    Atomics.store(new Int32Array(this.cancelFlag), 0, 1);
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private error(m: Extract<WorkerMessage, { type: 'error' }>): ModelOpsError {
    // The worker sends the code of the ModelOpsError it caught, or something else for a crash.
    return new ModelOpsError(isErrorCode(m.code) ? m.code : 'training-failed', m.message, m.hint ?? this.errorHint);
  }
}

/**
 * The preprocessing fitted for a config's data: feature transforms on the training split only,
 * labels over every split (so no split has a label the model does not know).
 */
export interface FittedData {
  task: Task;
  features: FeatureTransform[];
  /** Classification: the sorted labels; regression: undefined. */
  labels: string[] | undefined;
  /** Number of labels, or 1 for regression. */
  classes: number;
  inputWidth: number;
}

/** One split encoded for the worker: its inputs, and its target as label indexes or as values. */
export interface EncodedSplit {
  /** Row-major n × inputWidth. */
  x: Float32Array;
  n: number;
  idx: Int32Array | null;
  values: Float64Array | null;
}

/** Fits the preprocessing on the loaded data; a classifier's target needs two classes. */
export function fitPreprocessing(config: ModelOpsConfig, data: LoadedData): FittedData {
  const features = fitTransforms(data.train.rows, data.features, config.data.missing);
  const task = config.model.task;
  const labels =
    task === 'classification'
      ? fitLabels([...data.train.rows, ...data.validation.rows, ...data.test.rows], config.data.target)
      : undefined;
  if (labels && labels.length < 2) {
    throw new ModelOpsError(
      'one-class',
      `The target '${config.data.target}' has only one class (${labels[0] ?? 'none'}).`,
      'A classifier needs at least two classes in the data.',
    );
  }
  return { task, features, labels, classes: labels?.length ?? 1, inputWidth: inputWidth(features) };
}

/** Encodes a split with the fitted preprocessing; a value it cannot encode is an error naming file, line and column. */
export function encodeSplit(config: ModelOpsConfig, fitted: FittedData, set: RowSet): EncodedSplit {
  const ctx = { source: set.source, lines: set.lines };
  const x = transformRows(set.rows, fitted.features, ctx);
  if (fitted.labels)
    return { x, n: set.rows.length, idx: encodeLabels(set.rows, config.data.target, fitted.labels, ctx), values: null };
  return { x, n: set.rows.length, idx: null, values: encodeRegressionTarget(set.rows, config.data.target, ctx) };
}

/**
 * The network `config` describes for the fitted data (model.layers, or the default layers), checked
 * against the task before any work is done, and the width of its output.
 */
export function networkFor(config: ModelOpsConfig, fitted: FittedData): { network: NetworkSpec; outputWidth: number } {
  const layers =
    config.model.layers && config.model.layers.length > 0
      ? config.model.layers
      : defaultLayers(fitted.task, fitted.classes);
  const network: NetworkSpec = {
    task: fitted.task,
    inputWidth: fitted.inputWidth,
    classes: fitted.classes,
    layers,
    optimizer: config.train.optimizer,
    learningRate: config.train.learningRate,
    seed: config.train.seed,
  };
  lossFor(network);
  const last = layers[layers.length - 1];
  return { network, outputWidth: last.type === 'dense' ? last.units : fitted.classes };
}

/** The target matrix the worker trains on: values, one binary 0/1 column, or one-hot rows. */
function targetMatrix(split: EncodedSplit, outputWidth: number): Float32Array {
  if (split.values) return Float32Array.from(split.values);
  const idx = split.idx!;
  const y = new Float32Array(idx.length * outputWidth);
  if (outputWidth === 1) for (let i = 0; i < idx.length; i++) y[i] = idx[i];
  else for (let i = 0; i < idx.length; i++) y[i * outputWidth + idx[i]] = 1;
  return y;
}

/** The worker's job: the encoded splits, the network and `config.train`'s settings (epochs, seed, class weights). */
export function trainJob(
  config: ModelOpsConfig,
  fitted: FittedData,
  net: { network: NetworkSpec; outputWidth: number },
  splits: { train: EncodedSplit; validation: EncodedSplit },
  output: { bundleDir: string; predict: TrainJob['predict'] },
): TrainJob {
  const { train, validation } = splits;
  return {
    type: 'train',
    network: net.network,
    x: train.x,
    y: targetMatrix(train, net.outputWidth),
    n: train.n,
    valX: validation.n ? validation.x : null,
    valY: validation.n ? targetMatrix(validation, net.outputWidth) : null,
    nVal: validation.n,
    outputWidth: net.outputWidth,
    epochs: config.train.epochs,
    batchSize: config.train.batchSize,
    seed: config.train.seed,
    classWeight:
      fitted.task === 'classification'
        ? classWeights(config.train.classWeights, fitted.labels!, train.idx!)
        : undefined,
    earlyStopping: config.train.earlyStopping,
    predict: output.predict,
    bundleDir: output.bundleDir,
  };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new TrainingCancelled();
}

/** Trains the model described by the config file. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const loaded = await loadConfig(options.configPath);
  return trainWithConfig(loaded, options);
}

/** Same as `train` with an already loaded config. */
export async function trainWithConfig(loaded: LoadedConfig, options: TrainOptions): Promise<TrainResult> {
  const { config } = loaded;
  if (config.model.framework === 'command') {
    return runExternalTrainer(loaded, {
      registry: options.registry,
      trusted: options.trusted === true,
      onProgress: options.onProgress,
      onLog: options.onLog,
      signal: options.signal,
      note: options.note,
    });
  }
  return trainTfjs(loaded, options);
}

function runParams(
  config: ModelOpsConfig,
  loaded: LoadedConfig,
  options: TrainOptions,
  registry: Registry,
): Record<string, unknown> {
  return {
    config: relativeTo(registry.root, loaded.path),
    configDigest: loaded.digest,
    data: options.dataOverride ?? config.data.train,
    target: config.data.target,
    features: config.data.features ?? null,
    split: config.data.split,
    missing: config.data.missing,
    layers: config.model.layers ?? null,
    epochs: config.train.epochs,
    batchSize: config.train.batchSize,
    optimizer: config.train.optimizer,
    learningRate: config.train.learningRate,
    seed: config.train.seed,
    classWeights: config.train.classWeights,
    earlyStopping: config.train.earlyStopping ?? null,
    backendRequested: options.backend ?? 'auto',
    ...options.runParams,
  };
}

function relativeTo(root: string, abs: string): string {
  return abs.startsWith(root + '/') ? abs.slice(root.length + 1) : abs;
}

async function trainTfjs(loaded: LoadedConfig, options: TrainOptions): Promise<TrainResult> {
  const { config } = loaded;
  const { registry } = options;
  const choice = parseBackendChoice(options.backend);
  const progress = (p: Omit<TrainProgress, 'runId'>) => options.onProgress?.({ runId: run?.id ?? null, ...p });
  const epochs = config.train.epochs;
  let run: RunRecord | null = null;

  throwIfAborted(options.signal);
  progress({ epoch: 0, epochs, fraction: 0, metrics: {}, message: 'starting the training worker' });
  const worker = new TrainWorker(choice);
  const onAbort = () => worker.cancel();
  options.signal?.addEventListener('abort', onAbort);
  const bundleDir = () => join(registry.storeDir, 'runs', run!.id, 'bundle');
  try {
    const backend: BackendInfo = await worker.ready();
    run = registry.createRun({
      kind: 'train',
      model: config.model.name,
      params: runParams(config, loaded, options, registry),
      backend: backend.name,
    });
    const notes = [...backend.notes];

    try {
      throwIfAborted(options.signal);
      progress({ epoch: 0, epochs, fraction: 0.01, metrics: {}, message: 'reading data' });
      const configDir = dirname(loaded.path);
      const data = await loadTrainingData(config.data, {
        configDir,
        root: registry.root,
        trainOverride: options.dataOverride,
      });
      throwIfAborted(options.signal);

      // Preprocessing fitted on the training split only.
      const fitted = fitPreprocessing(config, data);
      const { task, features, labels, classes } = fitted;
      const missing = summariseMissing(
        config.data.missing,
        data.dropped,
        countImputed([data.train, data.validation, data.test], features),
      );
      notes.push(missing.summary);
      const net = networkFor(config, fitted); // checks the output layer before any work is done

      const trainSplit = encodeSplit(config, fitted, data.train);
      const validation = encodeSplit(config, fitted, data.validation);
      const test = encodeSplit(config, fitted, data.test);
      const job = trainJob(
        config,
        fitted,
        net,
        { train: trainSplit, validation },
        {
          predict: [
            { name: 'test', x: test.x, n: test.n },
            { name: 'train', x: trainSplit.x, n: trainSplit.n },
          ],
          bundleDir: bundleDir(),
        },
      );
      await mkdir(job.bundleDir, { recursive: true });
      throwIfAborted(options.signal);

      // Epochs stream in until the worker is done.
      let lastSps = 0;
      const done = await worker.run(job, (m) => {
        registry.appendRunMetrics(run!.id, m.epoch, m.metrics);
        lastSps = m.samplesPerSecond;
        const loss = m.metrics.loss;
        progress({
          epoch: m.epoch,
          epochs,
          fraction: 0.02 + 0.9 * (m.epoch / epochs),
          metrics: m.metrics,
          message: `epoch ${m.epoch}/${epochs}${loss !== undefined ? ` · loss ${loss.toFixed(3)}` : ''}`,
        });
      });
      notes.push(...done.notes);
      if (done.cancelled || options.signal?.aborted) throw new TrainingCancelled();

      progress({ epoch: done.epochsRun, epochs, fraction: 0.93, metrics: {}, message: 'evaluating on the test split' });
      const nTest = data.test.rows.length;
      let report: MetricsReport | null = null;
      let fairness: FairnessReport | null = null;
      let testProba: Float64Array | null = null;
      let testPred: Float64Array | null = null;
      if (nTest > 0) {
        const out = done.outputs.test;
        const proba = task === 'classification' ? probabilitiesOf(out, nTest, done.outputWidth, classes) : null;
        testProba = proba;
        const yPred =
          task === 'regression' ? Float64Array.from({ length: nTest }, (_, i) => out[i * done.outputWidth]) : null;
        testPred = yPred;
        report = proba
          ? classificationMetrics(test.idx!, null, labels!, proba)
          : regressionMetrics(test.values!, yPred!);
        notes.push(...report.notes);
        // Per-group metrics on the same test rows, so fairness gates are judged at training time too.
        fairness = trainingFairness({
          task,
          config: config.evaluate.fairness,
          rows: data.test.rows,
          source: data.test.source,
          yTrue: proba ? test.idx! : test.values!,
          labels,
          proba,
          yPred,
        });
      } else {
        notes.push('no test rows: the version has no test metrics');
      }
      const metrics = report ? { ...flattenMetrics(report), ...(fairness ? flattenFairness(fairness) : {}) } : {};
      // Every metric is recorded (a dozen numbers), so a gate added later, or a gate relative to
      // an alias, always finds its metric on older versions; evaluate.metrics chooses what is shown.
      const recorded = metrics;

      // Reference profile of the training data and the model's predictions on it.
      const trainPreds = decodeOutputs(
        done.outputs.train,
        data.train.rows.length,
        done.outputWidth,
        task,
        labels ?? [],
      ).map((p) => p.value);
      const manifest: ModelManifest = {
        format: MANIFEST_FORMAT,
        task,
        target: config.data.target,
        features,
        labels,
        signature: makeSignature(features, task, labels),
        profile: {
          ...buildProfile(data.train.rows, features, trainPreds, config.train.seed),
          // CBPE's reference when the traffic's labels come late (monitoring/cbpe.ts).
          ...(testProba && labels ? { evaluation: evaluationSample(testProba, test.idx!, labels.length) } : {}),
          // DLE's reference when a regression model's labels come late (monitoring/dle.ts).
          ...(testPred && test.values
            ? {
                evaluationLoss: lossSample(
                  data.test.rows,
                  features.map((f) => f.name),
                  testPred,
                  test.values,
                ),
              }
            : {}),
        },
        backend: backend.name,
        trainedAt: new Date().toISOString(),
      };
      await writeManifest(job.bundleDir, manifest);
      await verifyBundle(job.bundleDir, test.x, nTest, done.outputs.test);
      throwIfAborted(options.signal);

      progress({ epoch: done.epochsRun, epochs, fraction: 0.96, metrics: {}, message: 'registering the version' });
      const datasets = await recordDatasets(registry, data.files);
      const finalEpoch = registry.runMetrics(run.id).at(-1)?.metrics ?? {};
      const version = await registry.registerVersion({
        model: config.model.name,
        source: job.bundleDir,
        format: 'modelops-tfjs',
        signature: manifest.signature,
        metrics: recorded,
        runId: run.id,
        configPath: await snapshotConfig(registry, run.id, loaded),
        datasets,
        note:
          options.note ??
          `trained on ${backend.name}: ${done.epochsRun} epochs${done.stoppedEarly ? ' (stopped early)' : ''}`,
      });
      const twin = await sameModelAs(registry, version);
      if (twin)
        notes.push(
          `${version.model}@${version.version} computes what ${twin} computes: the same network and weights (the same data, config and seed train the same model)`,
        );
      if (fairness) await storeFairness(registry.root, version, fairness, data.test.source);
      let gates: GateReport | null = null;
      let finalVersion = version;
      if (Object.keys(config.evaluate.gates).length > 0) {
        // Without test rows there is nothing to evaluate: the gates are "not evaluated", never passed.
        // The version holding a gate's alias is scored on this test split too (like with like).
        gates = report
          ? evaluateGates({
              gates: config.evaluate.gates,
              metrics,
              resolveAlias: await sameRowsResolver(registry, config.model.name, config.evaluate.gates, {
                config,
                configPath: loaded.path,
                root: registry.root,
                trainOverride: options.dataOverride,
                signal: options.signal,
                skip: version.version,
              }),
            })
          : notEvaluatedReport(config.evaluate.gates, 'the test split has no rows');
        finalVersion = registry.recordGates(`${version.model}@${version.version}`, gates);
      }
      const runMetrics: Record<string, number> = {
        ...prefixed(finalEpoch, 'final_'),
        ...metrics,
        samples_per_second: done.samplesPerSecond || lastSps,
      };
      run = registry.finishRun(run.id, { status: 'succeeded', version: version.version, metrics: runMetrics });
      await rm(job.bundleDir, { recursive: true, force: true });
      progress({
        epoch: done.epochsRun,
        epochs,
        fraction: 1,
        metrics,
        message: `registered ${version.model}@${version.version}`,
      });
      return {
        run,
        version: finalVersion,
        metrics,
        report,
        gates,
        backend: backend.name,
        samplesPerSecond: done.samplesPerSecond || lastSps,
        epochsRun: done.epochsRun,
        stoppedEarly: done.stoppedEarly,
        missing,
        notes,
      };
    } catch (e) {
      const cancelled = e instanceof TrainingCancelled || options.signal?.aborted === true;
      const outcome = cancelled ? abortOutcome(options.signal) : { status: 'failed' as const, error: describeError(e) };
      try {
        run = registry.finishRun(run.id, outcome);
      } catch {
        // The original error matters more than a failure to record it.
      }
      await rm(join(registry.storeDir, 'runs', run.id, 'bundle'), { recursive: true, force: true }).catch(
        () => undefined,
      );
      throw cancelled && !(e instanceof TrainingCancelled) ? new TrainingCancelled() : e;
    }
  } catch (e) {
    if (isModelOpsError(e)) throw e;
    throw new ModelOpsError(
      'training-failed',
      `Training failed: ${describeError(e)}`,
      'See the ModelOps output channel for details.',
    );
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await worker.terminate();
  }
}

function prefixed(m: Record<string, number>, prefix: string): Record<string, number> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [`${prefix}${k}`, v]));
}

/** Loads the written bundle and checks it predicts what the trained model predicted. */
async function verifyBundle(dir: string, x: Float32Array, n: number, expected: Float32Array): Promise<void> {
  const m = Math.min(n, 64);
  if (m === 0) return;
  const model = await loadModelBundle(dir);
  try {
    const width = x.length / n;
    const { outputs, width: ow } = await model.predictEncoded(x.subarray(0, m * width), m);
    for (let i = 0; i < m * ow; i++) {
      if (Math.abs(outputs[i] - expected[i]) > 1e-4) {
        throw new ModelOpsError(
          'bundle-mismatch',
          `The saved model bundle predicts ${outputs[i]} where the trained model predicted ${expected[i]}.`,
          'Report this as a bug; nothing was registered.',
        );
      }
    }
  } finally {
    model.dispose();
  }
}

/**
 * An earlier version of the model whose bundle has the same network and weights (every file but
 * the manifest, whose time stamp and profile differ): what training again on unchanged data and
 * config gives. The 50 newest versions are compared, by the digests their stored manifests list.
 */
async function sameModelAs(registry: Registry, v: VersionRecord): Promise<string | null> {
  const key = (files: Record<string, string>): string =>
    JSON.stringify(
      Object.entries(files)
        .filter(([path]) => path !== MANIFEST_JSON)
        .sort(),
    );
  const own = await registry.artifactFiles(`${v.model}@${v.version}`).catch(() => null);
  if (!own) return null;
  const mine = key(own);
  const { items } = registry.listVersions({
    model: v.model,
    limit: 50,
    sort: 'created',
    order: 'desc',
    includeArchived: true,
  });
  for (const other of items) {
    if (other.version === v.version || other.format !== v.format) continue;
    // An older artifact that cannot be read (a damaged store) is not this training's problem.
    const files = await registry.artifactFiles(`${other.model}@${other.version}`).catch(() => null);
    if (files && key(files) === mine) return `${other.model}@${other.version}`;
  }
  return null;
}
