/**
 * Runtime benchmark.
 *   npx tsx bench/runtime/run.ts [--rows 1000000] [--rounds 3] [--loads 20]
 * 1. Evaluation path: 1,000,000 raw rows (records) of the 4-feature weather MLP
 *    (test/fixtures/onnx/weather-mlp-v1.onnx) → encode → predictBatch through ONNX Runtime, with
 *    1 and 2 intra-op threads (target ≤ 1 s). Baseline in the same run: the same rows through the
 *    TF.js runtime on a TF.js bundle of the same shape (4 → 16 relu → 5 softmax), on the backend
 *    `auto` picks here.
 * 2. Loading a version: `loadRuntime(bundleDir)` of the ONNX bundle — the first load in the
 *    process (loads the ONNX Runtime library) and the median of later loads (target ≤ 50 ms);
 *    baseline: the TF.js bundle.
 * Best of `rounds` for each timing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadRuntime, writeOnnxBundle, type ModelRuntime } from '../../server/engine/runtime';
import { ensureBackend } from '../../server/engine/tfjs/backend';
import { buildModel } from '../../server/engine/training/model';
import { makeSignature, MANIFEST_FORMAT, writeBundle } from '../../server/engine/model/bundle';
import { fitTransforms } from '../../server/engine/data/preprocess';
import { buildProfile } from '../../server/engine/data/profile';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROWS = arg('rows', 1_000_000);
const ROUNDS = arg('rounds', 3);
const LOADS = arg('loads', 20);
const repo = resolve(__dirname, '..', '..');
const FEATURES = ['precipitation', 'temp_max', 'temp_min', 'wind'];
const LABELS = ['drizzle', 'fog', 'rain', 'snow', 'sun'];

function makeRows(n: number): Array<Record<string, number>> {
  let s = 12345;
  const rnd = (): number => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: n }, () => ({
    precipitation: rnd() < 0.5 ? 0 : rnd() * 30,
    temp_max: rnd() * 35 - 2,
    temp_min: rnd() * 20 - 5,
    wind: rnd() * 8,
  }));
}

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

const fmt = (xs: number[]): string =>
  `best ${Math.min(...xs).toFixed(0)} ms (${xs.map((x) => x.toFixed(0)).join(' / ')})`;

async function evaluate(
  rt: ModelRuntime,
  rows: Array<Record<string, unknown>>,
): Promise<{ encode: number; predict: number }> {
  const t0 = performance.now();
  const x = rt.encode!(rows);
  const t1 = performance.now();
  const r = await rt.predictBatch!(x, rows.length);
  const t2 = performance.now();
  if (r.outputs.length !== rows.length * 5) throw new Error('wrong output size');
  return { encode: t1 - t0, predict: t2 - t1 };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-bench-runtime-'));
  try {
    console.log(
      `load average at start: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}; ${ROWS.toLocaleString('en')} rows, best of ${ROUNDS}`,
    );
    const onnxDir = join(dir, 'onnx');
    const loadFirst = await time(() => writeOnnxBundle(onnxDir, join(repo, 'test/fixtures/onnx/weather-mlp-v1.onnx')));
    console.log(`(writing the ONNX bundle, first ONNX Runtime use in the process: ${loadFirst.ms.toFixed(0)} ms)`);

    // A TF.js bundle of the same shape: 4 → 16 relu → 5 softmax.
    const backend = await ensureBackend('auto');
    const sample = makeRows(1000);
    const features = fitTransforms(
      sample,
      FEATURES.map((name) => ({ name, type: 'number' as const })),
      'drop',
    );
    const { model } = buildModel({
      task: 'classification',
      inputWidth: 4,
      classes: 5,
      layers: [
        { type: 'dense', units: 16, activation: 'relu' },
        { type: 'dense', units: 5, activation: 'softmax' },
      ],
      optimizer: 'adam',
      learningRate: 0.01,
      seed: 1,
    });
    const tfjsDir = join(dir, 'tfjs');
    await writeBundle(tfjsDir, model, {
      format: MANIFEST_FORMAT,
      task: 'classification',
      target: 'weather',
      features,
      labels: LABELS,
      signature: makeSignature(features, 'classification', LABELS),
      profile: buildProfile(sample, features, [], 1),
      backend: backend.name,
      trainedAt: new Date().toISOString(),
    });
    model.dispose();

    // 1. Evaluation path.
    const rows = makeRows(ROWS);
    const results: Record<string, { total: number[]; predict: number[]; encode: number[] }> = {};
    const runs: Array<[string, () => Promise<ModelRuntime>]> = [
      ['onnx, 1 thread', () => loadRuntime(onnxDir, { threads: 1 })],
      ['onnx, 2 threads', () => loadRuntime(onnxDir, { threads: 2 })],
      [`tfjs (${backend.name})`, () => loadRuntime(tfjsDir)],
    ];
    for (const [name, load] of runs) {
      const rt = await load();
      const r = { total: [] as number[], predict: [] as number[], encode: [] as number[] };
      try {
        for (let i = 0; i < ROUNDS; i++) {
          const { encode, predict } = await evaluate(rt, rows);
          r.encode.push(encode);
          r.predict.push(predict);
          r.total.push(encode + predict);
        }
      } finally {
        rt.dispose();
      }
      results[name] = r;
      console.log(
        `${name.padEnd(18)} encode + predictBatch ${fmt(r.total)}; predictBatch alone ${fmt(r.predict)}; encode ${fmt(r.encode)}`,
      );
    }
    const base = Math.min(...results[`tfjs (${backend.name})`].total);
    for (const name of Object.keys(results).slice(0, 2)) {
      const best = Math.min(...results[name].total);
      console.log(
        `ratio ${name} / tfjs: ${(best / base).toFixed(3)}× (${(base / best).toFixed(1)}× faster) — target ≤ 1000 ms: ${best <= 1000 ? 'met' : 'NOT met'}`,
      );
    }

    // 2. Loading a version.
    const loads = async (d: string): Promise<number[]> => {
      const ms: number[] = [];
      for (let i = 0; i < LOADS; i++) {
        const { ms: t, value } = await time(() => loadRuntime(d));
        value.dispose();
        ms.push(t);
      }
      return ms.sort((a, b) => a - b);
    };
    const onnxLoads = await loads(onnxDir);
    const tfjsLoads = await loads(tfjsDir);
    const med = (xs: number[]): number => xs[Math.floor(xs.length / 2)];
    console.log(
      `load ONNX bundle: median ${med(onnxLoads).toFixed(1)} ms, max ${onnxLoads.at(-1)!.toFixed(1)} ms over ${LOADS} — target ≤ 50 ms: ${med(onnxLoads) <= 50 ? 'met' : 'NOT met'}`,
    );
    console.log(
      `load TF.js bundle: median ${med(tfjsLoads).toFixed(1)} ms, max ${tfjsLoads.at(-1)!.toFixed(1)} ms; ratio onnx / tfjs ${(med(onnxLoads) / med(tfjsLoads)).toFixed(2)}×`,
    );
    console.log(
      `load average at end: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
