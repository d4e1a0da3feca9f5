/**
 * The model bundle on disk: model.json (TensorFlow.js layers topology + weightsManifest),
 * weights.bin, modelops.json (ModelManifest). Written through a tf.io IOHandler that needs no
 * tfjs-node file system support, and loaded the same way, so it works on every backend.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { ModelOpsError } from '../errors';
import { inputWidth, transformRows, type TransformContext } from '../data/preprocess';
import type * as tf from '@tensorflow/tfjs';
import { ensureBackend, tfjs } from '../tfjs/load';
import type { FeatureTransform, ModelManifest, Prediction, Signature, Task } from './types';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
/** The compact form of weights.bin that pruned versions use. */
export const WEIGHTS_GZ = 'weights.bin.gz';
export const MANIFEST_JSON = 'modelops.json';
export const MANIFEST_FORMAT = 'modelops-tfjs/1';

export interface LoadedModel {
  manifest: ModelManifest;
  /** Rows are raw records keyed by feature name; the manifest's preprocessing is applied here. */
  predict(rows: Array<Record<string, unknown>>, ctx?: TransformContext): Promise<Prediction[]>;
  /** Raw model outputs for already-encoded inputs (n × inputWidth), row-major. */
  predictEncoded(x: Float32Array, n: number): Promise<{ outputs: Float32Array; width: number }>;
  dispose(): void;
}

/** A tf.io save handler that writes model.json + weights.bin into `dir`. */
export function bundleSaveHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      const tf = tfjs();
      if (!artifacts.modelTopology || artifacts.modelTopology instanceof ArrayBuffer) {
        throw new ModelOpsError(
          'bundle-write',
          'The model has no layers topology to save.',
          'Only TensorFlow.js layers models can be bundled.',
        );
      }
      const weightData =
        artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson = {
        format: 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
      };
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, MODEL_JSON), JSON.stringify(modelJson));
      await writeFile(join(dir, WEIGHTS_BIN), new Uint8Array(weightData));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
          weightDataBytes: weightData.byteLength,
        },
      };
    },
  };
}

/** Writes modelops.json. */
export async function writeManifest(dir: string, manifest: ModelManifest): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, MANIFEST_JSON), JSON.stringify(manifest, null, 2));
}

/** Writes a whole bundle from an in-memory model. */
export async function writeBundle(dir: string, model: tf.LayersModel, manifest: ModelManifest): Promise<void> {
  await model.save(bundleSaveHandler(dir));
  await writeManifest(dir, manifest);
}

/** The input/output signature a bundle exposes (one named input tensor per raw feature). */
export function makeSignature(features: FeatureTransform[], task: Task, labels?: string[]): Signature {
  return {
    inputs: features.map((f) => ({ name: f.name, datatype: f.kind === 'numeric' ? 'FP32' : 'BYTES', shape: [-1] })),
    outputs:
      task === 'classification'
        ? [
            { name: 'label', datatype: 'BYTES', shape: [-1] },
            { name: 'probabilities', datatype: 'FP32', shape: [-1, labels?.length ?? 0] },
          ]
        : [{ name: 'value', datatype: 'FP32', shape: [-1] }],
  };
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ModelOpsError(
      'bundle-incomplete',
      `The model bundle has no ${what} (${path}).`,
      'Register the version again from a complete bundle.',
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ModelOpsError(
      'bundle-corrupt',
      `${path} is not valid JSON.`,
      'The bundle is damaged; register the version again.',
    );
  }
}

const PREDICT_BATCH = 8192;

/** Inflated weights beyond this are refused: a few KB of gzip must not become gigabytes in memory. */
const MAX_WEIGHTS_BYTES = 2 * 1024 ** 3;

/** weights.bin, or weights.bin.gz (a pruned version's compact form: its zeros compress). */
async function readWeights(dir: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, WEIGHTS_BIN));
  } catch {
    /* try the compressed form */
  }
  let packed: Buffer;
  try {
    packed = await readFile(join(dir, WEIGHTS_GZ));
  } catch {
    throw new ModelOpsError(
      'bundle-incomplete',
      `The model bundle has no ${WEIGHTS_BIN} (${dir}).`,
      'Register the version again from a complete bundle.',
    );
  }
  try {
    return gunzipSync(packed, { maxOutputLength: MAX_WEIGHTS_BYTES });
  } catch (e) {
    throw new ModelOpsError(
      'bundle-incomplete',
      `${join(dir, WEIGHTS_GZ)} is not a readable gzip file of at most 2 GiB (${e instanceof Error ? e.message : String(e)}).`,
      'Register the version again from a complete bundle.',
    );
  }
}

/** Loads a bundle directory written by training. */
export async function loadModelBundle(dir: string): Promise<LoadedModel> {
  await ensureBackend();
  const manifest = (await readJson(join(dir, MANIFEST_JSON), MANIFEST_JSON)) as ModelManifest;
  if (manifest?.format !== MANIFEST_FORMAT) {
    throw new ModelOpsError(
      'bundle-format',
      `${join(dir, MANIFEST_JSON)} has format '${String(manifest?.format)}', expected '${MANIFEST_FORMAT}'.`,
      'This version was not trained by ModelOps; it cannot be served or evaluated here.',
    );
  }
  const modelJson = (await readJson(join(dir, MODEL_JSON), MODEL_JSON)) as tf.io.ModelJSON;
  const weights = await readWeights(dir);
  const weightSpecs = modelJson.weightsManifest.flatMap((g) => g.weights);
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  const tf = tfjs();
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }),
  );
  const width = inputWidth(manifest.features);
  let disposed = false;

  const predictEncoded = async (x: Float32Array, n: number): Promise<{ outputs: Float32Array; width: number }> => {
    if (disposed) throw new ModelOpsError('model-disposed', 'The model was unloaded.', 'Load the version again.');
    return predictMatrix(model, x, n, width);
  };

  return {
    manifest,
    predictEncoded,
    async predict(rows, ctx) {
      const x = transformRows(rows, manifest.features, ctx);
      const { outputs, width: outWidth } = await predictEncoded(x, rows.length);
      return decodeOutputs(outputs, rows.length, outWidth, manifest.task, manifest.labels ?? []);
    },
    dispose() {
      if (!disposed) model.dispose();
      disposed = true;
    },
  };
}

/** Runs the model over an encoded matrix in batches; returns the row-major outputs. */
export async function predictMatrix(
  model: tf.LayersModel,
  x: Float32Array,
  n: number,
  width: number,
): Promise<{ outputs: Float32Array; width: number }> {
  const outShape = model.outputs[0].shape;
  const outWidth = (outShape[outShape.length - 1] as number | null) ?? 1;
  const outputs = new Float32Array(n * outWidth);
  const tf = tfjs();
  for (let start = 0; start < n; start += PREDICT_BATCH) {
    const m = Math.min(PREDICT_BATCH, n - start);
    const y = tf.tidy(
      () => model.predict(tf.tensor2d(x.subarray(start * width, (start + m) * width), [m, width])) as tf.Tensor,
    );
    outputs.set(await y.data<'float32'>(), start * outWidth);
    y.dispose();
  }
  return { outputs, width: outWidth };
}

/**
 * Class probabilities in label order from raw outputs: softmax outputs as they are, a single
 * sigmoid unit (binary) as [1 − p, p].
 */
export function probabilitiesOf(outputs: Float32Array, n: number, width: number, k: number): Float64Array {
  const p = new Float64Array(n * k);
  if (width === 1 && k === 2) {
    for (let i = 0; i < n; i++) {
      p[2 * i] = 1 - outputs[i];
      p[2 * i + 1] = outputs[i];
    }
  } else {
    for (let i = 0; i < n * k; i++) p[i] = outputs[i];
  }
  return p;
}

export function decodeOutputs(
  outputs: Float32Array,
  n: number,
  width: number,
  task: Task,
  labels: string[],
): Prediction[] {
  const out: Prediction[] = new Array(n);
  if (task === 'regression') {
    for (let i = 0; i < n; i++) out[i] = { value: outputs[i * width] };
    return out;
  }
  const k = labels.length;
  const p = probabilitiesOf(outputs, n, width, k);
  for (let i = 0; i < n; i++) {
    const probs = Array.from(p.subarray(i * k, (i + 1) * k));
    let best = 0;
    for (let j = 1; j < k; j++) if (probs[j] > probs[best]) best = j;
    out[i] = { value: labels[best], probabilities: probs };
  }
  return out;
}
