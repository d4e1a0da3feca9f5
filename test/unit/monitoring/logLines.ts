/**
 * Prediction-log lines as the model server writes them: prediction lines through its formatter
 * (serving/logLine.ts `predictionLine`, with the inputs and outputs serialised as server.ts does
 * for small requests) and feedback lines as its writer serialises a FeedbackLogLine.
 */
import { predictionLine } from '../../../server/engine/serving/logLine';
import type { FeedbackLogLine, PredictionLogLine } from '../../../server/engine/serving/types';

/** `latencyMs: null` writes a line without a usable latency, which the reader must cope with. */
export function serverPrediction(
  l: Omit<PredictionLogLine, 'type' | 'latencyMs'> & { latencyMs: number | null },
): string {
  return predictionLine({
    id: l.id,
    time: l.time,
    version: l.version,
    latencyMs: l.latencyMs as number,
    inputs: JSON.stringify(l.inputs),
    outputs: JSON.stringify(l.outputs),
  });
}

export function serverFeedback(l: Omit<FeedbackLogLine, 'type'>): string {
  const line: FeedbackLogLine = { type: 'feedback', id: l.id, time: l.time, labels: l.labels };
  return JSON.stringify(line);
}
