import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openRegistry } from '../../../server/engine/registry';
import { readServerRecord } from '../../../server/engine/deploy';
import { makeBundle, makeRows, inferBody, tempDir, writeCsv } from '../serving/fixtures';
import { stopServer } from '../fixtures/serve';

const TOKEN = 'cli-token-0c4e8a2b91';
/** tsx by absolute URL: the CLI runs in the workspace, away from node_modules. */
const TSX = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href;
let tmp: ReturnType<typeof tempDir>;

const yaml = (port: number) => `version: 1
project: cli-test
data:
  train: data/weather.csv
  target: weather
  features: [temp_max, wind, season]
  split: { train: 0.7, validation: 0.15, test: 0.15, seed: 42 }
model:
  name: weather
  task: classification
  framework: tfjs
  layers:
    - { type: dense, units: 6, activation: relu }
    - { type: dense, units: 3, activation: softmax }
train: { epochs: 1, batchSize: 8 }
evaluate:
  metrics: [accuracy]
deploy:
  targets:
    local: { type: local, host: 127.0.0.1, port: ${port}, requireApproval: false, smokeTest: { rows: 10, tolerance: 0.000001 } }
monitor:
  target: local
  window: 10
  controlChart: { metric: accuracy, sigma: 3, baseline: 2, rules: [1, 2, 3, 4] }
  drift: { method: psi, threshold: 0.2 }
  alerts: { notify: true }
`;

function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', TSX, resolve('server/cli/main.ts'), ...args], {
      cwd: tmp.dir,
      env: { ...process.env, MODELOPS_TOKEN_LOCAL: TOKEN, NO_COLOR: '1' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => done({ code: code ?? -1, out, err }));
  });
}

before(async () => {
  tmp = tempDir('cli');
  mkdirSync(join(tmp.dir, 'data'));
  writeCsv(
    join(tmp.dir, 'data', 'weather.csv'),
    makeRows(80, 5).map((r, i) => ({ ...r, weather: ['rain', 'sun', 'fog'][i % 3] })),
  );
  // The schema wants a real port: take a free one.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  writeFileSync(join(tmp.dir, 'modelops.yaml'), yaml(port));
  const reg = openRegistry(tmp.dir);
  for (const [v, seed] of [
    ['1.0.0', 1],
    ['1.1.0', 2],
  ] as const) {
    await makeBundle(join(tmp.dir, `b${v}`), seed);
    await reg.registerVersion({
      model: 'weather',
      source: join(tmp.dir, `b${v}`),
      version: v,
      format: 'modelops-tfjs',
    });
  }
  reg.close();
});

after(async () => {
  await stopServer(join(tmp.dir, '.modelops'), TOKEN);
  tmp.cleanup();
});

test('modelops deploy, monitor and rollback from the command line', async () => {
  const d1 = await cli(['deploy', 'weather@1.0.0', '--target', 'local']);
  assert.equal(d1.code, 0, d1.err + d1.out);
  assert.match(d1.out, /✓ 1\/6 package/);
  assert.match(d1.out, /✓ 4\/6 smoke test +10\/10 matched/);
  assert.match(d1.out, /weather@1\.0\.0 serves on target 'local'/);
  const d2 = await cli(['deploy', 'weather@1.1.0', '--target', 'local', '--json']);
  assert.equal(d2.code, 0, d2.err + d2.out);
  const j = JSON.parse(d2.out) as { ok: boolean; deployment: { version: string; previousVersion: string } };
  assert.equal(j.deployment.previousVersion, '1.0.0');

  // Traffic and feedback, then monitor.
  const url = readServerRecord(join(tmp.dir, '.modelops'), 'local')!.url;
  for (let i = 0; i < 6; i++) {
    const res = await fetch(url + '/v2/models/weather/infer', {
      method: 'POST',
      body: JSON.stringify(inferBody(makeRows(5, i + 1), `c${i}`)),
    });
    const label = ((await res.json()) as { outputs: Array<{ name: string; data: string[] }> }).outputs[0].data;
    await fetch(url + '/v2/models/weather/feedback', {
      method: 'POST',
      body: JSON.stringify({ id: `c${i}`, labels: label }),
    });
  }
  await new Promise((r) => setTimeout(r, 600)); // the server flushes its log every 200 ms
  const m = await cli(['monitor', '--target', 'local', '--json', '--no-alerts']);
  assert.equal(m.code, 0, m.err);
  const mon = JSON.parse(m.out) as { totalPredictions: number; windows: Array<{ accuracy: number }> };
  assert.equal(mon.totalPredictions, 30);
  assert.deepEqual(
    mon.windows.map((w) => w.accuracy),
    [1, 1, 1],
  );
  const table = await cli(['monitor', '--no-alerts']);
  assert.equal(table.code, 0, table.err);
  assert.match(table.out, /30 predictions, 30 with feedback/);
  // The CBPE estimate beside the realised accuracy, and the line that says what it rests on.
  assert.match(table.out, /labelled +accuracy +est\. accuracy +top prediction/);
  assert.match(table.out, /estimated accuracy \(CBPE, before labels\): .*; probabilities /);
  // --out: the control chart and the drift as self-contained pages (the editor's Check Drift panels).
  const pages = await cli(['monitor', '--no-alerts', '--out', 'charts']);
  assert.equal(pages.code, 0, pages.err);
  for (const page of ['control-chart.html', 'drift.html']) {
    const html = readFileSync(join(tmp.dir, 'charts', page), 'utf8');
    assert.match(html, /Content-Security-Policy/);
    assert.match(html, /weather on local · (control chart|drift)/);
    assert.match(pages.out, new RegExp(`wrote .*charts/${page}`));
  }
  // Every window labelled: the control chart's estimated series shows every estimate.
  assert.equal(existsSync(join(tmp.dir, 'charts', 'estimated-chart.html')), false);
  // A window with no label yet is on the estimate's own chart only.
  for (let i = 6; i < 8; i++)
    await fetch(url + '/v2/models/weather/infer', {
      method: 'POST',
      body: JSON.stringify(inferBody(makeRows(5, i + 1), `c${i}`)),
    });
  await new Promise((r) => setTimeout(r, 600));
  const unlabelled = await cli(['monitor', '--no-alerts', '--out', 'charts']);
  assert.equal(unlabelled.code, 0, unlabelled.err);
  assert.match(unlabelled.out, /wrote .*charts\/estimated-chart\.html/);
  assert.match(
    readFileSync(join(tmp.dir, 'charts', 'estimated-chart.html'), 'utf8'),
    /weather on local · estimated accuracy \(CBPE, before labels\)/,
  );
  // Drifted inputs in the latest window (10-row windows of other rows than the training data's
  // drift already; these are 100 degrees off): the estimate is said to rest on an assumption.
  for (let i = 8; i < 10; i++)
    await fetch(url + '/v2/models/weather/infer', {
      method: 'POST',
      body: JSON.stringify(inferBody(makeRows(5, i + 1, 100), `c${i}`)),
    });
  await new Promise((r) => setTimeout(r, 600));
  const drifted = await cli(['monitor', '--no-alerts']);
  assert.equal(drifted.code, 0, drifted.err);
  assert.match(
    drifted.out,
    /the CBPE estimate assumes the model's probabilities stay calibrated on the drifted inputs \([^)]*temp_max[^)]*\): confirm it with labels/,
  );
  const both = await cli(['monitor', '--follow', '--out', 'charts']);
  assert.equal(both.code, 1);
  assert.match(both.err, /--out writes the charts of a read of the log, not of --follow/);

  const rb = await cli(['rollback', '--target', 'local', '--model', 'weather']);
  assert.equal(rb.code, 0, rb.err);
  assert.match(rb.out, /1\.1\.0 → 1\.0\.0/);
  const bad = await cli(['deploy', 'weather@1.0.0', '--target', 'nowhere']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /Target 'nowhere' is not in deploy\.targets.*configured: local/);
  for (const r of [d1, d2, m, rb, bad]) assert.ok(!(r.out + r.err).includes(TOKEN));
});
