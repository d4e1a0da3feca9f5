/**
 * The model runtime layer's entry point: `loadRuntime(bundleDir)` reads the bundle's
 * modelops.json and loads it with the runtime its format names. Evaluation, the smoke test,
 * the model server and monitoring call this and nothing format-specific.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelOpsError } from '../errors';
import type { MissingPolicy } from '../data/preprocess';
import { MANIFEST_FORMAT, MANIFEST_JSON } from '../model/bundle';
import type { ModelManifest } from '../model/types';
import { describeOnnxBundle, loadOnnxBundle } from './onnx';
import { loadTfjsRuntime, tfjsColumns } from './tfjs';
import {
  ONNX_MANIFEST_FORMAT,
  type BundleDescription,
  type ModelRuntime,
  type OnnxManifest,
  type RuntimeOptions,
} from './types';

export type * from './types';
export { ONNX_MANIFEST_FORMAT, ONNX_MODEL_FILE } from './types';
export { createOnnxSession, inspectOnnxFile, openOnnxFile, writeOnnxBundle, OnnxRuntime } from './onnx';
export { readOnnxGraph, checkGraph, MIN_OPSET, type OnnxGraphInfo, type OnnxValueInfo } from './onnxGraph';
export { TfjsRuntime, loadTfjsRuntime } from './tfjs';
export { DERIVE_FUNCTIONS, derive, parseDerived } from './derive';

/** The format a bundle directory declares in its modelops.json. */
export async function bundleFormat(bundleDir: string): Promise<string> {
  return (await readManifest(bundleDir)).format;
}

async function readManifest(bundleDir: string): Promise<{ format: string } & Record<string, unknown>> {
  const path = join(bundleDir, MANIFEST_JSON);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ModelOpsError(
      'bundle-incomplete',
      `The model bundle has no ${MANIFEST_JSON} (${path}).`,
      'Register the version again from a complete bundle.',
    );
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw new ModelOpsError(
      'bundle-corrupt',
      `${path} is not valid JSON.`,
      'The bundle is damaged; register the version again.',
    );
  }
  if (m === null || typeof m !== 'object' || typeof (m as { format?: unknown }).format !== 'string') {
    throw new ModelOpsError(
      'bundle-format',
      `${path} has no 'format'.`,
      'The bundle is damaged; register the version again.',
    );
  }
  return m as { format: string } & Record<string, unknown>;
}

/** Loads a bundle directory (TF.js or ONNX) behind the one runtime interface. */
/**
 * How a version meets a missing feature: imputed with what training saw (`impute`), or not at
 * all, so a row with one has no prediction (`drop`, as training dropped such rows).
 */
export function runtimeMissingPolicy(rt: ModelRuntime): MissingPolicy {
  const m = rt.manifest;
  if ('features' in m && Array.isArray(m.features))
    return m.features.some((f) => f.impute !== null) ? 'impute' : 'drop';
  return 'missing' in m && m.missing === 'nan' ? 'impute' : 'drop';
}

export async function loadRuntime(bundleDir: string, options: RuntimeOptions = {}): Promise<ModelRuntime> {
  const manifest = await readManifest(bundleDir);
  if (manifest.format === MANIFEST_FORMAT) return loadTfjsRuntime(bundleDir);
  if (manifest.format === ONNX_MANIFEST_FORMAT)
    return loadOnnxBundle(bundleDir, manifest as unknown as OnnxManifest, options);
  throw unknownFormat(bundleDir, manifest.format);
}

/**
 * A bundle's task, labels, target, raw columns and reference profile, exactly as `loadRuntime`
 * would give them, without loading the model: no TensorFlow.js graph, no ONNX Runtime session.
 */
export async function describeBundle(bundleDir: string): Promise<BundleDescription> {
  const manifest = await readManifest(bundleDir);
  if (manifest.format === MANIFEST_FORMAT) {
    const m = manifest as unknown as ModelManifest;
    return {
      task: m.task,
      ...(m.labels ? { labels: m.labels } : {}),
      target: m.target,
      columns: tfjsColumns(m),
      profile: m.profile,
    };
  }
  if (manifest.format === ONNX_MANIFEST_FORMAT)
    return describeOnnxBundle(bundleDir, manifest as unknown as OnnxManifest);
  throw unknownFormat(bundleDir, manifest.format);
}

function unknownFormat(bundleDir: string, format: string): ModelOpsError {
  return new ModelOpsError(
    'bundle-format',
    `${join(bundleDir, MANIFEST_JSON)} has format '${format}'; this version of ModelOps runs '${MANIFEST_FORMAT}' and '${ONNX_MANIFEST_FORMAT}' bundles.`,
    'Register the model as a TensorFlow.js bundle or an ONNX file.',
  );
}
