/**
 * From `data:` in the config to train/validation/test row sets: reads the files, splits the
 * train file with the seed when no separate file is given, and applies the missing-value
 * policy. Training and evaluation both come through here, so evaluation's test split is the
 * one training held out.
 */
import { resolve } from 'node:path';
import { ModelOpsError } from '../errors';
import type { DataConfig } from '../config/types';
import { dropMissing, type MissingPolicy, type RowSet } from './preprocess';
import { readDataset, type Column, type ColumnType, type Dataset } from './read';
import { splitRows } from './split';
import { workspacePath } from '../paths';

export interface LoadedData {
  train: RowSet;
  validation: RowSet;
  test: RowSet;
  /** Every file read, with the role it plays and its path relative to `baseDir`. */
  files: Array<{ role: 'train' | 'validation' | 'test' | 'evaluation'; dataset: Dataset; displayPath: string }>;
  /** Feature columns (in config order) with the types inferred from the train file. */
  features: Column[];
  target: Column;
  dropped: Record<string, number>;
}

export interface LoadDataOptions {
  /** Directory data paths are relative to (the config's directory). */
  configDir: string;
  /** Workspace root, for the paths shown and recorded. */
  root: string;
  /** Replaces data.train. */
  trainOverride?: string;
  /** Column types to enforce (from a trained model). */
  types?: Record<string, ColumnType>;
}

export async function loadTrainingData(data: DataConfig, options: LoadDataOptions): Promise<LoadedData> {
  const trainPath = resolve(options.configDir, options.trainOverride ?? data.train);
  const requireTarget = [{ name: data.target, role: 'target' }];
  const trainDs = await readDataset(trainPath, {
    format: options.trainOverride ? undefined : data.format,
    require: [...requireTarget, ...(data.features ?? []).map((f) => ({ name: f, role: 'feature' }))],
    types: options.types,
    displayName: workspacePath(options.root, trainPath),
  });
  const featureNames = data.features ?? trainDs.columns.map((c) => c.name).filter((c) => c !== data.target);
  if (featureNames.includes(data.target)) {
    throw new ModelOpsError(
      'target-is-feature',
      `data.features lists the target column '${data.target}'.`,
      'Remove the target from data.features.',
    );
  }
  if (featureNames.length === 0) {
    throw new ModelOpsError(
      'no-features',
      `Data file ${workspacePath(options.root, trainPath)} has no columns besides the target '${data.target}'.`,
      'Add feature columns or list them in data.features.',
    );
  }
  const typeOf = new Map(trainDs.columns.map((c) => [c.name, c.type]));
  const features = featureNames.map((name) => ({ name, type: typeOf.get(name) ?? 'string' }));
  const target = { name: data.target, type: typeOf.get(data.target) ?? 'string' };
  const types: Record<string, ColumnType> = { ...Object.fromEntries(typeOf), ...(options.types ?? {}) };
  const files: LoadedData['files'] = [
    { role: 'train', dataset: trainDs, displayPath: workspacePath(options.root, trainPath) },
  ];

  const readOther = async (role: 'validation' | 'test', p: string): Promise<RowSet> => {
    const abs = resolve(options.configDir, p);
    const name = workspacePath(options.root, abs);
    const ds = await readDataset(abs, {
      format: data.format,
      require: [...requireTarget, ...features.map((f) => ({ name: f.name, role: 'feature' }))],
      types,
      displayName: name,
    });
    files.push({ role, dataset: ds, displayPath: name });
    return { name: role, rows: ds.rows, lines: ds.lines, source: name };
  };

  // Split indexes so every row keeps its file line for error messages.
  const idx = trainDs.rows.map((_, i) => i);
  const fractions = { ...data.split };
  if (data.validation) fractions.validation = 0;
  if (data.test) fractions.test = 0;
  const sum = fractions.train + fractions.validation + fractions.test;
  const parts = splitRows(idx, {
    train: fractions.train / sum,
    validation: fractions.validation / sum,
    test: fractions.test / sum,
    seed: data.split.seed,
  });
  const source = workspacePath(options.root, trainPath);
  const fromIdx = (name: string, ids: number[]): RowSet => ({
    name,
    rows: ids.map((i) => trainDs.rows[i]),
    lines: ids.map((i) => trainDs.lines[i]),
    source,
  });
  const sets: RowSet[] = [
    fromIdx('train', parts.train),
    data.validation ? await readOther('validation', data.validation) : fromIdx('validation', parts.validation),
    data.test ? await readOther('test', data.test) : fromIdx('test', parts.test),
  ];
  const { sets: cleaned, dropped } = dropMissing(sets, featureNames, data.target, data.missing as MissingPolicy);
  if (cleaned[0].rows.length === 0) {
    throw new ModelOpsError(
      'no-training-rows',
      `No training rows are left in ${source} after handling missing values (${dropped.train} dropped).`,
      'Fill in the missing values or set data.missing: impute.',
    );
  }
  return { train: cleaned[0], validation: cleaned[1], test: cleaned[2], files, features, target, dropped };
}

/** Reads a whole file as an evaluation set (e.g. `modelops evaluate --data`). */
export async function loadEvaluationData(
  path: string,
  target: string,
  features: string[],
  policy: MissingPolicy,
  options: { root: string; types?: Record<string, ColumnType> },
): Promise<{ set: RowSet; dataset: Dataset; displayPath: string; dropped: number }> {
  const name = workspacePath(options.root, path);
  const ds = await readDataset(path, {
    require: [{ name: target, role: 'target' }, ...features.map((f) => ({ name: f, role: 'feature' }))],
    types: options.types,
    displayName: name,
  });
  const { sets, dropped } = dropMissing(
    [{ name: 'evaluation', rows: ds.rows, lines: ds.lines, source: name }],
    features,
    target,
    policy,
  );
  return { set: sets[0], dataset: ds, displayPath: name, dropped: dropped.evaluation };
}
