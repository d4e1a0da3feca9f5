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

/** Glob for file watchers: every file whose change may mean a new model version. */
export const MODEL_FILE_GLOB = '**/{*.onnx,*.keras,*.h5,*.hdf5,*.pt,*.pth,*.safetensors,*.pkl,*.joblib,model.json,saved_model.pb,modelops.json}';

/** Format of a folder by its marker file, or null when it is not a model folder. */
function folderFormat(dir: string): ArtifactFormat | null {
  if (existsSync(join(dir, 'modelops.json')) && existsSync(join(dir, 'model.json'))) return 'modelops-tfjs';
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
  if (FILE_FORMATS[ext]) return { path: changedFile, format: FILE_FORMATS[ext] };
  const dir = dirname(changedFile);
  if (name === 'model.json' || name === 'modelops.json' || name === 'saved_model.pb' || ext === '.bin' || name.startsWith('variables')) {
    const fmt = folderFormat(dir) ?? (basename(dir) === 'variables' ? folderFormat(dirname(dir)) : null);
    if (fmt) return { path: basename(dir) === 'variables' && !folderFormat(dir) ? dirname(dir) : dir, format: fmt };
  }
  return null;
}
