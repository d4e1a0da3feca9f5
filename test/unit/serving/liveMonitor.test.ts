/**
 * Live monitoring against a real `modelops serve` process started by deploy: the SSE stream,
 * an alert within the window that broke rule 1, the rollback policy acting under load with no
 * failed request, Last-Event-ID resume from the backlog, and the Prometheus gauges.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import type { Registry } from '../../../server/engine/registry/types';
import type { ModelOpsConfig } from '../../../server/engine/config/types';
import { deploy, localToken, readServerRecord } from '../../../server/engine/deploy';
import { followMonitor, type FollowedEvent } from '../../../server/engine/monitoring/live/client';
import { runPolicy, type PolicyOutcome } from '../../../server/engine/monitoring/policy';
import { makeBundle, makeRows, inferBody, tempDir, writeCsv } from './fixtures';
import { localTarget, runConfig } from '../fixtures/config';
import { serveCommand, stopServer } from '../fixtures/serve';

let tmp: ReturnType<typeof tempDir>;
let registry: Registry;
let config: ModelOpsConfig;
let token: string;

const access = () => ({ registry, config, tokenFor: () => token, serveCommand });

before(async () => {
  tmp = tempDir('live');
  mkdirSync(join(tmp.dir, 'data'));
  writeCsv(
    join(tmp.dir, 'data', 'val.csv'),
    makeRows(40, 5).map((r, i) => ({ ...r, weather: ['rain', 'sun', 'fog'][i % 3] })),
  );
  registry = openRegistry(tmp.dir);
  for (const [v, seed] of [
    ['1.0.0', 1],
    ['1.1.0', 2],
  ] as const) {
    const dir = join(tmp.dir, `bundle-${v}`);
    await makeBundle(dir, seed);
    await registry.registerVersion({ model: 'weather', source: dir, version: v, format: 'modelops-tfjs' });
  }
  config = runConfig({
    project: 'test',
    data: { train: 'data/val.csv', validation: 'data/val.csv', split: { seed: 42 } },
    targets: { local: localTarget({ rows: 10 }) },
  });
  token = localToken(registry.storeDir, 'local');
  await deploy({ ...access(), ref: 'weather@1.0.0', target: 'local' });
  await deploy({ ...access(), ref: 'weather@1.1.0', target: 'local' });
});

after(async () => {
  await stopServer(registry.storeDir, token);
  registry.close();
  tmp.cleanup();
});

const url = () => readServerRecord(registry.storeDir, 'local')!.url;

async function infer(
  row: Record<string, unknown>,
  log = true,
): Promise<{ id: string; label: string; version: string }> {
  const res = await fetch(`${url()}/v2/models/weather/infer`, {
    method: 'POST',
    body: JSON.stringify({ ...inferBody([row]), ...(log ? {} : { parameters: { modelops_log: false } }) }),
  });
  if (res.status !== 200) throw new Error(`infer answered ${res.status}`);
  const body = (await res.json()) as {
    id: string;
    model_version: string;
    outputs: Array<{ name: string; data: string[] }>;
  };
  return { id: body.id, version: body.model_version, label: body.outputs.find((o) => o.name === 'label')!.data[0] };
}

test('the stream carries windows and a rule-1 alert in the window that broke it; the rollback policy acts under load', async () => {
  const put = await fetch(`${url()}/v2/repository/models/weather/monitor`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ window: 20, baseline: 3, metric: 'accuracy' }),
  });
  assert.equal(put.status, 200, await put.clone().text());
  assert.equal(
    (
      await fetch(`${url()}/v2/repository/models/weather/monitor`, {
        method: 'PUT',
        body: '{"window": 1}',
        headers: { authorization: `Bearer ${token}` },
      })
    ).status,
    400,
  );

  // A client sending (unmonitored) requests the whole time.
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const load = (async () => {
    const rows = makeRows(50, 3);
    for (let i = 0; !stop; i++) {
      try {
        await infer(rows[i % rows.length], false);
        ok++;
      } catch (e) {
        failures.push(String(e));
      }
    }
  })();

  const controller = new AbortController();
  const events: FollowedEvent[] = [];
  const outcomes: PolicyOutcome[] = [];
  const seen = new Set<string>();
  const follower = (async () => {
    for await (const e of followMonitor({ url: url(), model: 'weather', signal: controller.signal })) {
      events.push(e);
      if (e.event === 'alert')
        outcomes.push(
          await runPolicy({
            ...access(),
            target: 'local',
            on: { alert: 'notify', we1: 'rollback' },
            alert: e.data,
            seen,
          }),
        );
    }
  })();
  await new Promise((r) => setTimeout(r, 300));

  // Accuracy 0.9, 0.85, 0.95 (baseline), 0.9, then 0.2: feedback says right or wrong on purpose.
  const rows = makeRows(100, 9);
  let k = 0;
  for (const correct of [18, 17, 19, 18, 4]) {
    for (let i = 0; i < 20; i++) {
      const r = await infer(rows[k++]);
      const truth = i < correct ? r.label : r.label === 'sun' ? 'rain' : 'sun';
      const fb = await fetch(`${url()}/v2/models/weather/feedback`, {
        method: 'POST',
        body: JSON.stringify({ id: r.id, label: truth }),
      });
      assert.equal(fb.status, 202);
    }
  }
  for (let i = 0; i < 100 && !outcomes.some((o) => o.action === 'rollback'); i++)
    await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 200));
  stop = true;
  await load;
  controller.abort();
  await follower;

  const windows = events
    .filter((e) => e.event === 'window')
    .map((e) => e.data as { index: number; accuracy: number; version: string });
  assert.deepEqual(
    windows.map((w) => w.accuracy),
    [0.9, 0.85, 0.95, 0.9, 0.2],
  );
  assert.ok(windows.every((w) => w.version === '1.1.0'));
  const alert = events.find((e) => e.event === 'alert' && e.data.rule === 'we1');
  assert.ok(alert && alert.event === 'alert');
  assert.equal(alert.data.window, 4, 'the alert belongs to the window that broke the rule');
  const ids = events.filter((e) => e.id !== null).map((e) => e.id!);
  assert.ok(
    ids.indexOf(alert.id!) === ids.indexOf(events.find((e) => e.event === 'window' && e.data.index === 4)!.id!) + 1,
    'the alert follows its window on the stream',
  );

  const rolled = outcomes.find((o) => o.action === 'rollback');
  assert.ok(rolled?.ok, rolled?.detail);
  assert.equal(rolled.deployment?.version, '1.0.0');
  assert.match(
    rolled.deployment?.reason ?? '',
    /^automatic rollback by monitor\.on\.we1 after we1 in live window 5 \(accuracy 0\.200\).*; rollback from 1\.1\.0$/,
  );
  assert.equal(registry.activeDeployment('local', 'weather')?.version, '1.0.0');
  const entry = registry
    .auditLog({})
    .find(
      (a) => a.action === 'deploy' && a.version === '1.0.0' && JSON.stringify(a.after).includes('automatic rollback'),
    );
  assert.ok(entry, 'the audit trail holds the rollback with its reason');
  assert.equal(
    registry.listAlerts({ target: 'local' }).filter((a) => a.rule === 'we1').length,
    1,
    'the alert is recorded once',
  );
  assert.equal((await infer(makeRows(1)[0], false)).version, '1.0.0');
  assert.deepEqual(failures, [], 'no request failed during the automatic rollback');
  assert.ok(ok > 20, `only ${ok} requests ran`);

  // Prometheus gauges of the live windows.
  const metrics = await (await fetch(`${url()}/metrics`)).text();
  assert.match(metrics, /modelops_monitor_window_metric\{model="weather",version="1\.1\.0",metric="accuracy"\} 0\.2\n/);
  assert.match(
    metrics,
    /modelops_monitor_feature_drift\{model="weather",version="1\.1\.0",feature="temp_max",method="(ks|psi|wasserstein)"\} [0-9.]+\n/,
  );
  assert.match(metrics, /modelops_monitor_rule_violations_total\{model="weather",version="1\.1\.0",rule="we1"\} 1\n/);

  // Resume: after the second event, the stream replays the rest of the backlog in order.
  const resumed: FollowedEvent[] = [];
  const c2 = new AbortController();
  const done = (async () => {
    for await (const e of followMonitor({ url: url(), model: 'weather', lastEventId: ids[1], signal: c2.signal })) {
      resumed.push(e);
      if (resumed.length === ids.length - 2) c2.abort();
    }
  })();
  const timer = setTimeout(() => c2.abort(), 5000);
  await done;
  clearTimeout(timer);
  assert.deepEqual(
    resumed.map((e) => e.id),
    ids.slice(2),
  );
  // An id from another server run says so, then replays the backlog.
  const reset: FollowedEvent[] = [];
  const c3 = new AbortController();
  const t3 = setTimeout(() => c3.abort(), 5000);
  for await (const e of followMonitor({ url: url(), model: 'weather', lastEventId: 'ffffffff:3', signal: c3.signal })) {
    reset.push(e);
    if (reset.length === ids.length + 1) c3.abort();
  }
  clearTimeout(t3);
  assert.equal(reset[0].event, 'reset');
  assert.deepEqual(
    reset.slice(1).map((e) => e.id),
    ids,
  );
});
