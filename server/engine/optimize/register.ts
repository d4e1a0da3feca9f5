/**
 * The optimised version: the child bundle (written by quantize/prune) and its parent are both
 * scored on the config's test split and measured through the runtime layer; the child is
 * registered as the next minor version of the parent's major line, with the parent as
 * `parentVersion`, the method and its parameters in its run's params, tags and note, and its
 * gate report against the parent. A failed gate leaves the version registered but failed, as
 * training does.
 *
 * Gates: `optimize.gates` in the config, default `<task metric> >= parent - 0.005` (accuracy
 * for classification, r2 for regression). `parent` in a gate resolves to the parent's metrics
 * as scored here on the same rows; other aliases resolve through the registry.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, ModelOpsError } from '../errors';
import type { LoadedConfig } from '../config/types';
import { evaluateGates, registryAliasResolver } from '../evaluation/gates';
import { scoreRuntime } from '../evaluation/evaluate';
import { flattenMetrics } from '../evaluation/metrics';
import { MANIFEST_JSON } from '../model/bundle';
import { loadRuntime } from '../runtime';
import type { GateReport, Registry, RunRecord, VersionRecord } from '../registry/types';
import { parseSemver } from '../registry/semver';
import { measurePair, MEASUREMENT_KEYS, type Measurement } from './measure';

export type OptimizeMethod = 'quantize' | 'prune';

export interface OptimizeProgress {
  /** 0..1 over the whole job. */
  fraction: number;
  message: string;
  epoch?: number;
  epochs?: number;
}

export interface Scored {
  ref: string;
  metrics: Record<string, number>;
  measurement: Measurement;
}

export interface OptimizeResult<D> {
  version: VersionRecord;
  run: RunRecord;
  parent: Scored;
  child: Scored;
  gates: GateReport;
  /** What the method reports (per-weight errors, pruning rates, …). */
  details: D;
  notes: string[];
}

/** The metric a default optimisation gate watches. */
export function taskMetric(task: 'classification' | 'regression'): string {
  return task === 'classification' ? 'accuracy' : 'r2';
}

export const DEFAULT_TOLERANCE = 0.005;

/** The gates an optimised version must pass against its parent. */
export function optimizeGates(loaded: LoadedConfig, task: 'classification' | 'regression'): Record<string, string> {
  const configured = loaded.config.optimize?.gates;
  if (configured && Object.keys(configured).length > 0) return configured;
  return { [taskMetric(task)]: `>= parent - ${DEFAULT_TOLERANCE}` };
}

/** The next free minor version in the parent's major line: 1.0.0 → 1.1.0 (or 1.3.0 if 1.1 and 1.2 exist). */
export function nextMinor(registry: Registry, parent: VersionRecord): string {
  const [major] = parseSemver(parent.version) ?? [1];
  const { items } = registry.listVersions({ model: parent.model, includeArchived: true, limit: 100000 });
  let minor = -1;
  for (const v of items) {
    const t = parseSemver(v.version);
    if (t && t[0] === major) minor = Math.max(minor, t[1]);
  }
  return `${major}.${minor + 1}.0`;
}

/** The parent's bundle directory, or an error that says why this version cannot be optimised. */
export async function optimisableBundle(
  registry: Registry,
  parent: VersionRecord,
  method: OptimizeMethod,
): Promise<string> {
  const ref = `${parent.model}@${parent.version}`;
  const verb = method === 'quantize' ? 'quantised' : 'pruned';
  if (parent.format !== 'modelops-tfjs' && parent.format !== 'onnx') {
    throw new ModelOpsError(
      'optimize-unsupported',
      `${ref} is a '${parent.format}' artifact and cannot be ${verb}: ModelOps ${method === 'quantize' ? 'quantises TensorFlow.js bundles and ONNX versions' : 'prunes TensorFlow.js bundles'} only.`,
      parent.format === 'unknown' ||
        parent.format === 'torch' ||
        parent.format === 'keras' ||
        parent.format === 'pickle'
        ? 'Export the model to ONNX (torch.onnx.export, tf2onnx, skl2onnx), register the .onnx file, and quantise that version; or optimise it with the tool that trained it.'
        : 'Optimise it with the tool that produced it, and register the result.',
    );
  }
  const dir = await registry.artifactPath(ref);
  if (!existsSync(join(dir, MANIFEST_JSON))) {
    throw new ModelOpsError(
      'optimize-unsupported',
      `${ref} has no model bundle (${MANIFEST_JSON}) to ${method}.`,
      'Register the model again as a bundle (train it with ModelOps, or register the .onnx file).',
    );
  }
  return dir;
}

async function score(
  dir: string,
  ref: string,
  loaded: LoadedConfig,
  root: string,
  signal?: AbortSignal,
): Promise<{
  metrics: Record<string, number>;
  rows: Array<Record<string, unknown>>;
  task: 'classification' | 'regression';
}> {
  const rt = await loadRuntime(dir);
  try {
    const { report, scored } = await scoreRuntime(rt, {
      ref,
      config: loaded.config,
      configPath: loaded.path,
      root,
      signal,
    });
    return { metrics: flattenMetrics(report), rows: scored.rows, task: rt.task };
  } finally {
    rt.dispose();
  }
}

export interface RegisterChildInput<D> {
  registry: Registry;
  loaded: LoadedConfig;
  parent: VersionRecord;
  method: OptimizeMethod;
  /** The method's parameters, recorded in the run's params. */
  params: Record<string, unknown>;
  /** Writes the child bundle into `outDir` from the parent's bundle in `parentDir`. */
  produce(
    parentDir: string,
    outDir: string,
  ): Promise<{ details: D; metrics?: Record<string, number>; notes?: string[] }>;
  note(details: D): string;
  tags: string[];
  onProgress?: (p: OptimizeProgress) => void;
  signal?: AbortSignal;
}

function cancelledError(method: OptimizeMethod): ModelOpsError {
  return new ModelOpsError(
    'cancelled',
    `${method === 'quantize' ? 'Quantisation' : 'Pruning'} was cancelled.`,
    'Start it again when you are ready.',
  );
}

/** Produces, scores, measures, gates and registers an optimised child of `parent`. */
export async function registerOptimized<D>(input: RegisterChildInput<D>): Promise<OptimizeResult<D>> {
  const { registry, loaded, parent, method } = input;
  const parentRef = `${parent.model}@${parent.version}`;
  const progress = (fraction: number, message: string, extra: Partial<OptimizeProgress> = {}) =>
    input.onProgress?.({ fraction, message, ...extra });
  const check = () => {
    if (input.signal?.aborted) throw cancelledError(method);
  };
  const parentDir = await optimisableBundle(registry, parent, method);
  let run = registry.createRun({
    kind: 'optimize',
    model: parent.model,
    params: { method, parent: parentRef, config: loaded.path, ...input.params },
  });
  // Where training writes its bundle too: inside the store, so registering it is a rename away.
  const outDir = join(registry.storeDir, 'runs', run.id, 'bundle');
  try {
    check();
    await mkdir(outDir, { recursive: true });
    progress(0.02, `${method === 'quantize' ? 'quantising' : 'pruning'} ${parentRef}`);
    const produced = await input.produce(parentDir, outDir);
    check();
    progress(
      0.7,
      `evaluating ${parentRef} and the ${method === 'quantize' ? 'quantised' : 'pruned'} model on the test split`,
    );
    const p = await score(parentDir, parentRef, loaded, registry.root, input.signal);
    const c = await score(outDir, `${parentRef} (${method}d)`, loaded, registry.root, input.signal);
    check();
    progress(0.8, 'measuring size, load time and latency');
    const [pm, cm] = await measurePair(parentDir, outDir, { rows: p.rows, signal: input.signal });
    check();
    const gates = evaluateGates({
      gates: optimizeGates(loaded, p.task),
      metrics: c.metrics,
      resolveAlias: (alias) =>
        alias === 'parent'
          ? { version: parent.version, metrics: p.metrics }
          : registryAliasResolver(registry, parent.model)(alias),
    });
    const parentNumbers = Object.fromEntries(MEASUREMENT_KEYS.map((k) => [`parent_${k}`, pm[k]]));
    const metrics: Record<string, number> = { ...c.metrics, ...cm, ...parentNumbers, ...(produced.metrics ?? {}) };
    progress(0.95, 'registering the version');
    const version = await registry.registerVersion({
      model: parent.model,
      source: outDir,
      version: nextMinor(registry, parent),
      metrics,
      runId: run.id,
      configPath: loaded.path,
      datasets: parent.datasets,
      note: input.note(produced.details),
      tags: input.tags,
      parentVersion: parent.version,
    });
    const ref = `${version.model}@${version.version}`;
    const gated = registry.recordGates(ref, gates);
    run = registry.finishRun(run.id, {
      status: 'succeeded',
      version: version.version,
      metrics: { ...c.metrics, ...cm },
    });
    progress(1, `registered ${ref}${gates.passed ? '' : ' (gates failed)'}`);
    return {
      version: gated,
      run,
      parent: { ref: parentRef, metrics: p.metrics, measurement: pm },
      child: { ref, metrics: c.metrics, measurement: cm },
      gates,
      details: produced.details,
      notes: produced.notes ?? [],
    };
  } catch (e) {
    const cancelled = input.signal?.aborted === true || (e instanceof ModelOpsError && e.code === 'cancelled');
    try {
      registry.finishRun(run.id, cancelled ? { status: 'cancelled' } : { status: 'failed', error: describeError(e) });
    } catch {
      // The original error matters more.
    }
    throw cancelled && !(e instanceof ModelOpsError && e.code === 'cancelled') ? cancelledError(method) : e;
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
