/** The commented starter config written by `modelops init`, for the bundled sample dataset. */
export function starterConfig(project = 'seattle-weather'): string {
  return `# ModelOps configuration (schema version 1). Hover any key in VS Code for its documentation.
# Reference: schemas/modelops.schema.json
version: 1
project: ${project}

data:
  # Paths are relative to this file. Daily Seattle weather, 2012–2015 (see data/README.md).
  train: data/seattle-weather.csv
  target: weather                  # the column to predict: drizzle, fog, rain, snow or sun
  features: [precipitation, temp_max, temp_min, wind]
  split: { train: 0.7, validation: 0.15, test: 0.15, seed: 42 }   # fractions must sum to 1
  missing: drop                    # drop | impute

model:
  name: weather-classifier         # versions are registered under this name
  task: classification             # classification | regression
  framework: tfjs                  # tfjs (trained in the sidecar) | command (your own trainer)
  layers:                          # input layer implied by the features
    - { type: dense, units: 32, activation: relu }
    - { type: dropout, rate: 0.1 }
    - { type: dense, units: 5, activation: softmax }   # one unit per class

train:
  epochs: 40
  batchSize: 32
  optimizer: adam                  # adam | sgd | rmsprop | adagrad
  learningRate: 0.01
  seed: 42
  classWeights: none               # or balanced: rare classes (snow, fog) count more
  earlyStopping: { metric: val_loss, patience: 5, minDelta: 0.001 }

evaluate:
  metrics: [accuracy, f1_weighted, f1_macro, roc_auc, log_loss]
  gates:                           # a version must pass these before promotion
    accuracy: ">= 0.75"
    f1_weighted: ">= production - 0.02"   # relative to the version holding alias 'production'

deploy:
  targets:
    local:
      type: local                  # the built-in model server (Open Inference Protocol)
      host: 127.0.0.1
      port: 8765
      requireApproval: false
      smokeTest: { rows: 50, tolerance: 0.000001 }

monitor:
  target: local
  window: 100                      # predictions per window
  controlChart: { metric: accuracy, sigma: 3, baseline: 5, rules: [1, 2, 3, 4] }
  drift: { method: psi, threshold: 0.2, features: [temp_max, precipitation] }
  alerts: { notify: true }
`;
}
