/**
 * The small workspace the protocol tests train in: every 4th row of the weather sample (366 rows,
 * all five classes) and a config for it, so a real training run takes seconds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './client';

const rows = readFileSync(join(REPO, 'examples/sample/data/seattle-weather.csv'), 'utf8').trim().split('\n');

/** Every 4th row of the sample as CSV; `extra` adds a column (its name, then its value per kept row). */
export function quarterSample(extra?: { column: string; value: (i: number) => string }): string {
  const kept = rows.slice(1).filter((_, i) => i % 4 === 0);
  if (!extra) return [rows[0], ...kept].join('\n') + '\n';
  return [`${rows[0]},${extra.column}`, ...kept.map((r, i) => `${r},${extra.value(i)}`)].join('\n') + '\n';
}

/** modelops.yaml for `data/weather.csv`: a dense layer of `units`, then what `rest` appends (evaluate, tune, …). */
export function weatherConfig(options: { epochs: number; units?: number; rest: string }): string {
  return `version: 1
project: proto
data:
  train: data/weather.csv
  target: weather
  features: [precipitation, temp_max, temp_min, wind]
  split: { train: 0.7, validation: 0.15, test: 0.15, seed: 42 }
  missing: drop
model:
  name: weather
  task: classification
  framework: tfjs
  layers:
    - { type: dense, units: ${options.units ?? 16}, activation: relu }
    - { type: dense, units: 5, activation: softmax }
train:
  epochs: ${options.epochs}
  batchSize: 32
  optimizer: adam
  learningRate: 0.01
  seed: 42
  classWeights: none
${options.rest}`;
}
