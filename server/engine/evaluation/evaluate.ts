/**
 * Evaluate a registered version: load its bundle, rebuild the test split the config holds out
 * (or read a given file), compute the metrics, check the config's gates and store the result
 * with the version; recorded as an 'evaluate' run.
 */
import { dirname, resolve } from 'node:path';
import { describeError, ModelOpsError } from '../errors';
import { loadConfig } from '../config';
import type { LoadedConfig } from '../config/types';
import type { GateReport, Registry, RunRecord, VersionRecord } from '../registry/types';
import type { ColumnType } from '../data/read';
import { encodeLabels, encodeRegressionTarget, transformRows, type RowSet } from '../data/preprocess';
import { loadEvaluationData, loadTrainingData } from '../data/splits';
import { loadModelBundle, probabilitiesOf } from '../model/bundle';
import { classificationMetrics, flattenMetrics, regressionMetrics, type MetricsReport } from './metrics';
import { evaluateGates, registryAliasResolver } from './gates';

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
  if (version.format !== 'modelops-tfjs') {
    throw new ModelOpsError('not-evaluable', `${ref} is a '${version.format}' artifact; only versions trained by ModelOps (modelops-tfjs) can be evaluated here.`, 'Evaluate it with the tool that produced it and record the metrics.');
  }
  let run = registry.createRun({ kind: 'evaluate', model: version.model, params: { ref, data: options.dataPath ?? null, gate: options.gate !== false } });
  try {
    const model = await loadModelBundle(await registry.artifactPath(ref));
    try {
      const manifest = model.manifest;
      const types: Record<string, ColumnType> = {};
      for (const f of manifest.features) if (f.kind === 'numeric') types[f.name] = 'number';
      if (manifest.task === 'regression') types[manifest.target] = 'number';
      const policy = manifest.features.some((f) => f.impute !== null) ? 'impute' : 'drop';
      let set: RowSet;
      let data: string;
      if (options.dataPath) {
        const abs = resolve(process.cwd(), options.dataPath);
        const r = await loadEvaluationData(abs, manifest.target, manifest.features.map((f) => f.name), policy, { root: registry.root, types });
        set = r.set;
        data = r.displayPath;
      } else {
        const d = await loadTrainingData({ ...config.data, features: manifest.features.map((f) => f.name), target: manifest.target }, { configDir: dirname(loaded.path), root: registry.root, types });
        set = d.test;
        data = config.data.test ? d.test.source : `${d.test.source} (test split)`;
      }
      if (set.rows.length === 0) {
        throw new ModelOpsError('no-rows', `No rows to evaluate ${ref} on in ${data}.`, 'Give a data file with --data, or a non-empty test split.');
      }
      if (options.signal?.aborted) throw new ModelOpsError('cancelled', 'Evaluation was cancelled.', 'Start it again when you are ready.');
      const ctx = { source: set.source, lines: set.lines };
      const x = transformRows(set.rows, manifest.features, ctx);
      const n = set.rows.length;
      const { outputs, width } = await model.predictEncoded(x, n);
      let report: MetricsReport;
      if (manifest.task === 'classification') {
        const labels = manifest.labels ?? [];
        const yTrue = encodeLabels(set.rows, manifest.target, labels, ctx);
        report = classificationMetrics(yTrue, null, labels, probabilitiesOf(outputs, n, width, labels.length));
      } else {
        const yTrue = encodeRegressionTarget(set.rows, manifest.target, ctx);
        report = regressionMetrics(yTrue, Float64Array.from({ length: n }, (_, i) => outputs[i * width]));
      }
      const metrics = flattenMetrics(report);
      let gates: GateReport | null = null;
      let updated = version;
      if (options.gate !== false && Object.keys(config.evaluate.gates).length > 0) {
        gates = evaluateGates({ gates: config.evaluate.gates, metrics, resolveAlias: registryAliasResolver(registry, version.model) });
        updated = registry.recordGates(ref, gates);
      }
      run = registry.finishRun(run.id, { status: 'succeeded', version: version.version, metrics });
      return { version: updated, run, report, metrics, gates, rows: n, data };
    } finally {
      model.dispose();
    }
  } catch (e) {
    const cancelled = e instanceof ModelOpsError && e.code === 'cancelled';
    try {
      registry.finishRun(run.id, { status: cancelled ? 'cancelled' : 'failed', error: cancelled ? null : describeError(e) });
    } catch {
      // Keep the original error.
    }
    throw e;
  }
}
