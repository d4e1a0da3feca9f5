/**
 * The model bundle: what training writes, the registry stores as one artifact (a directory),
 * and evaluation, serving and monitoring read. Files in the bundle directory:
 *   model.json     TensorFlow.js layers topology with its weightsManifest (paths: weights.bin)
 *   weights.bin    the weights
 *   modelops.json  a ModelManifest (below): preprocessing, signature, labels, reference profile
 */

export type Task = 'classification' | 'regression';

/** One input column of the model, in input order, with the transform fitted on training data. */
export type FeatureTransform =
  | {
      name: string;
      kind: 'numeric';
      /** Standardisation fitted on the training split. std is 1 when the column is constant. */
      mean: number;
      std: number;
      /** Value used for a missing cell (mean imputation), or null when rows with gaps were dropped. */
      impute: number | null;
    }
  | {
      name: string;
      kind: 'categorical';
      /** One-hot categories in a fixed order. */
      categories: string[];
      /** Mode imputation value, or null when rows with gaps were dropped. */
      impute: string | null;
    };

export interface TensorSpec {
  name: string;
  datatype: 'FP32' | 'INT64' | 'BYTES' | 'BOOL';
  /** -1 for the batch dimension. */
  shape: number[];
}

/** Input/output signature: a change here is a MAJOR version bump. */
export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface NumericProfile {
  kind: 'numeric';
  count: number;
  missing: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Decile edges (11 values, min..max) of the reference, used as PSI bins. */
  quantiles: number[];
  /** Up to 2,000 values sampled without replacement (seeded) for the KS test. */
  sample: number[];
}

export interface CategoricalProfile {
  kind: 'categorical';
  count: number;
  missing: number;
  /** Category → count in the reference. */
  counts: Record<string, number>;
}

export type ColumnProfile = NumericProfile | CategoricalProfile;

/**
 * A classifier's class probabilities on its held-out test rows, with their true classes: what
 * CBPE checks and fits its calibration on when the monitored traffic's reference windows have too
 * few labels (labels that come late). NannyML's reference period is this split.
 */
export interface EvaluationSample {
  /** Rows kept (at most EVALUATION_SAMPLE_ROWS, evenly spread over the split). */
  rows: number;
  /** K per row in `labels` order, rounded to 6 decimals. */
  probabilities: number[];
  /** Each row's true class, an index into `labels`. */
  truth: number[];
}

/**
 * A regression model's held-out test rows — raw inputs, its predictions, the true values: what
 * DLE fits its loss model on when the monitored traffic's reference windows have too few labels.
 */
export interface LossSample {
  /** Rows kept (at most EVALUATION_SAMPLE_ROWS, evenly spread over the split). */
  rows: number;
  /** Each feature's raw values, one per row (null when missing). */
  inputs: Record<string, Array<number | string | null>>;
  predictions: number[];
  truth: number[];
}

/** The reference distribution of the training data and of the model's predictions on it. */
export interface ReferenceProfile {
  rows: number;
  features: Record<string, ColumnProfile>;
  /** Predicted label (classification) or predicted value (regression) on the reference. */
  predictions: ColumnProfile;
  /** A classifier trained here: its test split's probabilities and true classes (see EvaluationSample). */
  evaluation?: EvaluationSample;
  /** A regression model trained here: its test split's inputs, predictions and true values (see LossSample). */
  evaluationLoss?: LossSample;
}

export interface ModelManifest {
  format: 'modelops-tfjs/1';
  task: Task;
  target: string;
  features: FeatureTransform[];
  /** Class labels in output order (classification only). */
  labels?: string[];
  signature: Signature;
  profile: ReferenceProfile;
  /** The TensorFlow.js backend that trained it: "tensorflow" | "wasm" | "cpu". */
  backend: string;
  trainedAt: string;
}

/** One prediction as served and logged. */
export interface Prediction {
  /** Class label (classification) or value (regression). */
  value: string | number;
  /** Class probabilities in `labels` order (classification only). */
  probabilities?: number[];
}
