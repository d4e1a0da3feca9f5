/** Recognises model files and folders in the workspace and maps them to an ArtifactFormat. */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { ArtifactFormat } from './types';

const FILE_FORMATS: Record<string, ArtifactFormat> = {
  '.onnx': 'onnx',
  '.keras': 'keras',
  '.h5': 'h5',
  '.hdf5': 'h5',
  '.pt': 'torch',
  '.pth': 'torch',
  '.safetensors': 'safetensors',
  '.pkl': 'pickle',
  '.joblib': 'pickle',
};

/** A single-file format's usual extension ('.onnx', '.pt', …), or null for a folder format. */
export function formatExtension(format: ArtifactFormat): string | null {
  return Object.keys(FILE_FORMATS).find((ext) => FILE_FORMATS[ext] === format) ?? null;
}

/** Glob for file watchers: every file whose change may mean a new model version. */
export const MODEL_FILE_GLOB =
  '**/{*.onnx,*.keras,*.h5,*.hdf5,*.pt,*.pth,*.safetensors,*.pkl,*.joblib,model.json,saved_model.pb,modelops.json}';

/** Format of a folder by its marker file, or null when it is not a model folder. */
function folderFormat(dir: string): ArtifactFormat | null {
  if (existsSync(join(dir, 'modelops.json')) && existsSync(join(dir, 'model.json'))) return 'modelops-tfjs';
  // An ONNX bundle (writeOnnxBundle): model.onnx beside its modelops.json.
  if (existsSync(join(dir, 'modelops.json')) && existsSync(join(dir, 'model.onnx'))) return 'onnx';
  if (existsSync(join(dir, 'saved_model.pb')) || existsSync(join(dir, 'saved_model.pbtxt'))) return 'savedmodel';
  if (existsSync(join(dir, 'model.json'))) return 'tfjs-layers';
  return null;
}

/** The format of a file or folder to register; 'unknown' when nothing matches. */
export function detectModelFormat(path: string): ArtifactFormat {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 'unknown';
  }
  if (st.isDirectory()) return folderFormat(path) ?? 'unknown';
  return FILE_FORMATS[extname(path).toLowerCase()] ?? 'unknown';
}

/**
 * Maps a changed file to the artifact that should be registered for it: the file itself for
 * single-file formats, the enclosing folder for TF.js models, bundles and SavedModels
 * (a changed weights shard belongs to its folder). Null when the file is not part of a model.
 */
export function isModelPath(changedFile: string): { path: string; format: ArtifactFormat } | null {
  const name = basename(changedFile);
  const ext = extname(name).toLowerCase();
  const dir = dirname(changedFile);
  // model.onnx inside a bundle belongs to the bundle (its modelops.json says how to run it).
  if (name === 'model.onnx' && folderFormat(dir) === 'onnx') return { path: dir, format: 'onnx' };
  if (FILE_FORMATS[ext]) return { path: changedFile, format: FILE_FORMATS[ext] };
  if (name === 'modelops.json' && folderFormat(dir) === 'onnx') return { path: dir, format: 'onnx' };
  if (
    name === 'model.json' ||
    name === 'modelops.json' ||
    name === 'saved_model.pb' ||
    ext === '.bin' ||
    name.startsWith('variables')
  ) {
    const fmt = folderFormat(dir) ?? (basename(dir) === 'variables' ? folderFormat(dirname(dir)) : null);
    if (fmt) return { path: basename(dir) === 'variables' && !folderFormat(dir) ? dirname(dir) : dir, format: fmt };
  }
  return null;
}

/** The formats ModelOps runs (evaluate, gate, deploy, monitor): its own TF.js bundles and ONNX. */
export const RUNNABLE_FORMATS: ReadonlySet<ArtifactFormat> = new Set<ArtifactFormat>(['modelops-tfjs', 'onnx']);

/** The export call that turns each framework's model into ONNX (opset 17, batch as the only dynamic dimension). */
export const ONNX_EXPORTS = {
  pytorch:
    'torch.onnx.export(model.eval(), (torch.randn(1, n_features),), "model.onnx", input_names=["features"], output_names=["probabilities"], dynamic_axes={"features": {0: "batch"}, "probabilities": {0: "batch"}}, opset_version=17, dynamo=False)',
  sklearn:
    'onx = skl2onnx.to_onnx(model, X[:1].astype(numpy.float32), target_opset=17, options={id(model): {"zipmap": False}}); open("model.onnx", "wb").write(onx.SerializeToString())',
  keras:
    'tf2onnx.convert.from_keras(model, input_signature=[tf.TensorSpec([None, n_features], tf.float32, name="features")], opset=17, output_path="model.onnx")',
  savedmodel: 'python -m tf2onnx.convert --saved-model <folder> --opset 17 --output model.onnx',
} as const;

const NOT_RUN =
  'is stored as an artifact, but ModelOps cannot run it, so it cannot be evaluated, gated, deployed or monitored here (its gates stay "not evaluated"). ModelOps runs ONNX (opset 13 or newer):';
const THEN =
  'then register model.onnx (modelops versions register model.onnx --model <name>, or with --config modelops.yaml to evaluate it too). See docs/models.md.';

/**
 * For a format ModelOps stores but cannot run: what works for it, with the exact export call.
 * Null for runnable formats. Shown when such a file is registered and on its details page.
 */
export function formatNotice(format: ArtifactFormat): string | null {
  switch (format) {
    case 'modelops-tfjs':
    case 'onnx':
      return null;
    case 'torch':
      return `A PyTorch file (.pt/.pth) ${NOT_RUN} load the model in Python and export it with ${ONNX_EXPORTS.pytorch}; ${THEN}`;
    case 'safetensors':
      return `A safetensors file holds weights without the network ${NOT_RUN} load the weights into the model class (model.load_state_dict(safetensors.torch.load_file(path))) and export it with ${ONNX_EXPORTS.pytorch}; ${THEN}`;
    case 'keras':
    case 'h5':
      return `A Keras model (.keras/.h5) ${NOT_RUN} export it with tf2onnx: ${ONNX_EXPORTS.keras}; ${THEN}`;
    case 'savedmodel':
      return `A TensorFlow SavedModel ${NOT_RUN} convert it with ${ONNX_EXPORTS.savedmodel}; ${THEN}`;
    case 'pickle':
      return `A pickle/joblib file ${NOT_RUN} (ModelOps never unpickles: loading a pickle runs code). For scikit-learn, export with skl2onnx: ${ONNX_EXPORTS.sklearn}; ${THEN}`;
    case 'tfjs-layers':
      return `A TensorFlow.js model.json without ModelOps' modelops.json ${NOT_RUN} train it with ModelOps (model.framework: tfjs) or export the original Keras model with ${ONNX_EXPORTS.keras}; ${THEN}`;
    default:
      return `This file's format is not one ModelOps recognises; it ${NOT_RUN} export the model to ONNX (PyTorch: torch.onnx.export; scikit-learn: skl2onnx; Keras/TensorFlow: tf2onnx); ${THEN}`;
  }
}
