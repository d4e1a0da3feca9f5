/**
 * The bundle spec of an ONNX model from modelops.yaml (model.onnx, data.features, data.target),
 * shared by the external trainer (an .onnx output) and registering a model file with the config.
 */
import { readFile } from 'node:fs/promises';
import type { ModelOpsConfig } from '../config/types';
import { fitLabels, fitTransforms } from '../data/preprocess';
import type { LoadedData } from '../data/splits';
import { parseDerived } from './derive';
import { readOnnxGraph } from './onnxGraph';
import type { OnnxBundleSpec } from './types';

/** Derived model columns (model.onnx.derived keys) in `cols`, and the other columns. */
function splitDerived(config: ModelOpsConfig): {
  derived: Map<string, { source: string }>;
  features: string[] | undefined;
} {
  const derived = parseDerived(config.model.onnx?.derived, 'model.onnx.derived');
  return { derived, features: config.data.features };
}

/**
 * The data columns to read for an ONNX model: data.features with any derived column (listed
 * there or not) replaced by its source column, e.g. month → date.
 */
export function rawFeatures(config: ModelOpsConfig): string[] | undefined {
  const { derived, features } = splitDerived(config);
  if (!features) return undefined;
  const raw = new Set<string>();
  for (const f of features) raw.add(derived.get(f)?.source ?? f);
  for (const d of derived.values()) raw.add(d.source);
  return [...raw];
}

/**
 * The model's columns in input order as the config gives them: data.features, then derived
 * columns not listed there. Undefined when the model's own metadata_props features name the
 * same columns (its order wins) or the config does not list features.
 */
function modelColumns(config: ModelOpsConfig, metaFeatures: string[] | undefined): string[] | undefined {
  const { derived, features } = splitDerived(config);
  if (!features) return undefined;
  const cols = [...features, ...[...derived.keys()].filter((d) => !features.includes(d))];
  if (metaFeatures && metaFeatures.length === cols.length && cols.every((c) => metaFeatures.includes(c)))
    return undefined;
  return cols;
}

/**
 * The bundle spec of an ONNX file from the config: task, target, columns, derived inputs, input
 * mapping, outputs, preprocessing (fitted on the training split for 'config'); labels from
 * model.onnx.labels, else the file's metadata_props, else the sorted distinct target values of
 * the training split; reference rows (drift profile) from the training split, and the test split
 * for CBPE's calibration or DLE's loss model when labels come late.
 */
export async function onnxSpecFromConfig(
  file: string,
  config: ModelOpsConfig,
  data: LoadedData,
): Promise<OnnxBundleSpec> {
  const o = config.model.onnx;
  const info = readOnnxGraph(await readFile(file), file);
  let metaFeatures: string[] | undefined;
  try {
    const v: unknown = info.metadata.features !== undefined ? JSON.parse(info.metadata.features) : undefined;
    if (Array.isArray(v)) metaFeatures = v.map(String);
  } catch {
    metaFeatures = undefined;
  }
  let labels = o?.labels;
  if (!labels && config.model.task === 'classification' && info.metadata.labels === undefined)
    labels = fitLabels(data.train.rows, config.data.target);
  const columns = o?.inputs === 'per-column' ? config.data.features : modelColumns(config, metaFeatures);
  return {
    task: config.model.task,
    target: config.data.target,
    ...(columns ? { columns } : {}),
    ...(o?.derived && Object.keys(o.derived).length ? { derived: o.derived } : {}),
    ...(labels ? { labels } : {}),
    ...(o?.inputs ? { inputMapping: o.inputs } : {}),
    ...(o?.outputs ? { outputs: o.outputs } : {}),
    preprocessing: o?.preprocessing ?? 'in-graph',
    ...(o?.preprocessing === 'config'
      ? { transforms: fitTransforms(data.train.rows, data.features, config.data.missing) }
      : {}),
    reference: { rows: data.train.rows, seed: config.train.seed },
    ...(data.test.rows.length > 0 ? { evaluation: { rows: data.test.rows } } : {}),
  };
}
