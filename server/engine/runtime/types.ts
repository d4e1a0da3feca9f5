/**
 * The model runtime layer: the one interface evaluation, the smoke test, the model server,
 * monitoring (and later explanations and optimisation) use to run a model version, whatever
 * its format. Nothing outside runtime/ knows whether a version is TensorFlow.js or ONNX.
 *
 * Two paths into every runtime:
 * - rows: `predict(rows)` takes raw records keyed by feature name (what a request or a CSV
 *   line holds) and returns Predictions — the server and the smoke test;
 * - numbers: `encode(rows)` once, then `predictBatch(x, n)` as often as needed on that
 *   (possibly perturbed) matrix — evaluation over a million rows, Shapley values.
 */
import type { TransformContext } from '../data/preprocess';
import type { FeatureTransform, ModelManifest, Prediction, ReferenceProfile, Task } from '../model/types';

export type RuntimeKind = 'tfjs' | 'onnx';

/**
 * Tensor datatypes as the Open Inference Protocol names them. model/types.ts's TensorSpec has
 * only FP32 | INT64 | BYTES | BOOL; ONNX models also take FP64 and INT32.
 */
export type Datatype = 'FP32' | 'FP64' | 'INT64' | 'INT32' | 'BOOL' | 'BYTES';

export interface RuntimeTensorSpec {
  name: string;
  datatype: Datatype;
  /** -1 for the batch dimension. */
  shape: number[];
}

/** What a version takes and returns at the serving boundary (a change is a MAJOR bump). */
export interface RuntimeSignature {
  inputs: RuntimeTensorSpec[];
  outputs: RuntimeTensorSpec[];
}

/** One raw input column a caller sends, in input order. */
export interface RuntimeColumn {
  name: string;
  /** BYTES for text and categorical columns (and dates that derived inputs read). */
  datatype: Datatype;
  /** 'numeric' | 'categorical' for drift and request decoding; 'date' for a derived input's source. */
  kind: 'numeric' | 'categorical' | 'date';
}

/** What a bundle takes and gives, read without loading the model (monitoring, listings). */
export type BundleDescription = Pick<ModelRuntime, 'task' | 'labels' | 'target' | 'columns' | 'profile'>;

/** Result of the numeric batch path. */
export interface BatchResult {
  /**
   * Row-major scores, `n × width`: class probabilities in `labels` order (classification; a
   * single sigmoid unit is already expanded to [1 − p, p]) or the predicted value (regression,
   * width 1).
   */
  outputs: Float32Array | Float64Array;
  width: number;
  /** Class index per row when the model has its own label output (it may differ from argmax). */
  labels?: Int32Array;
}

export interface ModelRuntime {
  readonly kind: RuntimeKind;
  readonly task: Task;
  /** Class labels in output order (classification only). */
  readonly labels?: string[];
  readonly signature: RuntimeSignature;
  /** Raw input columns a row must carry, in order. */
  readonly features: string[];
  readonly columns: RuntimeColumn[];
  /** Target column the version was trained on, when known. */
  readonly target?: string;
  /** Reference profile of the training data and predictions (drift), when the bundle has one. */
  readonly profile?: ReferenceProfile;
  /** The bundle's manifest as written on disk. */
  readonly manifest: RuntimeManifest;
  /** Width of the matrix `encode` returns and `predictBatch` takes. */
  readonly encodedWidth: number;
  /** Raw records in, predictions out. Errors name the row and column at fault. */
  predict(rows: ReadonlyArray<Record<string, unknown>>, ctx?: TransformContext): Promise<Prediction[]>;
  /**
   * Raw records → the numeric matrix (`rows.length × encodedWidth`, row-major) `predictBatch`
   * takes: the fitted preprocessing (TF.js), or the model's input columns after derived
   * inputs (ONNX). Absent when the model takes text inputs (no numeric path).
   */
  encode?(rows: ReadonlyArray<Record<string, unknown>>, ctx?: TransformContext): Float32Array;
  /** The fast path: scores for an encoded matrix of `n` rows. Absent with `encode`. */
  predictBatch?(x: Float32Array, n: number, options?: BatchOptions): Promise<BatchResult>;
  /** Predictions from `predictBatch` scores. */
  decode(result: BatchResult, n: number): Prediction[];
  dispose(): void;
}

/** How an ONNX model's inputs are fed. */
export type InputMapping =
  /** One `[batch, n]` tensor with the columns in order. */
  | 'single'
  /** One `[batch, 1]` (or `[batch]`) tensor per column, matched by name — scikit-learn converters. */
  | 'per-column';

/** Which graph outputs hold what. Auto-detected when not given (see onnx.ts). */
export interface OutputSelection {
  /** Float output `[batch, k]` of class probabilities in `labels` order. */
  probabilities?: string;
  /** int64 or string output `[batch]` with the predicted class. */
  label?: string;
  /** For an int64 label output: 'index' into labels (argmax exports) or the class 'value' itself (skl2onnx with integer classes). */
  labelKind?: 'index' | 'value';
  /** Float output `[batch]` or `[batch, 1]` of predicted values (regression). */
  value?: string;
}

/**
 * Derived model inputs: model column → expression over a raw column. The fixed set:
 * `month(c)` 1–12, `day(c)` 1–31, `dayofyear(c)` 1–366, `weekday(c)` 0 = Monday … 6 (pandas),
 * `year(c)`, `hour(c)` 0–23, where c holds an ISO date ('2015-02-28', '2015-02-28T13:00:00').
 */
export type DerivedInputs = Record<string, string>;

export const ONNX_MANIFEST_FORMAT = 'modelops-onnx/1';
export const ONNX_MODEL_FILE = 'model.onnx';

/** modelops.json of an ONNX bundle (a directory with model.onnx beside it). */
export interface OnnxManifest {
  format: typeof ONNX_MANIFEST_FORMAT;
  task: Task;
  target?: string;
  /** The model's input columns in order (what the graph's single input or per-column inputs hold). */
  columns: string[];
  /** Model columns computed from raw ones; the raw columns callers send are derived from this. */
  derived?: DerivedInputs;
  labels?: string[];
  inputs: { mapping: InputMapping };
  outputs: OutputSelection;
  /** 'in-graph': the model takes raw values; 'config': apply `transforms` first (one `single` FP32 input). */
  preprocessing: 'in-graph' | 'config';
  transforms?: FeatureTransform[];
  /** What a missing numeric value becomes: an error (default) or NaN for graphs that impute. */
  missing?: 'error' | 'nan';
  signature: RuntimeSignature;
  /** The graph as read from model.onnx (for details pages and compatibility checks). */
  graph: {
    inputs: RuntimeTensorSpec[];
    outputs: RuntimeTensorSpec[];
    opsets: Record<string, number>;
    producer: string;
    irVersion: number;
    operators: string[];
  };
  profile?: ReferenceProfile;
  /** SHA-256 of model.onnx, hex. */
  modelDigest: string;
  createdAt: string;
}

export type RuntimeManifest = ModelManifest | OnnxManifest;

/** What `writeOnnxBundle` needs beyond the ONNX file; anything left out comes from metadata_props or the graph. */
export interface OnnxBundleSpec {
  task?: Task;
  target?: string;
  /** The model's input columns in order (default: metadata_props.features, else the per-column input names). */
  columns?: string[];
  derived?: DerivedInputs;
  labels?: string[];
  inputMapping?: InputMapping;
  outputs?: OutputSelection;
  preprocessing?: 'in-graph' | 'config';
  transforms?: FeatureTransform[];
  missing?: 'error' | 'nan';
  profile?: ReferenceProfile;
  /** Rows to build the reference profile from (run through the model), when `profile` is not given. */
  reference?: { rows: ReadonlyArray<Record<string, unknown>>; seed?: number };
  /**
   * Held-out labelled rows (the config's test split): a classifier's probabilities and true
   * classes (`target`), or a regression model's inputs, predictions and true values, go into the
   * profile as CBPE's or DLE's reference when labels come late.
   */
  evaluation?: { rows: ReadonlyArray<Record<string, unknown>> };
  /** Intra-op threads for the session used while writing (reference predictions). */
  threads?: number;
}

export interface RuntimeOptions {
  /** ONNX Runtime intra-op threads (default 1: see docs/benchmarks.md). */
  threads?: number;
}

/** How a caller runs a numeric batch. */
export interface BatchOptions {
  /**
   * Many rows of bulk work (explanations): a TF.js runtime may use its compiled forward pass, once
   * verified against TF.js for the loaded model (runtime/tfjs.ts). Serving and evaluation leave it
   * unset, so what they report is TF.js's own output.
   */
  bulk?: boolean;
}
