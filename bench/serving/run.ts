/**
 * Serving benchmark.
 *   npx tsx bench/serving/run.ts [--seconds 2] [--rounds 3] [--log-rounds 30] [--log-seconds 0.5] [--log-sets 5] [--epochs 5]
 *     [--max-wait-ms N] [--only-log] [--verbose] [--node-http-client] [--live-window 100]
 *     [--pin]  (each server's request thread on CPU 0, everything else on CPU 1, by taskset)
 *     [--server-node-args "--cpu-prof --cpu-prof-dir=DIR"]  (flags for the model server processes)
 * 1. Trains the sample model (examples/sample, a few epochs: the weights do not matter here),
 *    starts `modelops serve` as its own process (dist/cli.js when built, else from source), and
 *    measures requests per second and p50/p99 latency of single-row `/infer` requests at
 *    concurrency 1, 8 and 32 — and, in the same run, a raw Node `http` server in its own process
 *    answering a constant JSON body (the floor of HTTP on this machine). Prints the ratio
 *    (target ≥ 0.5× at concurrency 32, p99 ≤ 10 ms).
 * 2. Prediction logging on vs off, and logging + live monitoring, at concurrency 32 (target: each
 *    costs ≤ 10%): throughput in many short rounds (each server in turn, the order rotating every
 *    round, so the machine's swings of speed fall on all three alike; the rounds split over
 *    several sets of fresh processes, as two processes of the same code differ by a few per cent;
 *    the cost is the median of the rounds' ratios, with its middle half and a 95% interval from
 *    resampling the sets, which alone decides "met" or "not met"), the server process's CPU time per request (from
 *    /proc; with live monitoring, split into the main thread's and the other threads'), the
 *    monitor's own counters from /metrics, and the logging path alone measured in-process
 *    (figures other jobs on the machine disturb less).
 * 3. Monitoring 1,000,000 logged predictions (windows + SPC + PSI drift), best of 3 (target ≤ 1 s).
 *
 *   npx tsx bench/serving/run.ts --onnx [--seconds 2] [--rounds 3]
 * The ONNX variant: step 1 only, for an ONNX bundle of test/fixtures/onnx/weather-mlp-v1.onnx
 * (a PyTorch MLP on the same four columns) served through ONNX Runtime (target ≥ 0.8× the raw
 * server at concurrency 32, p99 ≤ 10 ms).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openRegistry } from '../../server/engine/registry';
import { loadConfig } from '../../server/engine/config';
import { train } from '../../server/engine/training/trainer';
import { monitor } from '../../server/engine/monitoring';
import { PredictionLog } from '../../server/engine/serving/predictionLog';
import { LiveScorer, ObservationPacker } from '../../server/engine/serving/liveScorer';
import { liveConfig } from '../../server/engine/monitoring/live/window';
import { columnsJson, isoTime, nestRows, predictionLine, responseText } from '../../server/engine/serving/logLine';
import type { ModelManifest } from '../../server/engine/model/types';
import { writeOnnxBundle } from '../../server/engine/runtime';
import { seededRandom } from '../../server/engine/data/split';
import { closedLoop, httpClosedLoop } from './client';
import type { ServerRecord } from '../../server/engine/serving/types';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg('seconds', 2);
const EPOCHS = arg('epochs', 5);
const WAIT = arg('max-wait-ms', -1);
const ROUNDS = arg('rounds', 3);
/** Step 2: many short rounds, each server's turn rotating, so a swing of the machine's speed hits all three alike. */
const LOG_ROUNDS = arg('log-rounds', 30);
/**
 * Step 2: the rounds are split over this many sets of three fresh server processes. Two
 * processes of the same code can differ by several per cent for as long as they run (how their
 * code was compiled, where their memory landed); a set per few rounds samples that too.
 */
const LOG_SETS = Math.max(1, Math.min(arg('log-sets', 5), LOG_ROUNDS));
const LOG_SECONDS = arg('log-seconds', 0.5);
/** The live monitor's window in the "logging + live monitoring" rounds (modelops.yaml's default: 100). */
const LIVE_WINDOW = arg('live-window', 100);
const ONNX = process.argv.includes('--onnx');
/** Only step 2 (logging off / on / on + live monitoring), for a short run. */
const ONLY_LOG = process.argv.includes('--only-log');
/** Step 2 also lists every round's figures. */
const VERBOSE = process.argv.includes('--verbose');
/** Load through Node's http.request (heavier on the shared cores) instead of bench/serving/client.ts. */
const NODE_HTTP_CLIENT = process.argv.includes('--node-http-client');
/**
 * Pin each server's request thread to CPU 0 and everything else — its other threads (the monitor
 * worker, GC helpers, file writes) and this process, the load generator — to CPU 1.
 */
const PIN = process.argv.includes('--pin');
const TOKEN = 'bench-token';
const INFER = '/v2/models/weather/infer';
/** Node flags for the model server processes, e.g. `--server-node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"`. */
const SERVER_NODE_ARGS = (() => {
  const i = process.argv.indexOf('--server-node-args');
  return i > 0 ? process.argv[i + 1].split(/\s+/).filter(Boolean) : [];
})();
const repo = resolve(__dirname, '..', '..');

/** The q-quantile of xs (linear between the two nearest ranks). */
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return lo + 1 < s.length ? s[lo] + (s[lo + 1] - s[lo]) * (at - lo) : s[lo];
}
/**
 * A 95% interval of the median of per-round costs, by resampling whole sets of processes (with
 * replacement, 2,000 times, seeded): rounds of one set share their processes, so they are not
 * independent draws, and two sets differ by more than two rounds of one set.
 */
function medianInterval(xs: number[], setOf: number[], sets: number): [number, number] {
  const bySet = Array.from({ length: sets }, (_, set) => xs.filter((_, i) => setOf[i] === set));
  const random = seededRandom(15);
  const medians: number[] = [];
  for (let b = 0; b < 2000; b++) {
    const pooled: number[] = [];
    for (let k = 0; k < sets; k++) pooled.push(...bySet[Math.floor(random() * sets)]);
    medians.push(quantile(pooled, 0.5));
  }
  return [quantile(medians, 0.025), quantile(medians, 0.975)];
}

/** Whether a cost meets `target`: only when the whole interval is on one side. */
function verdict(interval: [number, number], target: number): string {
  const [lo, hi] = interval;
  const range = `95% interval ${(lo * 100).toFixed(1)} to ${(hi * 100).toFixed(1)}% (sets resampled)`;
  if (hi <= target) return `${range}: target ≤ ${target * 100}% met`;
  if (lo > target) return `${range}: target ≤ ${target * 100}% not met`;
  return `${range}: undecided against ≤ ${target * 100}% (more --log-sets narrow it)`;
}
const best = (xs: Load[]): Load => xs.reduce((a, b) => (b.rps > a.rps ? b : a));
const pct = (xs: Float64Array, p: number): number => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];

function serveArgs(): string[] {
  const dist = join(repo, 'dist', 'cli.js');
  if (existsSync(dist)) return [dist];
  return [
    '--import',
    pathToFileURL(join(repo, 'node_modules/tsx/dist/loader.mjs')).href,
    join(repo, 'server/cli/main.ts'),
  ];
}

async function waitFor<T>(fn: () => T | null, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startModelServerProcess(
  dir: string,
  bundle: string,
  logging: boolean,
  monitoring = false,
  set = 0,
): Promise<{ url: string; child: ChildProcess }> {
  const name = `${logging ? 'log' : 'nolog'}${monitoring ? '-live' : ''}-${set}`;
  const record = join(dir, `server-${name}.json`);
  const child = spawn(
    process.execPath,
    [
      ...SERVER_NODE_ARGS,
      ...serveArgs(),
      'serve',
      '--port',
      '0',
      '--store',
      join(dir, `store-${name}`),
      '--token-env',
      'BENCH_TOKEN',
      '--record',
      record,
      ...(logging ? [] : ['--no-log']),
      ...(WAIT >= 0 ? ['--max-wait-ms', String(WAIT)] : []),
    ],
    {
      // Live monitoring is on by default in `modelops serve`; the environment turns it off.
      env: { ...process.env, BENCH_TOKEN: TOKEN, MODELOPS_LIVE_MONITOR: monitoring ? 'on' : 'off' },
      // Diagnostics asked for by --server-node-args (--trace-gc …) print to stdout.
      stdio: ['ignore', SERVER_NODE_ARGS.length > 0 ? 'inherit' : 'ignore', 'inherit'],
    },
  );
  const rec = await waitFor(() =>
    existsSync(record) ? (JSON.parse(readFileSync(record, 'utf8')) as ServerRecord) : null,
  );
  const res = await fetch(`${rec.url}/v2/repository/models/weather/versions/1.0.0/load`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ path: bundle }),
  });
  if (res.status !== 200) throw new Error(`load failed: ${await res.text()}`);
  pin(child.pid, 0, 1);
  return { url: rec.url, child };
}

/** `taskset` a process's threads: all of them to `rest`, then its main thread alone to `main`. */
function pin(pid: number | undefined, main: number, rest: number): void {
  if (!PIN || !pid) return;
  execFileSync('taskset', ['-a', '-p', '-c', String(rest), String(pid)], { stdio: 'ignore' });
  if (main !== rest) execFileSync('taskset', ['-p', '-c', String(main), String(pid)], { stdio: 'ignore' });
}

async function startRawServer(): Promise<{ url: string; child: ChildProcess }> {
  const code = `
    const body = JSON.stringify({ model_name: 'weather', model_version: '1.0.0', id: 'x', outputs: [{ name: 'label', datatype: 'BYTES', shape: [1], data: ['sun'] }, { name: 'probabilities', datatype: 'FP32', shape: [1, 5], data: [0.1, 0.1, 0.2, 0.1, 0.5] }] });
    const s = require('http').createServer({ keepAlive: true }, (req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => { JSON.parse(Buffer.concat(chunks).toString()); res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }); res.end(body); });
    });
    s.keepAliveTimeout = 30000;
    s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((r) => child.stdout!.once('data', (d: Buffer) => r(d.toString().trim())));
  pin(child.pid, 0, 1);
  return { url: `http://127.0.0.1:${port}`, child };
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU time of the server process per request, µs (NaN without a pid or /proc). */
  cpuUs: number;
  /** Of which its main (request) thread's; the rest is its other threads' (GC helpers, the monitor worker …). */
  mainUs: number;
  /** Of which each other thread's, busiest first (GC helpers, file writes, the monitor worker …). */
  othersUs: number[];
  /** CPU time of this process (the load generator) per request, µs: on 2 cores it competes with the server. */
  genUs: number;
}

/**
 * Nanoseconds each thread of a process has run (tid → ns), from /proc/<pid>/task/<tid>/schedstat:
 * nanosecond counts, where utime/stime tick every 10 ms (2 µs per request in a 0.5 s round of
 * 5,000 requests); empty without a pid or /proc.
 */
function threadNs(pid: number | undefined): Map<number, number> {
  const out = new Map<number, number>();
  if (!pid) return out;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        out.set(Number(tid), Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
      } catch {
        // The thread ended between the listing and the read.
      }
    }
  } catch {
    // No /proc here.
  }
  return out;
}

/** CPU µs per request between two threadNs readings: all threads, the main one, and the others' busiest first. */
function threadCpu(
  before: Map<number, number>,
  after: Map<number, number>,
  pid: number | undefined,
  requests: number,
): { cpuUs: number; mainUs: number; othersUs: number[] } {
  if (after.size === 0) return { cpuUs: NaN, mainUs: NaN, othersUs: [] };
  const us = (ns: number) => ns / 1000 / requests;
  let all = 0;
  const others: number[] = [];
  for (const [tid, ns] of after) {
    const d = ns - (before.get(tid) ?? 0);
    all += d;
    if (tid !== pid) others.push(us(d));
  }
  return {
    cpuUs: us(all),
    mainUs: us((after.get(pid!) ?? 0) - (before.get(pid!) ?? 0)),
    othersUs: others.sort((a, b) => b - a),
  };
}

/** The live monitor's time and the requests served so far, from the server's /metrics. */
async function monitorCounters(url: string): Promise<{ seconds: number; scorer: number; requests: number }> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const sum = (name: string): number =>
    text
      .split('\n')
      .filter((l) => l.startsWith(name) && (l[name.length] === ' ' || l[name.length] === '{'))
      .reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return {
    seconds: sum('modelops_monitor_seconds_total'),
    scorer: sum('modelops_monitor_scorer_seconds_total'),
    requests: sum('modelops_inference_requests_total'),
  };
}

/** Closed-loop load: `concurrency` clients, each sending the next request when the last returns. */
async function load(
  url: string,
  path: string,
  body: string,
  concurrency: number,
  seconds: number,
  pid?: number,
  warmMs = 1000,
): Promise<Load> {
  const run = NODE_HTTP_CLIENT ? httpClosedLoop : closedLoop;
  await run(url, path, body, concurrency, warmMs / 1000);
  const threads0 = threadNs(pid);
  const gen0 = process.cpuUsage();
  const t0 = performance.now();
  const { latencies, errors } = await run(url, path, body, concurrency, seconds);
  const elapsed = (performance.now() - t0) / 1000;
  const threads = threadNs(pid);
  const gen = process.cpuUsage(gen0);
  const sorted = Float64Array.from(latencies).sort();
  return {
    rps: latencies.length / elapsed,
    p50: pct(sorted, 0.5),
    p99: pct(sorted, 0.99),
    errors,
    ...threadCpu(threads0, threads, pid, latencies.length),
    genUs: (gen.user + gen.system) / latencies.length,
  };
}

/**
 * CPU µs per logged request of the server's own logging path (line object → JSON → buffer →
 * batched append), in this process: a figure other jobs on the machine barely move.
 */
function logAppendCost(
  dir: string,
  manifest: ModelManifest,
  outputs: Array<{ name: string; data: Array<string | number> }>,
): { before: number; now: number } {
  const label = outputs.find((o) => o.name === 'label')?.data.map(String) ?? ['sun'];
  const probs = (outputs.find((o) => o.name === 'probabilities')?.data ?? []).map(Number);
  const root = join(dir, 'append-cost');
  const log = new PredictionLog(root, { flushMs: 1_000_000 });
  const n = 200_000;
  const k = probs.length;
  const measure = (line: (i: number) => void): number => {
    let best = Infinity;
    for (let round = 0; round < 3; round++) {
      const c = process.cpuUsage();
      for (let i = 0; i < n; i++) {
        line(i);
        // The server flushes every 200 ms: ~2,000 lines at 10k requests per second.
        if (i % 2000 === 1999) log.flushSync();
      }
      log.flushSync();
      const u = process.cpuUsage(c);
      best = Math.min(best, (u.user + u.system) / n);
    }
    return best;
  };
  // A UUID's length; the server makes its id whether it logs or not.
  const idOf = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  // The same 64 request bodies for both (values with 17 significant digits, like real floats).
  const bodies = Array.from({ length: 64 }, (_, b) =>
    inferBody(manifest.features, Object.fromEntries(manifest.features.map((f, j) => [f.name, j + b / 63]))),
  );
  const columns = bodies.map((b) =>
    Object.fromEntries(
      (JSON.parse(b) as { inputs: Array<{ name: string; data: unknown[] }> }).inputs.map((t) => [t.name, t.data]),
    ),
  );
  // The whole line through JSON.stringify (the probabilities formatted a second time).
  const before = measure((i) =>
    log.append('weather', {
      type: 'prediction',
      id: idOf(i),
      time: new Date().toISOString(),
      version: '1.0.0',
      latencyMs: Math.round(((i % 997) / 997) * 1000) / 1000,
      inputs: columns[i & 63],
      outputs: { label, probabilities: [probs] },
    }),
  );
  // The server's code (server.ts): the response's output text reused.
  const outData = responseText({
    model_name: 'weather',
    model_version: '1.0.0',
    id: 'x',
    outputs: [
      { name: 'label', datatype: 'BYTES', shape: [1], data: label },
      { name: 'probabilities', datatype: 'FP32', shape: [1, k], data: probs },
    ],
  }).data;
  const now = measure((i) =>
    log.appendText(
      'weather',
      predictionLine({
        id: idOf(i),
        time: isoTime(),
        version: '1.0.0',
        latencyMs: Math.round(((i % 997) / 997) * 1000) / 1000,
        // Single-row bodies: the server writes the parsed columns below RAW_INPUT_ROWS rows.
        inputs: columnsJson(columns[i & 63] as Record<string, unknown[]>),
        outputs: `{"label":${outData[0]},"probabilities":${nestRows(outData[1], k, 1)}}`,
      }),
    ),
  );
  rmSync(root, { recursive: true, force: true });
  return { before, now };
}

/**
 * CPU µs per request of live monitoring's two halves, in this process: packing on the request
 * thread (`ObservationPacker.add`, what `LiveMonitorHub.observe` does) and unpacking and scoring
 * (`LiveScorer`, what the worker does: windows of 100, drift tests `auto`), handed over every
 * 2,000 requests (200 ms at 10k requests a second). Figures other jobs on the machine barely move.
 */
function liveMonitorCost(
  manifest: ModelManifest,
  outputs: Array<{ name: string; data: Array<string | number> }>,
): { pack: number; score: number } {
  const label = String(outputs.find((o) => o.name === 'label')?.data[0] ?? 'sun');
  const probs = (outputs.find((o) => o.name === 'probabilities')?.data ?? []).map(Number);
  // The same 64 single rows as the logging figure, answered as the model answered the sample.
  const columns = Array.from({ length: 64 }, (_, b) =>
    Object.fromEntries(manifest.features.map((f, j) => [f.name, [j + b / 63]])),
  );
  const preds = [{ value: label, probabilities: probs }];
  const scorer = new LiveScorer(() => undefined);
  const packer = new ObservationPacker((m) => scorer.handle(m));
  scorer.handle({ type: 'configure', model: 'weather', config: liveConfig({ window: 100 }) });
  const idOf = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const n = 200_000;
  const cpu = (): number => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  let pack = Infinity;
  let score = Infinity;
  for (let round = 0; round < 3; round++) {
    let packUs = 0;
    let scoreUs = 0;
    for (let i = 0; i < n; i += 2000) {
      const t0 = cpu();
      for (let j = i; j < i + 2000; j++)
        packer.add('weather', '1.0.0', manifest, idOf(j), columns[j & 63], preds, 1.5, Date.now());
      const batch = packer.take()!;
      const t1 = cpu();
      scorer.handle(batch);
      const t2 = cpu();
      packUs += t1 - t0;
      scoreUs += t2 - t1;
    }
    pack = Math.min(pack, packUs / n);
    score = Math.min(score, scoreUs / n);
  }
  return { pack, score };
}

function inferBody(features: ReadonlyArray<{ name: string }>, row: Record<string, number>): string {
  return JSON.stringify({
    inputs: features.map((f) => ({ name: f.name, datatype: 'FP32', shape: [1, 1], data: [row[f.name]] })),
  });
}

const ROW = { precipitation: 0.3, temp_max: 12.8, temp_min: 5, wind: 4.7 };

/** Single-row /infer at concurrency 1, 8 and 32 against the raw server; returns the concurrency-32 pair. */
async function concurrencyTable(
  dir: string,
  bundle: string,
  body: string,
  children: ChildProcess[],
): Promise<{ m: Load; r: Load } | null> {
  const model = await startModelServerProcess(dir, bundle, true);
  children.push(model.child);
  const raw = await startRawServer();
  children.push(raw.child);
  console.log(
    `\nload average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    `model server ${model.url} (${serveArgs()[0].endsWith('cli.js') ? 'dist/cli.js' : 'from source'}), raw server ${raw.url}; ${SECONDS} s per round, single-row requests, best of ${ROUNDS} alternating rounds`,
  );
  console.log('| concurrency | /infer rps | p50 | p99 | raw http rps | raw p50 | raw p99 | ratio |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  let c32: { m: Load; r: Load } | null = null;
  for (const c of [1, 8, 32]) {
    // Alternate short rounds of the two servers and keep each one's best: other jobs on this
    // machine come and go, and interleaving exposes both to the same background.
    const rr: Load[] = [];
    const mm: Load[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      rr.push(await load(raw.url, '/v2/models/weather/infer', body, c, SECONDS));
      mm.push(await load(model.url, '/v2/models/weather/infer', body, c, SECONDS));
    }
    const r = best(rr);
    const m = best(mm);
    if (c === 32) c32 = { m, r };
    console.log(
      `| ${c} | ${m.rps.toFixed(0)} | ${m.p50.toFixed(2)} ms | ${m.p99.toFixed(2)} ms | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${(m.rps / r.rps).toFixed(2)}× |${m.errors + r.errors ? ` errors ${m.errors}/${r.errors}` : ''}`,
    );
  }
  model.child.kill();
  raw.child.kill();
  return c32;
}

/** The ONNX variant: the same table for an ONNX bundle (no training, no logging/monitoring rounds). */
async function mainOnnx(): Promise<void> {
  pin(process.pid, 1, 1);
  const dir = mkdtempSync(join(tmpdir(), 'modelops-bench-serving-onnx-'));
  const children: ChildProcess[] = [];
  try {
    const bundle = join(dir, 'bundle');
    const manifest = await writeOnnxBundle(bundle, join(repo, 'test', 'fixtures', 'onnx', 'weather-mlp-v1.onnx'), {
      target: 'weather',
    });
    console.log(
      `ONNX bundle of weather-mlp-v1.onnx (${manifest.graph.producer}, opset ${manifest.graph.opsets[''] ?? '?'}, inputs ${manifest.columns.join(', ')})`,
    );
    const c32 = await concurrencyTable(
      dir,
      bundle,
      inferBody(
        manifest.columns.map((name) => ({ name })),
        ROW,
      ),
      children,
    );
    if (c32)
      console.log(
        `ONNX ratio at concurrency 32: ${(c32.m.rps / c32.r.rps).toFixed(2)}× (target ≥ 0.8), p99 ${c32.m.p99.toFixed(2)} ms (target ≤ 10 ms)`,
      );
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeLog(dir: string, n: number): void {
  mkdirSync(dir, { recursive: true });
  const parts: string[] = [];
  const labels = ['drizzle', 'fog', 'rain', 'snow', 'sun'];
  for (let i = 0; i < n / 10; i++) {
    const t = (i % 300) / 10;
    const row = (k: number) => [t + k, (i % 7) + k / 10, t - 5, (k % 5) + 1];
    const rows = Array.from({ length: 10 }, (_, k) => row(k));
    parts.push(
      JSON.stringify({
        type: 'prediction',
        id: `q${i}`,
        time: '2026-01-01T00:00:00.000Z',
        version: '1.0.0',
        latencyMs: 0.8,
        inputs: {
          precipitation: rows.map((r) => r[3]),
          temp_max: rows.map((r) => r[0]),
          temp_min: rows.map((r) => r[2]),
          wind: rows.map((r) => r[1]),
        },
        outputs: {
          label: rows.map((_, k) => labels[(i + k) % 5]),
          probabilities: rows.map(() => [0.1, 0.1, 0.2, 0.1, 0.5]),
        },
      }) + '\n',
      JSON.stringify({
        type: 'feedback',
        id: `q${i}`,
        time: '2026-01-01T00:00:00.000Z',
        labels: rows.map((_, k) => labels[(i + k + (k === 0 ? 1 : 0)) % 5]),
      }) + '\n',
    );
  }
  writeFileSync(join(dir, 'predictions.jsonl'), parts.join(''));
}

async function main(): Promise<void> {
  pin(process.pid, 1, 1);
  const dir = mkdtempSync(join(tmpdir(), 'modelops-bench-serving-'));
  const children: ChildProcess[] = [];
  try {
    cpSync(join(repo, 'examples', 'sample'), join(dir, 'ws'), { recursive: true });
    const cfgPath = join(dir, 'ws', 'modelops.yaml');
    writeFileSync(cfgPath, readFileSync(cfgPath, 'utf8').replace(/epochs: \d+/, `epochs: ${EPOCHS}`));
    const registry = openRegistry(join(dir, 'ws'));
    const t0 = performance.now();
    const trained = await train({ configPath: cfgPath, registry });
    console.log(
      `trained ${trained.version.model}@${trained.version.version} (${EPOCHS} epochs, backend ${trained.backend}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const bundle = await registry.artifactPath(`${trained.version.model}@${trained.version.version}`);
    const manifest = JSON.parse(readFileSync(join(bundle, 'modelops.json'), 'utf8')) as ModelManifest;
    const body = inferBody(manifest.features, ROW);
    const c32 = ONLY_LOG ? null : await concurrencyTable(dir, bundle, body, children);

    // Logging off / on / on + live monitoring: three servers up, measured in rotating rounds;
    // a fresh set of three every LOG_ROUNDS / LOG_SETS rounds.
    const rps = { on: [] as Load[], off: [] as Load[], live: [] as Load[] };
    /** Per round: the server's own measure of its time in live monitoring, µs per request. */
    const liveUs: number[] = [];
    /** Per round: the scorer's (worker thread's) time, µs per request. */
    const scorerUs: number[] = [];
    /** Per round: which set of processes served it. */
    const setOf: number[] = [];
    let liveWindows = Infinity;
    let sample: { outputs: Array<{ name: string; data: Array<string | number> }> } | null = null;
    for (let set = 0, round = 0; set < LOG_SETS; set++) {
      const noLog = await startModelServerProcess(dir, bundle, false, false, set);
      children.push(noLog.child);
      const withLog = await startModelServerProcess(dir, bundle, true, false, set);
      children.push(withLog.child);
      const withLive = await startModelServerProcess(dir, bundle, true, true, set);
      children.push(withLive.child);
      // Windows of 100 (modelops.yaml's default) unless --live-window says otherwise; every request is monitored.
      await fetch(`${withLive.url}/v2/repository/models/weather/monitor`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ window: LIVE_WINDOW }),
      });
      for (const end = Math.round(((set + 1) * LOG_ROUNDS) / LOG_SETS); round < end; round++) {
        // Each set's servers are warm after its first round: a short warm-up opens the new connections.
        const warm = setOf.at(-1) === set ? 250 : 1000;
        setOf.push(set);
        const turns = [
          async () => rps.off.push(await load(noLog.url, INFER, body, 32, LOG_SECONDS, noLog.child.pid, warm)),
          async () => rps.on.push(await load(withLog.url, INFER, body, 32, LOG_SECONDS, withLog.child.pid, warm)),
          async () => {
            const before = await monitorCounters(withLive.url);
            rps.live.push(await load(withLive.url, INFER, body, 32, LOG_SECONDS, withLive.child.pid, warm));
            const after = await monitorCounters(withLive.url);
            liveUs.push(((after.seconds - before.seconds) * 1e6) / (after.requests - before.requests));
            scorerUs.push(((after.scorer - before.scorer) * 1e6) / (after.requests - before.requests));
          },
        ];
        for (let t = 0; t < turns.length; t++) await turns[(round + t) % turns.length]();
      }
      liveWindows = Math.min(
        liveWindows,
        (
          (await (await fetch(`${withLive.url}/v2/models/weather/monitor`)).json()) as {
            events: Array<{ event: string }>;
          }
        ).events.filter((e) => e.event === 'window').length,
      );
      // One real answer of the model, to log lines shaped exactly as the server writes them.
      sample ??= (await (await fetch(`${withLog.url}/v2/models/weather/infer`, { method: 'POST', body })).json()) as {
        outputs: Array<{ name: string; data: Array<string | number> }>;
      };
      for (const s of [noLog, withLog, withLive]) s.child.kill();
    }
    const appendUs = logAppendCost(dir, manifest, sample!.outputs);
    const liveCost = liveMonitorCost(manifest, sample!.outputs);
    const onLoad = best(rps.on);
    const off = best(rps.off);
    const median = (xs: number[]): number => quantile(xs, 0.5);
    /** "median m% (middle half a–b%)" of per-round costs. */
    const spread = (xs: number[]): string =>
      `median ${(median(xs) * 100).toFixed(1)}% (middle half ${(quantile(xs, 0.25) * 100).toFixed(1)} to ${(quantile(xs, 0.75) * 100).toFixed(1)}%)`;
    const signed = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;
    const list = (xs: number[], digits: number): string =>
      VERBOSE ? ` [${xs.map((x) => x.toFixed(digits)).join(', ')}]` : '';
    /** The median cost of each set of processes' rounds: how far two processes of the same code differ. */
    const bySet = (xs: number[]): string =>
      Array.from({ length: LOG_SETS }, (_, set) =>
        (median(xs.filter((_, i) => setOf[i] === set)) * 100).toFixed(1),
      ).join(' / ') + '%';
    // Throughput moves with other jobs on the machine; the server's own CPU time per request
    // moves less, and the in-process cost of the logging path hardly at all.
    const cpuOn = median(rps.on.map((x) => x.cpuUs));
    const cpuOff = median(rps.off.map((x) => x.cpuUs));
    const paired = rps.on.map((x, i) => 1 - x.rps / rps.off[i].rps);
    console.log(
      `\nlogging at concurrency 32, ${LOG_ROUNDS} rounds of ${LOG_SECONDS} s per server in ${LOG_SETS} sets of fresh processes, the servers' order rotating (load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}):` +
        `\n  best round: on ${onLoad.rps.toFixed(0)} rps (p99 ${onLoad.p99.toFixed(2)} ms), off ${off.rps.toFixed(0)} rps (p99 ${off.p99.toFixed(2)} ms): cost ${((1 - onLoad.rps / off.rps) * 100).toFixed(1)}%` +
        `\n  cost per round (on against off of the same round): ${spread(paired)}${list(
          paired.map((c) => c * 100),
          1,
        )}` +
        `\n  median per set of processes: ${bySet(paired)}` +
        `\n  ${verdict(medianInterval(paired, setOf, LOG_SETS), 0.1)}` +
        `\n  server CPU per request (median of rounds): on ${cpuOn.toFixed(1)} µs, off ${cpuOff.toFixed(1)} µs: logging adds ${((cpuOn / cpuOff - 1) * 100).toFixed(1)}%; median of the rounds' differences: main thread ${signed(median(rps.on.map((x, i) => x.mainUs - rps.off[i].mainUs)))} µs, other threads (GC helpers, file writes) ${signed(median(rps.on.map((x, i) => x.cpuUs - x.mainUs - (rps.off[i].cpuUs - rps.off[i].mainUs))))} µs` +
        `\n  the load generator (this process, on the same 2 cores): ${median(rps.off.map((x) => x.genUs)).toFixed(1)} µs of CPU per request` +
        `\n  throughput (median of rounds): on ${median(rps.on.map((x) => x.rps)).toFixed(0)} rps, off ${median(rps.off.map((x) => x.rps)).toFixed(0)} rps${list(
          rps.off.map((x) => x.rps),
          0,
        )}` +
        `\n  in-process: building, buffering and appending one log line (the server's code, 200 ms flushes) costs ${appendUs.now.toFixed(2)} µs of CPU = ${((appendUs.now / cpuOff) * 100).toFixed(1)}% of the server's ${cpuOff.toFixed(1)} µs per request without logging (the whole line through JSON.stringify: ${appendUs.before.toFixed(2)} µs = ${((appendUs.before / cpuOff) * 100).toFixed(1)}%)`,
    );
    const liveBest = best(rps.live);
    const pairedLive = rps.live.map((x, i) => 1 - x.rps / rps.off[i].rps);
    const pairedLiveVsLog = rps.live.map((x, i) => 1 - x.rps / rps.on[i].rps);
    const cpuLive = median(rps.live.map((x) => x.cpuUs));
    /** The four busiest other threads' µs per request, each rank's median over the rounds. */
    const byRank = (xs: Load[]): string =>
      [0, 1, 2, 3].map((r) => median(xs.map((x) => x.othersUs[r] ?? 0)).toFixed(2)).join(' / ') + ' µs';
    const mainOn = median(rps.on.map((x) => x.mainUs));
    console.log(
      `\nlogging + live monitoring (windows of ${LIVE_WINDOW}, ≥ ${liveWindows} windows streamed) at concurrency 32:` +
        `\n  best round: ${liveBest.rps.toFixed(0)} rps (p99 ${liveBest.p99.toFixed(2)} ms): cost vs off ${((1 - liveBest.rps / off.rps) * 100).toFixed(1)}%, vs logging only ${((1 - liveBest.rps / onLoad.rps) * 100).toFixed(1)}%` +
        `\n  cost per round vs off: ${spread(pairedLive)}${list(
          pairedLive.map((c) => c * 100),
          1,
        )}` +
        `\n  median per set of processes: ${bySet(pairedLive)}` +
        `\n  ${verdict(medianInterval(pairedLive, setOf, LOG_SETS), 0.1)}` +
        `\n  cost per round vs logging only: ${spread(pairedLiveVsLog)}` +
        `\n  server CPU per request (median): ${cpuLive.toFixed(1)} µs (+${((cpuLive / cpuOff - 1) * 100).toFixed(1)}% vs off, +${((cpuLive / cpuOn - 1) * 100).toFixed(1)}% vs logging only)` +
        `\n  CPU per request vs logging only, median of the rounds' differences: main thread ${signed(median(rps.live.map((x, i) => x.mainUs - rps.on[i].mainUs)))} µs, other threads ${signed(median(rps.live.map((x, i) => x.cpuUs - x.mainUs - (rps.on[i].cpuUs - rps.on[i].mainUs))))} µs (the monitor worker is one of them; logging only: main ${mainOn.toFixed(1)} µs, others ${(cpuOn - mainOn).toFixed(1)} µs)` +
        `\n  the request thread's time in live monitoring (modelops_monitor_seconds_total): median ${median(liveUs).toFixed(2)} µs per request = ${((median(liveUs) / cpuOff) * 100).toFixed(1)}% of the server's ${cpuOff.toFixed(1)} µs per request without logging${list(liveUs, 2)}` +
        `\n  the scorer's time (worker thread, modelops_monitor_scorer_seconds_total): median ${median(scorerUs).toFixed(2)} µs per request${list(scorerUs, 2)}` +
        `\n  other threads by CPU per request, busiest first (median of rounds per rank): with live monitoring ${byRank(rps.live)}; logging only ${byRank(rps.on)}` +
        `\n  in-process (the server's code in a loop, hand-over every 2,000 requests): packing ${liveCost.pack.toFixed(2)} µs, unpacking and scoring ${liveCost.score.toFixed(2)} µs per request = ${(((liveCost.pack + liveCost.score) / cpuOff) * 100).toFixed(1)}% of the server's ${cpuOff.toFixed(1)} µs`,
    );
    if (c32)
      console.log(
        `ratio at concurrency 32: ${(c32.m.rps / c32.r.rps).toFixed(2)}× (target ≥ 0.5), p99 ${c32.m.p99.toFixed(2)} ms (target ≤ 10 ms)`,
      );
    if (ONLY_LOG) {
      registry.close();
      return;
    }

    // Monitoring 1,000,000 logged predictions.
    const logDir = join(dir, 'biglog');
    writeLog(logDir, 1_000_000);
    const { config } = await loadConfig(cfgPath);
    const times: number[] = [];
    const cpu: number[] = [];
    let windows = 0;
    for (let i = 0; i < 3; i++) {
      const s = performance.now();
      const c = process.cpuUsage();
      const r = await monitor({
        registry,
        config,
        target: 'local',
        model: trained.version.model,
        logDir,
        alert: false,
        manifestFor: async () => manifest,
      });
      const u = process.cpuUsage(c);
      times.push(performance.now() - s);
      cpu.push((u.user + u.system) / 1000);
      windows = r.windows.length;
    }
    const mb = statSync(join(logDir, 'predictions.jsonl')).size / 1e6;
    console.log(
      `\nmonitoring 1,000,000 predictions (${mb.toFixed(0)} MB of JSONL, ${windows} windows, SPC p-chart + PSI of 4 features + predictions): best ${Math.min(...times).toFixed(0)} ms, runs ${times.map((t) => t.toFixed(0)).join(' / ')} ms wall, CPU ${cpu.map((t) => t.toFixed(0)).join(' / ')} ms (target ≤ 1000 ms; load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')})`,
    );
    registry.close();
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

(ONNX ? mainOnnx() : main()).catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
