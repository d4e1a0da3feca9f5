/**
 * Live monitoring through the built sidecar and a real `modelops serve` process: after a deploy,
 * the sidecar follows the model server's monitor stream on its own; traffic whose feedback breaks
 * rule 1 makes an alert reach the client as a `modelops/monitoring/alert` notification without
 * any request, the `monitor.on` rollback policy switches the target back, and the alert counts
 * start over for the restored version. In Restricted Mode the sidecar follows nothing. Also the
 * Datasets requests: data versions with the versions that used them, and a checkout of exact bytes;
 * and retraining from that traffic as the alert's Retrain does it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { core, deploy, monitoring, registry, training } from '../../server/protocol';
import type { LiveAlertParams, SubscriptionsResult } from '../../server/protocol/monitoring';
import { readLocalToken, readServerRecord, stopLocalServer } from '../../server/engine/deploy';
import { freePort } from '../../server/engine/net';
import { REPO, startSidecar } from './client';

const rows = readFileSync(join(REPO, 'examples/sample/data/seattle-weather.csv'), 'utf8').trim().split('\n');
const data = [rows[0], ...rows.slice(1).filter((_, i) => i % 4 === 0)].join('\n') + '\n';
const FEATURES = ['precipitation', 'temp_max', 'temp_min', 'wind'];
const WINDOW = 20;

const config = (port: number, epochs: number) => `version: 1
project: proto
data:
  train: data/weather.csv
  target: weather
  features: [${FEATURES.join(', ')}]
  split: { train: 0.7, validation: 0.15, test: 0.15, seed: 42 }
model:
  name: weather
  task: classification
  framework: tfjs
  layers:
    - { type: dense, units: 8, activation: relu }
    - { type: dense, units: 5, activation: softmax }
train: { epochs: ${epochs}, batchSize: 32, seed: 42, classWeights: none }
evaluate:
  metrics: [accuracy]
deploy:
  targets:
    local: { type: local, host: 127.0.0.1, port: ${port}, requireApproval: false, smokeTest: { rows: 10, tolerance: 0.000001 } }
monitor:
  target: local
  window: ${WINDOW}
  controlChart: { metric: accuracy, sigma: 3, baseline: 3, rules: [1] }
  drift: { method: psi, threshold: 0.2 }
  on: { alert: notify, we1: rollback }
`;

/** Feature rows of the dataset, as the server's infer route takes them. */
const featureRows = rows.slice(1).map((line) => {
  const cells = line.split(',');
  const header = rows[0].split(',');
  return FEATURES.map((f) => Number(cells[header.indexOf(f)]));
});

async function infer(url: string, row: number[]): Promise<{ id: string; label: string }> {
  const body = { inputs: FEATURES.map((name, i) => ({ name, shape: [1, 1], datatype: 'FP32', data: [row[i]] })) };
  const res = await fetch(`${url}/v2/models/weather/infer`, { method: 'POST', body: JSON.stringify(body) });
  assert.equal(res.status, 200, `infer answered ${res.status}: ${await res.clone().text()}`);
  const answer = (await res.json()) as { id: string; outputs: Array<{ name: string; data: string[] }> };
  return { id: answer.id, label: answer.outputs.find((o) => o.name === 'label')!.data[0] };
}

/** The server's own count of open monitor streams (Prometheus gauge). */
async function subscribers(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^modelops_monitor_subscribers (\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

async function until(what: string, ok: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('an alert reaches the editor on its own; the rollback policy acts; counts start over; retrain from traffic; Restricted Mode follows nothing', async () => {
  const port = await freePort();
  const c = await startSidecar({ files: { 'modelops.yaml': config(port, 2), 'data/weather.csv': data } });
  const store = join(c.workspace, '.modelops');
  try {
    const v1 = (await c.request(training.train, { configUri: c.uri('modelops.yaml') })).version.version;
    writeFileSync(join(c.workspace, 'modelops.yaml'), config(port, 3));
    const v2 = (await c.request(training.train, { configUri: c.uri('modelops.yaml') })).version.version;
    assert.notEqual(v1, v2);

    // Data versions: the training file is stored, used by both versions, and restored byte for byte.
    const ds = await c.request(monitoring.datasets, {});
    const weather = ds.find((d) => d.path === 'data/weather.csv');
    assert.ok(weather?.stored, `the training data is stored: ${JSON.stringify(ds)}`);
    assert.equal(weather.rows, data.trim().split('\n').length - 1);
    assert.deepEqual([...new Set(weather.usedBy.map((u) => u.version))].sort(), [v1, v2].sort());
    const out = join(c.workspace, 'restored', 'weather.csv');
    const restored = await c.request(monitoring.checkoutDataset, { digest: weather.digest, out });
    assert.equal(restored.path, out);
    assert.equal(readFileSync(out, 'utf8'), data);
    await assert.rejects(c.request(monitoring.checkoutDataset, { digest: weather.digest, out }), (e: Error) =>
      /already exists/.test(e.message),
    );

    // Before any deploy there is nothing to follow, and the sidecar says why.
    await until('the sidecar to look at the targets', async () =>
      (await c.request(monitoring.subscriptions, {})).skipped.some(
        (x) => x.target === 'local' && x.reason === 'nothing deployed',
      ),
    );
    assert.deepEqual((await c.request(monitoring.subscriptions, {})).subscriptions, []);

    await c.request(deploy.deploy, { ref: `weather@${v1}`, target: 'local' });
    await c.request(deploy.deploy, { ref: `weather@${v2}`, target: 'local' });
    const url = readServerRecord(store, 'local')!.url;

    // No request from here on: the sidecar notices the deployment and subscribes by itself.
    await c.waitFor<SubscriptionsResult>(
      monitoring.subscriptionsChanged.method,
      (p) => p.subscriptions.some((s) => s.target === 'local' && s.model === 'weather'),
      15_000,
    );
    await until('the server to see the sidecar subscribed', async () => (await subscribers(url)) >= 1);

    // Windows of 20 with feedback: accuracy 0.9 three times (the baseline), then 0.2 breaks rule 1.
    let k = 0;
    for (const correct of [18, 18, 18, 4]) {
      for (let i = 0; i < WINDOW; i++) {
        const r = await infer(url, featureRows[k++ % featureRows.length]);
        const truth = i < correct ? r.label : r.label === 'sun' ? 'rain' : 'sun';
        const fb = await fetch(`${url}/v2/models/weather/feedback`, {
          method: 'POST',
          body: JSON.stringify({ id: r.id, label: truth }),
        });
        assert.equal(fb.status, 202);
      }
    }
    const got = await c.waitFor<LiveAlertParams>(monitoring.alert.method, (p) => p.alert.rule === 'we1', 20_000);
    assert.equal(got.target, 'local');
    assert.equal(got.model, 'weather');
    assert.equal(got.alert.version, v2);
    assert.equal(got.alert.window, 3, 'the alert belongs to the window that broke the rule');
    assert.equal(got.outcome.action, 'rollback');
    assert.equal(got.outcome.because, 'we1');
    assert.ok(got.outcome.ok, got.outcome.detail);
    assert.equal(got.outcome.deployment?.version, v1);
    assert.match(got.outcome.detail, new RegExp(`from ${v2.replace(/\./g, '\\.')} to ${v1.replace(/\./g, '\\.')}`));
    assert.ok(typeof got.outcome.alertId === 'number', 'the alert was recorded');
    await c.waitFor(core.changed.method, (p: { kind: string }) => p.kind === 'alerts');

    // The rollback is real: the registry and the server agree that v1 serves again, with the reason.
    const active = (await c.request(registry.listDeployments, { target: 'local', model: 'weather', limit: 1 }))[0];
    assert.equal(active.version, v1);
    assert.match(active.reason ?? '', /automatic rollback by monitor\.on\.we1/);
    const r = await fetch(`${url}/v2/models/weather/infer`, {
      method: 'POST',
      body: JSON.stringify({
        inputs: FEATURES.map((name, i) => ({ name, shape: [1, 1], datatype: 'FP32', data: [featureRows[0][i]] })),
        parameters: { modelops_log: false },
      }),
    });
    assert.equal(((await r.json()) as { model_version: string }).model_version, v1);

    // Alert counts outlive the switch: v2 keeps its alert, the restored v1 starts at zero.
    const counts = await c.request(monitoring.alertCounts, { target: 'local' });
    const w = counts.find((x) => x.model === 'weather');
    assert.ok(w);
    assert.equal(w.version, v1);
    assert.equal(w.sinceDeploy, 0);
    assert.ok((w.byVersion[v2] ?? 0) >= 1, JSON.stringify(w));

    // The alert's Retrain: labelled traffic (+ half original rows) → a stored data version → a gated version.
    // The server appends its log every 200 ms and the alert can come sooner: wait for every line on disk.
    const logFile = join(store, 'serving', 'local', 'logs', 'weather', 'predictions.jsonl');
    await until(
      'the prediction log to hold every request and its feedback',
      () =>
        existsSync(logFile) &&
        readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((l) => l.includes('"type":"feedback"')).length >=
          4 * WINDOW,
    );
    const retrained = await c.request(monitoring.retrainFromTraffic, {
      target: 'local',
      mix: 0.5,
      workDoneToken: 'retrain-1',
    });
    assert.equal(retrained.dataset.labelled, 4 * WINDOW);
    assert.ok(retrained.dataset.originalRows > 0);
    assert.ok(
      c.progress.some((p) => p.token === 'retrain-1' && p.value.kind === 'end'),
      'work-done progress was reported',
    );
    assert.notEqual(retrained.version.version, v2);
    const afterRetrain = await c.request(monitoring.datasets, {});
    const traffic = afterRetrain.find((d) => d.digest === retrained.dataset.digest);
    assert.ok(traffic?.stored, 'the traffic dataset is a stored data version');
    assert.deepEqual(
      traffic.usedBy.filter((u) => u.role === 'train').map((u) => u.version),
      [retrained.version.version],
    );

    // Restricted Mode: the sidecar drops every stream and the server sees none.
    await c.connection.sendNotification(core.setTrust.method, { trusted: false });
    await c.waitFor<SubscriptionsResult>(
      monitoring.subscriptionsChanged.method,
      (p) => !p.trusted && p.subscriptions.length === 0,
      15_000,
    );
    await until('the server to see no subscriber', async () => (await subscribers(url)) === 0);
    const now = await c.request(monitoring.subscriptions, {});
    assert.deepEqual(now.subscriptions, []);
    await assert.rejects(
      c.request(monitoring.checkoutDataset, { digest: weather.digest, out: join(c.workspace, 'again.csv') }),
      (e: Error) => /untrusted workspace/.test(e.message),
    );
  } finally {
    await stopLocalServer(store, 'local', readLocalToken(store, 'local') ?? '').catch(() => undefined);
    await c.close();
  }
});
