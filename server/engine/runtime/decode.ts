/** Predictions from batch-path scores, the same for every runtime. */
import type { Prediction, Task } from '../model/types';
import type { BatchResult } from './types';

export function decodeScores(result: BatchResult, n: number, task: Task, labels: string[]): Prediction[] {
  const out: Prediction[] = new Array(n);
  const { outputs, width } = result;
  if (task === 'regression') {
    for (let i = 0; i < n; i++) out[i] = { value: outputs[i * width] };
    return out;
  }
  for (let i = 0; i < n; i++) {
    const probs = Array.from(outputs.subarray(i * width, (i + 1) * width));
    // The model's own label output when it has one; else the most probable class (first on ties).
    let best = result.labels ? result.labels[i] : -1;
    if (best < 0) {
      best = 0;
      for (let j = 1; j < width; j++) if (probs[j] > probs[best]) best = j;
    }
    out[i] = { value: labels[best], probabilities: probs };
  }
  return out;
}
