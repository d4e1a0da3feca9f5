/**
 * CBPE in the live window: the estimate of accuracy from the served probabilities, charted against
 * the reference windows' estimates, alerts on a drop with no label sent; the batch monitor, given
 * the same predictions, probabilities and feedback, gives the same estimates and the same alerts;
 * the model server's hub streams the estimate, keeps it as a Prometheus gauge and counts its rule
 * violations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import type { MonitorConfig } from '../../../server/engine/config/types';
import { monitor, type MonitoredModel } from '../../../server/engine/monitoring/monitor';
import {
  DEFAULT_LIVE_CONFIG,
  liveConfigFromMonitor,
  WindowAccumulator,
  type LiveAlert,
  type LiveEvent,
  type LiveModel,
  type LiveWindow,
} from '../../../server/engine/monitoring/live/window';
import { LiveMonitorHub, type LiveStreamEvent } from '../../../server/engine/serving/liveMonitor';
import { makeBundle, tempDir } from '../serving/fixtures';
import { runConfig } from '../fixtures/config';
import { evaluationSample } from '../../../server/engine/data/profile';

const LABELS = ['A', 'B', 'C'];
const MODEL: LiveModel = {
  task: 'classification',
  labels: LABELS,
  features: [{ name: 'x', kind: 'numeric' }],
  profile: {
    rows: 100,
    features: {
      x: {
        kind: 'numeric',
        count: 100,
        missing: 0,
        mean: 5,
        std: 3,
        min: 0,
        max: 10,
        quantiles: Array.from({ length: 11 }, (_, k) => k),
        sample: Array.from({ length: 100 }, (_, i) => i / 10),
      },
    },
    predictions: { kind: 'categorical', count: 99, missing: 0, counts: { A: 33, B: 33, C: 33 } },
  },
};

/** Park–Miller, so every run sees the same rows. */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 48271) % 2147483647;
    return s / 2147483647;
  };
}

interface Row {
  x: number;
  pred: string;
  probs: number[];
  /** Drawn with the predicted class's probability: the probabilities are calibrated by construction. */
  truth: string;
}

/**
 * `confident` windows whose predicted class has a probability uniform in [0.8, 1.0], then
 * `unsure` windows where it is uniform in [0.4, 0.6] (still the arg-max), `size` rows each.
 */
function rows(size: number, confident: number, unsure: number, seed = 5): Row[] {
  const next = rng(seed);
  const out: Row[] = [];
  for (let i = 0; i < size * (confident + unsure); i++) {
    const c = i % 3;
    const p = i < size * confident ? 0.8 + 0.2 * next() : 0.4 + 0.2 * next();
    const probs = [0, 1, 2].map((k) => (k === c ? p : (1 - p) / 2));
    const right = next() < p;
    out.push({ x: (i % 100) / 10, pred: LABELS[c], probs, truth: right ? LABELS[c] : LABELS[(c + 1) % 3] });
  }
  return out;
}

/** `n` rows that say 0.88–0.92 for their class and are right 55 % of the time (over-confident). */
function overconfidentRows(n: number, seed: number): Row[] {
  const next = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const c = i % 3;
    const p = 0.88 + 0.04 * next();
    return {
      x: (i % 100) / 10,
      pred: LABELS[c],
      probs: [0, 1, 2].map((k) => (k === c ? p : (1 - p) / 2)),
      truth: next() < 0.55 ? LABELS[c] : LABELS[(c + 1) % 3],
    };
  });
}

const windowsOf = (events: LiveEvent[]): LiveWindow[] =>
  events.filter((e): e is Extract<LiveEvent, { type: 'window' }> => e.type === 'window').map((e) => e.data);
const alertsOf = (events: LiveEvent[]): LiveAlert[] =>
  events.filter((e): e is Extract<LiveEvent, { type: 'alert' }> => e.type === 'alert').map((e) => e.data);

test('a window whose probabilities drop raises the estimated-accuracy alert with no feedback sent', () => {
  const events: LiveEvent[] = [];
  const acc = new WindowAccumulator('m', { ...DEFAULT_LIVE_CONFIG, window: 50, baseline: 5 }, (e) => events.push(e));
  // Windows 0–4 (reference) and 5–6 confident, window 7 unsure; no feedback at all.
  const data = rows(50, 7, 1);
  data.forEach((r, i) =>
    acc.observe('1.0.0', MODEL, `r${i}`, { x: [r.x] }, [r.pred], 1, 1_700_000_000_000 + i, [r.probs]),
  );
  acc.flush();
  const windows = windowsOf(events);
  assert.equal(windows.length, 8);
  assert.ok(windows.every((w) => w.labelled === 0 && w.accuracy === null && w.chart === null));
  for (const [i, w] of windows.entries()) {
    // The estimate is the mean probability of the predicted class (float32 as logged).
    const own = data.slice(i * 50, (i + 1) * 50);
    const mean = own.reduce((s, r) => s + Math.fround(r.probs[LABELS.indexOf(r.pred)]), 0) / 50;
    assert.ok(Math.abs(w.estimatedAccuracy! - mean) < 1e-9, `window ${i}: ${w.estimatedAccuracy} vs ${mean}`);
    assert.equal(w.estimated?.metric, 'accuracy');
    assert.equal(w.estimated?.rows, 50);
  }
  assert.deepEqual(
    windows.map((w) => w.estimated!.calibration),
    ['pending', 'pending', 'pending', 'pending', 'none', 'none', 'none', 'none'],
    'raw probabilities until the reference is in; no labels, so nothing to recalibrate with',
  );
  assert.equal(windows[3].estimated!.chart, null, 'no limits inside the reference');
  assert.ok(windows[4].estimated!.chart, 'limits from the last reference window on');
  assert.ok(windows[7].estimatedAccuracy! < 0.6 && windows[6].estimatedAccuracy! > 0.85);

  const alerts = alertsOf(events).filter((a) => !a.rule.startsWith('drift:'));
  assert.deepEqual(
    alerts.map((a) => `${a.rule}@${a.window}`),
    ['cbpe:we1@7'],
    'one alert, in the window whose probabilities dropped',
  );
  const a = alerts[0];
  assert.equal(a.estimated, true);
  assert.equal(a.metric, 'accuracy');
  assert.equal(a.value, windows[7].estimatedAccuracy);
  assert.match(
    a.message,
    /^Estimated accuracy 0\.\d{3} in live window 8 .*rule 1.*below the centre 0\.9\d\d.*0 of 50 rows labelled\.$/,
  );
  assert.deepEqual(windows[7].estimated!.chart!.violations, [{ rule: 1, side: 'below' }]);
  assert.ok(windows[7].estimated!.chart!.lcl > windows[7].estimatedAccuracy!);
});

test('the batch monitor and the live window give the same estimates and the same estimated alerts', async () => {
  const tmp = tempDir('live-cbpe');
  const registry = openRegistry(join(tmp.dir, 'ws'));
  try {
    await makeBundle(join(tmp.dir, 'bundle'), 1);
    await registry.registerVersion({
      model: 'weather',
      source: join(tmp.dir, 'bundle'),
      version: '1.0.0',
      format: 'modelops-tfjs',
    });
    const mc = {
      target: 'local',
      window: 40,
      controlChart: { metric: 'accuracy', sigma: 3, baseline: 5, rules: [1, 2, 3, 4] },
      drift: { test: 'auto' },
      alerts: { notify: false },
    } as MonitorConfig;
    const config = runConfig({ project: 'live-cbpe', monitor: mc });
    // 12 windows of 40 rows in requests of 4; every request's feedback right after it, except in
    // the last three windows (labels have not come yet).
    const data = rows(40, 10, 2, 9);
    const requests = Array.from({ length: data.length / 4 }, (_, q) => data.slice(q * 4, q * 4 + 4));
    const labelled = (q: number) => q * 4 < 40 * 9;
    const logDir = join(tmp.dir, 'log');
    mkdirSync(logDir);
    const lines: string[] = [];
    const t0 = Date.UTC(2026, 0, 1);
    requests.forEach((r, q) => {
      const time = new Date(t0 + q * 1000).toISOString();
      lines.push(
        JSON.stringify({
          type: 'prediction',
          id: `q${q}`,
          time,
          version: '1.0.0',
          latencyMs: 1,
          inputs: { x: r.map((x) => x.x) },
          outputs: { label: r.map((x) => x.pred), probabilities: r.map((x) => x.probs) },
        }),
      );
      if (labelled(q))
        lines.push(JSON.stringify({ type: 'feedback', id: `q${q}`, time, labels: r.map((x) => x.truth) }));
    });
    writeFileSync(join(logDir, 'predictions.jsonl'), lines.join('\n') + '\n');
    const batch = await monitor({
      registry,
      config,
      target: 'local',
      model: 'weather',
      logDir,
      alert: false,
      manifestFor: async () => MODEL as MonitoredModel,
    });

    const events: LiveEvent[] = [];
    const live = new WindowAccumulator('weather', liveConfigFromMonitor(mc), (e) => events.push(e));
    requests.forEach((r, q) => {
      live.observe(
        '1.0.0',
        MODEL,
        `q${q}`,
        { x: r.map((x) => x.x) },
        r.map((x) => x.pred),
        1,
        t0 + q * 1000,
        r.map((x) => x.probs),
      );
      if (labelled(q))
        live.feedback(
          `q${q}`,
          r.map((x) => x.truth),
        );
    });
    live.flush();
    const windows = windowsOf(events);
    assert.equal(windows.length, 12);
    assert.ok(batch.estimated?.method === 'cbpe');
    assert.equal(batch.estimated.calibration.method, 'none', 'calibrated by construction');
    assert.equal(batch.estimated.calibration.rows, 200);
    assert.deepEqual(
      windows.map((w) => w.estimatedAccuracy),
      batch.windows.map((w) => w.estimatedAccuracy),
    );
    assert.deepEqual(
      windows.map((w) => w.estimatedF1),
      batch.windows.map((w) => w.estimatedF1),
    );
    const batchRules = batch
      .estimated!.chart!.violations.map((v) => `cbpe:we${v.rule}@${batch.estimated!.chartWindows[v.index]}`)
      .sort();
    const liveRules = alertsOf(events)
      .filter((a) => a.estimated)
      .map((a) => `${a.rule}@${a.window}`)
      .sort();
    assert.ok(batchRules.includes('cbpe:we1@10'), `the drop breaks rule 1 on the estimate: ${batchRules.join(', ')}`);
    assert.deepEqual(liveRules, batchRules);
    // The limits of the latest live point are the batch chart's.
    const last = windows[11].estimated!.chart!;
    assert.ok(Math.abs(last.centre - batch.estimated!.chart!.centre) < 1e-12);
    assert.ok(Math.abs(last.lcl - batch.estimated!.chart!.limits!.lcl) < 1e-12);
    assert.ok(Math.abs(last.ucl - batch.estimated!.chart!.limits!.ucl) < 1e-12);
  } finally {
    registry.close();
    tmp.cleanup();
  }
});

test('the model server hub streams the estimate, gauges it and counts its rule violations', () => {
  const hub = new LiveMonitorHub({ heartbeatMs: 60_000, thread: 'inline' });
  try {
    hub.configure('m', { window: 30, baseline: 4 });
    const events: LiveStreamEvent[] = [];
    hub.on('event', (e: LiveStreamEvent) => events.push(e));
    rows(30, 5, 1, 3).forEach((r, i) =>
      hub.observe('m', '2.0.0', MODEL, `r${i}`, { x: [r.x] }, [{ value: r.pred, probabilities: r.probs }], 1),
    );
    // The sixth window is scored when the next fills.
    rows(30, 1, 0, 4).forEach((r, i) =>
      hub.observe('m', '2.0.0', MODEL, `s${i}`, { x: [r.x] }, [{ value: r.pred, probabilities: r.probs }], 1),
    );
    // Requests are recorded in batches, once per turn of the event loop: drain records them now.
    hub.drain();
    const windows = events.filter((e) => e.event === 'window').map((e) => e.data as LiveWindow);
    assert.equal(windows.length, 6);
    assert.ok(windows.every((w) => typeof w.estimatedAccuracy === 'number'));
    const alert = events.find((e) => e.event === 'alert' && !(e.data as LiveAlert).rule.startsWith('drift:'));
    assert.equal((alert?.data as LiveAlert | undefined)?.rule, 'cbpe:we1');
    const lines = hub.metricLines().join('\n');
    const est = windows[5].estimatedAccuracy!;
    assert.match(
      lines,
      new RegExp(`modelops_monitor_window_estimated_accuracy\\{model="m",version="2\\.0\\.0"\\} ${est}\\n`),
    );
    assert.match(lines, /modelops_monitor_rule_violations_total\{model="m",version="2\.0\.0",rule="cbpe:we1"\} 1\n/);
    // Without probabilities (an older predictor) a window has no estimate and raises none.
    const bare = new LiveMonitorHub({ heartbeatMs: 60_000, thread: 'inline' });
    const seen: LiveStreamEvent[] = [];
    bare.on('event', (e: LiveStreamEvent) => seen.push(e));
    bare.configure('m', { window: 10 });
    for (let i = 0; i < 20; i++) bare.observe('m', '1', MODEL, `b${i}`, { x: [1] }, [{ value: 'A' }], 1);
    bare.drain();
    const w = seen.find((e) => e.event === 'window')!.data as LiveWindow;
    assert.equal(w.estimatedAccuracy, null);
    assert.equal(w.estimated, null);
    bare.close();
  } finally {
    hub.close();
  }
});

test('each version has its own CBPE reference: a new version is estimated as if the monitor had started with it', () => {
  // Version 1.0.0 is calibrated; 1.1.0 says 0.9 for its class but is right 55 % of the time.
  const overconfident = overconfidentRows(50 * 8, 11);
  const config = { ...DEFAULT_LIVE_CONFIG, window: 50, baseline: 5 };
  const feed = (acc: WindowAccumulator, version: string, data: Row[], from: number): void =>
    data.forEach((r, i) => {
      const id = `${version}-${from + i}`;
      acc.observe(version, MODEL, id, { x: [r.x] }, [r.pred], 1, 1_700_000_000_000 + from + i, [r.probs]);
      acc.feedback(id, [r.truth]);
    });
  const both: LiveEvent[] = [];
  const a = new WindowAccumulator('m', config, (e) => both.push(e));
  feed(a, '1.0.0', rows(50, 7, 0), 0);
  feed(a, '1.1.0', overconfident, 350);
  a.flush();
  const alone: LiveEvent[] = [];
  const b = new WindowAccumulator('m', config, (e) => alone.push(e));
  feed(b, '1.1.0', overconfident, 350);
  b.flush();

  const after = windowsOf(both).filter((w) => w.version === '1.1.0');
  const own = windowsOf(alone);
  assert.equal(after.length, 8);
  assert.deepEqual(
    after.map((w) => w.estimated!.calibration),
    ['pending', 'pending', 'pending', 'pending', 'isotonic', 'isotonic', 'isotonic', 'isotonic'],
    "1.1.0's own first windows are its reference, recalibrated on its labels",
  );
  assert.deepEqual(
    after.map((w) => [w.estimated, w.estimatedAccuracy, w.estimatedF1]),
    own.map((w) => [w.estimated, w.estimatedAccuracy, w.estimatedF1]),
  );
  // Read with 1.0.0's calibration the estimate would stay near 0.9; its own says what labels say.
  assert.ok(
    after.slice(5).every((w) => Math.abs(w.estimatedAccuracy! - 0.55) < 0.12),
    'near 55 %',
  );
  const estimatedAlerts = (events: LiveEvent[], version: string) =>
    alertsOf(events)
      .filter((x) => x.estimated && x.version === version)
      .map((x) => ({ ...x, window: 0, message: '' }));
  assert.deepEqual(estimatedAlerts(both, '1.1.0'), estimatedAlerts(alone, '1.1.0'));
});

test('labels that come late: an over-confident version is recalibrated on the test split it recorded at training', () => {
  // Over-confident; no feedback reaches the live monitor. The test split was recorded at training.
  const split = overconfidentRows(600, 17);
  const traffic = overconfidentRows(400, 18);
  const recorded: LiveModel = {
    ...MODEL,
    profile: {
      ...MODEL.profile!,
      evaluation: evaluationSample(
        split.flatMap((r) => r.probs),
        split.map((r) => LABELS.indexOf(r.truth)),
        3,
      ),
    },
  };
  const run = (m: LiveModel): LiveWindow[] => {
    const events: LiveEvent[] = [];
    const acc = new WindowAccumulator('m', { ...DEFAULT_LIVE_CONFIG, window: 50, baseline: 5 }, (e) => events.push(e));
    traffic.forEach((r, i) =>
      acc.observe('1.0.0', m, `r${i}`, { x: [r.x] }, [r.pred], 1, 1_700_000_000_000 + i, [r.probs]),
    );
    acc.flush();
    return windowsOf(events);
  };
  const withSplit = run(recorded);
  assert.ok(withSplit.every((w) => w.labelled === 0));
  assert.deepEqual(
    withSplit.map((w) => [w.estimated!.calibration, w.estimated!.calibratedOn ?? null]),
    [
      ...Array.from({ length: 4 }, () => ['pending', null]),
      ...Array.from({ length: 4 }, () => ['isotonic', 'test split']),
    ],
  );
  assert.ok(
    withSplit.slice(4).every((w) => Math.abs(w.estimatedAccuracy! - 0.55) < 0.12),
    `near 55 %: ${withSplit.map((w) => w.estimatedAccuracy!.toFixed(2)).join(' ')}`,
  );
  // Without a recorded split the raw probabilities stand, and they say 90 %.
  const without = run(MODEL);
  assert.deepEqual(
    without.slice(4).map((w) => [w.estimated!.calibration, w.estimated!.calibratedOn]),
    Array.from({ length: 4 }, () => ['none', 'reference windows']),
  );
  assert.ok(without.slice(4).every((w) => w.estimatedAccuracy! > 0.85));
});
