/**
 * Explain a registered version: Shapley values for chosen rows (test split rows by index, or a
 * file) against a seeded background sample of the training split; and, when the whole test
 * split is explained, global importance (mean |SHAP| and permutation importance) stored with
 * the version as `.modelops/explanations/<model>/<version>.json`, beside the registry rather
 * than in the content-addressed artifact (whose digest must not change). The stored file names
 * the artifact digest it was computed for; `readStoredImportance` ignores a file whose digest
 * no longer matches.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ModelOpsError } from '../errors';
import { loadConfig } from '../config';
import type { Registry, VersionRecord } from '../registry/types';
import type { ColumnType, Row } from '../data/read';
import { readDataset } from '../data/read';
import { encodeLabels, encodeRegressionTarget } from '../data/preprocess';
import { loadTrainingData } from '../data/splits';
import { runnableBundle } from '../evaluation/evaluate';
import { loadRuntime, runtimeMissingPolicy } from '../runtime';
import { explainRuntime, type RawRow } from './model';
import { shapValues, type ShapOptions, type ShapResult } from './shapley';
import { meanAbsShap, permutationImportance, type MeanAbsShap, type PermutationImportance } from './importance';
import { sampleRows } from './background';

export * from './model';
export * from './shapley';
export * from './importance';
export * from './background';

/** Rows explained when no --rows are given (the start of the test split). */
export const DEFAULT_EXPLAIN_ROWS = 200;

export interface ExplainVersionOptions {
  registry: Registry;
  ref: string;
  configPath: string;
  /** Test split row indexes (0-based). */
  rows?: number[];
  /** A CSV/JSONL file of rows to explain instead of the test split. */
  rowsFrom?: string;
  /** Background rows sampled from the training split (default 100). */
  background?: number;
  method?: ShapOptions['method'];
  pairs?: number;
  /** Permutation importance repeats (default 5). */
  repeats?: number;
  seed?: number;
  /** Store global importance with the version (default: when the test split is explained whole). */
  store?: boolean;
  signal?: AbortSignal;
}

export interface StoredImportance {
  version: string;
  artifactDigest: string;
  computedAt: string;
  data: string;
  background: number;
  method: ShapResult['method'];
  meanAbsShap: MeanAbsShap;
  permutation: PermutationImportance;
}

export interface ExplainVersionResult {
  version: VersionRecord;
  data: string;
  /** Row labels shown: test split indexes or file lines. */
  rowIds: string[];
  inputs: RawRow[];
  shap: ShapResult;
  meanAbsShap: MeanAbsShap | null;
  permutation: PermutationImportance | null;
  /** Where global importance was stored, when it was. */
  stored: string | null;
}

export function importancePath(root: string, model: string, version: string): string {
  return join(root, '.modelops', 'explanations', model, `${version}.json`);
}

/** Global importance stored for a version, or null (none, unreadable, or for another artifact). */
export async function readStoredImportance(registry: Registry, ref: string): Promise<StoredImportance | null> {
  const v = registry.getVersion(ref);
  const path = importancePath(registry.root, v.model, v.version);
  if (!existsSync(path)) return null;
  try {
    const s = JSON.parse(await readFile(path, 'utf8')) as StoredImportance;
    return s.artifactDigest === v.artifactDigest ? s : null;
  } catch {
    return null;
  }
}

export async function explainVersion(options: ExplainVersionOptions): Promise<ExplainVersionResult> {
  const { registry } = options;
  const { config, path: configPath } = await loadConfig(options.configPath);
  const version = registry.getVersion(options.ref);
  const ref = `${version.model}@${version.version}`;
  const rt = await loadRuntime(await runnableBundle(registry, ref, version, 'explained'));
  try {
    const model = explainRuntime(rt);
    const target = rt.target ?? config.data.target;
    const types: Record<string, ColumnType> = {};
    for (const c of rt.columns) if (c.kind === 'numeric' && c.datatype !== 'BOOL') types[c.name] = 'number';
    if (rt.task === 'regression') types[target] = 'number';
    const d = await loadTrainingData(
      {
        ...config.data,
        features: rt.features,
        target,
        missing: rt.kind === 'tfjs' ? config.data.missing : runtimeMissingPolicy(rt),
      },
      { configDir: dirname(configPath), root: registry.root, types },
    );
    const nb = options.background ?? 100;
    if (!Number.isInteger(nb) || nb < 1)
      throw new ModelOpsError(
        'explain-bad-background',
        `--background is ${nb}; give a whole number of background rows ≥ 1.`,
        'Use --background 100 (the default).',
      );
    const seed = options.seed ?? 0;
    const bg = sampleRows(d.train.rows, nb, seed);

    let inputs: Row[];
    let rowIds: string[];
    let data: string;
    let whole = false;
    if (options.rowsFrom) {
      const abs = resolve(process.cwd(), options.rowsFrom);
      const ds = await readDataset(abs, {
        require: rt.features.map((f) => ({ name: f, role: 'feature' })),
        types,
        displayName: options.rowsFrom,
      });
      inputs = ds.rows;
      rowIds = ds.lines.map((l) => `line ${l}`);
      data = options.rowsFrom;
    } else {
      const test = d.test.rows;
      data = config.data.test ? d.test.source : `${d.test.source} (test split)`;
      if (options.rows) {
        for (const i of options.rows) {
          if (!Number.isInteger(i) || i < 0 || i >= test.length)
            throw new ModelOpsError(
              'explain-bad-row',
              `Row ${i} is not in ${data}, which has rows 0 to ${test.length - 1}.`,
              'Give 0-based row indexes of the test split (--rows 0,5,9).',
            );
        }
        inputs = options.rows.map((i) => test[i]);
        rowIds = options.rows.map(String);
      } else {
        inputs = test.slice(0, DEFAULT_EXPLAIN_ROWS);
        rowIds = inputs.map((_, i) => String(i));
        whole = test.length <= DEFAULT_EXPLAIN_ROWS;
      }
    }
    if (inputs.length === 0)
      throw new ModelOpsError(
        'no-rows',
        `No rows to explain ${ref} on in ${data}.`,
        'Give rows with --rows or --rows-from, or a non-empty test split.',
      );
    const shap = await shapValues(model, inputs, bg, {
      method: options.method,
      pairs: options.pairs,
      seed,
      signal: options.signal,
    });

    let mas: MeanAbsShap | null = null;
    let perm: PermutationImportance | null = null;
    let stored: string | null = null;
    if (!options.rows && !options.rowsFrom) {
      mas = meanAbsShap(shap);
      const test = d.test;
      const ctx = { source: test.source, lines: test.lines };
      const truth =
        rt.task === 'classification'
          ? encodeLabels(test.rows, target, rt.labels ?? [], ctx)
          : encodeRegressionTarget(test.rows, target, ctx);
      perm = await permutationImportance(model, test.rows, truth, {
        repeats: options.repeats,
        seed,
        signal: options.signal,
      });
      if (options.store ?? true) {
        const path = importancePath(registry.root, version.model, version.version);
        const body: StoredImportance = {
          version: ref,
          artifactDigest: version.artifactDigest,
          computedAt: new Date().toISOString(),
          data: whole ? data : `${data}, first ${inputs.length} rows`,
          background: bg.length,
          method: shap.method,
          meanAbsShap: mas,
          permutation: perm,
        };
        await mkdir(dirname(path), { recursive: true });
        const tmp = `${path}.${process.pid}.tmp`;
        await writeFile(tmp, JSON.stringify(body, null, 2) + '\n');
        await rename(tmp, path);
        stored = path;
      }
    }
    return { version, data, rowIds, inputs, shap, meanAbsShap: mas, permutation: perm, stored };
  } finally {
    rt.dispose();
  }
}
