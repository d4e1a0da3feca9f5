/**
 * TensorFlow.js backend selection. Preference: `@tensorflow/tfjs-node` (native libtensorflow,
 * an optional dependency that may not have installed), then `@tensorflow/tfjs-backend-wasm`,
 * then the plain JS CPU backend. A setting can force one.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
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

export { tf };

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
  try {
    if (name === 'tensorflow') {
      const why = await loadTfjsNode();
      if (why) {
        notes.push(`tensorflow: ${why}`);
        return false;
      }
    }
    if (name === 'wasm' && !wasmPathsSet) {
      setWasmPaths(wasmDistDir());
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
  tf.env().set('PROD', true);
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
 * chosen backend is kept; an explicit choice switches to it.
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
