/**
 * Reading and writing the weights of a TF.js bundle (model.json + weights.bin) at the byte
 * level, for the optimisers: they rewrite the weights manifest and the weights file and copy
 * everything else. A pruned bundle keeps its weights gzip-compressed as weights.bin.gz
 * (see prune.ts); both forms are read here.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ModelOpsError } from '../errors';
import { MODEL_JSON, WEIGHTS_BIN, WEIGHTS_GZ } from '../model/bundle';
import type { tf } from '../tfjs/backend';

/** The compressed weights file of a compact (pruned) bundle. */
export { WEIGHTS_GZ };

export type WeightSpec = tf.io.WeightsManifestEntry;

export interface TfjsFiles {
  modelJson: tf.io.ModelJSON;
  /** Every weight, in the order of the weights file. */
  specs: WeightSpec[];
  /** The weights file, decompressed. */
  data: Uint8Array;
  /** True when the bundle holds weights.bin.gz instead of weights.bin. */
  compressed: boolean;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Bytes one weight takes in the weights file (quantised or not). */
export function specBytes(spec: WeightSpec): number {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const per = BYTES[dtype];
  if (per === undefined)
    throw new ModelOpsError(
      'bundle-format',
      `Weight '${spec.name}' has dtype '${dtype}', which the optimisers do not read.`,
      'Only float32, int32 and bool weights (or TF.js-quantised ones) are supported.',
    );
  return n * per;
}

export async function readTfjsFiles(dir: string): Promise<TfjsFiles> {
  const path = join(dir, MODEL_JSON);
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse(await readFile(path, 'utf8')) as tf.io.ModelJSON;
  } catch {
    throw new ModelOpsError(
      'bundle-corrupt',
      `${path} is missing or not valid JSON.`,
      'The bundle is damaged; register the version again.',
    );
  }
  if (!Array.isArray(modelJson.weightsManifest))
    throw new ModelOpsError(
      'bundle-corrupt',
      `${path} has no weightsManifest.`,
      'The bundle is damaged; register the version again.',
    );
  const specs = modelJson.weightsManifest.flatMap((g) => g.weights);
  const compressed = !existsSync(join(dir, WEIGHTS_BIN)) && existsSync(join(dir, WEIGHTS_GZ));
  let data: Uint8Array;
  try {
    // A copy that owns its ArrayBuffer: a Buffer may be a view into a shared pool.
    data = new Uint8Array(
      compressed ? gunzipSync(await readFile(join(dir, WEIGHTS_GZ))) : await readFile(join(dir, WEIGHTS_BIN)),
    );
  } catch {
    throw new ModelOpsError(
      'bundle-incomplete',
      `The model bundle ${dir} has no readable ${WEIGHTS_BIN}.`,
      'Register the version again from a complete bundle.',
    );
  }
  const expected = specs.reduce((a, s) => a + specBytes(s), 0);
  if (expected !== data.byteLength) {
    throw new ModelOpsError(
      'bundle-corrupt',
      `${join(dir, compressed ? WEIGHTS_GZ : WEIGHTS_BIN)} holds ${data.byteLength} bytes; its manifest describes ${expected}.`,
      'The bundle is damaged; register the version again.',
    );
  }
  return { modelJson, specs, data, compressed };
}

/**
 * Writes model.json (one weights group) and the weights (gzip-compressed as weights.bin.gz
 * when `gzip`), and copies the other files of `fromDir` (modelops.json, …) unchanged.
 */
export async function writeTfjsFiles(
  dir: string,
  fromDir: string,
  files: { modelJson: tf.io.ModelJSON; specs: WeightSpec[]; data: Uint8Array },
  gzip = false,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const modelJson: tf.io.ModelJSON = {
    ...files.modelJson,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: files.specs }],
  };
  for (const name of await readdir(fromDir)) {
    if (name === MODEL_JSON || name === WEIGHTS_BIN || name === WEIGHTS_GZ) continue;
    if ((await stat(join(fromDir, name))).isFile()) await copyFile(join(fromDir, name), join(dir, name));
  }
  await writeFile(join(dir, MODEL_JSON), JSON.stringify(modelJson));
  if (gzip) await writeFile(join(dir, WEIGHTS_GZ), gzipSync(files.data, { level: 9 }));
  else await writeFile(join(dir, WEIGHTS_BIN), files.data);
}

/** The float32 values of an unquantised float32 weight. */
export function floatValues(data: Uint8Array, offset: number, spec: WeightSpec): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  // Copied: the offset into the file need not be 4-byte aligned.
  return new Float32Array(copyBytes(data, offset, offset + n * 4).buffer);
}

/** Bytes [start, end) in a new ArrayBuffer of their own (Buffer#slice would share memory). */
export function copyBytes(data: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(data.subarray(start, end));
  return out;
}
