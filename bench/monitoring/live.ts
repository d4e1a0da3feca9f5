/**
 * Live monitoring cost in-process: the model server's LiveMonitorHub fed single-row requests of
 * the Seattle weather sample (4 numeric features, 5 classes with probabilities), windows of 100
 * (modelops.yaml's default), a reference profile of 1,000 rows (so `auto` picks exact KS for the
 * numeric features and chi-square for the predictions), no subscriber. Reports CPU µs per request
 * (observe + the window scoring it triggers), best of `--rounds`, for `drift.test: auto` and `psi`,
 * and `auto` with no probabilities in the outputs (no CBPE), with the KS exact p-value cache's
 * hit rate (the first round of `auto` starts with an empty cache).
 *
 *   npx tsx bench/monitoring/live.ts [--requests 200000] [--rounds 3] [--profile]
 *
 * `--profile` also prints where the time of one `auto` run goes (node:inspector CPU profile,
 * self time per function, top 12).
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { Session, type Profiler } from 'node:inspector';
import { buildProfile } from '../../server/engine/data/profile';
import type { FeatureTransform, Prediction } from '../../server/engine/model/types';
import type { LiveModel } from '../../server/engine/monitoring/live/window';
import { LiveMonitorHub } from '../../server/engine/serving/liveMonitor';
import { ksExactCacheStats } from '../../server/engine/drift/ks';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const REQUESTS = arg('requests', 200_000);
const ROUNDS = arg('rounds', 3);
const LABELS = ['drizzle', 'fog', 'rain', 'snow', 'sun'];
const NUMERIC = ['precipitation', 'temp_max', 'temp_min', 'wind'];

const csv = readFileSync(resolve(__dirname, '..', '..', 'examples', 'sample', 'data', 'seattle-weather.csv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((l) => l.split(','));
const rows = csv.map((c) => ({
  precipitation: Number(c[1]),
  temp_max: Number(c[2]),
  temp_min: Number(c[3]),
  wind: Number(c[4]),
  weather: c[5],
}));
const features: FeatureTransform[] = NUMERIC.map((name) => ({ name, kind: 'numeric', mean: 0, std: 1, impute: null }));
const model: LiveModel = {
  task: 'classification',
  labels: LABELS,
  features: NUMERIC.map((name) => ({ name, kind: 'numeric' as const })),
  profile: buildProfile(
    rows.slice(0, 1000),
    features,
    rows.slice(0, 1000).map((r) => r.weather),
    7,
  ),
};
// One request per row, cycling through the sample; outputs with probabilities as a predictor's.
const requests = rows.map((r, i) => {
  const c = LABELS.indexOf(r.weather);
  const p = 0.6 + (0.3 * ((i * 7919) % 100)) / 100;
  const probabilities = LABELS.map((_, k) => (k === c ? p : (1 - p) / (LABELS.length - 1)));
  return {
    columns: Object.fromEntries(NUMERIC.map((n) => [n, [r[n as keyof typeof r]]])) as Record<string, number[]>,
    preds: [{ value: r.weather, probabilities }] as Prediction[],
    bare: [{ value: r.weather }] as Prediction[],
  };
});

function run(test: 'auto' | 'psi', n: number, probabilities = true): { us: number; windows: number } {
  const hub = new LiveMonitorHub({ heartbeatMs: 3_600_000, thread: 'inline' });
  hub.configure('weather', { window: 100, drift: { test: test } });
  let windows = 0;
  hub.on('event', (e: { event: string }) => {
    if (e.event === 'window') windows++;
  });
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const r = requests[i % requests.length];
    hub.observe('weather', '1.0.0', model, `r${i}`, r.columns, probabilities ? r.preds : r.bare, 0.4);
  }
  // Requests are recorded in batches (of up to 4,096 here: the loop never yields).
  hub.drain();
  const t = process.cpuUsage(t0);
  hub.close();
  return { us: (t.user + t.system) / n, windows };
}

async function profile(): Promise<void> {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object): Promise<T> =>
    new Promise((ok, fail) => session.post(method, params ?? {}, (e, r) => (e ? fail(e) : ok(r as T))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
  run('auto', REQUESTS);
  const { profile: p } = await post<{ profile: Profiler.Profile }>('Profiler.stop');
  const self = new Map<string, number>();
  const dt = p.timeDeltas ?? [];
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  (p.samples ?? []).forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
  });
  const total = [...self.values()].reduce((s, v) => s + v, 0);
  console.log('\nself time, drift.test auto:');
  for (const [k, v] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12))
    console.log(`  ${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
  session.disconnect();
}

async function main(): Promise<void> {
  run('psi', 20_000); // warm-up (psi: the KS cache stays empty)
  const out: Record<string, number[]> = { auto: [], psi: [], bare: [] };
  let windows = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of ['auto', 'psi'] as const) {
      const x = run(t, REQUESTS);
      out[t].push(x.us);
      windows = x.windows;
    }
    out.bare.push(run('auto', REQUESTS, false).us);
  }
  const cache = ksExactCacheStats();
  const fmt = (v: number[]) => `best ${Math.min(...v).toFixed(2)} µs (runs ${v.map((x) => x.toFixed(2)).join(' / ')})`;
  console.log(
    `live monitoring in-process, ${REQUESTS} single-row requests, ${windows} windows of 100, load average ${loadavg()[0].toFixed(1)}:`,
  );
  console.log(`  drift.test auto (exact KS ×4, chi-square): ${fmt(out.auto)} per request`);
  console.log(`  drift.test psi:                            ${fmt(out.psi)} per request`);
  console.log(`  drift.test auto, no probabilities (no CBPE): ${fmt(out.bare)} per request`);
  console.log(
    `  KS exact p-values: ${cache.hits + cache.misses} asked, ${cache.misses} computed (${cache.size} remembered)`,
  );
  if (process.argv.includes('--profile')) await profile();
}

void main();
