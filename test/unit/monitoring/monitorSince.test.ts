// `modelops monitor --since`: only predictions requested from a time on — an ISO time, a duration,
// or the target's active deployment — make the windows, the chart's baseline and the estimators'
// reference. Earlier lines (the server's own shape and lines the JSON fallback reads) are counted
// and left out; feedback for them is unmatched; lines without a time are kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { openRegistry } from '../../../server/engine/registry';
import type { Registry } from '../../../server/engine/registry/types';
import { monitor, readPredictionLog } from '../../../server/engine/monitoring';
import { ModelOpsError } from '../../../server/engine/errors';
import { FEATURES, LABELS, makeBundle, makeRows, tempDir } from '../serving/fixtures';
import { serverFeedback, serverPrediction } from './logLines';
import { runConfig } from '../fixtures/config';
import { analyze } from '../../../server/engine/config/validate';
import { recordActive } from '../fixtures/deployments';

let tmp: ReturnType<typeof tempDir>;
let registry: Registry;
let logDir: string;
const HOUR = 3_600_000;
/** The log: 300 predictions an hour or more before `cut`, 250 after it. */
let cut: number;

function line(i: number, at: number): string {
  const row = makeRows(1, i + 1)[0];
  return serverPrediction({
    id: `r${i}`,
    time: new Date(at).toISOString(),
    version: '1.0.0',
    latencyMs: 1,
    inputs: { temp_max: [row.temp_max], wind: [row.wind], season: [row.season] },
    outputs: { label: [LABELS[i % 3]], probabilities: [[0.2, 0.3, 0.5]] },
  });
}

before(async () => {
  tmp = tempDir('monitor-since');
  const bundle = join(tmp.dir, 'bundle');
  await makeBundle(bundle, 1);
  registry = openRegistry(tmp.dir);
  await registry.registerVersion({ model: 'weather', source: bundle, version: '1.0.0', format: 'modelops-tfjs' });
  cut = Date.now() - 30 * 60_000;
  const lines: string[] = [];
  for (let i = 0; i < 300; i++) lines.push(line(i, cut - 2 * HOUR + i * 1000));
  // Feedback for a request before the cut, read after it: unmatched with --since.
  lines.push(serverFeedback({ id: 'r5', time: new Date(cut + 1000).toISOString(), labels: ['sun'] }));
  for (let i = 300; i < 550; i++) lines.push(line(i, cut + (i - 299) * 1000));
  lines.push(serverFeedback({ id: 'r320', time: new Date(cut + 400_000).toISOString(), labels: ['fog'] }));
  logDir = join(tmp.dir, 'log');
  mkdirSync(logDir, { recursive: true });
  writeFileSync(join(logDir, 'predictions.jsonl'), lines.join('\n') + '\n');
});

after(() => {
  registry.close();
  tmp.cleanup();
});

const config = (since?: string) =>
  runConfig({
    monitor: {
      ...(since !== undefined ? { since } : {}),
      target: 'local',
      window: 100,
      controlChart: { metric: 'accuracy', sigma: 3, baseline: 2, rules: [1, 2, 3, 4] },
      drift: { method: 'psi', threshold: 0.2, features: ['temp_max', 'wind', 'season'] },
      alerts: { notify: false },
    },
  });

test('--since a time: the windows start at the first prediction from then on; earlier ones are counted', async () => {
  const whole = await monitor({ registry, config: config(), logDir, alert: false });
  assert.equal(whole.totalPredictions, 550);
  assert.equal(whole.since, null);
  assert.equal(whole.beforeSince, 0);
  assert.equal(whole.feedback.applied, 2);

  const r = await monitor({ registry, config: config(), logDir, alert: false, since: cut });
  assert.equal(r.since, new Date(cut).toISOString());
  assert.equal(r.totalPredictions, 250);
  assert.equal(r.beforeSince, 300);
  assert.equal(r.windows.length, 2);
  assert.ok(Date.parse(r.windows[0].start!) > cut, `first window starts ${r.windows[0].start}`);
  // r5's feedback names a prediction left out; r320's is joined.
  assert.deepEqual(r.feedback, { ...r.feedback, applied: 1, unmatched: 1 });
  // The estimators' reference is the first windows from then on: their estimates are the same as a
  // log that held only those lines.
  assert.equal(r.estimated?.referenceWindows, 2);
});

test("--since deploy: from the target's active deployment; refused with a clear error when there is none", async () => {
  await assert.rejects(
    monitor({ registry, config: config(), logDir, alert: false, since: 'deploy' }),
    (e: unknown) =>
      e instanceof ModelOpsError && e.code === 'no-deployment' && /no active deployment on 'local'/.test(e.message),
  );
  const d = recordActive(registry, 'local', 'weather@1.0.0');
  const r = await monitor({ registry, config: config(), logDir, alert: false, since: 'deploy' });
  assert.equal(r.since, new Date(Date.parse(d.at)).toISOString());
  // The deployment is now, after every logged line but the ones written ahead of it.
  const after = 550 - r.beforeSince;
  assert.equal(r.totalPredictions, after);
  assert.ok(r.beforeSince >= 300);
});

test('monitor.since in modelops.yaml is the default, --since overrides it; a bad value is a diagnostic naming the key', async () => {
  // The deployment recorded by the test above is the active one.
  const withKey = config('deploy');
  const byKey = await monitor({ registry, config: withKey, logDir, alert: false });
  const byFlag = await monitor({ registry, config: config(), logDir, alert: false, since: 'deploy' });
  assert.equal(byKey.since, byFlag.since);
  assert.equal(byKey.totalPredictions, byFlag.totalPredictions);
  const overridden = await monitor({ registry, config: withKey, logDir, alert: false, since: cut });
  assert.equal(overridden.totalPredictions, 250);
  await assert.rejects(
    monitor({ registry, config: config('yesterday'), logDir }),
    /monitor\.since 'yesterday' is neither an ISO time nor a duration/,
  );
  const text = `version: 1
project: demo
data: { train: data/train.csv, target: y }
model: { name: m, task: classification, layers: [{ type: dense, units: 3, activation: softmax }] }
monitor: { target: local, since: yesterday }
`;
  const bad = analyze(text, { noFileChecks: true }).diagnostics.filter((d) => d.message.startsWith('monitor.since'));
  assert.equal(bad.length, 1);
  assert.equal(
    bad[0].message,
    "monitor.since 'yesterday' must be 'deploy', a duration back from now (7d, 12h, 90m, 2w) or an ISO date or time (2026-11-20, 2026-11-20T09:00:00Z).",
  );
  assert.equal(
    text.split('\n')[bad[0].range.start.line].slice(bad[0].range.start.character, bad[0].range.end.character),
    'yesterday',
  );
  for (const ok of ['deploy', '7d', '90m', '2026-11-20', '2026-11-20T09:00:00Z'])
    assert.deepEqual(
      analyze(text.replace('yesterday', ok), { noFileChecks: true }).diagnostics.filter((d) =>
        d.message.startsWith('monitor.since'),
      ),
      [],
      ok,
    );
});

test('the reader leaves out lines before `since` in the JSON fallback too, and keeps lines without a time', async () => {
  const dir = join(tmp.dir, 'mixed');
  mkdirSync(dir, { recursive: true });
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const lines = [
    // Another key order: read by JSON.parse.
    JSON.stringify({
      id: 'a',
      type: 'prediction',
      time: new Date(t0 - 1000).toISOString(),
      version: '1.0.0',
      inputs: { temp_max: [1, 2] },
      outputs: { label: ['sun', 'fog'] },
    }),
    JSON.stringify({
      id: 'b',
      type: 'prediction',
      time: new Date(t0 + 1000).toISOString(),
      version: '1.0.0',
      inputs: { temp_max: [3] },
      outputs: { label: ['rain'] },
    }),
    JSON.stringify({
      type: 'prediction',
      id: 'c',
      version: '1.0.0',
      inputs: { temp_max: [4] },
      outputs: { label: ['sun'] },
    }),
    line(7, t0 - 5000),
    line(8, t0 + 5000),
  ];
  writeFileSync(join(dir, 'predictions.jsonl'), lines.join('\n') + '\n');
  const cols = await readPredictionLog(dir, FEATURES, 'classification', LABELS, { since: t0 });
  assert.equal(cols.beforeSince, 3);
  assert.equal(cols.count, 3);
  assert.deepEqual(Array.from(cols.numeric.temp_max.subarray(0, 2)), [3, 4]);
  const all = await readPredictionLog(dir, FEATURES, 'classification', LABELS);
  assert.equal(all.count, 6);
  assert.equal(all.beforeSince, 0);
});

test('the CLI: an unreadable --since, and --since with --follow, are refused before the workspace is read', () => {
  const cli = join(__dirname, '..', '..', '..', 'dist', 'cli.js');
  const ws = join(tmp.dir, 'ws');
  mkdirSync(ws, { recursive: true });
  const r = spawnSync(process.execPath, [cli, 'monitor', '--follow', '--since', '7d', '--root', ws], {
    encoding: 'utf8',
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--since applies to a read of the log, not to --follow/);
  const bad = spawnSync(process.execPath, [cli, 'monitor', '--since', 'last tuesday', '--root', ws], {
    encoding: 'utf8',
  });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--since 'last tuesday' is neither an ISO time nor a duration/);
});
