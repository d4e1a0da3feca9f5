/**
 * TensorFlow.js, loaded on first use, and its backend selection. Preference:
 * `@tensorflow/tfjs-node` (native libtensorflow, an optional dependency that may not have
 * installed), then `@tensorflow/tfjs-backend-wasm`, then the plain JS CPU backend. A setting can
 * force one.
 *
 * Loading TF.js costs seconds of CPU, and most of the engine (registry, config, monitoring, the
 * training orchestrator on the main thread) never runs a kernel: engine modules import this file
 * and call `tfjs()` where they need the library, and take its types with `import type`.
 * ./backend re-exports this with the namespace loaded eagerly, for code that always uses it.
 */
import type * as TF from '@tensorflow/tfjs';
import type * as TFWasm from '@tensorflow/tfjs-backend-wasm';
import { dirname, join } from 'node:path';
import { ModelOpsError } from '../errors';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = 'auto' | BackendName;

export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  /** The backend in use. */
  name: BackendName;
  /** What was asked for. */
  requested: BackendChoice;
  /** Why a preferred backend was skipped, e.g. "tensorflow: @tensorflow/tfjs-node is not installed". */
  notes: string[];
}

export type Tfjs = typeof TF;

let loaded: { tf: Tfjs; wasm: typeof TFWasm } | null = null;

function load(): { tf: Tfjs; wasm: typeof TFWasm } {
  if (!loaded) {
    try {
      /* eslint-disable @typescript-eslint/no-require-imports -- on demand (see above); require, not
         import(), so the synchronous builders (buildModel, optimizerFor) can call tfjs() too */
      const tf = require('@tensorflow/tfjs') as Tfjs;
      // Loading the wasm package registers the 'wasm' backend, as the static import did.
      const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof TFWasm;
      /* eslint-enable @typescript-eslint/no-require-imports */
      loaded = { tf, wasm };
    } catch (e) {
      throw new ModelOpsError(
        'backend-unavailable',
        `TensorFlow.js could not be loaded: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}.`,
        'Reinstall the extension dependencies.',
      );
    }
  }
  return loaded;
}

/** The `@tensorflow/tfjs` module, loaded by the first call in this thread. */
export function tfjs(): Tfjs {
  return load().tf;
}

let active: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;
let wasmPathsSet = false;

export function parseBackendChoice(value: string | undefined | null): BackendChoice {
  if (value === undefined || value === null || value === '') return 'auto';
  if ((BACKEND_CHOICES as readonly string[]).includes(value)) return value as BackendChoice;
  throw new ModelOpsError(
    'invalid-backend',
    `Unknown TensorFlow.js backend '${value}'.`,
    `Use one of: ${BACKEND_CHOICES.join(', ')}.`,
  );
}

/** Whether `@tensorflow/tfjs-node` can be loaded in this process (it registers the 'tensorflow' backend). */
async function loadTfjsNode(): Promise<string | null> {
  // A computed name keeps bundlers from trying to resolve the optional package.
  const name = ['@tensorflow', 'tfjs-node'].join('/');
  try {
    await import(name);
    return null;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return /Cannot find (module|package)|ERR_MODULE_NOT_FOUND|MODULE_NOT_FOUND/.test(msg)
      ? '@tensorflow/tfjs-node is not installed'
      : msg;
  }
}

function wasmDistDir(): string {
  // require.resolve works in the CommonJS bundle (dist/) and under tsx from source.
  const main = require.resolve('@tensorflow/tfjs-backend-wasm');
  return join(dirname(main), '/');
}

async function tryBackend(name: BackendName, notes: string[]): Promise<boolean> {
  const { tf, wasm } = load();
  try {
    if (name === 'tensorflow') {
      const why = await loadTfjsNode();
      if (why) {
        notes.push(`tensorflow: ${why}`);
        return false;
      }
    }
    if (name === 'wasm' && !wasmPathsSet) {
      wasm.setWasmPaths(wasmDistDir());
      wasmPathsSet = true;
    }
    const ok = await tf.setBackend(name);
    if (!ok) {
      notes.push(`${name}: the backend did not initialise`);
      return false;
    }
    await tf.ready();
    return tf.getBackend() === name;
  } catch (e) {
    notes.push(`${name}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    return false;
  }
}

async function select(requested: BackendChoice): Promise<BackendInfo> {
  // Quiet the "install tfjs-node" banner and debug checks; we report the backend ourselves.
  tfjs().env().set('PROD', true);
  const notes: string[] = [];
  const order: BackendName[] = requested === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [requested];
  for (const name of order) {
    if (await tryBackend(name, notes)) return { name, requested, notes };
  }
  throw new ModelOpsError(
    'backend-unavailable',
    `The TensorFlow.js backend '${requested}' is not available: ${notes.join('; ')}.`,
    requested === 'auto'
      ? 'Reinstall the extension dependencies.'
      : "Set the backend to 'auto' to fall back to one that works here.",
  );
}

/**
 * Makes sure a backend is active in this thread and returns which. With 'auto' an already
 * chosen backend is kept; an explicit choice switches to it. Loads TF.js if it is not yet.
 */
export async function ensureBackend(requested: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (pending) await pending.catch(() => undefined);
  if (active && (requested === 'auto' || requested === active.name)) return active;
  pending = select(requested);
  try {
    active = await pending;
    return active;
  } finally {
    pending = null;
  }
}

/** Whether the backend gives bit-identical results for the same seed. */
export function isDeterministic(name: BackendName): boolean {
  // The CPU and single-threaded wasm kernels run in a fixed order; libtensorflow may use
  // multi-threaded reductions (Eigen/oneDNN) whose summation order varies between runs.
  return name !== 'tensorflow';
}
