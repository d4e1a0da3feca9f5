/** Test helpers: a tiny real TensorFlow.js model bundle and synthetic rows for it. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBundle, makeSignature } from '../../../server/engine/model/bundle';
import type * as tf from '@tensorflow/tfjs';
import { ensureBackend, tfjs } from '../../../server/engine/tfjs/load';
import { buildProfile } from '../../../server/engine/data/profile';
import type { FeatureTransform, ModelManifest } from '../../../server/engine/model/types';

export const LABELS = ['fog', 'rain', 'sun'];
export const FEATURES: FeatureTransform[] = [
  { name: 'temp_max', kind: 'numeric', mean: 15, std: 8, impute: null },
  { name: 'wind', kind: 'numeric', mean: 3, std: 1.5, impute: 3 },
  { name: 'season', kind: 'categorical', categories: ['summer', 'winter'], impute: null },
];

/** Deterministic synthetic rows (Park–Miller), shifted by `shift` for drift tests. */
export function makeRows(n: number, seed = 7, shift = 0): Array<{ temp_max: number; wind: number; season: string }> {
  let s = seed;
  const next = () => {
    s = (s * 48271) % 2147483647;
    return s / 2147483647;
  };
  const rows = [];
  for (let i = 0; i < n; i++) {
    rows.push({
      temp_max: Math.round((next() * 30 + shift) * 10) / 10,
      wind: Math.round(next() * 80) / 10,
      season: next() < 0.5 ? 'summer' : 'winter',
    });
  }
  return rows;
}

/** Writes a bundle whose weights depend on `seed`, so two seeds give two different versions. */
export async function makeBundle(dir: string, seed = 1): Promise<ModelManifest> {
  await ensureBackend();
  const tf = tfjs();
  const model = tf.sequential();
  model.add(
    tf.layers.dense({
      inputShape: [4],
      units: 6,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
    }),
  );
  model.add(
    tf.layers.dense({
      units: LABELS.length,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 100 }),
    }),
  );
  const rows = makeRows(500, 11);
  const x = tf.tensor2d(
    rows.map((r) => [
      (r.temp_max - 15) / 8,
      (r.wind - 3) / 1.5,
      r.season === 'summer' ? 1 : 0,
      r.season === 'winter' ? 1 : 0,
    ]),
  );
  const probs = (model.predict(x) as tf.Tensor).argMax(1).dataSync();
  x.dispose();
  const preds = Array.from(probs, (i) => LABELS[i]);
  const manifest: ModelManifest = {
    format: 'modelops-tfjs/1',
    task: 'classification',
    target: 'weather',
    features: FEATURES,
    labels: LABELS,
    signature: makeSignature(FEATURES, 'classification', LABELS),
    profile: buildProfile(rows, FEATURES, preds, 42),
    backend: 'cpu',
    trainedAt: new Date(0).toISOString(),
  };
  await writeBundle(dir, model, manifest);
  model.dispose();
  return manifest;
}

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `modelops-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes rows as CSV with a `weather` column (truth drawn deterministically). */
export function writeCsv(path: string, rows: Array<Record<string, string | number>>): void {
  const cols = Object.keys(rows[0]);
  writeFileSync(path, [cols.join(','), ...rows.map((r) => cols.map((c) => String(r[c])).join(','))].join('\n') + '\n');
}

/** One V2 infer body for rows. */
export function inferBody(rows: Array<Record<string, unknown>>, id?: string): Record<string, unknown> {
  return {
    ...(id ? { id } : {}),
    inputs: FEATURES.map((f) => ({
      name: f.name,
      shape: [rows.length, 1],
      datatype: f.kind === 'numeric' ? 'FP32' : 'BYTES',
      data: rows.map((r) => r[f.name]),
    })),
  };
}
