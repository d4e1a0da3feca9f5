/** Shapes shared by the model server, its clients (deploy) and monitoring. */
import type { Prediction, ReferenceProfile, Task } from '../model/types';
import type { BatchOptions, BatchResult, RuntimeSignature } from '../runtime/types';
import type { TransformContext } from '../data/preprocess';

/** One raw input column a request carries, in input order. */
export interface ServingFeature {
  name: string;
  /** 'date' is a text column the model derives inputs from. */
  kind: 'numeric' | 'categorical' | 'date';
  /** Known categories, when the description has them: other values are refused before the model runs. */
  categories?: readonly string[];
  /** What a missing value becomes; null: missing values are refused; absent: the model decides. */
  impute?: number | string | null;
}

/**
 * What a loaded version takes and returns, whatever its format: the model runtime's columns and
 * signature (`predictorOf`). A TF.js bundle's ModelManifest is one too, so older callers and
 * test doubles keep working.
 */
export interface ServingModel {
  task: Task;
  labels?: string[];
  target?: string;
  features: readonly ServingFeature[];
  /** Datatypes of the inputs (by feature name) and outputs, as the Open Inference Protocol names them. */
  signature: RuntimeSignature;
  profile?: ReferenceProfile;
}

/** A loaded model version: what the server calls to predict (`predictorOf(runtime)`). */
export interface Predictor {
  manifest: ServingModel;
  predict(rows: Array<Record<string, unknown>>): Promise<Prediction[]>;
  dispose(): void;
  /** `modelops-<runtime kind>`, shown in model metadata. */
  platform?: string;
  /**
   * The numeric path, when the model has one: the server encodes (and so checks) each request
   * on arrival and runs the merged matrices of a batch in one call.
   */
  encode?(rows: ReadonlyArray<Record<string, unknown>>, ctx?: TransformContext): Float32Array;
  /** `options.bulk`: the explain route's many hybrid rows (runtime/types.ts BatchOptions). */
  predictBatch?(x: Float32Array, n: number, options?: BatchOptions): Promise<BatchResult>;
  decode?(result: BatchResult, n: number): Prediction[];
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
