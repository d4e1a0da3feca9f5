/** Messages between the trainer (sidecar/CLI main thread) and the training worker thread. */
import type { EarlyStoppingConfig } from '../config/types';
import type { BackendChoice, BackendInfo } from '../tfjs/load';
import type { NetworkSpec } from './model';

export interface WorkerInit {
  backend: BackendChoice;
  /** Int32Array view index 0: set to 1 to cancel; checked after every batch. */
  cancelFlag: SharedArrayBuffer;
}

export interface TrainJob {
  type: 'train';
  network: NetworkSpec;
  /** Row-major n × inputWidth. */
  x: Float32Array;
  /** Row-major n × outputWidth (one-hot, binary 0/1 or regression value). */
  y: Float32Array;
  n: number;
  valX: Float32Array | null;
  valY: Float32Array | null;
  nVal: number;
  outputWidth: number;
  epochs: number;
  batchSize: number;
  seed: number;
  classWeight?: Record<number, number>;
  earlyStopping?: EarlyStoppingConfig;
  /** Inputs whose raw outputs to return after training (test split, then training rows). */
  predict: Array<{ name: string; x: Float32Array; n: number }>;
  /** Where the worker writes model.json and weights.bin. */
  bundleDir: string;
}

export type WorkerMessage =
  | { type: 'ready'; backend: BackendInfo }
  | { type: 'epoch'; epoch: number; epochs: number; metrics: Record<string, number>; samplesPerSecond: number }
  | {
      type: 'done';
      cancelled: boolean;
      epochsRun: number;
      stoppedEarly: boolean;
      samplesPerSecond: number;
      outputs: Record<string, Float32Array>;
      outputWidth: number;
      notes: string[];
    }
  | { type: 'error'; code: string; message: string; hint?: string };
