/**
 * DLE in the live window: a regression model's MAE (or RMSE/MSE) estimated by a loss model fitted
 * on the reference windows' labelled rows, charted against their estimates, alerts on a rise of
 * the true loss with no label sent; with constant noise nothing alerts; the batch monitor, given
 * the same predictions and feedback, gives the same estimates and alerts; the model server's hub
 * keeps the estimate as a Prometheus gauge and counts its rule violations.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import type { MonitorConfig } from '../../../server/engine/config/types';
import { monitor, type MonitoredModel, type MonitorResult } from '../../../server/engine/monitoring/monitor';
import {
  DEFAULT_LIVE_CONFIG,
  liveConfigFromMonitor,
  WindowAccumulator,
  type LiveAlert,
  type LiveEvent,
  type LiveModel,
  type LiveMonitorConfig,
  type LiveWindow,
} from '../../../server/engine/monitoring/live/window';
import { LiveMonitorHub, type LiveStreamEvent } from '../../../server/engine/serving/liveMonitor';
import { actionFor } from '../../../server/engine/monitoring/policy';
import { makeBundle, tempDir } from '../serving/fixtures';
import { runConfig } from '../fixtures/config';
import { mulberry32, normal } from '../fixtures/random';
import { lossSample } from '../../../server/engine/data/profile';

const MODEL: LiveModel = {
  task: 'regression',
  features: [
    { name: 'x', kind: 'numeric' },
    { name: 'z', kind: 'numeric' },
    { name: 'c', kind: 'categorical' },
    // A date is not a loss-model input (batch and live both leave it out).
    { name: 'day', kind: 'date' },
  ],
};

const WINDOW = 500;
const REFERENCE = 5;
/** Rows per request. */
const ROWS = 10;

/** A new day every window, as a date column would carry. */
const dayOf = (q: Req): string[] => q.x.map(() => `2027-01-${String(1 + (q.window % 28)).padStart(2, '0')}`);

interface Req {
  id: string;
  window: number;
  /** Its feedback is sent (windows before the shift). */
  labelled: boolean;
  x: number[];
  z: number[];
  c: string[];
  pred: number[];
  truth: number[];
}

/**
 * Regression traffic as the batch DLE test's: `labelled` windows with x ~ U(0, 1), then `shifted`
 * windows with x ~ U(0.6, 1) (no feedback sent for them). The model predicts 2x (the true mean);
 * the true value has noise of std `noise(x)`. Returns the requests and the realised MAE and MSE of
 * every window from the true values (also of those never sent).
 */
function traffic(
  seed: number,
  noise: (x: number) => number,
  labelled: number,
  shifted: number,
  window = WINDOW,
): { reqs: Req[]; mae: number[]; mse: number[] } {
  const r = mulberry32(seed);
  const reqs: Req[] = [];
  const mae: number[] = [];
  const mse: number[] = [];
  for (let w = 0; w < labelled + shifted; w++) {
    const shift = w >= labelled;
    let abs = 0;
    let sq = 0;
    for (let q = 0; q < window / ROWS; q++) {
      const x = Array.from({ length: ROWS }, () => (shift ? 0.6 + 0.4 * r() : r()));
      const z = Array.from({ length: ROWS }, () => r());
      const c = Array.from({ length: ROWS }, () => (r() < 0.5 ? 'a' : 'b'));
      const pred = x.map((v) => 2 * v);
      const truth = x.map((v) => 2 * v + noise(v) * normal(r));
      truth.forEach((t, k) => {
        abs += Math.abs(t - pred[k]);
        sq += (t - pred[k]) ** 2;
      });
      reqs.push({ id: `r${w}-${q}`, window: w, labelled: !shift, x, z, c, pred, truth });
    }
    mae.push(abs / window);
    mse.push(sq / window);
  }
  return { reqs, mae, mse };
}

const T0 = Date.UTC(2026, 0, 1);

/** Feeds the requests to an accumulator as the server does, feedback right after each labelled request. */
function live(
  reqs: Req[],
  config: LiveMonitorConfig,
  versionOf: (q: Req) => string = () => '1.0.0',
  model: LiveModel = MODEL,
): LiveEvent[] {
  const events: LiveEvent[] = [];
  const acc = new WindowAccumulator('m', config, (e) => events.push(e));
  reqs.forEach((q, i) => {
    acc.observe(versionOf(q), model, q.id, { x: q.x, z: q.z, c: q.c, day: dayOf(q) }, q.pred, 1, T0 + i * 1000);
    if (q.labelled) acc.feedback(q.id, q.truth);
  });
  acc.flush();
  return events;
}

const windowsOf = (events: LiveEvent[]): LiveWindow[] =>
  events.filter((e): e is Extract<LiveEvent, { type: 'window' }> => e.type === 'window').map((e) => e.data);
const alertsOf = (events: LiveEvent[]): LiveAlert[] =>
  events.filter((e): e is Extract<LiveEvent, { type: 'alert' }> => e.type === 'alert').map((e) => e.data);
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

const CONFIG: LiveMonitorConfig = { ...DEFAULT_LIVE_CONFIG, window: WINDOW, baseline: REFERENCE };

test('live DLE: with noise that grows with x, the estimated MAE follows a shift of x and alerts with no label of it', () => {
  const { reqs, mae } = traffic(4, (x) => 0.1 + x, 7, 6);
  const events = live(reqs, CONFIG);
  const windows = windowsOf(events);
  assert.equal(windows.length, 13);
  for (const [i, w] of windows.entries()) {
    assert.equal(w.estimated?.method, 'dle', `window ${i}`);
    assert.equal(w.estimated.metric, 'mae');
    assert.equal(w.estimated.accuracyStdErr, null);
    assert.equal(w.estimatedAccuracy, null);
    if (i < REFERENCE - 1) {
      // Before the reference is in there is no loss model, so no estimate and no chart.
      assert.equal(w.estimated.calibration, 'pending');
      assert.equal(w.estimated.value, null);
      assert.equal(w.estimated.chart, null);
      continue;
    }
    assert.equal(w.estimated.calibration, 'fitted');
    assert.equal(w.estimated.rows, WINDOW);
    assert.ok(w.estimated.chart, `window ${i} has limits`);
    // The batch DLE test's tolerance: 4 sampling std of a 500-row window's MAE, plus the loss model's error.
    assert.ok(
      Math.abs(w.estimated.value! - mae[i]) < 0.1,
      `window ${i}: realised ${mae[i]}, estimated ${w.estimated.value}`,
    );
    if (i < 7) assert.equal(w.mae, w.value, 'labelled windows have their realised MAE');
    else assert.equal(w.labelled, 0);
  }
  assert.deepEqual(windows[REFERENCE - 1].estimated!.chart!.violations, [], 'the last reference window is baseline');
  const before = mean(windows.slice(REFERENCE - 1, 7).map((w) => w.estimated!.value!));
  const afterShift = mean(windows.slice(7).map((w) => w.estimated!.value!));
  // True MAE ≈ 0.8·E[0.1 + x]: 0.48 before, 0.72 after.
  assert.ok(afterShift - before > 0.15, `estimate ${before} → ${afterShift}`);

  const alerts = alertsOf(events).filter((a) => !a.rule.startsWith('drift:'));
  const est = alerts.filter((a) => a.estimated);
  assert.ok(
    est.some((a) => a.rule === 'dle:we1'),
    JSON.stringify(alerts.map((a) => `${a.rule}@${a.window}`)),
  );
  assert.ok(est.every((a) => /^dle:we[1-4]$/.test(a.rule) && a.window >= 7 && a.metric === 'mae'));
  const a = est.find((x) => x.rule === 'dle:we1')!;
  assert.equal(a.value, windows[a.window].estimated!.value);
  assert.match(
    a.message,
    /^Estimated mae \d\.\d{3} in live window \d+ .*rule 1.*above the centre 0\.\d{3}\); DLE from a loss model fitted on the reference's labelled rows, 0 of 500 rows labelled\.$/,
  );
  assert.ok(windows[a.window].estimated!.chart!.violations.some((v) => v.rule === 1 && v.side === 'above'));
  // No realised alert could have fired on the shifted windows: they have no labels.
  assert.equal(alerts.filter((x) => !x.estimated).length, 0);
});

test('live DLE: with constant noise the estimate stays flat through the same shift, and nothing alerts', () => {
  const { reqs, mae } = traffic(8, () => 0.5, 7, 6);
  const events = live(reqs, CONFIG);
  const windows = windowsOf(events).slice(REFERENCE - 1);
  for (const w of windows) {
    // True MAE 0.5·√(2/π) ≈ 0.399 everywhere.
    assert.ok(Math.abs(w.estimated!.value! - mae[w.index]) < 0.1, `window ${w.index}: ${w.estimated!.value}`);
    assert.ok(Math.abs(w.estimated!.value! - windows[0].estimated!.chart!.centre) < 0.03);
    assert.deepEqual(w.estimated!.chart!.violations, []);
  }
  assert.deepEqual(
    alertsOf(events).filter((a) => a.estimated || a.rule.startsWith('dle:')),
    [],
  );
});

test('live DLE: too few labelled reference rows leave no loss model, said so, and no estimate after', () => {
  // Four reference windows of 20 rows: 80 labelled rows, fewer than MIN_DLE_ROWS.
  const { reqs } = traffic(3, (x) => 0.1 + x, 4, 2, 20);
  const windows = windowsOf(live(reqs, { ...DEFAULT_LIVE_CONFIG, window: 20, baseline: 4 }));
  assert.equal(windows.length, 6);
  assert.deepEqual(
    windows.map((w) => w.estimated!.calibration),
    ['pending', 'pending', 'pending', 'unfitted', 'unfitted', 'unfitted'],
  );
  assert.ok(windows.every((w) => w.estimated!.value === null && w.estimated!.chart === null));
  assert.match(
    windows[5].estimated!.note!,
    /Only 80 labelled reference rows and no test split recorded with the version; at least 100/,
  );
  assert.equal(windows[0].estimated!.note, undefined);
});

const tmp = tempDir('live-dle');
after(() => tmp.cleanup());

/** The batch monitor over a log of the same requests and feedback. */
async function batch(name: string, reqs: Req[], mc: MonitorConfig, model: LiveModel = MODEL): Promise<MonitorResult> {
  const dir = join(tmp.dir, name);
  const logDir = join(dir, 'log');
  mkdirSync(logDir, { recursive: true });
  const lines: string[] = [];
  reqs.forEach((q, i) => {
    const time = new Date(T0 + i * 1000).toISOString();
    lines.push(
      JSON.stringify({
        type: 'prediction',
        id: q.id,
        time,
        version: '1.0.0',
        latencyMs: 1,
        inputs: { x: q.x, z: q.z, c: q.c, day: dayOf(q) },
        outputs: { value: q.pred },
      }),
    );
    if (q.labelled) lines.push(JSON.stringify({ type: 'feedback', id: q.id, time, labels: q.truth }));
  });
  writeFileSync(join(logDir, 'predictions.jsonl'), lines.join('\n') + '\n');
  const registry = openRegistry(join(dir, 'ws'));
  try {
    await makeBundle(join(dir, 'bundle'), 1);
    await registry.registerVersion({
      model: 'm',
      source: join(dir, 'bundle'),
      version: '1.0.0',
      format: 'modelops-tfjs',
    });
    return await monitor({
      registry,
      config: runConfig({ project: name, monitor: mc }),
      target: 'local',
      model: 'm',
      logDir,
      alert: false,
      manifestFor: async () => model as MonitoredModel,
    });
  } finally {
    registry.close();
  }
}

for (const metric of ['mae', 'mse'] as const)
  test(`the batch monitor and the live window give the same DLE estimates, limits and alerts (${metric})`, async () => {
    const mc = {
      target: 'local',
      window: WINDOW,
      controlChart: { metric, sigma: 3, baseline: REFERENCE, rules: [1, 2, 3, 4] },
      drift: {},
      alerts: { notify: false },
    } as MonitorConfig;
    const { reqs } = traffic(metric === 'mae' ? 4 : 6, (x) => 0.1 + x, 7, 6);
    const r = await batch(`eq-${metric}`, reqs, mc);
    const events = live(reqs, liveConfigFromMonitor(mc));
    const windows = windowsOf(events);
    assert.equal(windows.length, 13);
    assert.ok(r.estimated?.method === 'dle' && r.estimated.lossModel.rows === REFERENCE * WINDOW);
    assert.equal(r.estimated.metric, metric);
    // The batch chart's points are the windows' estimates (MSE: the stored RMSE squared back).
    const batchValues = r.estimated.chart!.values;
    assert.equal(batchValues.length, 13);
    // The live window estimates from the last reference window on (the earlier ones before the fit).
    assert.deepEqual(
      windows.slice(REFERENCE - 1).map((w) => w.estimated!.value),
      batchValues.slice(REFERENCE - 1),
    );
    assert.ok(windows.slice(REFERENCE - 1).every((w) => w.estimated!.metric === metric));
    // The window's own fields, as the batch window's: estimatedMae for MAE, estimatedRmse for RMSE and MSE.
    const field = metric === 'mae' ? 'estimatedMae' : 'estimatedRmse';
    assert.deepEqual(
      windows.slice(REFERENCE - 1).map((w) => w[field]),
      r.windows.slice(REFERENCE - 1).map((w) => w[field]),
    );
    const other = metric === 'mae' ? 'estimatedRmse' : 'estimatedMae';
    assert.ok(windows.every((w) => !(other in w)));
    // The same limits: the centre from the reference estimates, σ the larger of theirs and the realised metric's.
    const last = windows[12].estimated!.chart!;
    assert.ok(Math.abs(last.centre - r.estimated.chart!.centre) < 1e-12);
    assert.ok(Math.abs(last.ucl - r.estimated.chart!.limits!.ucl) < 1e-12);
    assert.ok(Math.abs(last.lcl - r.estimated.chart!.limits!.lcl) < 1e-12);
    // The same rule violations after the reference (the live chart does not judge its baseline).
    const batchRules = r.estimated
      .chart!.violations.map((v) => ({ rule: v.rule, at: r.estimated!.chartWindows[v.index] }))
      .filter((v) => v.at >= REFERENCE)
      .map((v) => `dle:we${v.rule}@${v.at}`)
      .sort();
    const liveRules = alertsOf(events)
      .filter((a) => a.estimated)
      .map((a) => `${a.rule}@${a.window}`)
      .sort();
    assert.ok(batchRules.length > 0, 'the shift breaks a rule on the estimate');
    assert.deepEqual(liveRules, batchRules);
  });

test('the model server hub gauges the estimated loss and counts its rule violations; policies treat dle like cbpe', () => {
  const hub = new LiveMonitorHub({ heartbeatMs: 60_000, thread: 'inline' });
  try {
    hub.configure('m', { window: 200, baseline: 4 });
    const events: LiveStreamEvent[] = [];
    hub.on('event', (e: LiveStreamEvent) => events.push(e));
    // Four labelled reference windows, then five shifted ones without feedback (the last scored when the next fills).
    const { reqs } = traffic(12, (x) => 0.05 + x, 4, 6, 200);
    for (const q of reqs) {
      hub.observe(
        'm',
        '1.0.0',
        MODEL,
        q.id,
        { x: q.x, z: q.z, c: q.c },
        q.pred.map((value) => ({ value })),
        1,
      );
      if (q.labelled) hub.feedback('m', q.id, q.truth);
    }
    hub.drain();
    const windows = events.filter((e) => e.event === 'window').map((e) => e.data as LiveWindow);
    assert.equal(windows.length, 9);
    const dle = events
      .filter((e) => e.event === 'alert')
      .map((e) => e.data as LiveAlert)
      .filter((a) => a.rule.startsWith('dle:'));
    assert.ok(
      dle.some((a) => a.rule === 'dle:we1'),
      JSON.stringify(dle),
    );
    const lines = hub.metricLines().join('\n');
    const est = windows[8].estimated!.value!;
    assert.equal(windows[8].estimated!.method, 'dle');
    assert.match(
      lines,
      new RegExp(`modelops_monitor_window_estimated_loss\\{model="m",version="1\\.0\\.0",metric="mae"\\} ${est}\\n`),
    );
    assert.match(lines, /# HELP modelops_monitor_rule_violations_total .*dle:we<n>/);
    const we1 = dle.filter((a) => a.rule === 'dle:we1').length;
    assert.match(
      lines,
      new RegExp(`modelops_monitor_rule_violations_total\\{model="m",version="1\\.0\\.0",rule="dle:we1"\\} ${we1}\\n`),
    );
    // A classifier's window has no loss gauge.
    assert.doesNotMatch(lines, /modelops_monitor_window_estimated_accuracy\{/);
  } finally {
    hub.close();
  }
  // `monitor.on.cbpe` decides every estimate's alert; `we1` does not cover it.
  assert.deepEqual(actionFor({ cbpe: 'rollback', we1: 'retrain' }, 'dle:we1'), { action: 'rollback', because: 'cbpe' });
  assert.deepEqual(actionFor({ alert: 'retrain', we1: 'rollback' }, 'dle:we2'), {
    action: 'retrain',
    because: 'alert',
  });
});

test('each version has its own DLE loss model: a new version is estimated as if the monitor had started with it', () => {
  // 1.0.0's errors are small everywhere; 1.1.0's grow with x, and x shifts up after its reference.
  const v1 = traffic(21, () => 0.05, 6, 0).reqs;
  const v2 = traffic(22, (x) => 0.1 + x, 5, 2).reqs.map((q) => ({ ...q, id: `v2-${q.id}` }));
  const isV2 = (q: Req): boolean => q.id.startsWith('v2-');
  const versionOf = (q: Req): string => (isV2(q) ? '1.1.0' : '1.0.0');
  const both = windowsOf(live([...v1, ...v2], CONFIG, versionOf)).filter((w) => w.version === '1.1.0');
  const alone = windowsOf(live(v2, CONFIG, versionOf));
  assert.equal(both.length, 7);
  assert.deepEqual(
    both.map((w) => w.estimated!.calibration),
    ['pending', 'pending', 'pending', 'pending', 'fitted', 'fitted', 'fitted'],
  );
  assert.deepEqual(
    both.map((w) => [w.estimated, w.estimatedMae]),
    alone.map((w) => [w.estimated, w.estimatedMae]),
  );
});

test('labels that come late: live and batch DLE fit the loss model on the test split the version recorded', async () => {
  // The version's test split: 1,000 labelled rows with x ~ U(0, 1), as at training.
  const split = traffic(21, (x) => 0.1 + x, 2, 0).reqs;
  const recorded: LiveModel = {
    ...MODEL,
    profile: {
      rows: 0,
      features: {},
      predictions: {
        kind: 'numeric',
        count: 0,
        missing: 0,
        mean: 0,
        std: 0,
        min: 0,
        max: 0,
        quantiles: [],
        sample: [],
      },
      evaluationLoss: lossSample(
        split.flatMap((q) => q.x.map((x, k) => ({ x, z: q.z[k], c: q.c[k] }))),
        ['x', 'z', 'c'],
        split.flatMap((q) => q.pred),
        split.flatMap((q) => q.truth),
      ),
    },
  };
  // Five reference windows and three shifted ones; no feedback at all.
  const { reqs, mae } = traffic(22, (x) => 0.1 + x, 5, 3);
  const unlabelled = reqs.map((q) => ({ ...q, labelled: false }));
  const events = live(unlabelled, CONFIG, undefined, recorded);
  const windows = windowsOf(events);
  assert.ok(windows.every((w) => w.labelled === 0));
  // The shift raises the estimate before any label, and the alert says what the loss model rests on.
  assert.ok(
    alertsOf(events).some(
      (a) =>
        a.rule === 'dle:we1' && /DLE from a loss model fitted on the version's test split, 0 of 500/.test(a.message),
    ),
    JSON.stringify(alertsOf(events).map((a) => a.message)),
  );
  assert.deepEqual(
    windows.map((w) => [w.estimated!.calibration, w.estimated!.calibratedOn ?? null]),
    [
      ...Array.from({ length: REFERENCE - 1 }, () => ['pending', null]),
      ...Array.from({ length: 4 }, () => ['fitted', 'test split']),
    ],
  );
  for (const w of windows.slice(REFERENCE - 1))
    assert.ok(
      Math.abs(w.estimated!.value! - mae[w.index]) < 0.1,
      `window ${w.index}: ${w.estimated!.value} vs ${mae[w.index]}`,
    );
  // Without the split: no loss model, and the note says what is missing.
  assert.equal(windowsOf(live(unlabelled, CONFIG)).at(-1)!.estimated!.calibration, 'unfitted');

  const mc = {
    target: 'local',
    window: WINDOW,
    controlChart: { metric: 'mae', sigma: 3, baseline: REFERENCE, rules: [1, 2, 3, 4] },
    drift: {},
    alerts: { notify: false },
  } as MonitorConfig;
  const r = await batch('late-labels', unlabelled, mc, recorded);
  assert.ok(r.estimated?.method === 'dle', 'DLE ran');
  assert.equal(r.estimated.lossModel.source, 'test split');
  assert.equal(r.estimated.lossModel.rows, 1000);
  r.windows.forEach((w, i) =>
    assert.ok(Math.abs(w.estimatedMae! - mae[i]) < 0.1, `batch window ${i}: ${w.estimatedMae} vs ${mae[i]}`),
  );
});
