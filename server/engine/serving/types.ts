/** Shapes shared by the model server, its clients (deploy) and monitoring. */
import type { ModelManifest, Prediction } from '../model/types';

/** A loaded model version: what the server calls to predict. `loadModelBundle` returns one. */
export interface Predictor {
  manifest: ModelManifest;
  predict(rows: Array<Record<string, unknown>>): Promise<Prediction[]>;
  dispose(): void;
}

export type PredictorLoader = (bundleDir: string) => Promise<Predictor>;

/** One tensor of an Open Inference Protocol (KServe V2) request or response. */
export interface V2Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
  parameters?: Record<string, unknown>;
}

export interface V2InferRequest {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: V2Tensor[];
}

export interface V2InferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, unknown>;
  outputs: V2Tensor[];
}

/** One row of `GET /v2/repository/index`. */
export interface RepositoryEntry {
  name: string;
  version: string;
  state: 'READY' | 'LOADING' | 'UNAVAILABLE';
  /** True for the version the model name serves. */
  active: boolean;
  /** True for the version that served before the last switch. */
  previous: boolean;
  reason?: string;
}

/** Contents of `.modelops/serving/<target>.json`: how to find a running local server again. */
export interface ServerRecord {
  pid: number;
  host: string;
  port: number;
  url: string;
  storeDir: string;
  startedAt: string;
}

/** Prediction log lines (JSONL), one per request or feedback. */
export interface PredictionLogLine {
  type: 'prediction';
  id: string;
  /** ISO time. */
  time: string;
  version: string;
  latencyMs: number;
  /** Feature → one value per row. */
  inputs: Record<string, unknown[]>;
  outputs: { label?: string[]; probabilities?: number[][]; value?: number[] };
}

export interface FeedbackLogLine {
  type: 'feedback';
  id: string;
  time: string;
  /** One truth per row of the request (a single-row request may send `label`). */
  labels: Array<string | number>;
}
