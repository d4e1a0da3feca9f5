import { join } from 'node:path';
import type { Range } from '../../../server/engine/config/types';

export const REPO = join(__dirname, '..', '..', '..');
/** A config path next to the sample data, so `data/seattle-weather.csv` resolves. */
export const SAMPLE_CONFIG_PATH = join(REPO, 'examples', 'sample', 'modelops.yaml');

/** Zero-based range of the `occurrence`-th appearance of `needle` in `text` (single line). */
export function rangeOf(text: string, needle: string, occurrence = 0): Range {
  let at = -1;
  for (let i = 0; i <= occurrence; i++) {
    at = text.indexOf(needle, at + 1);
    if (at === -1) throw new Error(`'${needle}' not found (occurrence ${occurrence})`);
  }
  const before = text.slice(0, at);
  const line = before.split('\n').length - 1;
  const character = at - (before.lastIndexOf('\n') + 1);
  return { start: { line, character }, end: { line, character: character + needle.length } };
}

export const BASE = `version: 1
project: demo
data:
  train: data/seattle-weather.csv
  target: weather
  features: [precipitation, temp_max, temp_min, wind]
model:
  name: weather
  task: classification
  layers:
    - { type: dense, units: 16, activation: relu }
    - { type: dense, units: 5, activation: softmax }
train:
  epochs: 5
  learningRate: 0.01
evaluate:
  metrics: [accuracy, f1_macro]
  gates:
    accuracy: ">= 0.5"
deploy:
  targets:
    local: { type: local, port: 8765 }
    staging:
      type: http
      url: https://models.example.com
      tokenSecret: staging
monitor:
  target: local
`;

/** Mulberry32: a small seeded PRNG so failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
