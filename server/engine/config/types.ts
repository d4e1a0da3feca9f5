/**
 * The typed shape of `modelops.yaml` (schema version 1) after validation and defaults.
 * `schema.ts` is the source of truth for docs, ranges and the published JSON Schema; this
 * file is the TypeScript view the rest of the engine codes against.
 */

export type Task = 'classification' | 'regression';
export type Framework = 'tfjs' | 'command' | 'onnx';
export type DataFormat = 'csv' | 'jsonl';
export type MissingPolicy = 'drop' | 'impute';
export type Optimizer = 'adam' | 'sgd' | 'rmsprop' | 'adagrad';
export type Activation = 'relu' | 'sigmoid' | 'softmax' | 'tanh' | 'linear' | 'elu' | 'selu' | 'softplus';
export type DriftMethod = 'psi' | 'ks';
/** `monitor.drift.test`: `auto` chooses per column by type and reference size, as Evidently does. */
export type DriftTestName = 'auto' | 'ks' | 'psi' | 'wasserstein' | 'jensenshannon' | 'chisquare';
export type TargetType = 'local' | 'http';

export const CLASSIFICATION_METRICS = [
  'accuracy',
  'precision_macro',
  'recall_macro',
  'f1_macro',
  'precision_micro',
  'recall_micro',
  'f1_micro',
  'precision_weighted',
  'recall_weighted',
  'f1_weighted',
  'roc_auc',
  'log_loss',
] as const;
export const REGRESSION_METRICS = ['mae', 'mse', 'rmse', 'r2', 'mape'] as const;
export type ClassificationMetric = (typeof CLASSIFICATION_METRICS)[number];
export type RegressionMetric = (typeof REGRESSION_METRICS)[number];
export type MetricName = ClassificationMetric | RegressionMetric;
/** Group-fairness metrics as Fairlearn defines them; classification only. */
export const FAIRNESS_METRICS = [
  'demographic_parity_difference',
  'demographic_parity_ratio',
  'equalized_odds_difference',
  'equal_opportunity_difference',
] as const;
export type FairnessMetric = (typeof FAIRNESS_METRICS)[number];

export interface SplitConfig {
  train: number;
  validation: number;
  test: number;
  seed: number;
}

export interface DataConfig {
  /** Paths as written in the file (relative to the config's directory). */
  train: string;
  validation?: string;
  test?: string;
  /** Resolved from the train file's extension when not given. */
  format: DataFormat;
  target: string;
  /** Absent: all columns but the target. */
  features?: string[];
  split: SplitConfig;
  missing: MissingPolicy;
}

export type LayerConfig =
  | { type: 'dense'; units: number; activation?: Activation }
  | { type: 'dropout'; rate: number }
  | { type: 'batchNormalization' };

export interface ModelConfig {
  name: string;
  task: Task;
  framework: Framework;
  /** tfjs only; the input layer is implied by the features. */
  layers?: LayerConfig[];
  /** framework onnx: the model file as written (relative to the config's directory). */
  path?: string;
  /** How an ONNX model (framework onnx, or command with an .onnx output) reads columns and what its outputs hold. */
  onnx?: OnnxModelConfig;
  /** What the model card says that the registry cannot know (docs/governance.md). */
  card?: ModelCardConfig;
}

/** `model.card`: the prose sections of a model card (Mitchell et al., 2019). */
export interface ModelCardConfig {
  owner?: string;
  description?: string;
  license?: string;
  intendedUse?: string[];
  intendedUsers?: string[];
  outOfScopeUses?: string[];
  ethicalConsiderations?: string[];
  caveats?: string[];
}

/** `registry:`: which aliases are protected by approvals. */
export interface RegistryPolicyConfig {
  protectedAliases: string[];
  separationOfDuties: boolean;
}

export interface OnnxModelConfig {
  /** Absent: detected from the model (several inputs → per-column). */
  inputs?: 'single' | 'per-column';
  /** Model column → `fn(column)`. */
  derived?: Record<string, string>;
  outputs?: { probabilities?: string; label?: string; value?: string };
  /** Absent: metadata_props labels, else the sorted distinct target values of the training data. */
  labels?: string[];
  preprocessing: 'in-graph' | 'config';
}

export interface EarlyStoppingConfig {
  metric: string;
  patience: number;
  minDelta: number;
}

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  optimizer: Optimizer;
  learningRate: number;
  seed: number;
  /** 'none' | 'balanced' | explicit weight per class label. */
  classWeights: 'none' | 'balanced' | Record<string, number>;
  earlyStopping?: EarlyStoppingConfig;
  /** External trainer (framework: command). */
  command?: string;
  outputs?: string;
  metrics?: string;
}

/** A parsed gate such as ">= 0.9" or ">= production - 0.01". */
export interface GateExpression {
  op: '>=' | '>' | '<=' | '<' | '==' | '!=';
  /** Absolute threshold: value. Relative: the metric of the version holding `alias`, adjusted. */
  kind: 'absolute' | 'relative';
  value?: number;
  alias?: string;
  /** For relative gates: `production - 0.01` → { adjust: '-', amount: 0.01 }. */
  adjust?: '+' | '-' | '*';
  amount?: number;
  /** The expression as written. */
  source: string;
}

export interface EvaluateConfig {
  metrics: MetricName[];
  /** metric → expression text as written. */
  gates: Record<string, string>;
  /** metric → parsed expression (same keys as `gates`). */
  parsedGates: Record<string, GateExpression>;
  fairness?: FairnessConfig;
}

export interface FairnessConfig {
  /** Columns of the data (usually not features) whose groups are compared. */
  sensitive: string[];
  /** Evaluation metrics shown per group, and fairness metrics (always computed for classification). */
  metrics: Array<MetricName | FairnessMetric>;
  /** Groups with fewer test rows are reported and flagged but left out of the gaps. */
  minGroupSize: number;
}

export interface SmokeTestConfig {
  rows: number;
  tolerance: number;
}

export interface TargetConfig {
  type: TargetType;
  host?: string;
  port?: number;
  url?: string;
  /** Name of the secret (SecretStorage / env MODELOPS_TOKEN_<NAME>), never the token itself. */
  tokenSecret?: string;
  /** Deploys need an approval record for the exact version and artifact (`modelops approve`). */
  requireApproval: boolean;
  /** With requireApproval: the approver must not be the version's author. */
  separationOfDuties?: boolean;
  smokeTest: SmokeTestConfig;
}

export interface DeployConfig {
  targets: Record<string, TargetConfig>;
}

export interface ControlChartConfig {
  metric: string;
  sigma: number;
  /** First k windows, or "evaluation" (the evaluation metrics of the deployed version). */
  baseline: number | 'evaluation';
  /** Western Electric rules to apply (1–4). */
  rules: number[];
  /** σ of an individuals chart: MR̄/1.128 or the sample std (absent: movingRange). */
  sigmaEstimator?: 'movingRange' | 'stddev';
  /** Which side the rules watch (absent: by the metric's direction, lower for accuracy-like, upper for error-like). */
  side?: 'lower' | 'upper' | 'both';
}

export interface DriftConfig {
  /** The test per column; `auto` (the default) defers to the older `method` when that is given. */
  test?: DriftTestName;
  /** Older name for the test, psi or ks, with its old meaning (score > threshold, KS on D; default 0.2); `test` wins when both are given. */
  method?: DriftMethod;
  /** Absent: the test's default (p < 0.05 for KS, chi-square and the Z-test; 0.1 for Wasserstein and Jensen–Shannon; 0.2 for PSI). */
  threshold?: number;
  /** Predictions per drift window (the latest this many, ending at each chart window); absent: `monitor.window`. */
  window?: number;
  /** Absent: all features. */
  features?: string[];
}

export interface AlertsConfig {
  notify: boolean;
  webhook?: string;
  /** Name of the secret (env MODELOPS_WEBHOOK_<NAME>) that holds a webhook URL carrying a secret. */
  webhookSecret?: string;
}

export interface MonitorConfig {
  /** Absent when the file has no `monitor:` block (the other keys then hold their defaults). */
  target?: string;
  window: number;
  /** Where a batch run starts reading the log (monitor.since): `deploy`, a duration (`7d`) or an ISO time. */
  since?: string;
  controlChart: ControlChartConfig;
  drift: DriftConfig;
  alerts: AlertsConfig;
  /** What the follower does on an alert (monitor.on): by rule (we1–we4, drift) or for any alert. */
  on?: MonitorPolicyConfig;
}

/** `notify`: record and show; `retrain`: also ask for a retrain; `rollback`: switch back to the previous version. */
export type MonitorAction = 'notify' | 'retrain' | 'rollback';
/** Keys: `alert` (any alert), `we1` … `we4` (a Western Electric rule), `drift` (any drift alert), `cbpe` (any alert on an estimate: CBPE or DLE). */
export type MonitorPolicyConfig = Partial<
  Record<'alert' | 'we1' | 'we2' | 'we3' | 'we4' | 'drift' | 'cbpe', MonitorAction>
>;

/** One parameter of a `tune.space`: a range, or a list of values. */
export type TuneParamConfig =
  | { type: 'uniform'; low: number; high: number; steps?: number }
  | { type: 'loguniform'; low: number; high: number; steps?: number }
  | { type: 'int'; low: number; high: number; step: number }
  | { type: 'choice'; values: Array<string | number> };

export type TuneSampler = 'random' | 'grid' | 'tpe';
export type TuneDirection = 'minimize' | 'maximize';

/** `tune:`: a hyperparameter search (docs/optimisation.md). */
export interface TuneConfig {
  /** `learningRate`, `batchSize`, `epochs`, `optimizer` (train fields) or `layers.<i>.<units|rate|activation>`. */
  space: Record<string, TuneParamConfig>;
  sampler: TuneSampler;
  /** intervalEpochs and minTrialsAtEpoch are filled (1) when read from modelops.yaml; absent means 1. */
  pruner: {
    type: 'median' | 'none';
    warmupEpochs: number;
    minTrials: number;
    intervalEpochs?: number;
    minTrialsAtEpoch?: number;
  };
  budget: { trials?: number; minutes?: number };
  /** metric filled from the task; direction filled from the metric when absent. */
  objective: { metric: string; direction?: TuneDirection };
  seed: number;
  /** Absent: the number of cores. */
  parallel?: number;
  tpe: { startupTrials: number; candidates: number };
}

export interface ModelOpsConfig {
  version: 1;
  project: string;
  data: DataConfig;
  model: ModelConfig;
  train: TrainConfig;
  evaluate: EvaluateConfig;
  deploy?: DeployConfig;
  monitor?: MonitorConfig;
  registry?: RegistryPolicyConfig;
  tune?: TuneConfig;
  optimize?: OptimizeConfig;
}

/** `optimize:` — the gates a quantised or pruned version must pass against its parent. */
export interface OptimizeConfig {
  /** metric → condition; `parent` names the version it was optimised from. Default `<task metric>: ">= parent - 0.005"`. */
  gates?: Record<string, string>;
}

/** What `loadConfig` returns. */
export interface LoadedConfig {
  config: ModelOpsConfig;
  /** Absolute path of the config file. */
  path: string;
  /** SHA-256 (hex) of the file's bytes. */
  digest: string;
  /** The text that was analysed: what a run trained with, even if the file changes meanwhile. */
  text: string;
}

// ---- Editor-facing shapes (LSP-shaped, zero-based, UTF-16 columns) ----

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export type Severity = 'error' | 'warning' | 'information' | 'hint';

export interface ConfigDiagnostic {
  range: Range;
  severity: Severity;
  message: string;
  /** Stable code, e.g. 'unknown-key', 'file-not-found', 'inline-secret'. */
  code: string;
  /** Facts for quick fixes (e.g. { suggestion: 'epochs' }). */
  data?: Record<string, unknown>;
}

/** What the analysis may ask of the world outside the text. */
export interface AnalysisContext {
  /** Absolute path of the config file (data paths resolve against its directory). */
  path?: string;
  /** Whether a version of `model` holds `alias`; undefined → relative-gate check skipped. */
  aliasExists?: (model: string, alias: string) => boolean;
  /** Skip file-system meaning checks (data files, headers). */
  noFileChecks?: boolean;
}
