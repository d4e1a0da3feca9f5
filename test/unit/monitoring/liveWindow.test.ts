import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_LIVE_CONFIG,
  WindowAccumulator,
  type LiveEvent,
  type LiveModel,
} from '../../../server/engine/monitoring/live/window';

const MODEL: LiveModel = {
  task: 'classification',
  labels: ['fog', 'rain', 'sun'],
  features: [
    { name: 'temp', kind: 'numeric' },
    { name: 'city', kind: 'categorical' },
  ],
  profile: {
    rows: 10,
    features: {
      temp: {
        kind: 'numeric',
        count: 10,
        missing: 0,
        mean: 5,
        std: 3,
        min: 0,
        max: 10,
        quantiles: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        sample: [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5],
      },
      city: { kind: 'categorical', count: 10, missing: 0, counts: { a: 5, b: 5 } },
    },
    predictions: { kind: 'categorical', count: 10, missing: 0, counts: { fog: 3, rain: 3, sun: 4 } },
  },
};

test('a window is scored when its labels are in, and a collapse of accuracy breaks rule 1 in that window', () => {
  const events: LiveEvent[] = [];
  const acc = new WindowAccumulator('m', { ...DEFAULT_LIVE_CONFIG, window: 20, baseline: 3 }, (e) => events.push(e));
  // Accuracy per window: 18, 17, 19, 18 of 20 (in control), then 4 of 20.
  const correctPerWindow = [18, 17, 19, 18, 4];
  let n = 0;
  correctPerWindow.forEach((correct, w) => {
    for (let i = 0; i < 20; i++) {
      const id = `r${n++}`;
      acc.observe('1.0.0', MODEL, id, { temp: [(i % 10) + 0.5], city: [i % 2 ? 'a' : 'b'] }, ['sun'], 1, Date.now());
      acc.feedback(id, [i < correct ? 'sun' : 'rain']);
    }
    const windows = events.filter((e) => e.type === 'window');
    assert.equal(windows.length, w + 1, `window ${w + 1} is scored as soon as its last label arrives`);
  });
  const windows = events
    .filter((e): e is Extract<LiveEvent, { type: 'window' }> => e.type === 'window')
    .map((e) => e.data);
  assert.deepEqual(
    windows.map((w) => w.accuracy),
    [0.9, 0.85, 0.95, 0.9, 0.2],
  );
  assert.ok(windows.every((w) => w.closedBy === 'labels' && w.labelled === 20));
  assert.equal(windows[2].chart, null, 'no limits inside the baseline');
  assert.ok(windows[3].chart && windows[3].chart.violations.length === 0);
  const alerts = events
    .filter((e): e is Extract<LiveEvent, { type: 'alert' }> => e.type === 'alert')
    .map((e) => e.data);
  const we1 = alerts.filter((a) => a.rule === 'we1');
  assert.equal(we1.length, 1);
  assert.equal(we1[0].window, 4);
  assert.match(we1[0].message, /accuracy 0\.200 in live window 5 .*rule 1/);
  // Feature drift is scored against the reference deciles: these windows match it.
  assert.ok(windows[0].drift.temp < 0.2 && windows[0].drift.city < 0.2, JSON.stringify(windows[0].drift));
});

test('without labels a full window waits for the next one to fill, then is scored', () => {
  const events: LiveEvent[] = [];
  const acc = new WindowAccumulator('m', { ...DEFAULT_LIVE_CONFIG, window: 10 }, (e) => events.push(e));
  for (let i = 0; i < 19; i++)
    acc.observe('1.0.0', MODEL, `r${i}`, { temp: [100], city: ['zzz'] }, ['fog'], 1, Date.now());
  assert.equal(events.length, 0);
  acc.observe('1.0.0', MODEL, 'r19', { temp: [100], city: ['zzz'] }, ['fog'], 1, Date.now());
  const w = events.find((e) => e.type === 'window');
  assert.ok(w && w.type === 'window');
  assert.equal(w.data.closedBy, 'next-window');
  assert.equal(w.data.accuracy, null);
  // Every value is beyond the reference: drift alerts once per feature, not again while it stays.
  const drift = events.filter((e) => e.type === 'alert').map((e) => (e.type === 'alert' ? e.data.rule : ''));
  assert.deepEqual(drift.sort(), ['drift:city', 'drift:predictions', 'drift:temp']);
  acc.tick(Date.now() + DEFAULT_LIVE_CONFIG.labelWaitMs + 1);
  assert.equal(events.filter((e) => e.type === 'window').length, 2, 'the label wait scores the second window');
  assert.equal(events.filter((e) => e.type === 'alert').length, 3, 'drift that stays does not alert again');
});

test('memory stays bounded: 100,000 predictions (new ids, new categories) leave fixed retained sizes', () => {
  let windows = 0;
  const acc = new WindowAccumulator('m', { ...DEFAULT_LIVE_CONFIG, window: 100 }, (e) => {
    if (e.type === 'window') windows++;
  });
  let after1k = null;
  for (let i = 0; i < 100_000; i++) {
    acc.observe(
      '1.0.0',
      MODEL,
      `id-${i}`,
      { temp: [i % 11], city: [`city-${i}`] },
      [['fog', 'rain', 'sun'][i % 3]],
      0.5,
      1_700_000_000_000 + i,
    );
    // Half of the requests get feedback, some long after their window.
    if (i % 2 === 0) acc.feedback(`id-${Math.max(0, i - 150)}`, ['sun']);
    if (i === 49_999) after1k = acc.retained();
  }
  const r = acc.retained();
  assert.ok(windows >= 998, `${windows} windows scored`);
  assert.equal(
    r.bufferRows,
    300,
    'a ring of two windows of rows and one contiguous window to score (drift window = window)',
  );
  assert.ok(r.pendingIds <= 200, `pending ids ${r.pendingIds}`);
  assert.ok(r.categories <= 1024 + 1 + 3 + 1, `categories ${r.categories}`);
  assert.ok(r.chartPoints <= 5 + 32, `chart points ${r.chartPoints}`);
  assert.ok(r.references <= 8);
  assert.deepEqual(
    { ...r, categories: 0, pendingIds: 0 },
    { ...after1k!, categories: 0, pendingIds: 0 },
    'nothing grows between 50,000 and 100,000 predictions',
  );
});
