/**
 * Registry benchmark.
 *   npx tsx bench/registry/run.ts [--versions 10000] [--models 100] [--mb 500] [--requests 600]
 * 1. 10,000 versions over 100 models, then list / filter / sort over LSP against the built
 *    sidecar (dist/server.js): round-trip p50/p95/max (target p95 ≤ 20 ms).
 * 2. Registering a 500 MB artifact vs `sha256sum` on the same file in the same run
 *    (throughput ratio target ≥ 0.8), with the peak RSS of the registering process.
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { openRegistry } from '../../server/engine/registry';
import { registry as rpc } from '../../server/protocol';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const VERSIONS = arg('versions', 10_000);
const MODELS = arg('models', 100);
const MB = arg('mb', 500);
const REQUESTS = arg('requests', 600);

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const ms = (x: number): string => `${x.toFixed(2)} ms`;

async function seed(root: string): Promise<void> {
  const reg = openRegistry(root);
  const t = performance.now();
  const perModel = Math.ceil(VERSIONS / MODELS);
  let n = 0;
  for (let m = 0; m < MODELS && n < VERSIONS; m++) {
    for (let i = 0; i < perModel && n < VERSIONS; i++, n++) {
      const src = join(root, 'src.onnx');
      writeFileSync(src, `model ${m} weights ${i}`);
      await reg.registerVersion({
        model: `model-${String(m).padStart(3, '0')}`,
        source: src,
        metrics: { accuracy: Math.random(), f1_macro: Math.random() },
        tags: i % 10 === 0 ? ['milestone'] : [],
        note: `run ${i}`,
      });
    }
    if (m % 10 === 9) process.stdout.write(`  seeded ${n} versions\n`);
  }
  reg.setAlias('model-000', 'production', '1.5.0');
  reg.close();
  const secs = (performance.now() - t) / 1000;
  console.log(
    `seeded ${n} versions over ${MODELS} models in ${secs.toFixed(1)} s (${(n / secs).toFixed(0)} registrations/s)`,
  );
}

async function lspLatency(
  root: string,
): Promise<{ p50: number; p95: number; max: number; byKind: Record<string, number> }> {
  const server = resolve(__dirname, '..', '..', 'dist', 'server.js');
  if (!existsSync(server)) throw new Error(`${server} is missing: run npm run build first`);
  const child = spawn(process.execPath, [server, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const conn = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  conn.onNotification(() => undefined);
  conn.onRequest(() => null);
  conn.listen();
  await conn.sendRequest('initialize', {
    processId: process.pid,
    rootUri: pathToFileURL(root).href,
    capabilities: {},
    initializationOptions: { trusted: true },
  });
  await conn.sendNotification('initialized', {});
  // Warm-up: open the registry, prepare statements.
  await conn.sendRequest(rpc.listModels.method, {});
  for (let i = 0; i < 20; i++) await conn.sendRequest(rpc.listVersions.method, { model: 'model-001', limit: 50 });
  const kinds: Array<{ name: string; params: (m: string) => object }> = [
    { name: 'list (version desc, page 1)', params: (m) => ({ model: m, limit: 50 }) },
    { name: 'list (page 2, asc)', params: (m) => ({ model: m, offset: 50, limit: 50, order: 'asc' }) },
    { name: 'sort by metric', params: (m) => ({ model: m, sort: 'accuracy', limit: 50 }) },
    { name: 'sort by created', params: (m) => ({ model: m, sort: 'created', limit: 50 }) },
    { name: 'filter', params: (m) => ({ model: m, filter: 'milestone', limit: 50 }) },
  ];
  const all: number[] = [];
  const byKind: Record<string, number[]> = {};
  for (let i = 0; i < REQUESTS; i++) {
    const k = kinds[i % kinds.length];
    const model = `model-${String(Math.floor(Math.random() * MODELS)).padStart(3, '0')}`;
    const t = performance.now();
    await conn.sendRequest(rpc.listVersions.method, k.params(model));
    const dt = performance.now() - t;
    all.push(dt);
    (byKind[k.name] ??= []).push(dt);
  }
  const tm = performance.now();
  await conn.sendRequest(rpc.listModels.method, {});
  (byKind['listModels (100 models)'] ??= []).push(performance.now() - tm);
  await conn.sendRequest('shutdown');
  await conn.sendNotification('exit');
  conn.dispose();
  child.kill();
  return {
    p50: pct(all, 0.5),
    p95: pct(all, 0.95),
    max: Math.max(...all),
    byKind: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, pct(v, 0.95)])),
  };
}

function writeBigFile(path: string, mb: number): void {
  const fd = openSync(path, 'w');
  const chunk = randomBytes(16 * 1024 * 1024);
  for (let written = 0; written < mb * 1024 * 1024; written += chunk.length) {
    chunk.writeUInt32LE(written >>> 0, 0);
    writeSync(fd, chunk, 0, Math.min(chunk.length, mb * 1024 * 1024 - written));
  }
  closeSync(fd);
}

function sha256sum(path: string): { secs: number; hex: string } {
  const t = performance.now();
  const out = execFileSync('sha256sum', [path], { encoding: 'utf8' });
  return { secs: (performance.now() - t) / 1000, hex: out.split(/\s+/)[0] };
}

async function bigArtifact(
  root: string,
): Promise<{ registerSecs: number[]; shaSecs: number[]; ratio: number; rssBase: number; rssPeak: number }> {
  mkdirSync(root, { recursive: true });
  const file = join(root, 'big.safetensors');
  writeBigFile(file, MB);
  sha256sum(file); // warm the page cache for both contenders
  const registerSecs: number[] = [];
  const shaSecs: number[] = [];
  let rssPeak = 0;
  const rssBase = process.memoryUsage().rss;
  for (let round = 0; round < 3; round++) {
    const s = sha256sum(file);
    shaSecs.push(s.secs);
    const store = join(root, `big-store-${round}`);
    const reg = openRegistry(store);
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 5);
    const t = performance.now();
    const v = await reg.registerVersion({ model: 'big', source: file });
    registerSecs.push((performance.now() - t) / 1000);
    clearInterval(sampler);
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    if (v.artifactDigest !== `sha256:${s.hex}`) throw new Error('digest differs from sha256sum');
    reg.close();
    rmSync(store, { recursive: true, force: true });
  }
  rmSync(file, { force: true });
  const best = (xs: number[]) => Math.min(...xs);
  return { registerSecs, shaSecs, ratio: best(shaSecs) / best(registerSecs), rssBase, rssPeak };
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'modelops-bench-registry-'));
  try {
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
    await seed(root);
    const lat = await lspLatency(root);
    console.log(
      `listVersions over LSP (${REQUESTS} requests, ${VERSIONS} versions / ${MODELS} models): p50 ${ms(lat.p50)}, p95 ${ms(lat.p95)}, max ${ms(lat.max)} — target p95 ≤ 20 ms: ${lat.p95 <= 20 ? 'met' : 'NOT met'}`,
    );
    for (const [k, v] of Object.entries(lat.byKind)) console.log(`  p95 ${k}: ${ms(v)}`);
    const big = await bigArtifact(join(root, 'big'));
    const mbps = (s: number) => (MB / s).toFixed(0);
    console.log(
      `register ${MB} MB: ${big.registerSecs.map((s) => `${s.toFixed(2)} s`).join(', ')} (best ${mbps(Math.min(...big.registerSecs))} MB/s)`,
    );
    console.log(
      `sha256sum ${MB} MB: ${big.shaSecs.map((s) => `${s.toFixed(2)} s`).join(', ')} (best ${mbps(Math.min(...big.shaSecs))} MB/s)`,
    );
    console.log(
      `throughput ratio register / sha256sum: ${big.ratio.toFixed(2)} — target ≥ 0.8: ${big.ratio >= 0.8 ? 'met' : 'NOT met'}`,
    );
    console.log(
      `RSS: ${(big.rssBase / 2 ** 20).toFixed(0)} MiB before, peak ${(big.rssPeak / 2 ** 20).toFixed(0)} MiB while registering (${((big.rssPeak - big.rssBase) / 2 ** 20).toFixed(0)} MiB more for a ${MB} MB file)`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
