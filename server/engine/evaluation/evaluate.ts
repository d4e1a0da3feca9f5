/**
 * Evaluate a registered version: load its bundle through the model runtime layer (TF.js or
 * ONNX), rebuild the test split the config holds out (or read a given file), compute the
 * metrics on the batch path, check the config's gates and store the result with the version;
 * recorded as an 'evaluate' run.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { describeError, ModelOpsError } from '../errors';
import { loadConfig } from '../config';
import type { LoadedConfig, ModelOpsConfig } from '../config/types';
import type { GateReport, Registry, RunRecord, VersionRecord } from '../registry/types';
import type { ColumnType } from '../data/read';
import { encodeLabels, encodeRegressionTarget, type MissingPolicy, type RowSet } from '../data/preprocess';
import { loadEvaluationData, loadTrainingData } from '../data/splits';
import { MANIFEST_JSON } from '../model/bundle';
import { loadRuntime, runtimeMissingPolicy, type ModelRuntime } from '../runtime';
import { classificationMetrics, flattenMetrics, regressionMetrics, type MetricsReport } from './metrics';
import { evaluateGates, registryAliasResolver, type AliasMetrics, type GateInput } from './gates';
import { parseGate as parseGateExpression } from '../config/gate';
import { computeFairness, flattenFairness, type FairnessReport } from './fairness';
import type { Row } from '../data/read';
import type { FairnessConfig, Task } from '../config/types';

export interface EvaluateOptions {
  registry: Registry;
  /** "model@1.2.0", "model@production" or "model". */
  ref: string;
  configPath: string;
  /** Evaluate on this file instead of the config's test split. */
  dataPath?: string;
  /** Check the config's gates and store the report with the version (default true). */
  gate?: boolean;
  signal?: AbortSignal;
}

export interface EvaluateResult {
  version: VersionRecord;
  run: RunRecord;
  report: MetricsReport;
  metrics: Record<string, number>;
  gates: GateReport | null;
  /** Per-group metrics and the fairness metrics, when evaluate.fairness is configured. */
  fairness: FairnessReport | null;
  rows: number;
  /** Where the rows came from: "data/x.csv (test split)" or the --data file. */
  data: string;
}

export async function evaluateVersion(options: EvaluateOptions): Promise<EvaluateResult> {
  const loaded = await loadConfig(options.configPath);
  return evaluateWithConfig(loaded, options);
}

export async function evaluateWithConfig(loaded: LoadedConfig, options: EvaluateOptions): Promise<EvaluateResult> {
  const { registry } = options;
  const { config } = loaded;
  const version = registry.getVersion(options.ref);
  const ref = `${version.model}@${version.version}`;
  const bundleDir = await runnableBundle(registry, ref, version);
  let run = registry.createRun({
    kind: 'evaluate',
    model: version.model,
    params: { ref, data: options.dataPath ?? null, gate: options.gate !== false },
  });
  try {
    const rt = await loadRuntime(bundleDir);
    try {
      const {
        report,
        rows: n,
        data,
        scored,
      } = await scoreRuntime(rt, { ...options, ref, configPath: loaded.path, config, root: registry.root });
      const fairness = config.evaluate.fairness
        ? computeFairness({ task: rt.task, config: config.evaluate.fairness, source: data, ...scored })
        : null;
      // Fairness metrics sit with the others, so gates (absolute or alias-relative) and compare see them.
      const metrics = { ...flattenMetrics(report), ...(fairness ? flattenFairness(fairness) : {}) };
      // Kept with the version (beside it, not in its artifact) for the report, compare, the tree and the card.
      if (fairness && options.gate !== false) await storeFairness(registry.root, version, fairness, data);
      let gates: GateReport | null = null;
      let updated = version;
      if (options.gate !== false && Object.keys(config.evaluate.gates).length > 0) {
        gates = evaluateGates({
          gates: config.evaluate.gates,
          metrics,
          resolveAlias: await sameRowsResolver(registry, version.model, config.evaluate.gates, {
            ...options,
            config,
            configPath: loaded.path,
            root: registry.root,
            skip: version.version,
          }),
        });
        updated = registry.recordGates(ref, gates);
      }
      run = registry.finishRun(run.id, { status: 'succeeded', version: version.version, metrics });
      return { version: updated, run, report, metrics, gates, fairness, rows: n, data };
    } finally {
      rt.dispose();
    }
  } catch (e) {
    const cancelled = e instanceof ModelOpsError && e.code === 'cancelled';
    try {
      registry.finishRun(run.id, {
        status: cancelled ? 'cancelled' : 'failed',
        error: cancelled ? null : describeError(e),
      });
    } catch {
      // Keep the original error.
    }
    throw e;
  }
}

/** A version's fairness report as stored by the evaluation (or training) that computed it. */
export interface StoredFairness {
  version: string;
  artifactDigest: string;
  computedAt: string;
  /** The rows it was computed on ("data/x.csv (test split)"). */
  data: string;
  report: FairnessReport;
}

export function fairnessPath(root: string, model: string, version: string): string {
  return join(root, '.modelops', 'fairness', model, `${version}.json`);
}

/** Writes the report atomically (temp file, then rename) beside the registry. */
export async function storeFairness(
  root: string,
  version: Pick<VersionRecord, 'model' | 'version' | 'artifactDigest'>,
  report: FairnessReport,
  data: string,
): Promise<string> {
  const path = fairnessPath(root, version.model, version.version);
  const body: StoredFairness = {
    version: `${version.model}@${version.version}`,
    artifactDigest: version.artifactDigest,
    computedAt: new Date().toISOString(),
    data,
    report,
  };
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(body, null, 2) + '\n');
  await rename(tmp, path);
  return path;
}

/** The stored fairness report of a version, or null (none, unreadable, or for another artifact). */
export async function readStoredFairness(registry: Registry, ref: string): Promise<StoredFairness | null> {
  const v = registry.getVersion(ref);
  const path = fairnessPath(registry.root, v.model, v.version);
  if (!existsSync(path)) return null;
  try {
    const s = JSON.parse(await readFile(path, 'utf8')) as StoredFairness;
    return s.artifactDigest === v.artifactDigest && s.report && Array.isArray(s.report.breakdowns) ? s : null;
  } catch {
    return null;
  }
}

/**
 * Fairness of a freshly trained model on its test split, for the trainer: the same report
 * `modelops evaluate` computes, from the outputs training already has (class probabilities
 * row-major, or predicted values). Null when `evaluate.fairness` is not set or there are no rows.
 */
export function trainingFairness(input: {
  task: Task;
  config: FairnessConfig | undefined;
  rows: readonly Row[];
  source: string;
  yTrue: ArrayLike<number>;
  labels?: string[];
  proba?: ArrayLike<number> | null;
  yPred?: ArrayLike<number> | null;
}): FairnessReport | null {
  if (!input.config || input.rows.length === 0) return null;
  return computeFairness({
    task: input.task,
    config: input.config,
    rows: input.rows,
    source: input.source,
    yTrue: input.yTrue,
    yPred: input.yPred ?? null,
    labels: input.labels,
    proba: input.proba ?? null,
  });
}

/** What a version's bundle is needed for, said in the refusal when no runtime here runs it. */
export type BundleUse = 'evaluated' | 'explained' | 'deployed' | 'predicted';

const ELSEWHERE: Record<BundleUse, string> = {
  evaluated: 'or evaluate it with the tool that produced it and record the metrics',
  explained: 'or explain it with the tool that produced it',
  deployed: 'or serve it with the tool that produced it',
  predicted: 'or score the file with the tool that produced it',
};

/**
 * The bundle directory of a version a runtime can load (TF.js or ONNX bundle), or an error
 * that says why not: a bare file or a format no runtime runs.
 */
export async function runnableBundle(
  registry: Registry,
  ref: string,
  version: VersionRecord,
  use: BundleUse = 'evaluated',
): Promise<string> {
  const path = await registry.artifactPath(ref);
  const notRunnable = (why: string) =>
    new ModelOpsError(
      'not-evaluable',
      `${ref} cannot be ${use} here: ${why}.`,
      `Register it as an ONNX file (torch.onnx.export, skl2onnx, tf2onnx) or train it with ModelOps; ${ELSEWHERE[use]}.`,
    );
  let isDir = false;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch {
    throw notRunnable(`its artifact ${path} is missing`);
  }
  if (!isDir || !existsSync(join(path, MANIFEST_JSON)))
    throw notRunnable(
      `it is a '${version.format}' artifact, which no model runtime (TensorFlow.js, ONNX Runtime) here runs`,
    );
  return path;
}

export interface ScoreOptions {
  ref: string;
  config: ModelOpsConfig;
  /** The config file (data paths resolve against its directory). */
  configPath: string;
  /** Workspace root (paths shown). */
  root: string;
  /** Score on this file (relative to the working directory) instead of the config's test split. */
  dataPath?: string;
  /** The training file the split is made from, instead of data.train (a retrain on traffic). */
  trainOverride?: string;
  signal?: AbortSignal;
}

/**
 * Alias-relative gates (`>= production - 0.01`) compare like with like: the version holding the
 * alias is scored here on the same rows as the version under test (the same test split, or the
 * same --data file), as a champion/challenger evaluation does. Its recorded metrics came from its
 * own test data, which need not be these rows (a retrain on traffic, another data file). When it
 * cannot be scored here (a file no runtime runs, columns these rows lack), its recorded metrics
 * are used and the gate says why. `skip`: the version under test (an alias it holds itself is
 * compared as recorded).
 */
export async function sameRowsResolver(
  registry: Registry,
  model: string,
  gates: Record<string, string>,
  options: Omit<ScoreOptions, 'ref'> & { skip?: string },
): Promise<GateInput['resolveAlias']> {
  const recorded = registryAliasResolver(registry, model);
  const resolved = new Map<string, AliasMetrics | null>();
  for (const expression of Object.values(gates)) {
    const gate = parseGateExpression(expression);
    if (gate?.kind !== 'relative' || !gate.alias || resolved.has(gate.alias)) continue;
    const base = recorded(gate.alias);
    if (!base || base.version === options.skip) {
      resolved.set(gate.alias, base);
      continue;
    }
    const ref = `${model}@${base.version}`;
    try {
      const rt = await loadRuntime(await runnableBundle(registry, ref, registry.getVersion(ref)));
      try {
        const scored = flattenMetrics((await scoreRuntime(rt, { ...options, ref })).report);
        resolved.set(gate.alias, {
          ...base,
          metrics: { ...base.metrics, ...scored },
          sameRows: new Set(Object.keys(scored)),
        });
      } finally {
        rt.dispose();
      }
    } catch (e) {
      if (options.signal?.aborted) throw e;
      resolved.set(gate.alias, {
        ...base,
        note: `as recorded (not scored on these rows: ${describeError(e).split(' — ')[0].replace(/\.$/, '')})`,
      });
    }
  }
  return (alias) => (resolved.has(alias) ? resolved.get(alias)! : recorded(alias));
}

/**
 * Metrics of a loaded runtime on the config's test split or a file, through the numeric batch
 * path (`encode` + `predictBatch`), or `predict` where the model takes text. The features and
 * target come from the runtime (its manifest), else from the config.
 */
export interface ScoredRows {
  /** The evaluated rows, all their columns (sensitive columns included). */
  rows: Row[];
  yTrue: ArrayLike<number>;
  yPred: ArrayLike<number> | null;
  labels?: string[];
  proba?: ArrayLike<number> | null;
}

export async function scoreRuntime(
  rt: ModelRuntime,
  options: ScoreOptions,
): Promise<{ report: MetricsReport; rows: number; data: string; scored: ScoredRows }> {
  const { config, ref } = options;
  const target = rt.target ?? config.data.target;
  const features = rt.features;
  const types: Record<string, ColumnType> = {};
  for (const c of rt.columns) if (c.kind === 'numeric' && c.datatype !== 'BOOL') types[c.name] = 'number';
  if (rt.task === 'regression') types[target] = 'number';
  const policy: MissingPolicy = runtimeMissingPolicy(rt);
  let set: RowSet;
  let data: string;
  if (options.dataPath) {
    const abs = resolve(process.cwd(), options.dataPath);
    const r = await loadEvaluationData(abs, target, features, policy, { root: options.root, types });
    set = r.set;
    data = r.displayPath;
  } else {
    // The same split training made: the split is by row index of the train file with the seed, whatever the columns.
    const d = await loadTrainingData(
      { ...config.data, features, target, missing: rt.kind === 'tfjs' ? config.data.missing : policy },
      { configDir: dirname(options.configPath), root: options.root, types, trainOverride: options.trainOverride },
    );
    set = d.test;
    data = config.data.test ? d.test.source : `${d.test.source} (test split)`;
  }
  if (set.rows.length === 0) {
    throw new ModelOpsError(
      'no-rows',
      `No rows to evaluate ${ref} on in ${data}.`,
      'Give a data file with --data, or a non-empty test split.',
    );
  }
  if (options.signal?.aborted)
    throw new ModelOpsError('cancelled', 'Evaluation was cancelled.', 'Start it again when you are ready.');
  const ctx = { source: set.source, lines: set.lines };
  const n = set.rows.length;
  if (rt.task === 'classification') {
    const labels = rt.labels ?? [];
    const k = labels.length;
    const yTrue = encodeLabels(set.rows, target, labels, ctx);
    let proba: Float64Array;
    let yPred: Int32Array | null = null;
    if (rt.encode && rt.predictBatch) {
      const r = await rt.predictBatch(rt.encode(set.rows, ctx), n);
      if (r.width !== k)
        throw new ModelOpsError(
          'bad-output',
          `${ref}: the model returned ${r.width} scores per row for ${k} labels (${labels.join(', ')}).`,
          'Register the model again with one label per probability column.',
        );
      proba = Float64Array.from(r.outputs);
      // A model's own label output decides the prediction, as its predict() would.
      if (r.labels) yPred = r.labels;
    } else {
      proba = new Float64Array(n * k);
      const index = new Map(labels.map((l, j) => [l, j]));
      yPred = new Int32Array(n);
      (await rt.predict(set.rows, ctx)).forEach((p, i) => {
        p.probabilities?.forEach((v, j) => (proba[i * k + j] = v));
        yPred![i] = index.get(String(p.value)) ?? 0;
      });
    }
    return {
      report: classificationMetrics(yTrue, yPred, labels, proba),
      rows: n,
      data,
      scored: { rows: set.rows, yTrue, yPred, labels, proba },
    };
  }
  const yTrue = encodeRegressionTarget(set.rows, target, ctx);
  let yPred: Float64Array;
  if (rt.encode && rt.predictBatch) {
    const r = await rt.predictBatch(rt.encode(set.rows, ctx), n);
    yPred = Float64Array.from({ length: n }, (_, i) => r.outputs[i * r.width]);
  } else {
    yPred = Float64Array.from(await rt.predict(set.rows, ctx), (p) => Number(p.value));
  }
  return { report: regressionMetrics(yTrue, yPred), rows: n, data, scored: { rows: set.rows, yTrue, yPred } };
}

/** Rows with missing values: kept when the model handles them (TF.js imputation, ONNX graphs that take NaN), else dropped. */
