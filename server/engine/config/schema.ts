/**
 * The one source of truth for `modelops.yaml` (schema version 1): every key with its type,
 * allowed values, range, default, markdown doc and an example. The published JSON Schema
 * (schemas/modelops.schema.json), the validator, completion and hover are all derived from it.
 */
import { CLASSIFICATION_METRICS, FAIRNESS_METRICS, REGRESSION_METRICS, type Task } from './types';
import { TARGET_NAME_PATTERN } from '../deploy/names';

interface Common {
  /** Markdown documentation shown on hover and in the JSON Schema description. */
  doc: string;
  /** A YAML snippet showing the key in use (the key included). */
  example: string;
  default?: unknown;
  /** A default that depends on `model.task` (instead of `default`). */
  defaultByTask?: Readonly<Record<Task, unknown>>;
  /** The default applies only when these sibling keys have these values (e.g. `port` for `type: local`). */
  defaultWhen?: Readonly<Record<string, string>>;
  /** What kind of value a string holds, for meaning checks and completion. */
  role?:
    | 'path'
    | 'column'
    | 'columns'
    | 'metric'
    | 'gate'
    | 'url'
    | 'secret-name'
    | 'target-name'
    | 'identifier'
    | 'command';
}

export interface StringSchema extends Common {
  kind: 'string';
  enum?: readonly string[];
  pattern?: string;
  /** What a value must look like, said when `pattern` fails (default: the name characters). */
  patternHint?: string;
  minLength?: number;
}
export interface NumberSchema extends Common {
  kind: 'number' | 'integer';
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  /** Only these values (e.g. `version: 1`). */
  enum?: readonly number[];
}
export interface BooleanSchema extends Common {
  kind: 'boolean';
}
export interface ArraySchema extends Common {
  kind: 'array';
  items: SchemaNode;
  minItems?: number;
  uniqueItems?: boolean;
}
export interface ObjectSchema extends Common {
  kind: 'object';
  properties: Record<string, SchemaNode>;
  required?: readonly string[];
  /** A map with free keys (deploy.targets, evaluate.gates): the schema of every value. */
  additionalProperties?: SchemaNode;
  /** Present in the normalised config even when the file leaves it out, filled with its defaults. */
  always?: boolean;
  /** Describes a free key (e.g. "target name"), for hover. */
  keyDoc?: string;
  /** Free keys must come from this list (e.g. gates keyed by metric). */
  keyEnum?: readonly string[];
  /** Free keys must match this pattern (target names become file names). */
  keyPattern?: string;
}
/** Objects told apart by one key (layers by `type`). */
export interface TaggedSchema extends Common {
  kind: 'tagged';
  tag: string;
  variants: Record<string, ObjectSchema>;
}
/** One of several shapes (e.g. `classWeights: balanced` or a map). */
export interface UnionSchema extends Common {
  kind: 'union';
  anyOf: SchemaNode[];
}

export type SchemaNode =
  StringSchema | NumberSchema | BooleanSchema | ArraySchema | ObjectSchema | TaggedSchema | UnionSchema;

export const ALL_METRICS: readonly string[] = [...CLASSIFICATION_METRICS, ...REGRESSION_METRICS];
/** What a gate may be keyed by: every evaluation metric and the fairness metrics. */
export const GATE_METRICS: readonly string[] = [...ALL_METRICS, ...FAIRNESS_METRICS];
export const ACTIVATIONS = ['relu', 'sigmoid', 'softmax', 'tanh', 'linear', 'elu', 'selu', 'softplus'] as const;
export const EARLY_STOPPING_METRICS = ['val_loss', 'loss', 'val_accuracy', 'accuracy'] as const;

const str = (doc: string, example: string, extra: Partial<StringSchema> = {}): StringSchema => ({
  kind: 'string',
  doc,
  example,
  ...extra,
});
const num = (
  kind: 'number' | 'integer',
  doc: string,
  example: string,
  extra: Partial<NumberSchema> = {},
): NumberSchema => ({
  kind,
  doc,
  example,
  ...extra,
});
const bool = (doc: string, example: string, def: boolean): BooleanSchema => ({
  kind: 'boolean',
  doc,
  example,
  default: def,
});

const dataPath = (what: string, example: string): StringSchema =>
  str(
    `Path of the ${what} file, relative to \`modelops.yaml\`. CSV with a header row, or JSON Lines (one object per line).`,
    example,
    {
      role: 'path',
      minLength: 1,
    },
  );

const denseLayer: ObjectSchema = {
  kind: 'object',
  doc: 'A fully connected layer.',
  example: '- { type: dense, units: 32, activation: relu }',
  required: ['type', 'units'],
  properties: {
    type: str('Layer type.', 'type: dense', { enum: ['dense'] }),
    units: num(
      'integer',
      'Number of neurons. For the last layer: the number of classes (classification, softmax), 1 (binary with sigmoid) or 1 (regression).',
      'units: 32',
      {
        minimum: 1,
        maximum: 65536,
      },
    ),
    activation: str(
      'Activation function. Last layer: `softmax` or `sigmoid` for classification, `linear` (or none) for regression.',
      'activation: relu',
      {
        enum: ACTIVATIONS,
        default: 'linear',
      },
    ),
  },
};
const dropoutLayer: ObjectSchema = {
  kind: 'object',
  doc: 'Randomly zeroes a fraction of the inputs while training, against overfitting.',
  example: '- { type: dropout, rate: 0.1 }',
  required: ['type', 'rate'],
  properties: {
    type: str('Layer type.', 'type: dropout', { enum: ['dropout'] }),
    rate: num('number', 'Fraction of inputs to drop, in [0, 1).', 'rate: 0.1', { minimum: 0, exclusiveMaximum: 1 }),
  },
};
const batchNormLayer: ObjectSchema = {
  kind: 'object',
  doc: 'Normalises the activations of the previous layer per batch.',
  example: '- { type: batchNormalization }',
  required: ['type'],
  properties: { type: str('Layer type.', 'type: batchNormalization', { enum: ['batchNormalization'] }) },
};

const onnxBlock: ObjectSchema = {
  kind: 'object',
  doc: 'How an ONNX model (`framework: onnx`, or `framework: command` whose `train.outputs` is an `.onnx`) reads the data and what its outputs mean. Every key is optional: what is left out is read from the model (its inputs, outputs and `metadata_props`).',
  example: 'onnx:\n  inputs: single\n  derived: { month: "month(date)" }\n  outputs: { probabilities: probabilities }',
  properties: {
    inputs: str(
      'How the feature columns reach the model. `single`: one `[batch, n]` tensor holding the columns in the order of `data.features` (then the derived columns). `per-column`: one `[batch, 1]` tensor per column, matched by name (scikit-learn pipelines converted with skl2onnx). Default: detected from the model (several inputs → `per-column`).',
      'inputs: single',
      { enum: ['single', 'per-column'] },
    ),
    derived: {
      kind: 'object',
      doc: 'Model inputs computed from a data column: `month(c)` 1–12, `day(c)` 1–31, `dayofyear(c)` 1–366, `weekday(c)` 0 = Monday … 6, `year(c)`, `hour(c)` 0–23, where `c` holds ISO dates. Callers keep sending the raw date.',
      example: 'derived:\n  month: "month(date)"\n  day_of_year: "dayofyear(date)"',
      properties: {},
      keyDoc: 'model input column',
      additionalProperties: str(
        '`function(column)`: one of month, day, dayofyear, weekday, year, hour over a date column.',
        'month: "month(date)"',
        { minLength: 1 },
      ),
    },
    outputs: {
      kind: 'object',
      doc: 'Which graph outputs hold what. Default: detected (a float `[batch, classes]` output for probabilities, an int64/string `[batch]` output for the label, a float `[batch]` or `[batch, 1]` output for a regression value).',
      example: 'outputs: { probabilities: probabilities, label: label }',
      properties: {
        probabilities: str(
          'Output with class probabilities, float `[batch, classes]` in the order of the labels (classification).',
          'probabilities: output_probability',
          { minLength: 1 },
        ),
        label: str(
          'Output with the predicted class, int64 or string `[batch]` (classification; optional — otherwise the most probable class).',
          'label: output_label',
          { minLength: 1 },
        ),
        value: str(
          'Output with the predicted value, float `[batch]` or `[batch, 1]` (regression).',
          'value: variable',
          { minLength: 1 },
        ),
      },
    },
    labels: {
      kind: 'array',
      doc: "Class labels in the order of the probability columns. Default: the model's `metadata_props` `labels` (a JSON list), else the sorted distinct values of the target column in the training data — the order scikit-learn and most exporters use.",
      example: 'labels: [drizzle, fog, rain, snow, sun]',
      minItems: 1,
      uniqueItems: true,
      items: str('A class label.', 'rain', { minLength: 1 }),
    },
    preprocessing: str(
      '`in-graph`: the model takes raw values (its scaling and encoding are inside the graph, as exported pipelines have). `config`: standardise numeric and one-hot encode categorical columns as ModelOps does for TF.js models (fitted on the training split), then feed one float32 `[batch, n]` tensor.',
      'preprocessing: in-graph',
      { enum: ['in-graph', 'config'], default: 'in-graph' },
    ),
  },
};

const target: ObjectSchema = {
  kind: 'object',
  doc: 'A deployment target (endpoint). `local` is the built-in model server (Open Inference Protocol); `http` is a remote server speaking the same protocol.',
  example: 'staging:\n  type: http\n  url: https://models.example.com\n  tokenSecret: staging\n  requireApproval: true',
  required: ['type'],
  properties: {
    type: str(
      '`local`: the built-in model server on this machine. `http`: a remote Open Inference Protocol (KServe V2) server.',
      'type: local',
      {
        enum: ['local', 'http'],
      },
    ),
    host: str('Interface the local model server binds to.', 'host: 127.0.0.1', {
      default: '127.0.0.1',
      defaultWhen: { type: 'local' },
      minLength: 1,
    }),
    port: num('integer', 'TCP port of the local model server (1–65535).', 'port: 8765', {
      minimum: 1,
      maximum: 65535,
      default: 8765,
      defaultWhen: { type: 'local' },
    }),
    url: str('Base URL of the remote server (http or https).', 'url: https://models.example.com', { role: 'url' }),
    tokenSecret: str(
      'Name of the endpoint token secret — never the token itself. Set the token with **ModelOps: Set Endpoint Token** (stored in VS Code SecretStorage) or the environment variable `MODELOPS_TOKEN_<NAME>`.',
      'tokenSecret: staging',
      { role: 'secret-name', pattern: '^[A-Za-z0-9_-]+$' },
    ),
    requireApproval: bool(
      'A protected target: a version deploys here only with an approval record for that exact version and artifact (`modelops approve <model@version> --for <target>`), and only when it passes every gate (or with a recorded override reason). The engine enforces it, in the CLI and the editor alike. See docs/governance.md.',
      'requireApproval: true',
      false,
    ),
    separationOfDuties: bool(
      "With `requireApproval`: the approval must come from someone other than the version's author (the actor who registered it). Identity is accountability (git user or OS user), not authentication.",
      'separationOfDuties: true',
      false,
    ),
    smokeTest: {
      kind: 'object',
      doc: 'After deploying, send rows from the test split and compare the answers with local predictions; on a mismatch the deployment is rolled back.',
      example: 'smokeTest: { rows: 50, tolerance: 0.000001 }',
      always: true,
      properties: {
        rows: num('integer', 'Number of rows to send.', 'rows: 50', { minimum: 1, maximum: 100000, default: 50 }),
        tolerance: num(
          'number',
          'Largest absolute difference allowed between served and local predictions.',
          'tolerance: 0.000001',
          {
            minimum: 0,
            default: 0.000001,
          },
        ),
      },
    },
  },
};

const proseList = (doc: string, example: string): ArraySchema => ({
  kind: 'array',
  doc,
  example,
  items: str(
    'One item, in plain text (Markdown is shown as typed).',
    '- Daily weather summaries for a city dashboard',
    { minLength: 1 },
  ),
});

const cardBlock: ObjectSchema = {
  kind: 'object',
  doc: 'The parts of the model card (`modelops card`, after Mitchell et al., 2019, "Model Cards for Model Reporting") that the registry cannot know: who owns the model, what it is for and not for, ethical considerations and caveats. Everything else on the card (version, format, signature, lineage, data digests, metrics and gates, approvals, audit entries, deployments) comes from the registry.',
  example:
    'card:\n  owner: Forecasting team <forecast@example.com>\n  intendedUse:\n    - Daily weather summaries for a city dashboard\n  outOfScopeUses:\n    - Severe-weather warnings\n  caveats:\n    - Trained on Seattle only',
  properties: {
    owner: str('Who answers for the model (team, person, contact).', 'owner: Forecasting team <forecast@example.com>', {
      minLength: 1,
    }),
    description: str(
      'One paragraph: what the model does.',
      "description: Predicts the day's weather type from the daily measurements.",
      { minLength: 1 },
    ),
    license: str('Licence of the model, if any.', 'license: Apache-2.0', { minLength: 1 }),
    intendedUse: proseList('Primary intended uses.', 'intendedUse:\n  - Daily weather summaries for a city dashboard'),
    intendedUsers: proseList('Primary intended users.', 'intendedUsers:\n  - The city operations team'),
    outOfScopeUses: proseList('Uses the model is not meant for.', 'outOfScopeUses:\n  - Severe-weather warnings'),
    ethicalConsiderations: proseList(
      'Risks, sensitive data, people affected.',
      'ethicalConsiderations:\n  - No personal data is used',
    ),
    caveats: proseList(
      'Caveats and recommendations.',
      'caveats:\n  - Trained on Seattle only; re-evaluate before use elsewhere',
    ),
  },
};

const registryBlock: ObjectSchema = {
  kind: 'object',
  doc: 'Governance of the model registry: which aliases can be set only with an approval. The engine reads it on every alias move, so the CLI and the editor refuse alike. See docs/governance.md.',
  example: 'registry:\n  protectedAliases: [production]\n  separationOfDuties: true',
  properties: {
    protectedAliases: {
      kind: 'array',
      doc: 'Aliases that a version can take only with an approval record for that exact version and artifact (`modelops approve <model@version> --for <alias>`). Rollbacks to a version that held the alias before need none.',
      example: 'protectedAliases: [production]',
      default: [],
      items: str('An alias name (lower-case letters, digits, ".", "_" or "-", starting with a letter).', 'production', {
        pattern: '^[a-z][a-z0-9._-]{0,63}$',
      }),
      uniqueItems: true,
    },
    separationOfDuties: bool(
      "The approval of a protected alias must come from someone other than the version's author (the actor who registered it).",
      'separationOfDuties: true',
      false,
    ),
  },
};

/** What a study can optimise: the per-epoch training log (validation split first). */
export const TUNE_METRICS = ['val_loss', 'val_accuracy', 'val_mae', 'loss', 'accuracy', 'mae'] as const;
const range = (type: 'uniform' | 'loguniform', doc: string, example: string): ObjectSchema => ({
  kind: 'object',
  doc,
  example,
  required: ['type', 'low', 'high'],
  properties: {
    type: str('Parameter distribution.', `type: ${type}`, { enum: [type] }),
    low: num('number', 'Lowest value (inclusive).', 'low: 0.0001'),
    high: num('number', 'Highest value; must be greater than `low`.', 'high: 0.1'),
    steps: num(
      'integer',
      'Grid points between low and high (evenly spaced, in log space for loguniform); required by `sampler: grid`.',
      'steps: 4',
      { minimum: 2, maximum: 1000 },
    ),
  },
});
const tuneBlock: ObjectSchema = {
  kind: 'object',
  doc: 'Hyperparameter search (`modelops tune`): a search space over training and layer fields, a sampler (random, grid or TPE), median pruning, a budget and an objective. Each trial is a training run; the best one can be registered as a version. See docs/optimisation.md.',
  example:
    'tune:\n  space:\n    learningRate: { type: loguniform, low: 0.0001, high: 0.1 }\n    batchSize: { type: choice, values: [16, 32, 64] }\n    layers.0.units: { type: int, low: 8, high: 64, step: 8 }\n  sampler: tpe\n  budget: { trials: 30 }',
  required: ['space', 'budget'],
  properties: {
    space: {
      kind: 'object',
      doc: 'Parameter → distribution. Keys: a training field (`learningRate`, `batchSize`, `epochs`, `optimizer`) or a layer field `layers.<index>.<field>` (`units`, `activation` of a dense layer, `rate` of a dropout layer), indexes from 0.',
      example:
        'space:\n  learningRate: { type: loguniform, low: 0.0001, high: 0.1 }\n  layers.0.units: { type: int, low: 8, high: 64, step: 8 }',
      properties: {},
      keyDoc:
        'parameter: `learningRate`, `batchSize`, `epochs`, `optimizer` or `layers.<index>.<units|rate|activation>`',
      additionalProperties: {
        kind: 'tagged',
        tag: 'type',
        doc: 'A distribution: `uniform`, `loguniform`, `int` or `choice`.',
        example: 'learningRate: { type: loguniform, low: 0.0001, high: 0.1 }',
        variants: {
          uniform: range(
            'uniform',
            'A real number drawn evenly from [low, high].',
            'rate: { type: uniform, low: 0, high: 0.5 }',
          ),
          loguniform: range(
            'loguniform',
            'A positive real number drawn evenly in log space from [low, high] (learning rates); low must be > 0.',
            'learningRate: { type: loguniform, low: 0.0001, high: 0.1 }',
          ),
          int: {
            kind: 'object',
            doc: 'A whole number from low to high in steps of `step`.',
            example: 'layers.0.units: { type: int, low: 8, high: 64, step: 8 }',
            required: ['type', 'low', 'high'],
            properties: {
              type: str('Parameter distribution.', 'type: int', { enum: ['int'] }),
              low: num('integer', 'Lowest value (inclusive).', 'low: 8'),
              high: num('integer', 'Highest value (inclusive); must be greater than `low`.', 'high: 64'),
              step: num('integer', 'Spacing of the values from low.', 'step: 8', { minimum: 1, default: 1 }),
            },
          },
          choice: {
            kind: 'object',
            doc: 'One of a list of values (batch sizes, activations, optimisers).',
            example: 'batchSize: { type: choice, values: [16, 32, 64] }',
            required: ['type', 'values'],
            properties: {
              type: str('Parameter distribution.', 'type: choice', { enum: ['choice'] }),
              values: {
                kind: 'array',
                doc: 'The values to choose from (at least one).',
                example: 'values: [16, 32, 64]',
                minItems: 1,
                uniqueItems: true,
                items: {
                  kind: 'union',
                  doc: 'A number or a name.',
                  example: '32',
                  anyOf: [num('number', 'A number.', '32'), str('A name.', 'relu')],
                },
              },
            },
          },
        },
      },
    },
    sampler: str(
      "How trials are chosen: `random`, `grid` (every combination, in order; ranges need `steps`) or `tpe` (Tree-structured Parzen Estimator, Bergstra et al. 2011, as Optuna's TPESampler).",
      'sampler: tpe',
      { enum: ['random', 'grid', 'tpe'], default: 'tpe' },
    ),
    pruner: {
      kind: 'object',
      doc: "Stops unpromising trials early. `median` (Optuna's MedianPruner, with its defaults): once `minTrials` trials have completed, from the epoch after `warmupEpochs` and then every `intervalEpochs` epochs, a trial whose best objective so far is worse than the median of the completed trials' values at the same epoch is pruned (when at least `minTrialsAtEpoch` of them have a value there).",
      example: 'pruner: { type: median, warmupEpochs: 0, minTrials: 5 }',
      always: true,
      properties: {
        type: str('`median` or `none`.', 'type: median', { enum: ['median', 'none'], default: 'median' }),
        warmupEpochs: num(
          'integer',
          'Epochs a trial always runs before it can be pruned (Optuna n_warmup_steps); 0: it can be pruned after its first epoch.',
          'warmupEpochs: 2',
          { minimum: 0, default: 0 },
        ),
        minTrials: num(
          'integer',
          'Completed trials needed before pruning starts (Optuna n_startup_trials).',
          'minTrials: 5',
          { minimum: 0, default: 5 },
        ),
        intervalEpochs: num(
          'integer',
          'After the warm-up, a trial can be pruned only every this many epochs (Optuna interval_steps): 1, at every epoch; 2, at the first epoch after `warmupEpochs`, then every second epoch.',
          'intervalEpochs: 2',
          { minimum: 1, default: 1 },
        ),
        minTrialsAtEpoch: num(
          'integer',
          'Completed trials that must have a value at an epoch before a trial can be pruned at that epoch (Optuna n_min_trials).',
          'minTrialsAtEpoch: 3',
          { minimum: 1, default: 1 },
        ),
      },
    },
    budget: {
      kind: 'object',
      doc: 'When the study stops: after `trials` trials and/or `minutes` of wall time (at least one; no new trial starts after the time is up).',
      example: 'budget: { trials: 30, minutes: 20 }',
      properties: {
        trials: num('integer', 'Number of trials; at least 1.', 'trials: 30', { minimum: 1, maximum: 100000 }),
        minutes: num('number', 'Wall-time budget in minutes; must be > 0.', 'minutes: 20', { exclusiveMinimum: 0 }),
      },
    },
    objective: {
      kind: 'object',
      doc: "What a trial is scored by: a metric of the per-epoch training log at the trial's last epoch (validation split when there is one), and whether to minimise or maximise it.",
      example: 'objective: { metric: val_loss, direction: minimize }',
      always: true,
      properties: {
        metric: str(
          `The metric: ${TUNE_METRICS.map((m) => `\`${m}\``).join(', ')}. accuracy is for classification, mae for regression.`,
          'metric: val_accuracy',
          {
            enum: TUNE_METRICS,
            defaultByTask: { classification: 'val_accuracy', regression: 'val_mae' },
          },
        ),
        direction: str(
          '`minimize` or `maximize`. Default: maximize for accuracy, minimize for loss and mae.',
          'direction: maximize',
          { enum: ['minimize', 'maximize'] },
        ),
      },
    },
    seed: num(
      'integer',
      'Seed of the sampler: with the same seed and `parallel: 1` the same trials come in the same order.',
      'seed: 42',
      { minimum: 0, default: 42 },
    ),
    parallel: num(
      'integer',
      'Trials trained at the same time, each in its own worker thread. Default: the number of cores.',
      'parallel: 2',
      { minimum: 1, maximum: 64 },
    ),
    tpe: {
      kind: 'object',
      doc: "TPE settings (Optuna's names in brackets).",
      example: 'tpe: { startupTrials: 10, candidates: 24 }',
      always: true,
      properties: {
        startupTrials: num(
          'integer',
          'Random trials before TPE starts modelling (n_startup_trials).',
          'startupTrials: 10',
          { minimum: 0, default: 10 },
        ),
        candidates: num(
          'integer',
          'Candidates drawn from l(x) and ranked by l(x)/g(x) per trial (n_ei_candidates).',
          'candidates: 24',
          { minimum: 1, maximum: 10000, default: 24 },
        ),
      },
    },
  },
};

const monitorAction = (key: string): StringSchema =>
  str(
    `What \`modelops monitor --follow\` does on ${key}: \`notify\` (record and show it), \`retrain\` (also print the retrain command), \`rollback\` (switch the target back to the version that served before, recorded as a deployment with the reason).`,
    `${key.split(' ')[0]}: rollback`,
    {
      enum: ['notify', 'retrain', 'rollback'],
    },
  );
const monitorOnBlock: ObjectSchema = {
  kind: 'object',
  doc: 'Policies for live alerts, run by the follower (`modelops monitor --follow`): by rule (`we1`–`we4`, `drift`, `cbpe`) or for any `alert`; a rule’s own entry wins. Default: notify. See docs/monitoring.md.',
  example: 'on:\n  alert: notify\n  we1: rollback',
  properties: {
    alert: monitorAction('any alert'),
    we1: monitorAction('a rule-1 violation (one point beyond 3σ)'),
    we2: monitorAction('a rule-2 violation'),
    we3: monitorAction('a rule-3 violation'),
    we4: monitorAction('a rule-4 violation'),
    drift: monitorAction('a drift alert'),
    cbpe: monitorAction('an alert on an estimate made before labels arrive (CBPE accuracy, or DLE loss)'),
  },
};

const optimizeBlock: ObjectSchema = {
  kind: 'object',
  doc: 'Optimised versions (`modelops optimize quantize|prune`): the gates a quantised or pruned version must pass against the version it was made from. Default: the task metric (`accuracy`, or `r2` for regression) `">= parent - 0.005"`. See docs/optimisation.md.',
  example: 'optimize:\n  gates:\n    accuracy: ">= parent - 0.005"',
  properties: {
    gates: {
      kind: 'object',
      doc: 'Gates of an optimised version: metric → condition, as `evaluate.gates`; `parent` names the version it was optimised from (scored on the same test rows), e.g. `">= parent - 0.01"`. Other aliases work as in `evaluate.gates`.',
      example: 'gates:\n  accuracy: ">= parent - 0.005"\n  f1_macro: ">= parent - 0.01"',
      properties: {},
      keyDoc: 'metric name',
      keyEnum: GATE_METRICS,
      additionalProperties: str(
        'Gate condition: `<op> <number>` or `<op> parent [+|-|*] <number>` (or another alias).',
        'accuracy: ">= parent - 0.005"',
        { role: 'gate' },
      ),
    },
  },
};

export const configSchema: ObjectSchema = {
  kind: 'object',
  doc: 'ModelOps workspace configuration: data, model, training, evaluation gates, deployment targets and monitoring.',
  example: 'version: 1\nproject: seattle-weather',
  required: ['version', 'project', 'data', 'model'],
  properties: {
    version: num('integer', 'Schema version of this file. Always `1`.', 'version: 1', { enum: [1] }),
    project: str('Project name, shown in reports and the model tree.', 'project: seattle-weather', {
      role: 'identifier',
      minLength: 1,
    }),
    data: {
      kind: 'object',
      doc: 'The dataset: where the files are, which column is the target and which are features, and how to split.',
      example: 'data:\n  train: data/seattle-weather.csv\n  target: weather',
      required: ['train', 'target'],
      properties: {
        train: dataPath('training data', 'train: data/seattle-weather.csv'),
        validation: dataPath('validation data (optional; otherwise split from `train`)', 'validation: data/val.csv'),
        test: dataPath('test data (optional; otherwise split from `train`)', 'test: data/test.csv'),
        format: str(
          'File format. Default: from the extension of `train` (`.csv` → csv, `.jsonl`/`.ndjson` → jsonl).',
          'format: csv',
          {
            enum: ['csv', 'jsonl'],
          },
        ),
        target: str('The column to predict. Must be a column of the data file.', 'target: weather', {
          role: 'column',
          minLength: 1,
        }),
        features: {
          kind: 'array',
          doc: 'Input columns. Default: every column but the target.',
          example: 'features: [precipitation, temp_max, temp_min, wind]',
          items: str('A column of the data file.', 'temp_max', { role: 'column', minLength: 1 }),
          minItems: 1,
          uniqueItems: true,
          role: 'columns',
        },
        split: {
          kind: 'object',
          doc: 'Fractions for the train / validation / test split (they must sum to 1), used for the files not given explicitly. The split is reproducible from `seed`.',
          example: 'split: { train: 0.7, validation: 0.15, test: 0.15, seed: 42 }',
          always: true,
          properties: {
            train: num('number', 'Fraction of rows for training.', 'train: 0.7', {
              minimum: 0,
              maximum: 1,
              default: 0.7,
            }),
            validation: num('number', 'Fraction of rows for validation.', 'validation: 0.15', {
              minimum: 0,
              maximum: 1,
              default: 0.15,
            }),
            test: num('number', 'Fraction of rows for the test set.', 'test: 0.15', {
              minimum: 0,
              maximum: 1,
              default: 0.15,
            }),
            seed: num('integer', 'Seed of the shuffle before splitting.', 'seed: 42', { minimum: 0, default: 42 }),
          },
        },
        missing: str(
          'Rows with missing values: `drop` them, or `impute` (numeric mean, categorical mode — computed on the training split).',
          'missing: drop',
          {
            enum: ['drop', 'impute'],
            default: 'drop',
          },
        ),
      },
    },
    model: {
      kind: 'object',
      doc: 'The model: its registry name, the task, and how it is built (or, for `framework: onnx`, where the file trained elsewhere is).',
      example: 'model:\n  name: weather-classifier\n  task: classification\n  framework: tfjs',
      required: ['name', 'task'],
      properties: {
        name: str('Model name in the registry. Versions are registered under it.', 'name: weather-classifier', {
          role: 'identifier',
          pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
        }),
        task: str(
          '`classification` (predict a class label) or `regression` (predict a number).',
          'task: classification',
          {
            enum: ['classification', 'regression'],
          },
        ),
        framework: str(
          '`tfjs`: a TensorFlow.js network defined by `layers`, trained in the sidecar. `command`: an external trainer run with `train.command` (when `train.outputs` is an `.onnx` file it is evaluated and gated like a version trained here). `onnx`: a model trained elsewhere (PyTorch, scikit-learn, Keras exported to ONNX), read from `model.path`.',
          'framework: tfjs',
          {
            enum: ['tfjs', 'command', 'onnx'],
            default: 'tfjs',
          },
        ),
        path: str(
          'The ONNX model file (`framework: onnx`), relative to `modelops.yaml`. Checked against the config when it exists: inputs, outputs, opset, labels.',
          'path: models/weather.onnx',
          {
            role: 'path',
            minLength: 1,
          },
        ),
        onnx: onnxBlock,
        card: cardBlock,
        layers: {
          kind: 'array',
          doc: 'The network, input to output (tfjs only). The input layer is implied by the features. The last layer must be `dense`: units = number of classes with `softmax` (classification), or 1 with no activation (regression).',
          example:
            'layers:\n  - { type: dense, units: 32, activation: relu }\n  - { type: dense, units: 5, activation: softmax }',
          minItems: 1,
          items: {
            kind: 'tagged',
            tag: 'type',
            doc: 'A layer: `dense`, `dropout` or `batchNormalization`.',
            example: '- { type: dense, units: 32, activation: relu }',
            variants: { dense: denseLayer, dropout: dropoutLayer, batchNormalization: batchNormLayer },
          },
        },
      },
    },
    train: {
      kind: 'object',
      doc: 'Training settings (tfjs), or the external trainer (`framework: command`). Not used with `framework: onnx`.',
      example: 'train:\n  epochs: 40\n  batchSize: 32\n  optimizer: adam\n  learningRate: 0.01',
      always: true,
      properties: {
        epochs: num('integer', 'Passes over the training data.', 'epochs: 40', {
          minimum: 1,
          maximum: 100000,
          default: 20,
        }),
        batchSize: num('integer', 'Rows per gradient step.', 'batchSize: 32', {
          minimum: 1,
          maximum: 1000000,
          default: 32,
        }),
        optimizer: str('Gradient descent optimiser.', 'optimizer: adam', {
          enum: ['adam', 'sgd', 'rmsprop', 'adagrad'],
          default: 'adam',
        }),
        learningRate: num('number', 'Step size of the optimiser; must be > 0.', 'learningRate: 0.01', {
          exclusiveMinimum: 0,
          maximum: 10,
          default: 0.001,
        }),
        seed: num('integer', 'Seed for weight initialisation and shuffling, for reproducible runs.', 'seed: 42', {
          minimum: 0,
          default: 42,
        }),
        classWeights: {
          kind: 'union',
          doc: 'Weights per class in the loss (classification): `none`, `balanced` (inverse class frequency), or a map label → weight.',
          example: 'classWeights: balanced',
          default: 'none',
          anyOf: [
            str('`none` or `balanced`.', 'classWeights: balanced', { enum: ['none', 'balanced'] }),
            {
              kind: 'object',
              doc: 'Weight per class label.',
              example: 'classWeights: { rain: 1, snow: 4 }',
              properties: {},
              keyDoc: 'class label',
              additionalProperties: num('number', 'Weight of this class in the loss.', 'snow: 4', { minimum: 0 }),
            },
          ],
        },
        earlyStopping: {
          kind: 'object',
          doc: 'Stop training when the monitored metric stops improving.',
          example: 'earlyStopping: { metric: val_loss, patience: 5, minDelta: 0.001 }',
          properties: {
            metric: str('Metric to watch (from the training log).', 'metric: val_loss', {
              enum: EARLY_STOPPING_METRICS,
              default: 'val_loss',
            }),
            patience: num('integer', 'Epochs without improvement before stopping.', 'patience: 5', {
              minimum: 1,
              default: 5,
            }),
            minDelta: num('number', 'Smallest change that counts as an improvement.', 'minDelta: 0.001', {
              minimum: 0,
              default: 0,
            }),
          },
        },
        command: str(
          'External trainer command (`framework: command`), run in the workspace folder; never run in an untrusted workspace.',
          'command: python train.py',
          {
            role: 'command',
            minLength: 1,
          },
        ),
        outputs: str(
          'Model file the external trainer writes, relative to `modelops.yaml`. An `.onnx` file is wrapped as an ONNX version (configured by `model.onnx`), evaluated on the test split and gated; other outputs are registered with their gates marked not evaluated.',
          'outputs: out/model.onnx',
          { role: 'path', minLength: 1 },
        ),
        metrics: str(
          'JSON file of metrics the external trainer writes (`{"accuracy": 0.91, ...}`), relative to `modelops.yaml`.',
          'metrics: out/metrics.json',
          {
            role: 'path',
            minLength: 1,
          },
        ),
      },
    },
    evaluate: {
      kind: 'object',
      always: true,
      doc: 'Metrics computed on the test split, and the quality gates a version must pass before promotion or deployment to a protected target.',
      example: 'evaluate:\n  metrics: [accuracy, f1_macro]\n  gates:\n    accuracy: ">= 0.75"',
      properties: {
        metrics: {
          kind: 'array',
          doc: `Metrics to compute. Classification: ${CLASSIFICATION_METRICS.map((m) => `\`${m}\``).join(', ')}. Regression: ${REGRESSION_METRICS.map((m) => `\`${m}\``).join(', ')}.`,
          example: 'metrics: [accuracy, f1_macro, roc_auc]',
          defaultByTask: { classification: ['accuracy', 'f1_macro'], regression: ['mae', 'rmse', 'r2'] },
          minItems: 1,
          uniqueItems: true,
          items: str('A metric name valid for the task.', 'accuracy', { enum: ALL_METRICS, role: 'metric' }),
        },
        gates: {
          kind: 'object',
          doc: 'Quality gates: metric → condition. Absolute (`">= 0.9"`) or relative to the version holding an alias (`">= production - 0.01"`, `"<= staging * 1.05"`). A relative gate compares with that version scored on the same rows as the version under test (the same test split, or the same `--data` file), as a champion/challenger evaluation does; when it cannot be scored here, with the metrics it recorded (the gate says which). It passes when no version holds the alias yet.',
          example: 'gates:\n  accuracy: ">= 0.75"\n  f1_macro: ">= production - 0.02"',
          properties: {},
          keyDoc: 'metric name',
          keyEnum: GATE_METRICS,
          additionalProperties: str(
            'Gate condition: `<op> <number>` or `<op> <alias> [+|-|*] <number>`, with op one of `>=`, `>`, `<=`, `<`, `==`.',
            'accuracy: ">= 0.9"',
            { role: 'gate' },
          ),
        },
        fairness: {
          kind: 'object',
          doc: `Group fairness on the test split (after Fairlearn's \`MetricFrame\`): each metric per group of each \`sensitive\` column and of their intersection, with the between-group difference (max − min) and ratio (min / max). For classification it also computes ${FAIRNESS_METRICS.map((m) => `\`${m}\``).join(', ')} as Fairlearn defines them, over the intersection of the sensitive columns; gate them under \`evaluate.gates\`. Binary: the positive class is the second label in label order. Multiclass: each class one-vs-rest, and the largest difference (smallest ratio) is reported.`,
          example:
            'fairness:\n  sensitive: [sex, age_band]\n  metrics: [accuracy, recall_macro, demographic_parity_difference]\n  minGroupSize: 30',
          required: ['sensitive'],
          properties: {
            sensitive: {
              kind: 'array',
              doc: 'Columns of the data file whose groups are compared. They need not be model features (usually they are not), but they must be in the data.',
              example: 'sensitive: [sex, age_band]',
              minItems: 1,
              uniqueItems: true,
              role: 'columns',
              items: str('A column of the data file.', 'sex', { role: 'column', minLength: 1 }),
            },
            metrics: {
              kind: 'array',
              doc: `Metrics per group: evaluation metrics of the task, and (classification) the fairness metrics ${FAIRNESS_METRICS.map((m) => `\`${m}\``).join(', ')}, which are always computed for a classifier. Default: \`accuracy\` for classification, \`mae\` for regression.`,
              example: 'metrics: [accuracy, demographic_parity_difference]',
              minItems: 1,
              uniqueItems: true,
              items: str('An evaluation metric of the task, or a fairness metric (classification).', 'accuracy', {
                enum: GATE_METRICS,
                role: 'metric',
              }),
            },
            minGroupSize: num(
              'integer',
              'Groups with fewer test rows are reported with their counts and flagged, and left out of the differences and ratios.',
              'minGroupSize: 30',
              { minimum: 1, default: 30 },
            ),
          },
        },
      },
    },
    deploy: {
      kind: 'object',
      doc: 'Where versions are deployed.',
      example: 'deploy:\n  targets:\n    local: { type: local, port: 8765 }',
      properties: {
        targets: {
          kind: 'object',
          doc: 'Deployment targets by name.',
          example: 'targets:\n  local: { type: local, port: 8765 }',
          properties: {},
          keyDoc: 'target name',
          keyPattern: TARGET_NAME_PATTERN,
          additionalProperties: target,
        },
      },
    },
    monitor: {
      kind: 'object',
      doc: 'Production monitoring: windows of served predictions become control charts and drift scores; rule violations raise alerts.',
      example: 'monitor:\n  target: local\n  window: 100',
      always: true,
      required: ['target'],
      properties: {
        target: str('Deployment target to monitor (a name under `deploy.targets`).', 'target: local', {
          role: 'target-name',
          minLength: 1,
        }),
        window: num('integer', 'Predictions per window (one point on the control chart).', 'window: 100', {
          minimum: 2,
          maximum: 1000000,
          default: 100,
        }),
        since: str(
          "Where a batch run (`modelops monitor`, *Check Drift*) starts reading the log: `deploy` (since the target's active deployment went out, so the serving version is charted against its own first windows), a duration back from now (`7d`, `12h`, `90m`, `2w`) or an ISO date or time. `--since` overrides it. Default: the whole log.",
          'since: deploy',
          {
            patternHint:
              "must be 'deploy', a duration back from now (7d, 12h, 90m, 2w) or an ISO date or time (2026-11-20, 2026-11-20T09:00:00Z)",
            pattern:
              '^(deploy|\\d+(\\.\\d+)?[smhdw]|\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})?)?)$',
          },
        ),
        controlChart: {
          kind: 'object',
          doc: 'Statistical process control chart: centre line μ and limits μ ± Lσ from a baseline, with the Western Electric rules.',
          example: 'controlChart: { metric: accuracy, sigma: 3, baseline: 5, rules: [1, 2, 3, 4] }',
          always: true,
          properties: {
            metric: str('Metric charted per window (needs labelled feedback).', 'metric: accuracy', {
              enum: ALL_METRICS,
              role: 'metric',
              defaultByTask: { classification: 'accuracy', regression: 'mae' },
            }),
            sigma: num('number', 'L in UCL/LCL = μ ± Lσ; must be > 0.', 'sigma: 3', {
              exclusiveMinimum: 0,
              maximum: 10,
              default: 3,
            }),
            sigmaEstimator: str(
              'How σ of an individuals chart (regression metrics) is estimated from the baseline windows: `movingRange`, the average moving range of consecutive windows / 1.128 (the textbook estimator, Montgomery; NIST e-Handbook 6.3.2, robust to a shift inside the baseline), or `stddev`, their sample standard deviation. A p-chart (accuracy, error_rate) uses the binomial σ √(p̄(1−p̄)/n) of each window. Every chart states its estimator.',
              'sigmaEstimator: movingRange',
              { enum: ['movingRange', 'stddev'], default: 'movingRange' },
            ),
            side: str(
              'Which departures the rules report: `lower` (only drops), `upper` (only rises) or `both`. Default by the metric: `lower` for metrics where higher is better (accuracy, f1, …), `upper` for errors (mae, rmse, error_rate, …).',
              'side: lower',
              { enum: ['lower', 'upper', 'both'] },
            ),
            baseline: {
              kind: 'union',
              doc: 'Where μ and σ come from: the first k windows, or `evaluation` (the deployed version’s evaluation metric).',
              example: 'baseline: 5',
              default: 5,
              anyOf: [
                num('integer', 'Number of initial windows.', 'baseline: 5', { minimum: 2 }),
                str('`evaluation`.', 'baseline: evaluation', { enum: ['evaluation'] }),
              ],
            },
            rules: {
              kind: 'array',
              doc: 'Western Electric rules to apply: 1 (a point beyond 3σ), 2 (2 of 3 beyond 2σ), 3 (4 of 5 beyond 1σ), 4 (8 in a row on one side).',
              example: 'rules: [1, 2, 3, 4]',
              default: [1, 2, 3, 4],
              uniqueItems: true,
              items: num('integer', 'Rule number 1–4.', '1', { minimum: 1, maximum: 4 }),
            },
          },
        },
        drift: {
          kind: 'object',
          doc: 'Data drift of the served inputs against the training data.',
          example: 'drift: { method: psi, threshold: 0.2, features: [temp_max] }',
          always: true,
          properties: {
            test: str(
              'The drift test per column. `auto` (default) chooses as Evidently does, by type and reference size: with ≤ 1000 reference rows, KS for numeric columns, chi-square for categorical ones (or numeric ones with ≤ 5 values), the two-proportion Z-test for binary ones; with more, Wasserstein distance normed by the reference std (numeric) or Jensen–Shannon distance (categorical). Or name one: `ks`, `psi`, `wasserstein`, `jensenshannon`, `chisquare` (KS and Wasserstein fall back to the categorical test on categorical columns).',
              'test: auto',
              { enum: ['auto', 'ks', 'psi', 'wasserstein', 'jensenshannon', 'chisquare'], default: 'auto' },
            ),
            method: str(
              'Older name for `test`, limited to `psi` or `ks`, with its old meaning: drift when the score exceeds `threshold` (KS: the D statistic; default 0.2). `test` wins when both are given.',
              'method: psi',
              {
                enum: ['psi', 'ks'],
              },
            ),
            threshold: num(
              'number',
              'Drift threshold. For p-value tests (KS, chi-square, Z-test) a column drifts when p < threshold (default 0.05); for distances when the score > threshold (Wasserstein and Jensen–Shannon 0.1, PSI 0.2). Default: the test’s own.',
              'threshold: 0.1',
              { exclusiveMinimum: 0 },
            ),
            window: num(
              'integer',
              'Predictions the drift tests look at: the latest this many at each chart window (separate from `monitor.window`, so drift can use larger windows than the chart). Default: `monitor.window`.',
              'window: 500',
              {
                minimum: 2,
                maximum: 1000000,
              },
            ),
            features: {
              kind: 'array',
              doc: 'Features to watch. Default: all features.',
              example: 'features: [temp_max, precipitation]',
              uniqueItems: true,
              role: 'columns',
              items: str('A feature column.', 'temp_max', { role: 'column', minLength: 1 }),
            },
          },
        },
        alerts: {
          kind: 'object',
          doc: 'What happens when a rule fires or a feature drifts.',
          example: 'alerts: { notify: true, webhook: https://hooks.example.com/modelops }',
          always: true,
          properties: {
            notify: bool('Show a notification in the editor.', 'notify: true', true),
            webhook: str(
              'URL that receives a JSON POST for every alert. Only for URLs without a secret in them: Slack, Discord and Teams webhook URLs carry one in the path, so name a secret with `webhookSecret` instead.',
              'webhook: https://hooks.example.com/modelops',
              { role: 'url' },
            ),
            webhookSecret: str(
              'Name of a secret that holds the webhook URL, for URLs that carry a secret (Slack, Discord, Teams). The URL comes from the environment variable `MODELOPS_WEBHOOK_<NAME>` of the CLI or of the editor; it is never written to the config, the registry or logs.',
              'webhookSecret: alerts',
              { role: 'secret-name', pattern: '^[A-Za-z0-9_-]+$' },
            ),
          },
        },
        on: monitorOnBlock,
      },
    },
    registry: registryBlock,
    tune: tuneBlock,
    optimize: optimizeBlock,
  },
};

// ---- Defaults (the only place they are written down) ----

/** The default of `node` for `task`, given its siblings (`undefined`: none). */
export function defaultFor(node: SchemaNode, task: Task, siblings: Readonly<Record<string, unknown>> = {}): unknown {
  if (node.defaultWhen && Object.entries(node.defaultWhen).some(([k, v]) => siblings[k] !== v)) return undefined;
  const d = node.defaultByTask ? node.defaultByTask[task] : node.default;
  // A copy, so callers can never mutate the schema through a config.
  return d !== null && typeof d === 'object' ? structuredClone(d) : d;
}

/** "`3`", or "`accuracy` (classification), `mae` (regression)", with its condition; for docs and descriptions. */
export function defaultText(node: SchemaNode): string | undefined {
  const when = node.defaultWhen
    ? ` (${Object.entries(node.defaultWhen)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')})`
    : '';
  if (node.defaultByTask)
    return (
      Object.entries(node.defaultByTask)
        .map(([task, d]) => `\`${JSON.stringify(d)}\` (${task})`)
        .join(', ') + when
    );
  return node.default !== undefined ? `\`${JSON.stringify(node.default)}\`${when}` : undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * `value` with every default of `node` filled in for `task`: keys the schema knows are kept (unknown
 * keys dropped), absent keys take their default, and absent `always` objects are created with theirs.
 * Lists and unions are kept as written. Meant for a document the validator has accepted.
 */
export function withDefaults(node: SchemaNode, value: unknown, task: Task): unknown {
  if (node.kind !== 'object') return value;
  if (value === undefined && !node.always) return undefined;
  const v = isRecord(value) ? value : {};
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(node.properties)) {
    const filled =
      v[key] !== undefined
        ? withDefaults(child, v[key], task)
        : (defaultFor(child, task, v) ?? withDefaults(child, undefined, task));
    if (filled !== undefined) out[key] = filled;
  }
  if (node.additionalProperties) {
    for (const [key, child] of Object.entries(v))
      if (!(key in node.properties)) out[key] = withDefaults(node.additionalProperties, child, task);
  }
  return out;
}

/** The schema of one key (or '[]' item) under `node`; for tagged unions, the union of variants' keys. */
export function childSchema(node: SchemaNode, key: string, tagValue?: string): SchemaNode | undefined {
  switch (node.kind) {
    case 'object':
      return node.properties[key] ?? node.additionalProperties;
    case 'array':
      return key === '[]' ? node.items : undefined;
    case 'tagged': {
      const v = tagValue !== undefined ? node.variants[tagValue] : undefined;
      if (v) return v.properties[key];
      for (const variant of Object.values(node.variants)) if (variant.properties[key]) return variant.properties[key];
      return undefined;
    }
    case 'union':
      for (const alt of node.anyOf) {
        const c = childSchema(alt, key, tagValue);
        if (c) return c;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Keys that may appear in an object-like schema (tagged: the variant's keys, or all). */
export function keysOf(node: SchemaNode, tagValue?: string): string[] {
  switch (node.kind) {
    case 'object':
      return Object.keys(node.properties);
    case 'tagged': {
      const v = tagValue !== undefined ? node.variants[tagValue] : undefined;
      if (v) return Object.keys(v.properties);
      return [...new Set(Object.values(node.variants).flatMap((x) => Object.keys(x.properties)))];
    }
    case 'union':
      return [...new Set(node.anyOf.flatMap((a) => keysOf(a, tagValue)))];
    default:
      return [];
  }
}

// ---- JSON Schema (draft-07) generation ----

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function common(n: SchemaNode): Record<string, Json> {
  const out: Record<string, Json> = { markdownDescription: n.doc, description: stripMarkdown(n.doc) };
  // JSON Schema has no conditional default: those are told in the description only.
  if (n.default !== undefined && !n.defaultWhen && !n.defaultByTask) out.default = n.default as Json;
  const conditional = n.defaultWhen || n.defaultByTask ? defaultText(n) : undefined;
  if (conditional) {
    out.markdownDescription = `${n.doc} Default: ${conditional}.`;
    out.description = stripMarkdown(out.markdownDescription);
  }
  return out;
}

function stripMarkdown(s: string): string {
  return s.replace(/\*\*(.*?)\*\*/g, '$1').replace(/`([^`]*)`/g, '$1');
}

export function toJsonSchema(n: SchemaNode): Record<string, Json> {
  switch (n.kind) {
    case 'string': {
      const out: Record<string, Json> = { type: 'string', ...common(n) };
      if (n.enum) out.enum = [...n.enum];
      if (n.pattern) out.pattern = n.pattern;
      if (n.minLength !== undefined) out.minLength = n.minLength;
      if (n.role === 'url') out.format = 'uri';
      return out;
    }
    case 'number':
    case 'integer': {
      const out: Record<string, Json> = { type: n.kind, ...common(n) };
      if (n.enum) out.enum = [...n.enum];
      if (n.minimum !== undefined) out.minimum = n.minimum;
      if (n.maximum !== undefined) out.maximum = n.maximum;
      if (n.exclusiveMinimum !== undefined) out.exclusiveMinimum = n.exclusiveMinimum;
      if (n.exclusiveMaximum !== undefined) out.exclusiveMaximum = n.exclusiveMaximum;
      return out;
    }
    case 'boolean':
      return { type: 'boolean', ...common(n) };
    case 'array': {
      const out: Record<string, Json> = { type: 'array', ...common(n), items: toJsonSchema(n.items) };
      if (n.minItems !== undefined) out.minItems = n.minItems;
      if (n.uniqueItems) out.uniqueItems = true;
      return out;
    }
    case 'object': {
      const out: Record<string, Json> = { type: 'object', ...common(n) };
      const props: Record<string, Json> = {};
      for (const [k, v] of Object.entries(n.properties)) props[k] = toJsonSchema(v);
      out.properties = props;
      if (n.required?.length) out.required = [...n.required];
      if (n.keyEnum) out.propertyNames = { enum: [...n.keyEnum] };
      else if (n.keyPattern) out.propertyNames = { pattern: n.keyPattern };
      out.additionalProperties = n.additionalProperties ? toJsonSchema(n.additionalProperties) : false;
      return out;
    }
    case 'tagged':
      return {
        ...common(n),
        type: 'object',
        required: [n.tag],
        properties: { [n.tag]: { enum: Object.keys(n.variants) } },
        allOf: Object.entries(n.variants).map(([tag, variant]) => ({
          if: { properties: { [n.tag]: { const: tag } } },
          then: toJsonSchema(variant),
        })),
      };
    case 'union':
      return { ...common(n), anyOf: n.anyOf.map(toJsonSchema) };
  }
}

/** The published JSON Schema document. */
export function jsonSchemaDocument(): Record<string, Json> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://modelops.dev/schemas/modelops.schema.json',
    title: 'modelops.yaml',
    ...toJsonSchema(configSchema),
  };
}
