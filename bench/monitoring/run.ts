/**
 * Monitoring benchmark: 1,000,000 logged predictions (100,000 requests of 10 rows, each with
 * feedback) → windows, an SPC p-chart and PSI drift of every feature and of the predictions,
 * against the baseline of merely reading the log and JSON.parse-ing every line, measured in the
 * same run in alternating rounds (the machine is shared). Target: monitoring < 2× the baseline.
 *
 *   npx tsx bench/monitoring/run.ts [--rounds 3]
 *
 * Also measured in the same run: the log reader alone with and without the class probabilities
 * (CBPE reads them; without it they are skipped), and the process's peak RSS.
 *
 * The version monitored is an ONNX bundle (test/fixtures/onnx/weather-mlp-v1.onnx with a
 * reference profile of the sample's first 600 rows), registered and read through the model
 * runtime layer as `modelops monitor` does; that load is inside the monitoring time.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openRegistry } from '../../server/engine/registry';
import type { ModelOpsConfig } from '../../server/engine/config/types';
import { monitor, readPredictionLog } from '../../server/engine/monitoring';
import { writeOnnxBundle } from '../../server/engine/runtime';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROUNDS = arg('rounds', 3);
const repo = resolve(__dirname, '..', '..');
const LABELS = ['drizzle', 'fog', 'rain', 'snow', 'sun'];

const config: ModelOpsConfig = {
  version: 1,
  project: 'bench',
  data: { train: 'x.csv', format: 'csv', target: 'weather', split: { train: 0.7, validation: 0.15, test: 0.15, seed: 1 }, missing: 'drop' },
  model: { name: 'weather', task: 'classification', framework: 'tfjs' },
  train: { epochs: 1, batchSize: 8, optimizer: 'adam', learningRate: 0.01, seed: 1, classWeights: 'none' },
  evaluate: { metrics: ['accuracy'], gates: {}, parsedGates: {} },
  deploy: { targets: { local: { type: 'local', port: 0, requireApproval: false, smokeTest: { rows: 5, tolerance: 1e-6 } } } },
  monitor: { target: 'local', window: 100, controlChart: { metric: 'accuracy', sigma: 3, baseline: 5, rules: [1, 2, 3, 4] }, drift: { method: 'psi', threshold: 0.2 }, alerts: { notify: false } },
};

/** 100,000 requests of 10 rows in the server's own line shape, each followed by its feedback. */
function writeLog(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const parts: string[] = [];
  for (let i = 0; i < 100_000; i++) {
    const t = (i % 300) / 10;
    const rows = Array.from({ length: 10 }, (_, k) => [(k % 5) / 2, t + k, t - 5 + k / 2, (i % 7) + k / 10]);
    const labels = rows.map((_, k) => LABELS[(i + k) % 5]);
    parts.push(
      JSON.stringify({
        type: 'prediction',
        id: `q${i}`,
        time: '2026-01-01T00:00:00.000Z',
        version: '1.0.0',
        latencyMs: 0.8,
        inputs: { precipitation: rows.map((r) => r[0]), temp_max: rows.map((r) => r[1]), temp_min: rows.map((r) => r[2]), wind: rows.map((r) => r[3]) },
        outputs: { label: labels, probabilities: rows.map(() => [0.1, 0.1, 0.2, 0.1, 0.5]) },
      }) + '\n',
      JSON.stringify({ type: 'feedback', id: `q${i}`, time: '2026-01-01T00:00:00.000Z', labels: labels.map((l, k) => (k === 0 ? LABELS[(LABELS.indexOf(l) + 1) % 5] : l)) }) + '\n',
    );
  }
  writeFileSync(join(dir, 'predictions.jsonl'), parts.join(''));
}

/** The baseline: read the file and JSON.parse every line, nothing else. */
function readAndParse(file: string): number {
  const text = readFileSync(file, 'utf8');
  let parsed = 0;
  for (let start = 0, nl = text.indexOf('\n'); nl >= 0; start = nl + 1, nl = text.indexOf('\n', start)) if (JSON.parse(text.slice(start, nl))) parsed++;
  return parsed;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-bench-monitoring-'));
  try {
    const lines = readFileSync(join(repo, 'examples', 'sample', 'data', 'seattle-weather.csv'), 'utf8').trim().split('\n');
    const header = lines[0].split(',');
    const rows = lines.slice(1, 601).map((l) => Object.fromEntries(l.split(',').map((v, j) => [header[j], header[j] === 'date' || header[j] === 'weather' ? v : Number(v)])));
    const bundle = join(dir, 'bundle');
    await writeOnnxBundle(bundle, join(repo, 'test', 'fixtures', 'onnx', 'weather-mlp-v1.onnx'), { target: 'weather', reference: { rows, seed: 3 } });
    const registry = openRegistry(join(dir, 'ws'));
    await registry.registerVersion({ model: 'weather', source: bundle, version: '1.0.0', format: 'onnx' });
    const logDir = join(dir, 'log');
    writeLog(logDir);
    const file = join(logDir, 'predictions.jsonl');
    const mb = statSync(file).size / 1e6;

    const base: number[] = [];
    const mon: number[] = [];
    let windows = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const b0 = performance.now();
      const parsed = readAndParse(file);
      base.push(performance.now() - b0);
      if (parsed !== 200_000) throw new Error(`parsed ${parsed} lines`);
      const m0 = performance.now();
      const r = await monitor({ registry, config, target: 'local', model: 'weather', logDir, alert: false });
      mon.push(performance.now() - m0);
      if (r.totalPredictions !== 1_000_000) throw new Error(`monitoring read ${r.totalPredictions} predictions`);
      windows = r.windows.length;
    }
    // The reader alone, with and without probabilities, alternating.
    const features = ['precipitation', 'temp_max', 'temp_min', 'wind'].map((name) => ({ name, kind: 'numeric' as const }));
    const withP: number[] = [];
    const withoutP: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const w0 = performance.now();
      await readPredictionLog(logDir, features, 'classification', LABELS, { probabilities: true });
      withP.push(performance.now() - w0);
      const n0 = performance.now();
      await readPredictionLog(logDir, features, 'classification', LABELS);
      withoutP.push(performance.now() - n0);
    }
    const b = Math.min(...base);
    const m = Math.min(...mon);
    console.log(`monitoring 1,000,000 predictions (${mb.toFixed(0)} MB of JSONL, ${windows} windows, p-chart + PSI of 4 features and the predictions; ONNX version read through the runtime layer)`);
    console.log(`  reading + JSON.parse of every line: best ${b.toFixed(0)} ms (runs ${base.map((x) => x.toFixed(0)).join(' / ')})`);
    console.log(`  monitoring:                         best ${m.toFixed(0)} ms (runs ${mon.map((x) => x.toFixed(0)).join(' / ')})`);
    console.log(`  ratio ${(m / b).toFixed(2)}× (target < 2×; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')})`);
    const rp = Math.min(...withP);
    const rn = Math.min(...withoutP);
    console.log(`  log reader alone: with probabilities best ${rp.toFixed(0)} ms, without ${rn.toFixed(0)} ms (${(rp / rn).toFixed(2)}×)`);
    console.log(`  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (the JSONL text of the baseline included)`);
    registry.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
