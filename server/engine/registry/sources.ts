/**
 * What a registration's source says about itself before it is stored: the path to copy into
 * the store and the signature to record. A bare `.onnx` file becomes an ONNX bundle in a
 * staging folder; an ONNX bundle is loaded as deploy would; a TF.js bundle gives its manifest's
 * signature. Also maps the file system's errors while storing an artifact.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelOpsError } from '../errors';
import { loadOnnxBundle, writeOnnxBundle } from '../runtime/onnx';
import { ONNX_MANIFEST_FORMAT, ONNX_MODEL_FILE, type OnnxManifest } from '../runtime/types';
import { storeFullError } from './store';
import type { ArtifactFormat, RegisterVersionInput, Signature } from './types';

/** What is stored for a registration: the path to copy into the store and the signature to record. */
export interface PreparedSource {
  path: string;
  signature: Signature | null;
  /** A staging folder to remove afterwards. */
  cleanup: string | null;
}

/**
 * Reads what a source says about itself before it is stored. A bare `.onnx` file becomes an
 * ONNX bundle (writeOnnxBundle: graph checked, ONNX Runtime loads it, columns/labels resolved)
 * in a staging folder; an ONNX bundle is loaded as it would be at deploy time. Both record the
 * graph's inputs and outputs as the signature. A TF.js bundle records its manifest's.
 */
export async function prepareSource(
  source: string,
  format: ArtifactFormat,
  input: RegisterVersionInput,
): Promise<PreparedSource> {
  const given = input.signature ?? null;
  if (format === 'modelops-tfjs')
    return { path: source, signature: given ?? (await tfjsSignature(source)), cleanup: null };
  if (format !== 'onnx') return { path: source, signature: given, cleanup: null };
  if (statSync(source).isDirectory()) return { path: source, signature: await checkOnnxBundle(source), cleanup: null };
  const stage = await mkdtemp(join(tmpdir(), 'modelops-onnx-'));
  try {
    const manifest = await writeOnnxBundle(stage, source, input.onnx ?? {});
    // The bundle's time is the model file's, so the same file registered twice is the same
    // artifact (a patch bump, not a minor one for a "new" bundle).
    manifest.createdAt = (await stat(source)).mtime.toISOString();
    await writeFile(join(stage, 'modelops.json'), JSON.stringify(manifest, null, 2));
    return { path: stage, signature: graphSignature(manifest), cleanup: stage };
  } catch (e) {
    await rm(stage, { recursive: true, force: true });
    throw e;
  }
}

function graphSignature(m: OnnxManifest): Signature {
  return { inputs: m.graph.inputs, outputs: m.graph.outputs };
}

/** Loads an ONNX bundle folder exactly as deploy will, and checks model.onnx is the file its manifest describes. */
async function checkOnnxBundle(dir: string): Promise<Signature> {
  const path = join(dir, 'modelops.json');
  let manifest: OnnxManifest;
  try {
    manifest = JSON.parse(await readFile(path, 'utf8')) as OnnxManifest;
  } catch (e) {
    throw new ModelOpsError(
      'bundle-corrupt',
      `${path} cannot be read as JSON (${e instanceof Error ? e.message : String(e)}).`,
      'Write the bundle again (writeOnnxBundle), or register the bare .onnx file.',
    );
  }
  if (
    manifest?.format !== ONNX_MANIFEST_FORMAT ||
    !manifest.graph ||
    !Array.isArray(manifest.graph.inputs) ||
    !Array.isArray(manifest.graph.outputs)
  ) {
    throw new ModelOpsError(
      'bundle-format',
      `${path} is not an ONNX bundle manifest (format '${String(manifest?.format)}', expected '${ONNX_MANIFEST_FORMAT}' with a graph).`,
      'Register the bare .onnx file instead; ModelOps writes the bundle.',
    );
  }
  const onnxPath = join(dir, ONNX_MODEL_FILE);
  const digest = createHash('sha256')
    .update(await readFile(onnxPath))
    .digest('hex');
  if (digest !== manifest.modelDigest) {
    throw new ModelOpsError(
      'bundle-corrupt',
      `${onnxPath} is not the model ${path} describes (its SHA-256 differs from modelDigest).`,
      'Register the new .onnx file by itself, so its bundle is written afresh.',
    );
  }
  const runtime = await loadOnnxBundle(dir, manifest);
  runtime.dispose();
  return graphSignature(manifest);
}

/** The signature a TF.js bundle's modelops.json records; null when it has none readable. */
async function tfjsSignature(dir: string): Promise<Signature | null> {
  try {
    const m = JSON.parse(await readFile(join(dir, 'modelops.json'), 'utf8')) as { signature?: Signature };
    const s = m.signature;
    return s && Array.isArray(s.inputs) && Array.isArray(s.outputs) ? s : null;
  } catch {
    return null;
  }
}

export function mapArtifactError(e: unknown, source: string): unknown {
  if (e instanceof ModelOpsError) return e;
  const code = e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : '';
  if (code === 'EACCES' || code === 'EPERM') {
    return new ModelOpsError(
      'artifact-unreadable',
      `Cannot read ${source}: permission denied.`,
      'Check the file permissions.',
    );
  }
  if (code === 'EROFS')
    return new ModelOpsError(
      'store-readonly',
      `The workspace store cannot be written while storing ${source}.`,
      'Open the workspace from a writable folder.',
    );
  // EFBIG: a file-size limit (ulimit -f) stops the write just as a full disk does.
  if (code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT')
    return storeFullError(`the artifact ${source} into the workspace store`, code);
  return e;
}
