/**
 * Optimisation benchmark: parent vs quantised (float16, uint8) vs pruned versions.
 *   npx tsx bench/optimize.ts [--sparsity 0.5] [--epochs 2]
 * 1. The sample model (examples/sample/modelops.yaml, TF.js) is trained in a temp workspace,
 *    then quantised to float16 and uint8 and pruned (polynomial schedule, fine-tuning epochs).
 * 2. An ONNX fixture (test/fixtures/onnx/weather-mlp-v1.onnx) is registered and quantised to float16
 *    and to dynamic uint8 (MatMulInteger).
 * For each: bundle size, load time, p50 latency at batch 1 and 256 (measure.ts, through the
 * runtime layer) and accuracy on the test split, printed as child / parent ratios.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openRegistry } from '../server/engine/registry';
import { train } from '../server/engine/training/trainer';
import { pruneVersion, quantizeVersion, type OptimizeResult } from '../server/engine/optimize';
import { writeOnnxBundle } from '../server/engine/runtime';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const repo = resolve(__dirname, '..');

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'modelops-bench-opt-'));
  mkdirSync(join(root, 'data'));
  copyFileSync(
    join(repo, 'examples', 'sample', 'data', 'seattle-weather.csv'),
    join(root, 'data', 'seattle-weather.csv'),
  );
  copyFileSync(join(repo, 'examples', 'sample', 'modelops.yaml'), join(root, 'modelops.yaml'));
  const configPath = join(root, 'modelops.yaml');
  const registry = openRegistry(root);
  try {
    const t = await train({ configPath, registry });
    const parent = `${t.version.model}@${t.version.version}`;
    console.log(
      `TF.js sample: ${parent} on ${t.backend} (${t.epochsRun} epochs); load ${loadavg()[0].toFixed(2)} on ${cpus().length} cores\n`,
    );
    const rows: Array<[string, OptimizeResult<unknown>, string]> = [];
    const f16 = await quantizeVersion({ registry, ref: parent, configPath, dtype: 'float16' });
    rows.push(['tfjs float16', f16, `weights ${f16.details.bytesBefore} → ${f16.details.bytesAfter} B`]);
    const u8 = await quantizeVersion({ registry, ref: parent, configPath, dtype: 'uint8' });
    rows.push(['tfjs uint8', u8, `weights ${u8.details.bytesBefore} → ${u8.details.bytesAfter} B`]);
    const sparsity = arg('sparsity', 0.5);
    const pr = await pruneVersion({ registry, ref: parent, configPath, sparsity, epochs: arg('epochs', 2) });
    rows.push([
      `tfjs pruned ${sparsity}`,
      pr,
      `rate ${(pr.details.rate.rate * 100).toFixed(1)}%, weights ${pr.details.weightBytes} B, gzip ${pr.details.compressedBytes} B${pr.notes.length ? `; ${pr.notes.join('; ')}` : ''}`,
    ]);

    const bundle = join(root, 'onnx-bundle');
    await writeOnnxBundle(bundle, join(repo, 'test', 'fixtures', 'onnx', 'weather-mlp-v1.onnx'), { target: 'weather' });
    const onnx = await registry.registerVersion({ model: 'weather-onnx', source: bundle });
    const oq = await quantizeVersion({ registry, ref: `${onnx.model}@${onnx.version}`, configPath, dtype: 'float16' });
    rows.push(['onnx float16', oq, `${oq.details.weights.length} initializers as float16`]);
    const ou = await quantizeVersion({ registry, ref: `${onnx.model}@${onnx.version}`, configPath, dtype: 'uint8' });
    rows.push([
      'onnx uint8',
      ou,
      `${ou.details.weights.length} MatMul/Gemm weights, ${ou.details.bytesBefore} → ${ou.details.bytesAfter} B`,
    ]);

    const ratio = (p: number, c: number) => (p > 0 ? (c / p).toFixed(3) : '—');
    console.log(
      'method            | size B parent→child (ratio) | load ms (ratio)     | p50 b1 ms (ratio)   | p50 b256 ms (ratio) | accuracy parent→child | gate',
    );
    for (const [name, r, note] of rows) {
      const p = r.parent.measurement;
      const c = r.child.measurement;
      console.log(
        `${name.padEnd(17)} | ${`${p.size_bytes}→${c.size_bytes} (${ratio(p.size_bytes, c.size_bytes)})`.padEnd(27)} | ${`${p.load_ms.toFixed(1)}→${c.load_ms.toFixed(1)} (${ratio(p.load_ms, c.load_ms)})`.padEnd(19)} | ${`${p.latency_p50_ms_b1.toFixed(3)}→${c.latency_p50_ms_b1.toFixed(3)} (${ratio(p.latency_p50_ms_b1, c.latency_p50_ms_b1)})`.padEnd(19)} | ${`${p.latency_p50_ms_b256.toFixed(3)}→${c.latency_p50_ms_b256.toFixed(3)} (${ratio(p.latency_p50_ms_b256, c.latency_p50_ms_b256)})`.padEnd(19)} | ${r.parent.metrics.accuracy.toFixed(4)}→${r.child.metrics.accuracy.toFixed(4)}       | ${r.gates.passed ? 'pass' : 'FAIL'}  ${note}`,
      );
    }
  } finally {
    registry.close();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
