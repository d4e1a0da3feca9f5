/**
 * Production traffic for the demo, over real HTTP to the endpoint: a replay that sends rows
 * in order and the true label as feedback after each prediction, and a bounded load
 * generator that counts every failed request.
 */
import type { ServingModel } from '../engine/serving/types';
import type { Row } from '../engine/data/read';
import { rowsToInferRequest } from '../engine/serving/v2';
import type { ModelServerClient } from '../engine/deploy/client';

export interface ReplayResult {
  sent: number;
  correct: number;
  failed: number;
}

/**
 * Sends rows one request each, in order (so the prediction log, and the retrain drawn from it,
 * are the same on every run), then their labels as feedback.
 */
export async function replay(options: {
  client: ModelServerClient;
  model: string;
  manifest: ServingModel;
  rows: Row[];
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}): Promise<ReplayResult> {
  const { client, model, manifest, rows } = options;
  const target = manifest.target;
  if (!target) throw new Error(`${model} does not name its target column, so its predictions cannot be scored`);
  const result: ReplayResult = { sent: 0, correct: 0, failed: 0 };
  const feedback: Array<{ id: string; label: string | number }> = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rows.length) {
      const i = next++;
      const row = rows[i];
      const id = `replay-${Date.now().toString(36)}-${i}`;
      try {
        const res = await client.infer(model, null, rowsToInferRequest(manifest, [row], id));
        const label = res.outputs.find((o) => o.name === 'label' || o.name === 'value')?.data[0];
        result.sent++;
        if (label === row[target]) result.correct++;
        feedback.push({ id: res.id ?? id, label: row[target] as string | number });
      } catch {
        result.failed++;
      }
      options.onProgress?.(result.sent + result.failed, rows.length);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 1 }, worker));
  // Labels arrive later than predictions, as they do in production.
  for (let i = 0; i < feedback.length; i += 1000) {
    const { status, json } = await client.raw(
      'POST',
      `/v2/models/${encodeURIComponent(model)}/feedback`,
      feedback.slice(i, i + 1000),
    );
    if (status !== 202) throw new Error(`feedback was refused (${status}): ${JSON.stringify(json)}`);
  }
  return result;
}

export interface LoadGenerator {
  /** Stops sending and resolves with the counts. */
  stop(): Promise<{ requests: number; failed: number; errors: string[] }>;
}

/** Keeps `concurrency` requests in flight until stopped (bounded by maxRequests). */
export function startLoad(options: {
  client: ModelServerClient;
  model: string;
  manifest: ServingModel;
  rows: Row[];
  concurrency?: number;
  maxRequests?: number;
}): LoadGenerator {
  const { client, model, manifest, rows } = options;
  const max = options.maxRequests ?? 200_000;
  let stopped = false;
  let requests = 0;
  let failed = 0;
  const errors: string[] = [];
  const worker = async (w: number): Promise<void> => {
    let i = w;
    while (!stopped && requests < max) {
      const row = rows[i++ % rows.length];
      requests++;
      try {
        const res = await client.infer(model, null, rowsToInferRequest(manifest, [row]));
        if (!res.outputs?.length) throw new Error('empty response');
      } catch (e) {
        failed++;
        if (errors.length < 5) errors.push(e instanceof Error ? e.message : String(e));
      }
    }
  };
  const running = Promise.all(Array.from({ length: options.concurrency ?? 8 }, (_, w) => worker(w)));
  return {
    async stop() {
      stopped = true;
      await running;
      return { requests, failed, errors };
    },
  };
}
