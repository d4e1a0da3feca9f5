/**
 * Batch scoring of a large file (`modelops predict`):
 *   npx tsx bench/predict.ts [--rows 1000000]
 * Writes a CSV of `rows` rows (an id and the four weather columns), registers the PyTorch MLP
 * (test/fixtures/onnx/weather-mlp-v1.onnx) and, each in a fresh process, (a) scores the file with
 * predictFile — read and scored a batch at a time — and (b) the baseline: readDataset of the same
 * file, the whole file in memory, nothing scored. Prints rows per second and each process's peak
 * resident memory (VmHWM), and the ratio of the two peaks.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openRegistry } from '../server/engine/registry';
import { writeOnnxBundle } from '../server/engine/runtime';
import { predictFile } from '../server/engine/evaluation/predictFile';
import { readDataset } from '../server/engine/data/read';

const repo = resolve(__dirname, '..');
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

/** Peak resident memory of this process so far, MB (Linux). */
const peakMb = (): number =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) / 1024;

async function child(mode: string, root: string, data: string): Promise<void> {
  const t0 = performance.now();
  let rows: number;
  if (mode === 'predict') {
    const registry = openRegistry(root);
    const r = await predictFile({ registry, ref: 'weather@1.0.0', dataPath: data, out: join(root, 'p.csv') });
    registry.close();
    rows = r.predicted;
  } else rows = (await readDataset(data)).rows.length;
  process.stdout.write(JSON.stringify({ rows, seconds: (performance.now() - t0) / 1000, peakMb: peakMb() }));
}

async function main(): Promise<void> {
  const n = arg('rows', 1_000_000);
  const root = mkdtempSync(join(tmpdir(), 'modelops-bench-predict-'));
  try {
    const registry = openRegistry(root);
    const bundle = join(root, 'bundle');
    await writeOnnxBundle(bundle, join(repo, 'test', 'fixtures', 'onnx', 'weather-mlp-v1.onnx'), {
      target: 'weather',
    });
    await registry.registerVersion({ model: 'weather', source: bundle, version: '1.0.0' });
    registry.close();
    const data = join(root, 'days.csv');
    const out = createWriteStream(data);
    out.write('id,precipitation,temp_max,temp_min,wind\n');
    for (let i = 0; i < n; i++) {
      const line = `${i},${(i % 97) / 10},${(i % 41) - 5},${(i % 29) - 10},${(i % 13) / 2}\n`;
      if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((r) => out.end(() => r()));
    const mb = statSync(data).size / 1e6;
    const run = (mode: string) =>
      JSON.parse(
        execFileSync(
          process.execPath,
          [
            '--import',
            pathToFileURL(join(repo, 'node_modules/tsx/dist/loader.mjs')).href,
            __filename,
            '--child',
            mode,
            root,
            data,
          ],
          { encoding: 'utf8', maxBuffer: 1 << 20 },
        ),
      ) as { rows: number; seconds: number; peakMb: number };
    const scored = run('predict');
    const read = run('read');
    console.log(`${n.toLocaleString('en-US')} rows, ${mb.toFixed(0)} MB of CSV:`);
    console.log(
      `  predictFile (read and scored a batch at a time): ${scored.seconds.toFixed(2)} s, ${Math.round(scored.rows / scored.seconds).toLocaleString('en-US')} rows/s, peak RSS ${scored.peakMb.toFixed(0)} MB`,
    );
    console.log(
      `  baseline, readDataset of the whole file (no scoring): ${read.seconds.toFixed(2)} s, peak RSS ${read.peakMb.toFixed(0)} MB`,
    );
    console.log(`  peak memory, predictFile / whole-file read: ${(scored.peakMb / read.peakMb).toFixed(2)}×`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const c = process.argv.indexOf('--child');
(c > 0 ? child(process.argv[c + 1], process.argv[c + 2], process.argv[c + 3]) : main()).catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
