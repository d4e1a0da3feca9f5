import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_LIVE_CONFIG,
  liveConfig,
  liveConfigFromMonitor,
  WindowAccumulator,
  type LiveEvent,
  type LiveModel,
  type LiveMonitorConfig,
} from '../../../server/engine/monitoring/live/window';

const MODEL: LiveModel = {
  task: 'classification',
  labels: ['rain', 'sun'],
  features: [{ name: 'temp', kind: 'numeric' }],
};

/** Windows of 20 with these numbers correct; returns the live alerts' rules. */
function alertsFor(config: LiveMonitorConfig, correctPerWindow: number[]): string[] {
  const events: LiveEvent[] = [];
  const acc = new WindowAccumulator('m', config, (e) => events.push(e));
  let n = 0;
  for (const correct of correctPerWindow) {
    for (let i = 0; i < 20; i++) {
      const id = `r${n++}`;
      acc.observe('1.0.0', MODEL, id, { temp: [i] }, ['sun'], 1, Date.now());
      acc.feedback(id, [i < correct ? 'sun' : 'rain']);
    }
  }
  return events.filter((e): e is Extract<LiveEvent, { type: 'alert' }> => e.type === 'alert').map((e) => e.data.rule);
}

test('the live chart watches the side the batch monitor watches: a jump in accuracy is not an alert by default', () => {
  // Baseline p̄ = 0.5 over four windows; then every prediction right (1.0, far above the UCL).
  const windows = [10, 11, 9, 10, 20];
  const byMetric = liveConfigFromMonitor({
    window: 20,
    controlChart: { metric: 'accuracy', sigma: 3, baseline: 4, rules: [1] },
    drift: {},
  });
  assert.equal(byMetric.side, 'lower');
  assert.equal(byMetric.estimator, 'movingRange');
  assert.deepEqual(alertsFor(byMetric, windows), []);
  assert.deepEqual(alertsFor({ ...byMetric, side: 'both' }, windows), ['we1']);
  // A drop still alerts on the lower side.
  assert.deepEqual(alertsFor(byMetric, [10, 11, 9, 10, 0]), ['we1']);
});

test('the σ estimator and side come from monitor.controlChart, and the PUT settings check them', () => {
  const c = liveConfigFromMonitor({
    window: 50,
    controlChart: { metric: 'mae', sigma: 3, baseline: 5, rules: [1, 2], sigmaEstimator: 'stddev' },
    drift: {},
  });
  assert.equal(c.estimator, 'stddev');
  assert.equal(c.side, 'upper', 'an error metric alerts on rises');
  assert.equal(
    liveConfigFromMonitor({
      window: 50,
      controlChart: { metric: 'mae', sigma: 3, baseline: 5, rules: [1], side: 'both' },
      drift: {},
    }).side,
    'both',
  );
  assert.deepEqual(liveConfig({ sigmaEstimator: 'stddev', side: 'lower' }, DEFAULT_LIVE_CONFIG), {
    ...DEFAULT_LIVE_CONFIG,
    estimator: 'stddev',
    side: 'lower',
  });
  assert.throws(
    () => liveConfig({ sigmaEstimator: 'mr' }),
    /'sigmaEstimator' must be "movingRange" or "stddev" \(got "mr"\)/,
  );
  assert.throws(() => liveConfig({ side: 'down' }), /'side' must be "lower", "upper", "both" or null/);
});
