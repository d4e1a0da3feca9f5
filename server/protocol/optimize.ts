/**
 * Optimisation over JSON-RPC (issue 14): hyperparameter studies (run with LSP work-done
 * progress and a `studyProgress` notification per trial start, epoch and trial end; cancelled
 * by cancelling the request, like training), the studies of the registry, registering a
 * study's best trial, quantisation and pruning. Every request that trains, scores or writes a
 * model requires a trusted workspace; reading studies does not (like every registry read).
 */
import { notification, request } from './rpc';
import type { GateReport, RunRecord, VersionRecord } from '../engine/registry/types';
import type { StudyRecord, TrialRecord } from '../engine/registry/studies';
import type { Scored } from '../engine/optimize/register';
import type { PruningRate } from '../engine/optimize/prune';

export type { StudyRecord, TrialRecord };

export interface TuneParams {
  /** `file:` URI or absolute path of modelops.yaml; default `<workspace>/modelops.yaml`. */
  configUri?: string;
  /** Overrides of the config's tune block. */
  trials?: number;
  minutes?: number;
  sampler?: 'random' | 'grid' | 'tpe';
  seed?: number;
  parallel?: number;
  /** Resume this study (id or `latest`) instead of starting one. */
  resume?: string;
  /** auto | tensorflow | wasm | cpu. */
  backend?: string;
  workDoneToken?: string | number;
}

export interface StudyView {
  study: StudyRecord;
  trials: TrialRecord[];
  best: TrialRecord | null;
}

/** Runs (or resumes) the study of the config's `tune:` block; resolves when it ends (or is cancelled). */
export const tune = request<TuneParams, StudyView>('modelops/optimize/tune', {
  requiresTrust: true,
  action: 'Tuning (it trains models on the data the workspace names)',
});

/**
 * One event of a running study (≤ a few KB: the trial's record with its curve, never the study's
 * other trials). `trial-started`, `epoch`, `trial-finished`, `study-finished`.
 */
export interface StudyProgressParams {
  kind: 'trial-started' | 'epoch' | 'trial-finished' | 'study-finished';
  study: StudyRecord;
  trial?: TrialRecord;
  best: TrialRecord | null;
  /** The study's trial budget (null with a time budget only). */
  budget: number | null;
}

export const studyProgress = notification<StudyProgressParams>('modelops/optimize/studyProgress');

/** A study in a list: its record, counts by status and the best trial. */
export interface StudySummary {
  study: StudyRecord;
  trials: number;
  counts: Record<TrialRecord['status'], number>;
  best: TrialRecord | null;
}

/** Newest first; only the studies of `model` when given. */
export const listStudies = request<{ model?: string }, StudySummary[]>('modelops/optimize/listStudies');

/** A study with every trial (id or `latest`). */
export const getStudy = request<{ id: string }, StudyView>('modelops/optimize/getStudy');

export interface RegisterBestParams {
  study: string;
  /** A trial number; default: the best completed trial. */
  trial?: number;
  configUri?: string;
  backend?: string;
  workDoneToken?: string | number;
}

export interface RegisterBestSummary {
  studyId: string;
  trial: TrialRecord;
  run: RunRecord;
  version: VersionRecord;
  metrics: Record<string, number>;
  gates: GateReport | null;
  notes: string[];
}

export const registerBest = request<RegisterBestParams, RegisterBestSummary>('modelops/optimize/registerBest', {
  requiresTrust: true,
  action: 'Registering a trial (it trains the model again)',
});

interface OptimizeCommon {
  /** "model@1.2.0", "model@production" or "model". */
  ref: string;
  configUri?: string;
  workDoneToken?: string | number;
}

export interface QuantizeParams extends OptimizeCommon {
  dtype: 'float16' | 'uint8';
}

export interface PruneParams extends OptimizeCommon {
  /** Strictly between 0 and 1. */
  sparsity: number;
  /** Fine-tuning epochs (default 2; 0 is one-shot). */
  epochs?: number;
  schedule?: 'polynomial' | 'constant';
}

/** An optimised child version beside its parent: metrics and measurements of both, the gates. */
export interface OptimizeSummary {
  method: 'quantize' | 'prune';
  version: VersionRecord;
  run: RunRecord;
  parent: Scored;
  child: Scored;
  gates: GateReport;
  notes: string[];
  details: QuantizeInfo | PruneInfo;
}

/** What quantisation reports (without the per-weight errors, which can be many). */
export interface QuantizeInfo {
  method: 'quantize';
  dtype: 'float16' | 'uint8';
  format: 'tfjs' | 'onnx';
  /** Weights rewritten. */
  weights: number;
  bytesBefore: number;
  bytesAfter: number;
}

/** What pruning reports: the pruning rate overall and per layer, and how the weights are stored. */
export interface PruneInfo {
  method: 'prune';
  rate: PruningRate;
  weightBytes: number;
  compressedBytes: number;
  finalLoss: number | null;
}

export const quantize = request<QuantizeParams, OptimizeSummary>('modelops/optimize/quantize', {
  requiresTrust: true,
  action: "Quantising (it loads and scores models on the workspace's data)",
});

export const prune = request<PruneParams, OptimizeSummary>('modelops/optimize/prune', {
  requiresTrust: true,
  action: "Pruning (it fine-tunes the model on the workspace's data)",
});
