/**
 * A model runtime as the server, the smoke test and clients see it: its raw columns, signature,
 * labels and profile, and its two prediction paths. Built only from the runtime interface, so
 * nothing here (or in the server) knows a format.
 */
import { loadRuntime, type ModelRuntime, type RuntimeOptions } from '../runtime';
import type { Predictor } from './types';

export function predictorOf(runtime: ModelRuntime): Predictor {
  const p: Predictor = {
    manifest: {
      task: runtime.task,
      ...(runtime.labels ? { labels: runtime.labels } : {}),
      ...(runtime.target !== undefined ? { target: runtime.target } : {}),
      features: runtime.columns.map((c) => ({ name: c.name, kind: c.kind })),
      signature: runtime.signature,
      ...(runtime.profile ? { profile: runtime.profile } : {}),
    },
    platform: `modelops-${runtime.kind}`,
    predict: (rows) => runtime.predict(rows),
    decode: (result, n) => runtime.decode(result, n),
    dispose: () => runtime.dispose(),
  };
  const { encode, predictBatch } = runtime;
  if (encode && predictBatch) {
    p.encode = (rows, ctx) => encode.call(runtime, rows, ctx);
    p.predictBatch = (x, n, options) => predictBatch.call(runtime, x, n, options);
  }
  return p;
}

/** Loads a bundle directory (any format the runtime layer reads) as a Predictor. */
export async function loadPredictor(bundleDir: string, options?: RuntimeOptions): Promise<Predictor> {
  return predictorOf(await loadRuntime(bundleDir, options));
}
