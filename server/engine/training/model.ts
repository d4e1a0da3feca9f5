/**
 * The network from `model.layers`: a sequential stack of dense, dropout and batch
 * normalisation layers, the loss from the task, the optimiser and learning rate, class weights.
 *
 * Determinism: kernels are initialised from seeded Glorot-uniform initialisers, dropout masks
 * are seeded, and the per-epoch shuffle is seeded by the trainer, so the same seed on the same
 * backend gives the same model with the CPU and wasm backends. The native `tensorflow`
 * backend (tfjs-node) may reorder floating-point reductions across threads, so its results
 * can differ in the last bits between runs.
 */
import { ModelOpsError } from '../errors';
import type { LayerConfig, Optimizer, Task } from '../config/types';
import type * as tf from '@tensorflow/tfjs';
import { tfjs } from '../tfjs/load';

export interface NetworkSpec {
  task: Task;
  inputWidth: number;
  /** Number of classes (classification) or 1 (regression). */
  classes: number;
  layers: LayerConfig[];
  optimizer: Optimizer;
  learningRate: number;
  seed: number;
}

export type LossName = 'categoricalCrossentropy' | 'binaryCrossentropy' | 'meanSquaredError';

/** Default hidden layers when the config gives none: one ReLU layer, then the output layer. */
export function defaultLayers(task: Task, classes: number): LayerConfig[] {
  return [
    { type: 'dense', units: 32, activation: 'relu' },
    task === 'regression'
      ? { type: 'dense', units: 1, activation: 'linear' }
      : { type: 'dense', units: classes, activation: 'softmax' },
  ];
}

/**
 * Checks that the last layer fits the task: `classes` softmax units (or one sigmoid unit for
 * two classes) for classification, one unit for regression. Returns the loss to use.
 */
export function lossFor(spec: Pick<NetworkSpec, 'task' | 'classes' | 'layers'>): LossName {
  const i = spec.layers.length - 1;
  const last = spec.layers[i];
  if (!last || last.type !== 'dense') {
    throw new ModelOpsError(
      'bad-layers',
      `model.layers[${i}] must be a dense output layer.`,
      'End model.layers with a dense layer whose units match the output.',
    );
  }
  if (spec.task === 'regression') {
    if (last.units !== 1) {
      throw new ModelOpsError(
        'bad-layers',
        `model.layers[${i}].units is ${last.units}; a regression model needs 1 output unit.`,
        'Set the last layer to { type: dense, units: 1 }.',
      );
    }
    return 'meanSquaredError';
  }
  if (spec.classes === 2 && last.units === 1) {
    if (last.activation !== 'sigmoid') {
      throw new ModelOpsError(
        'bad-layers',
        `model.layers[${i}] has 1 unit for 2 classes but activation '${last.activation ?? 'linear'}'.`,
        'Use activation: sigmoid for a single binary output unit, or 2 units with softmax.',
      );
    }
    return 'binaryCrossentropy';
  }
  if (last.units !== spec.classes) {
    throw new ModelOpsError(
      'bad-layers',
      `model.layers[${i}].units is ${last.units} but the target has ${spec.classes} classes.`,
      `Set the last layer's units to ${spec.classes}.`,
    );
  }
  if (last.activation !== 'softmax') {
    throw new ModelOpsError(
      'bad-layers',
      `model.layers[${i}] needs activation: softmax to output class probabilities (it has '${last.activation ?? 'linear'}').`,
      'Set activation: softmax on the last layer.',
    );
  }
  return 'categoricalCrossentropy';
}

/** The TF.js optimiser the config names, at learning rate `lr`. */
export function optimizerFor(name: Optimizer, lr: number): tf.Optimizer {
  const tf = tfjs();
  switch (name) {
    case 'adam':
      return tf.train.adam(lr);
    case 'sgd':
      return tf.train.sgd(lr);
    case 'rmsprop':
      return tf.train.rmsprop(lr);
    case 'adagrad':
      return tf.train.adagrad(lr);
  }
}

export function buildModel(spec: NetworkSpec): { model: tf.Sequential; loss: LossName } {
  const loss = lossFor(spec);
  const tf = tfjs();
  const model = tf.sequential();
  spec.layers.forEach((layer, i) => {
    const first = i === 0 ? { inputShape: [spec.inputWidth] } : {};
    const seed = spec.seed * 1000 + i;
    switch (layer.type) {
      case 'dense':
        model.add(
          tf.layers.dense({
            ...first,
            units: layer.units,
            activation: layer.activation ?? 'linear',
            kernelInitializer: tf.initializers.glorotUniform({ seed }),
            biasInitializer: 'zeros',
          }),
        );
        break;
      case 'dropout':
        model.add(tf.layers.dropout({ ...first, rate: layer.rate, seed }));
        break;
      case 'batchNormalization':
        model.add(tf.layers.batchNormalization({ ...first }));
        break;
    }
  });
  const metrics = spec.task === 'classification' ? ['accuracy'] : ['mae'];
  model.compile({ optimizer: optimizerFor(spec.optimizer, spec.learningRate), loss, metrics });
  return { model, loss };
}

/**
 * Class weights by label index: 'balanced' is n / (k · count_c) as scikit-learn's
 * compute_class_weight; an explicit map gives weights by label (others 1).
 */
export function classWeights(
  setting: 'none' | 'balanced' | Record<string, number>,
  labels: string[],
  y: Int32Array,
): Record<number, number> | undefined {
  if (setting === 'none') return undefined;
  const k = labels.length;
  const out: Record<number, number> = {};
  if (setting === 'balanced') {
    const counts = new Float64Array(k);
    for (let i = 0; i < y.length; i++) counts[y[i]]++;
    for (let c = 0; c < k; c++) out[c] = counts[c] > 0 ? y.length / (k * counts[c]) : 1;
    return out;
  }
  for (const label of Object.keys(setting)) {
    if (!labels.includes(label)) {
      throw new ModelOpsError(
        'bad-class-weight',
        `train.classWeights names the label '${label}', which is not in the target (labels: ${labels.join(', ')}).`,
        'Use labels that occur in the target column.',
      );
    }
  }
  labels.forEach((l, c) => (out[c] = setting[l] ?? 1));
  return out;
}
