/**
 * "Register this model file using the workspace config": the path from `model.path` (or given),
 * the ONNX spec from `model.onnx` and `data.features`/`data.target`, a reference profile from the
 * training data (drift needs it), lineage (config and dataset digests), then evaluation on the
 * test split and the config's gates — what `train` does for a TF.js model, for a model trained
 * anywhere else. Formats ModelOps cannot run are registered with their notice and not evaluated.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describeError, ModelOpsError } from '../errors';
import { loadConfig } from '../config';
import type { LoadedConfig } from '../config/types';
import { recordDatasets } from '../data/digest';
import { loadTrainingData, type LoadedData } from '../data/splits';
import { evaluateWithConfig, type EvaluateResult } from '../evaluation/evaluate';
import { notEvaluatedReport } from '../evaluation/gates';
import { onnxSpecFromConfig, rawFeatures } from '../runtime/fromConfig';
import type { OnnxBundleSpec } from '../runtime/types';
import { detectModelFormat, RUNNABLE_FORMATS } from './modelFiles';
import type { DatasetRef, Registry, VersionRecord } from './types';

export interface RegisterModelOptions {
  registry: Registry;
  /** modelops.yaml; data paths and `model.path` resolve against its folder. */
  configPath: string;
  /** The model file or folder (default: the config's model.path), relative to the working directory. */
  source?: string;
  /** Model name (default: the config's model.name). */
  model?: string;
  version?: string;
  note?: string | null;
  tags?: string[];
  /** Evaluate on the test split and record the gates (default true). */
  evaluate?: boolean;
  signal?: AbortSignal;
  cwd?: string;
}

export interface RegisterModelResult {
  /** The version as registered, with its gate report when gates ran. */
  version: VersionRecord;
  evaluation: EvaluateResult | null;
  /** Why no evaluation ran (a format ModelOps cannot run, evaluation off, or its error); null when it ran. */
  notEvaluated: string | null;
}

export async function registerModel(options: RegisterModelOptions): Promise<RegisterModelResult> {
  const loaded = await loadConfig(options.configPath);
  const { config } = loaded;
  const configDir = dirname(loaded.path);
  const { registry } = options;
  const given = options.source ?? config.model.path;
  if (!given) {
    throw new ModelOpsError(
      'no-model-path',
      `${loaded.path} has no model.path, and no model file was given.`,
      'Set model.path to the .onnx file (with model.framework: onnx), or pass the file to register.',
    );
  }
  const source = options.source ? resolve(options.cwd ?? process.cwd(), options.source) : resolve(configDir, given);
  if (!existsSync(source)) {
    throw new ModelOpsError(
      'artifact-not-found',
      options.source
        ? `Cannot register ${source}: no such file or folder.`
        : `model.path in ${loaded.path} is ${given}, and ${source} does not exist.`,
      'Export the model there first (see docs/models.md), or correct the path.',
    );
  }
  const format = detectModelFormat(source);

  let data: LoadedData | null = null;
  let onnx: OnnxBundleSpec | undefined;
  // A bare .onnx file gets its bundle spec from the config; an ONNX bundle folder carries its own.
  if (format === 'onnx' && statSync(source).isFile()) {
    data = await trainingData(loaded, registry.root);
    onnx = await onnxSpecFromConfig(source, config, data);
  }
  const datasets: DatasetRef[] = [];
  if (data) datasets.push(...(await recordDatasets(registry, data.files)));
  const version = await registry.registerVersion({
    model: options.model ?? config.model.name,
    source,
    ...(options.version ? { version: options.version } : {}),
    note: options.note ?? null,
    tags: options.tags ?? [],
    configPath: loaded.path,
    datasets,
    ...(onnx ? { onnx } : {}),
  });
  const ref = `${version.model}@${version.version}`;
  // Without an evaluation, configured gates are recorded as "not evaluated": never a pass, and
  // promoting or deploying where gates apply then needs a reason.
  const notEvaluated = (why: string): RegisterModelResult => {
    if (Object.keys(config.evaluate.gates).length === 0)
      return { version: registry.getVersion(ref), evaluation: null, notEvaluated: why };
    registry.recordGates(ref, notEvaluatedReport(config.evaluate.gates, why));
    return { version: registry.getVersion(ref), evaluation: null, notEvaluated: why };
  };
  if (!RUNNABLE_FORMATS.has(version.format))
    return notEvaluated(version.notice ?? `ModelOps cannot run '${version.format}' artifacts.`);
  if (options.evaluate === false) return notEvaluated('evaluation was not requested');
  try {
    const evaluation = await evaluateWithConfig(loaded, {
      registry,
      ref,
      configPath: loaded.path,
      gate: true,
      signal: options.signal,
    });
    return { version: evaluation.version, evaluation, notEvaluated: null };
  } catch (e) {
    // The version is registered either way.
    return notEvaluated(describeError(e));
  }
}

/** The training split, read with the raw columns a derived input is computed from. */
function trainingData(loaded: LoadedConfig, root: string): Promise<LoadedData> {
  const features = rawFeatures(loaded.config);
  return loadTrainingData(
    { ...loaded.config.data, ...(features ? { features } : {}) },
    { configDir: dirname(loaded.path), root },
  );
}
