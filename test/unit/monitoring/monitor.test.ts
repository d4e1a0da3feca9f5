import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import type { Registry } from '../../../server/engine/registry/types';
import type { ModelOpsConfig } from '../../../server/engine/config/types';
import type { ModelManifest, NumericProfile } from '../../../server/engine/model/types';
import { startModelServer, type RunningModelServer } from '../../../server/engine/serving';
import { targetStoreDir } from '../../../server/engine/deploy';
import { monitor, sendWebhook } from '../../../server/engine/monitoring';
import { ModelOpsError } from '../../../server/engine/errors';
import { psiNumeric, ks2samp, defaultThreshold } from '../../../server/engine/drift';
import { makeBundle, makeRows, inferBody, tempDir, LABELS } from '../serving/fixtures';
import { serverFeedback, serverPrediction } from './logLines';
import { runConfig } from '../fixtures/config';

let tmp: ReturnType<typeof tempDir>;
let registry: Registry;
let server: RunningModelServer;
let manifest: ModelManifest;
let hook: Server;
const hookBodies: unknown[] = [];
/** What the test sent: rows, predictions and truths, in log order. */
const sent: Array<{ temp_max: number; pred: string; truth: string }> = [];

function config(webhook: string, method: 'psi' | 'ks' = 'psi'): ModelOpsConfig {
  return runConfig({
    monitor: {
      target: 'local',
      window: 100,
      controlChart: { metric: 'accuracy', sigma: 3, baseline: 5, rules: [1, 2, 3, 4] },
      drift: { method, threshold: 0.2, features: ['temp_max', 'wind', 'season'] },
      alerts: { notify: true, webhook },
    },
  });
}

before(async () => {
  tmp = tempDir('monitor');
  const bundle = join(tmp.dir, 'bundle');
  manifest = await makeBundle(bundle, 1);
  registry = openRegistry(tmp.dir);
  await registry.registerVersion({ model: 'weather', source: bundle, version: '1.0.0', format: 'modelops-tfjs' });
  server = await startModelServer({
    port: 0,
    storeDir: targetStoreDir(registry.storeDir, 'local'),
    token: null,
    log: { flushMs: 10 },
  });
  await server.repository.load('weather', '1.0.0', bundle);
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hookBodies.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));

  // 12 windows of 100: accuracy ≈ 0.9 for 10 windows, then 0.3; temp_max shifted in the last two.
  let k = 0;
  for (let req = 0; req < 120; req++) {
    const w = Math.floor(req / 10);
    const rows = makeRows(10, req + 1, w >= 10 ? 25 : 0);
    const id = `r${req}`;
    const res = await fetch(server.url + '/v2/models/weather/infer', {
      method: 'POST',
      body: JSON.stringify(inferBody(rows, id)),
    });
    const out = ((await res.json()) as { outputs: Array<{ name: string; data: string[] }> }).outputs.find(
      (o) => o.name === 'label',
    )!.data;
    const labels = out.map((p, i) => {
      k++;
      const wrong = w >= 10 ? k % 10 < 7 : k % 10 === 0;
      const truth = wrong ? LABELS[(LABELS.indexOf(p) + 1) % LABELS.length] : p;
      sent.push({ temp_max: rows[i].temp_max, pred: p, truth });
      return truth;
    });
    // Feedback for all but the last request of each window: some rows stay unlabelled.
    if (req % 10 !== 9)
      await fetch(server.url + '/v2/models/weather/feedback', { method: 'POST', body: JSON.stringify({ id, labels }) });
  }
  // 30 more predictions: an incomplete window.
  await fetch(server.url + '/v2/models/weather/infer', {
    method: 'POST',
    body: JSON.stringify(inferBody(makeRows(30, 999))),
  });
  await server.log!.flush();
});

after(async () => {
  await server.close();
  await new Promise<void>((r) => hook.close(() => r()));
  registry.close();
  tmp.cleanup();
});

const hookUrl = () => `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;

test('windows carry accuracy from feedback, the prediction distribution and drift', async () => {
  const r = await monitor({ registry, config: config(hookUrl()), alert: false });
  assert.equal(r.totalPredictions, 1230);
  assert.equal(r.windows.length, 12);
  assert.equal(r.pending, 30);
  for (const w of r.windows) {
    const rows = sent.slice(w.index * 100, w.index * 100 + 90); // the last request of each window has no feedback
    const acc = rows.filter((s) => s.pred === s.truth).length / rows.length;
    assert.equal(w.labelled, 90);
    assert.ok(Math.abs(w.accuracy! - acc) < 1e-12, `window ${w.index}: ${w.accuracy} vs ${acc}`);
    const dist: Record<string, number> = {};
    for (const s of sent.slice(w.index * 100, w.index * 100 + 100)) dist[s.pred] = (dist[s.pred] ?? 0) + 1;
    assert.deepEqual(w.distribution, dist);
    assert.equal(w.version, '1.0.0');
  }
  // PSI of a window equals the drift module on the same numbers.
  const prof = manifest.profile.features.temp_max as NumericProfile;
  const last = r.windows[11];
  const expected = psiNumeric(
    prof.sample,
    sent.slice(1100, 1200).map((s) => s.temp_max),
    prof.quantiles,
  );
  assert.ok(Math.abs(last.drift.temp_max - expected) < 1e-12);
  assert.ok(r.windows[0].drift.temp_max < 0.2);
  assert.ok(last.drift.temp_max > 0.2);
  assert.ok(r.drift!.features.find((f) => f.name === 'temp_max')!.drifted);
  assert.ok(!r.drift!.features.find((f) => f.name === 'wind')!.drifted);
  assert.equal(r.chart!.chart, 'p');
  assert.equal(r.chart!.values.length, 12);
  assert.ok(r.chart!.violations.some((v) => v.index >= 10 && v.rule === 1));
});

test('KS drift: the statistic per window and the p-value of the latest window', async () => {
  const r = await monitor({ registry, config: config(hookUrl(), 'ks'), alert: false });
  const prof = manifest.profile.features.temp_max as NumericProfile;
  const ks = ks2samp(
    prof.sample,
    sent.slice(1100, 1200).map((s) => s.temp_max),
  );
  const f = r.drift!.features.find((x) => x.name === 'temp_max')!;
  assert.ok(Math.abs(f.score - ks.statistic) < 1e-12);
  assert.ok(Math.abs(f.pValue! - ks.pValue) < 1e-12);
  // The older `method: ks` keeps its meaning: D > threshold (0.2 here).
  assert.equal(f.threshold, 0.2);
  assert.equal(f.drifted, ks.statistic > 0.2);
  // `test: ks` is Evidently's: drift when p < threshold (default 0.05).
  const c = config(hookUrl());
  c.monitor!.drift = { test: 'ks', features: ['temp_max', 'wind'] };
  const t = await monitor({ registry, config: c, alert: false });
  for (const g of t.drift!.features) {
    assert.equal(g.threshold, 0.05);
    assert.equal(g.drifted, g.pValue! < 0.05, `${g.name}: p ${g.pValue}`);
  }
  assert.ok(t.drift!.features.find((g) => g.name === 'temp_max')!.drifted);
});

test('the drift window is its own setting: the drift of each window looks at the latest drift.window predictions', async () => {
  const c = config(hookUrl());
  c.monitor!.drift = { test: 'psi', window: 300, features: ['temp_max'] };
  const r = await monitor({ registry, config: c, alert: false });
  const prof = manifest.profile.features.temp_max as NumericProfile;
  const last = r.windows[11];
  const expected = psiNumeric(
    prof.sample,
    sent.slice(900, 1200).map((s) => s.temp_max),
    prof.quantiles,
  );
  assert.ok(Math.abs(last.drift.temp_max - expected) < 1e-12, `${last.drift.temp_max} vs ${expected}`);
  // The first window has fewer than 300 predictions before its end: it uses what there is.
  const first = psiNumeric(
    prof.sample,
    sent.slice(0, 100).map((s) => s.temp_max),
    prof.quantiles,
  );
  assert.ok(Math.abs(r.windows[0].drift.temp_max - first) < 1e-12);
  assert.equal(r.drift!.window, 300);
  assert.equal(r.drift!.method, 'psi');
  assert.equal(r.drift!.threshold, 0.2);
  // A named test wins over the older `method`.
  c.monitor!.drift = { test: 'wasserstein', method: 'ks', features: ['temp_max'] };
  const w = await monitor({ registry, config: c, alert: false });
  assert.equal(w.drift!.features[0].test, 'wasserstein');
  assert.equal(w.drift!.features[0].pValue, null);
  assert.equal(w.drift!.features[0].threshold, 0.1);
  assert.ok(w.drift!.features[0].drifted, `Wasserstein ${w.drift!.features[0].score} on a +25 shift`);
});

test('alerts are recorded once, sent to the webhook, and a failing webhook never throws', async () => {
  const r = await monitor({ registry, config: config(hookUrl()) });
  assert.ok(r.alerts.some((a) => a.rule === 'we1'));
  assert.ok(r.alerts.some((a) => a.rule === 'drift:temp_max'));
  assert.ok(r.alerts.every((a) => a.target === 'local' && a.model === 'weather' && a.version === '1.0.0'));
  assert.equal(registry.listAlerts({ target: 'local' }).length, r.alerts.length);
  assert.equal(hookBodies.length, 1);
  assert.equal((hookBodies[0] as { alerts: unknown[] }).alerts.length, r.alerts.length);
  const again = await monitor({ registry, config: config(hookUrl()) });
  assert.equal(again.alerts.length, 0, 'no duplicates');
  assert.equal(hookBodies.length, 1);
  const logs: string[] = [];
  assert.equal(await sendWebhook('http://127.0.0.1:1/hook?key=s3cret', { x: 1 }, 500, (m) => logs.push(m)), false);
  assert.match(logs[0], /failed/);
  assert.ok(!logs[0].includes('s3cret'));
});

test('an http target: the log is downloaded through the management API with the token', async () => {
  const remote = await startModelServer({
    port: 0,
    storeDir: join(tmp.dir, 'remote'),
    token: 'remote-tok-91',
    log: { flushMs: 10 },
  });
  try {
    await remote.repository.load('weather', '1.0.0', join(tmp.dir, 'bundle'));
    for (let i = 0; i < 25; i++)
      await fetch(remote.url + '/v2/models/weather/infer', {
        method: 'POST',
        body: JSON.stringify(inferBody(makeRows(4, i + 1))),
      });
    const cfg = config(hookUrl());
    cfg.deploy!.targets.edge = {
      type: 'http',
      url: remote.url,
      requireApproval: false,
      smokeTest: { rows: 5, tolerance: 1e-6 },
    };
    cfg.monitor!.target = 'edge';
    const r = await monitor({ registry, config: cfg, alert: false, tokenFor: () => 'remote-tok-91' });
    assert.equal(r.totalPredictions, 100);
    assert.equal(r.windows.length, 1);
    assert.equal(r.remote?.url, remote.url);
    assert.ok(r.remote!.bytes > 0);
    assert.equal(r.remote!.fetched, r.remote!.bytes);
    // Read again with nothing new on the endpoint: the same log, nothing fetched.
    const again = await monitor({ registry, config: cfg, alert: false, tokenFor: () => 'remote-tok-91' });
    assert.equal(again.totalPredictions, 100);
    assert.deepEqual(again.remote, { ...r.remote, fetched: 0 });
    // A local log has no remote source.
    assert.equal((await monitor({ registry, config: config(hookUrl()), alert: false })).remote, null);
    await assert.rejects(monitor({ registry, config: cfg, alert: false, tokenFor: () => 'wrong' }), /answered 403/);
  } finally {
    await remote.close();
  }
});

test('no windows yet: a note instead of a chart', async () => {
  const r = await monitor({ registry, config: config(hookUrl()), logDir: join(tmp.dir, 'empty'), alert: false });
  assert.equal(r.windows.length, 0);
  assert.equal(r.chart, null);
  assert.match(r.chartNote!, /no complete window/);
});

test('a target modelops.yaml does not name is refused, naming the configured ones (not read as an empty log)', async () => {
  await assert.rejects(
    monitor({ registry, config: config(hookUrl()), target: 'nowhere', alert: false }),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.code === 'unknown-target' &&
      /Target 'nowhere' is not in deploy\.targets of modelops\.yaml \(configured: local\)/.test(e.message),
  );
});

test('1,000,000 logged predictions: windows, SPC and drift well under the budget', async () => {
  const dir = join(tmp.dir, 'big');
  mkdirSync(dir);
  // 100,000 requests of 10 rows; feedback for every request.
  const parts: string[] = [];
  for (let i = 0; i < 100_000; i++) {
    const t = (i % 300) / 10;
    parts.push(
      serverPrediction({
        id: `q${i}`,
        time: '2026-01-01T00:00:00.000Z',
        version: '1.0.0',
        latencyMs: 0.8,
        inputs: {
          temp_max: [t, t + 1, t + 2, t, t, t, t, t, t, t],
          wind: [1, 2, 3, 4, 5, 6, 7, 1, 2, 3],
          season: Array.from({ length: 10 }, (_, k) => (k % 2 ? 'winter' : 'summer')),
        },
        outputs: {
          label: Array.from({ length: 10 }, (_, k) => ['rain', 'sun', 'fog'][k % 3]),
          probabilities: Array.from({ length: 10 }, () => [0.2, 0.5, 0.3]),
        },
      }) + '\n',
      serverFeedback({
        id: `q${i}`,
        time: '2026-01-01T00:00:00.000Z',
        labels: ['rain', 'sun', 'sun', 'rain', 'sun', 'fog', 'rain', 'sun', 'fog', 'rain'],
      }) + '\n',
    );
  }
  writeFileSync(join(dir, 'predictions.jsonl'), parts.join(''));
  // Its speed against reading + JSON.parse is measured by bench/monitoring (a test asserts behaviour).
  const r = await monitor({ registry, config: config(hookUrl()), logDir: dir, alert: false });
  assert.equal(r.totalPredictions, 1_000_000);
  assert.equal(r.windows.length, 10_000);
  assert.ok(Math.abs(r.windows[0].accuracy! - 0.9) < 1e-12);
});

test('without a monitor: block, monitoring uses the schema defaults for the task (window 100, auto drift tests, the task metric)', async () => {
  const noMonitor = config(hookUrl());
  delete noMonitor.monitor;
  const r = await monitor({ registry, config: noMonitor, target: 'local', alert: false });
  assert.equal(r.window, 100);
  assert.equal(r.windows.length, 12);
  // drift.test defaults to auto: a small reference (≤ 1000 rows) gets KS for numeric columns.
  assert.equal(r.driftTests.temp_max, 'ks');
  for (const f of r.drift!.features) {
    assert.equal(f.test, r.driftTests[f.name]);
    assert.equal(f.threshold, defaultThreshold(f.test));
    assert.equal(f.drifted, f.pValue !== null ? f.pValue < f.threshold : f.score > f.threshold);
  }
  assert.equal(r.drift!.window, 100);
  assert.equal(r.chart!.values.length, 12);
  assert.equal(r.chart!.metric, 'accuracy');
  assert.equal(r.chart!.sigmaEstimator, 'binomial');
  assert.equal(r.chart!.side, 'lower');
  // A regression config charts mae (these windows, from a classifier, have none), never accuracy.
  const regression = { ...noMonitor, model: { ...noMonitor.model, task: 'regression' as const } };
  const rr = await monitor({ registry, config: regression, target: 'local', alert: false });
  assert.equal(rr.chart, null);
  assert.match(rr.chartNote ?? '', /No window has mae yet/);
});
