/**
 * The loop for ONNX versions, as for TF.js ones: deploy to a local target (a real server child
 * process) with the smoke test comparing endpoint outputs to local ONNX Runtime ones, a second
 * deploy, rollback, a major version whose inputs are derived from a date, then the prediction
 * log + feedback → monitoring windows, a control chart and drift.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import type { Registry } from '../../../server/engine/registry/types';
import type { ModelOpsConfig } from '../../../server/engine/config/types';
import { deploy, rollback, readServerRecord, type StepEvent } from '../../../server/engine/deploy';
import { labelledTraffic, monitor } from '../../../server/engine/monitoring';
import { writeOnnxBundle } from '../../../server/engine/runtime';
import { tempDir } from '../serving/fixtures';
import { localTarget, runConfig } from '../fixtures/config';
import { serveCommand, stopServer } from '../fixtures/serve';

const FIX = join(__dirname, '..', '..', 'fixtures', 'onnx');
const SAMPLE = resolve(__dirname, '..', '..', '..', 'examples', 'sample', 'data', 'seattle-weather.csv');
const TOKEN = 'tok-onnx-deploy-2c9e71';
const FOUR = ['precipitation', 'temp_max', 'temp_min', 'wind'];

let tmp: ReturnType<typeof tempDir>;
let registry: Registry;
let config: ModelOpsConfig;
/** The sample's rows, typed as the CSV reader types them. */
let rows: Array<Record<string, string | number>>;

function makeConfig(): ModelOpsConfig {
  return runConfig({
    project: 'onnx',
    data: { train: 'val.csv', validation: 'val.csv', split: { seed: 42 } },
    targets: { local: localTarget({ rows: 25, tolerance: 1e-5 }) },
    monitor: {
      target: 'local',
      window: 80,
      controlChart: { metric: 'accuracy', sigma: 3, baseline: 3, rules: [1, 2, 3, 4] },
      // A +15 °C shift is a PSI of 5–8; sampling noise in 80-row windows stays well under 1.
      drift: { method: 'psi', threshold: 1 },
      alerts: { notify: true },
    },
  });
}

const access = () => ({ registry, config, tokenFor: () => TOKEN, serveCommand, configDir: tmp.dir });
const serverUrl = (): string => readServerRecord(registry.storeDir, 'local')!.url;

before(async () => {
  tmp = tempDir('onnx-deploy');
  const lines = readFileSync(SAMPLE, 'utf8').trim().split('\n');
  const header = lines[0].split(',');
  rows = lines
    .slice(1)
    .map((l) =>
      Object.fromEntries(
        l.split(',').map((v, j) => [header[j], header[j] === 'date' || header[j] === 'weather' ? v : Number(v)]),
      ),
    );
  // 300 rows are the validation data (smoke rows); the first 600 the reference profile.
  writeFileSync(join(tmp.dir, 'val.csv'), lines.slice(0, 301).join('\n') + '\n');
  const reference = { rows: rows.slice(0, 600), seed: 3 };
  registry = openRegistry(tmp.dir);
  for (const [version, file, extra] of [
    ['1.0.0', 'weather-mlp-v1.onnx', {}],
    ['1.1.0', 'weather-mlp-v2.onnx', {}],
    ['2.0.0', 'weather-mlp-6in.onnx', { derived: { month: 'month(date)', day_of_year: 'dayofyear(date)' } }],
  ] as const) {
    const dir = join(tmp.dir, `bundle-${version}`);
    await writeOnnxBundle(dir, join(FIX, file), { target: 'weather', reference, ...extra });
    await registry.registerVersion({ model: 'weather', source: dir, version, format: 'onnx' });
  }
  config = makeConfig();
});

after(async () => {
  await stopServer(registry.storeDir, TOKEN);
  registry.close();
  tmp.cleanup();
});

async function served(): Promise<{ version: string; platform: string }> {
  const meta = (await (await fetch(serverUrl() + '/v2/models/weather')).json()) as {
    version: string;
    platform: string;
  };
  return { version: meta.version, platform: meta.platform };
}

test('an ONNX version deploys to a local target: the smoke test matches local ONNX Runtime outputs', async () => {
  const events: StepEvent[] = [];
  const r = await deploy({ ...access(), ref: 'weather@1.0.0', target: 'local', onStep: (e) => events.push(e) });
  assert.equal(r.deployment.status, 'active');
  assert.deepEqual(
    events.filter((e) => e.status === 'ok').map((e) => e.step),
    ['package', 'load', 'ready', 'smoke test', 'switch', 'record'],
  );
  assert.match(
    events.find((e) => e.step === 'package' && e.status === 'ok')!.detail,
    /weather@1\.0\.0 \(classification, 4 features\)/,
  );
  assert.match(events.find((e) => e.step === 'smoke test' && e.status === 'ok')!.detail, /^25\/25 matched/);
  assert.deepEqual(await served(), { version: '1.0.0', platform: 'modelops-onnx' });
});

test('a second ONNX version deploys, then rollback returns to the first after its own smoke test', async () => {
  const r2 = await deploy({ ...access(), ref: 'weather@1.1.0', target: 'local' });
  assert.equal(r2.deployment.previousVersion, '1.0.0');
  assert.equal((await served()).version, '1.1.0');
  const steps: string[] = [];
  const back = await rollback({
    ...access(),
    target: 'local',
    model: 'weather',
    onStep: (e) => steps.push(`${e.step}: ${e.detail}`),
  });
  assert.equal(back.version, '1.0.0');
  assert.ok(
    steps.some((s) => /^smoke test: 25\/25 matched/.test(s)),
    steps.join('; '),
  );
  assert.equal((await served()).version, '1.0.0');
  assert.equal(registry.activeDeployment('local', 'weather')!.version, '1.0.0');
});

test('a major version whose inputs are derived from a date deploys; requests send the raw date', async () => {
  const events: StepEvent[] = [];
  await deploy({ ...access(), ref: 'weather@2.0.0', target: 'local', onStep: (e) => events.push(e) });
  assert.match(events.find((e) => e.step === 'smoke test' && e.status === 'ok')!.detail, /^25\/25 matched/);
  const meta = (await (await fetch(serverUrl() + '/v2/models/weather')).json()) as {
    inputs: Array<{ name: string; datatype: string }>;
  };
  assert.deepEqual(
    meta.inputs.map((i) => `${i.name}:${i.datatype}`),
    [...FOUR.map((c) => `${c}:FP32`), 'date:BYTES'],
  );
  const bad = await fetch(serverUrl() + '/v2/models/weather/infer', {
    method: 'POST',
    body: JSON.stringify({
      inputs: [
        ...FOUR.map((name) => ({ name, datatype: 'FP32', shape: [1], data: [1] })),
        { name: 'date', datatype: 'BYTES', shape: [1], data: ['2013-02-30'] },
      ],
    }),
  });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /column 'date'.*'2013-02-30' is not a date/);
  // Back to 1.0.0 for the monitoring below (its reference profile is over the four columns).
  await rollback({ ...access(), target: 'local', model: 'weather' });
  assert.equal((await served()).version, '1.0.0');
});

test('prediction log + feedback of the ONNX version → windows, a control chart and drift', async () => {
  const url = serverUrl();
  // 6 windows of 80 one-row requests: the first four like the reference, the last two with
  // temperatures shifted by +15 °C; feedback is the true weather of each row.
  // Rows after the reference, visited in a scrambled order so no window is one season.
  const traffic = Array.from({ length: 480 }, (_, i) => rows[600 + ((i * 373) % 840)]);
  for (let i = 0; i < traffic.length; i++) {
    const row = traffic[i];
    const shift = i >= 320 ? 15 : 0;
    const inputs = FOUR.map((name) => ({
      name,
      datatype: 'FP32',
      shape: [1],
      data: [(row[name] as number) + (name.startsWith('temp') ? shift : 0)],
    }));
    const res = await fetch(url + '/v2/models/weather/infer', {
      method: 'POST',
      body: JSON.stringify({ id: `t${i}`, inputs }),
    });
    assert.equal(res.status, 200);
  }
  const fb = await fetch(url + '/v2/models/weather/feedback', {
    method: 'POST',
    body: JSON.stringify(traffic.map((r, i) => ({ id: `t${i}`, label: r.weather }))),
  });
  assert.equal(fb.status, 202);
  // The server flushes its log on a timer; wait until all 480 predictions are on disk.
  let result = await monitor({ registry, config, alert: false });
  for (let i = 0; i < 100 && (result.totalPredictions < 480 || result.labelled < 480); i++) {
    await new Promise((r) => setTimeout(r, 50));
    result = await monitor({ registry, config, alert: false });
  }
  assert.equal(result.totalPredictions, 480);
  assert.equal(result.windows.length, 6);
  assert.equal(result.version, '1.0.0');
  assert.equal(result.labelled, 480);
  for (const w of result.windows) {
    assert.equal(w.version, '1.0.0');
    assert.ok(w.accuracy !== null && w.accuracy >= 0 && w.accuracy <= 1);
    assert.equal(
      Object.values(w.distribution).reduce((a, b) => a + b, 0),
      80,
    );
    assert.deepEqual(Object.keys(w.drift).sort(), [...FOUR].sort(), 'every raw column has a drift score');
  }
  assert.ok(result.chart, result.chartNote ?? 'no chart');
  assert.equal(result.chart.values.length, 6);
  // The shifted temperatures drift; precipitation and wind did not change.
  const drift = Object.fromEntries(result.drift!.features.map((f) => [f.name, f]));
  assert.ok(drift.temp_max.drifted && drift.temp_min.drifted, JSON.stringify(result.drift));
  for (const w of result.windows) {
    const shifted = w.index >= 4;
    for (const c of ['temp_max', 'temp_min'])
      assert.equal(w.drift[c] > 1, shifted, `window ${w.index + 1} ${c} PSI ${w.drift[c]}`);
  }
  assert.ok(!drift.precipitation.drifted && !drift.wind.drifted, JSON.stringify(result.drift));

  // Alerts for the drift are recorded against the ONNX version.
  const alerting = await monitor({ registry, config });
  assert.ok(
    alerting.alerts.some((a) => a.rule === 'drift:temp_max' && a.version === '1.0.0'),
    JSON.stringify(alerting.alerts),
  );

  // Labelled traffic for the next retrain: the raw columns and the target.
  const exported = await labelledTraffic({ registry, config, target: 'local' });
  assert.deepEqual(exported.columns, [...FOUR, 'weather']);
  assert.equal(exported.rows.length, 480);
  assert.deepEqual(exported.rows[0], {
    ...Object.fromEntries(FOUR.map((c) => [c, traffic[0][c]])),
    weather: traffic[0].weather,
  });
});
