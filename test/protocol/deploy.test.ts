/** Deploy, endpoints, monitor, rollback and tokens over JSON-RPC against the built sidecar. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deploy, training } from '../../server/protocol';
import type { StepEvent } from '../../server/protocol/deploy';
import { readServerRecord } from '../../server/engine/deploy';
import { stopServer } from '../unit/fixtures/serve';
import { REPO, startSidecar } from './client';
import { freePort } from '../../server/engine/net';

const TOKEN = 'proto-token-3f9a77c2d1';
const rows = readFileSync(join(REPO, 'examples/sample/data/seattle-weather.csv'), 'utf8').trim().split('\n');
const data = [rows[0], ...rows.slice(1).filter((_, i) => i % 4 === 0)].join('\n') + '\n';
const config = (port: number) => `version: 1
project: proto
data:
  train: data/weather.csv
  target: weather
  features: [precipitation, temp_max, temp_min, wind]
  split: { train: 0.7, validation: 0.15, test: 0.15, seed: 42 }
model:
  name: weather
  task: classification
  framework: tfjs
  layers:
    - { type: dense, units: 8, activation: relu }
    - { type: dense, units: 5, activation: softmax }
train: { epochs: 2, batchSize: 32, seed: 42, classWeights: none }
evaluate:
  metrics: [accuracy]
deploy:
  targets:
    local: { type: local, host: 127.0.0.1, port: ${port}, requireApproval: false, smokeTest: { rows: 10, tolerance: 0.000001 } }
monitor:
  target: local
  window: 5
  controlChart: { metric: accuracy, sigma: 3, baseline: 2, rules: [1, 2, 3, 4] }
  drift: { method: psi, threshold: 0.2 }
  alerts: { notify: true }
`;

test('deploy with named steps, endpoints with health, monitor, and trust', async () => {
  const c = await startSidecar({ files: { 'modelops.yaml': config(await freePort()), 'data/weather.csv': data } });
  const store = join(c.workspace, '.modelops');
  try {
    const trained = await c.request(training.train, { configUri: c.uri('modelops.yaml') });
    await c.connection.sendNotification(deploy.setToken.method, { secret: 'local', token: TOKEN, origins: [] });
    const steps: StepEvent[] = [];
    c.connection.onNotification(deploy.deployStep.method, (p: { event: StepEvent }) => steps.push(p.event));
    const ref = `weather@${trained.version.version}`;
    const result = await c.request(deploy.deploy, { ref, target: 'local', workDoneToken: 'dep-1' });
    assert.equal(result.deployment.status, 'active');
    assert.deepEqual(
      steps.filter((s) => s.status === 'ok').map((s) => s.step),
      ['package', 'load', 'ready', 'smoke test', 'switch', 'record'],
    );
    const progress = c.progress.filter((p) => p.token === 'dep-1').map((p) => p.value);
    assert.equal(progress[0].kind, 'begin');
    assert.ok(progress.some((p) => p.kind === 'report' && /smoke test/.test(p.message ?? '')));
    assert.equal(progress[progress.length - 1].kind, 'end');

    const eps = await c.request(deploy.listEndpoints, {});
    assert.equal(eps[0].target, 'local');
    assert.equal(eps[0].live, true);
    assert.ok(eps[0].models!.some((m) => m.version === trained.version.version && m.active));

    const url = readServerRecord(store, 'local')!.url;
    const body = {
      inputs: ['precipitation', 'temp_max', 'temp_min', 'wind'].map((name) => ({
        name,
        datatype: 'FP32',
        shape: [1],
        data: [1],
      })),
    };
    for (let i = 0; i < 12; i++)
      assert.equal(
        (await fetch(`${url}/v2/models/weather/infer`, { method: 'POST', body: JSON.stringify(body) })).status,
        200,
      );
    await new Promise((r) => setTimeout(r, 500));
    const mon = await c.request(deploy.monitor, {});
    assert.equal(mon.totalPredictions, 12);
    assert.equal(mon.windows.length, 2);
    assert.match(mon.chartNote ?? '', /feedback/);

    await assert.rejects(c.request(deploy.rollback, { target: 'local', model: 'weather' }), (e: Error) =>
      /no previous version/.test(e.message),
    );
    // The token stayed in memory: not in the workspace store.
    const walk = (d: string): string[] =>
      readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
    for (const f of walk(store)) assert.ok(!readFileSync(f).includes(TOKEN), `${f} holds the token`);
  } finally {
    await stopServer(store, TOKEN);
    await c.close();
  }
});

test('an untrusted workspace refuses to deploy', async () => {
  const c = await startSidecar({
    files: { 'modelops.yaml': config(await freePort()), 'data/weather.csv': data },
    initializationOptions: { trusted: false },
  });
  try {
    await assert.rejects(c.request(deploy.deploy, { ref: 'weather@1.0.0', target: 'local' }), (e: Error) =>
      /untrusted workspace/.test(e.message),
    );
    await assert.rejects(c.request(deploy.rollback, { target: 'local', model: 'weather' }), (e: Error) =>
      /untrusted workspace/.test(e.message),
    );
  } finally {
    await c.close();
  }
});
