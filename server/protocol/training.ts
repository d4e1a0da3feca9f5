/**
 * Training and evaluation over JSON-RPC. `train` reports LSP work-done progress on the
 * client's `workDoneToken` and honours cancellation; every epoch also goes out as a small
 * `trainProgress` notification the training-curve chart subscribes to.
 */
import { notification, request } from './rpc';
import type { GateReport, RunRecord, VersionRecord } from '../engine/registry/types';
import type { EvaluateResult } from '../engine/evaluation/evaluate';
import type { PredictFileResult } from '../engine/evaluation/predictFile';

export interface TrainParams {
  /** `file:` URI or absolute path of modelops.yaml; default `<workspace>/modelops.yaml`. */
  configUri?: string;
  /** auto | tensorflow | wasm | cpu (the `modelops.training.backend` setting). */
  backend?: string;
  /** Changelog note for the new version. */
  note?: string;
  /** LSP work-done progress token created by the client. */
  workDoneToken?: string | number;
}

export interface TrainSummary {
  run: RunRecord;
  version: VersionRecord;
  metrics: Record<string, number>;
  gates: GateReport | null;
  backend: string;
  samplesPerSecond: number;
  epochsRun: number;
  stoppedEarly: boolean;
  /** What happened along the way: missing values handled, early stopping, skipped backends. */
  notes: string[];
}

export const train = request<TrainParams, TrainSummary>('modelops/training/train', {
  requiresTrust: true,
  action: 'Training',
});

/** One new point of a running training's curve (≤ 1 KB). */
export interface TrainProgressParams {
  runId: string;
  epoch: number;
  epochs: number;
  metrics: Record<string, number>;
}

export const trainProgress = notification<TrainProgressParams>('modelops/training/progress');

/** One log line of an external trainer (`train.command`), for the output channel. */
export const trainLog = notification<{ runId: string | null; line: string }>('modelops/training/log');

export interface EvaluateParams {
  /** "model@1.2.0", "model@production" or "model". */
  ref: string;
  configUri?: string;
  /** Evaluate on this file (absolute, or relative to the workspace) instead of the test split. */
  data?: string;
  /** Check the gates and store the report with the version (default true). */
  gate?: boolean;
  workDoneToken?: string | number;
}

/** The engine's evaluation result, as it is. */
export type EvaluateSummary = EvaluateResult;

export const evaluate = request<EvaluateParams, EvaluateSummary>('modelops/training/evaluate', {
  requiresTrust: true,
  action: 'Evaluating (it loads the model and data the workspace names)',
});

export interface PredictFileParams {
  /** "model@1.2.0" or "model@production". */
  ref: string;
  /** The CSV or JSONL file to score: absolute, or relative to the workspace. */
  data: string;
  /** Where the predictions go (absolute; .jsonl → JSON lines); default beside the data, `<name>.predictions.csv`. */
  out?: string;
  /** Replace an existing output file (default: refuse). */
  force?: boolean;
  /** Input columns carried into the output as written. */
  keep?: string[];
  workDoneToken?: string | number;
}

/** The engine's result: rows predicted and skipped, the output file, the class shares or value range. */
export type PredictFileSummary = PredictFileResult;

export const predictFile = request<PredictFileParams, PredictFileSummary>('modelops/training/predictFile', {
  requiresTrust: true,
  action: 'Scoring a file (it loads the model and data of this workspace)',
});

export interface BackendStatus {
  /** The backend training and serving use in this sidecar: tensorflow | wasm | cpu. */
  name: string;
  requested: string;
  /** Why preferred backends were skipped. */
  notes: string[];
  /** Whether same seed gives bit-identical results on this backend. */
  deterministic: boolean;
}

export const backend = request<{ backend?: string }, BackendStatus>('modelops/training/backend');
