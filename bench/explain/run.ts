/**
 * Explanation benchmark.
 *   npx tsx bench/explain/run.ts [--rows 1000] [--background 100] [--wide-rows 100] [--wide-background 10] [--rounds 2]
 * 1. Exact Shapley values of the 4-feature, 5-class weather MLP (ONNX, test/fixtures/onnx/
 *    weather-mlp-v1.onnx): `rows` sample rows against `background` rows (target ≤ 1 s).
 * 2. Exact values of a 12-feature TF.js regressor (12 → 16 relu → 1): `wide-rows` rows against
 *    `wide-background` rows (target ≤ 5 s).
 * Baselines in the same run, over as many model rows as the explanation evaluates: `predictBatch`
 * as serving calls it (TF.js itself for a TF.js model: the model path explanations had before the
 * compiled pass), and `predictBatch(…, { bulk: true })` as explanations call it now (a TF.js
 * model's verified compiled pass; the same as the first for ONNX). The ratio explain / bulk is
 * what the explainer adds. Best of `rounds`; the explain runs come first on a freshly loaded
 * runtime, so its first run includes compiling and verifying the pass.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadRuntime, TfjsRuntime, writeOnnxBundle, type ModelRuntime } from '../../server/engine/runtime';
import { ensureBackend } from '../../server/engine/tfjs/backend';
import { buildModel } from '../../server/engine/training/model';
import { makeSignature, MANIFEST_FORMAT, writeBundle } from '../../server/engine/model/bundle';
import { fitTransforms } from '../../server/engine/data/preprocess';
import { buildProfile } from '../../server/engine/data/profile';
import { readDataset } from '../../server/engine/data/read';
import { explainRuntime, sampleRows, shapValues, type RawRow, type RuntimeLike } from '../../server/engine/explain';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROOT = resolve(__dirname, '..', '..');
const ROUNDS = arg('rounds', 2);

async function best(fn: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times;
}

async function measure(label: string, rt: ModelRuntime, xs: RawRow[], bg: RawRow[], target: number): Promise<void> {
  const model = explainRuntime(rt);
  const m = model.features.length;
  let encoding = '';
  const explain = await best(async () => {
    const r = await shapValues(model, xs, bg, { method: 'exact' });
    encoding = r.encoding;
  });
  const modelRows = xs.length * (2 ** m - 2) * bg.length + xs.length + bg.length;
  const x = new Float32Array(modelRows * rt.encodedWidth);
  const enc = rt.encode!(bg);
  for (let o = 0; o + enc.length <= x.length; o += enc.length) x.set(enc, o);
  // The explain view of a runtime: its predictBatch takes the options explanations pass.
  const like: RuntimeLike = rt;
  const predictAll = (bulk: boolean) => async (): Promise<void> => {
    for (let start = 0; start < modelRows; start += 65_536) {
      const n = Math.min(65_536, modelRows - start);
      const part = x.subarray(start * rt.encodedWidth, (start + n) * rt.encodedWidth);
      await like.predictBatch!(part, n, { bulk });
    }
  };
  const serving = Math.min(...(await best(predictAll(false))));
  const bulk = Math.min(...(await best(predictAll(true))));
  const e = Math.min(...explain);
  const path = rt instanceof TfjsRuntime ? rt.forwardPath.path : 'onnx';
  console.log(
    `| ${label} | ${modelRows.toLocaleString('en')} | ${serving.toFixed(0)} ms | ${bulk.toFixed(0)} ms (${path}) | ${e.toFixed(0)} ms (${explain.map((t) => t.toFixed(0)).join(' / ')}) | ${(e / bulk).toFixed(2)}× | ${e <= target ? 'met' : 'NOT met'} (≤ ${target} ms) | ${encoding} |`,
  );
  if (rt instanceof TfjsRuntime) console.log(`compiled pass: ${rt.forwardPath.reason ?? ''}`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-bench-explain-'));
  try {
    console.log(
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    console.log(
      '| case | model rows | predictBatch (serving path) | predictBatch bulk (explain path) | explain (best; runs) | explain / bulk | target | hybrids |\n| --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    const data = (
      await readDataset(join(ROOT, 'examples', 'sample', 'data', 'seattle-weather.csv'), {
        types: { precipitation: 'number', temp_max: 'number', temp_min: 'number', wind: 'number' },
      })
    ).rows;
    await writeOnnxBundle(join(dir, 'onnx'), join(ROOT, 'test', 'fixtures', 'onnx', 'weather-mlp-v1.onnx'), {
      target: 'weather',
    });
    const onnx = await loadRuntime(join(dir, 'onnx'));
    const nRows = arg('rows', 1000);
    const nBg = arg('background', 100);
    await measure(
      `4 features × ${nRows} rows × ${nBg} background (ONNX, 5 classes)`,
      onnx,
      sampleRows(data, nRows, 1),
      sampleRows(data, nBg, 2),
      1000,
    );
    onnx.dispose();

    // 12 numeric features, a TF.js regressor.
    await ensureBackend('auto');
    const names = Array.from({ length: 12 }, (_, i) => `x${i}`);
    const rows = Array.from({ length: 400 }, (_, r) =>
      Object.fromEntries(names.map((n, i) => [n, Math.sin(r * (i + 1)) * 10])),
    );
    const features = fitTransforms(
      rows,
      names.map((name) => ({ name, type: 'number' as const })),
      'drop',
    );
    const built = buildModel({
      task: 'regression',
      inputWidth: 12,
      classes: 1,
      layers: [
        { type: 'dense', units: 16, activation: 'relu' },
        { type: 'dense', units: 1, activation: 'linear' },
      ],
      optimizer: 'adam',
      learningRate: 0.01,
      seed: 3,
    }).model;
    await writeBundle(join(dir, 'tfjs'), built, {
      format: MANIFEST_FORMAT,
      task: 'regression',
      target: 'y',
      features,
      signature: makeSignature(features, 'regression'),
      profile: buildProfile(rows, features, [], 1),
      backend: 'cpu',
      trainedAt: new Date(0).toISOString(),
    });
    built.dispose();
    const tfjs = await loadRuntime(join(dir, 'tfjs'));
    const wRows = arg('wide-rows', 100);
    const wBg = arg('wide-background', 10);
    await measure(
      `12 features × ${wRows} rows × ${wBg} background (TF.js)`,
      tfjs,
      rows.slice(0, wRows),
      rows.slice(200, 200 + wBg),
      5000,
    );
    tfjs.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
