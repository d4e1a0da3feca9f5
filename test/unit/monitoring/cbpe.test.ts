import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CbpeScratch,
  Calibration,
  IsotonicCalibrator,
  checkCalibration,
  estimateWindow,
  reliability,
} from '../../../server/engine/monitoring/cbpe';
import { monitor, type MonitoredModel, type MonitorResult } from '../../../server/engine/monitoring';
import { openRegistry } from '../../../server/engine/registry';
import type { Registry } from '../../../server/engine/registry/types';
import { makeBundle, tempDir } from '../serving/fixtures';
import { runConfig } from '../fixtures/config';
import { mulberry32 } from '../fixtures/random';
import { evaluationSample } from '../../../server/engine/data/profile';

const K = 3;

/**
 * n rows whose true class is drawn from `p` itself (so `p` is calibrated), predicted as the
 * arg-max; `shown` is what the model reports: p, or p sharpened (over-confident) by `power`.
 */
function synthetic(n: number, seed: number, confidence: number, power = 1) {
  const r = mulberry32(seed);
  const truthProbs = new Float32Array(n * K);
  const shown = new Float32Array(n * K);
  const pred = new Int32Array(n);
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    // A peaked row: the favourite class gets `confidence` ± noise, the rest share the remainder.
    const fav = Math.floor(r() * K);
    const top = Math.min(0.98, Math.max(0.34, confidence + (r() - 0.5) * 0.3));
    const split = r();
    let j = 0;
    let sumShown = 0;
    const row = new Float64Array(K);
    for (let c = 0; c < K; c++) {
      row[c] = c === fav ? top : (1 - top) * (j++ === 0 ? split : 1 - split);
      sumShown += row[c] ** power;
    }
    let u = r();
    truth[i] = K - 1;
    for (let c = 0; c < K; c++) {
      truthProbs[i * K + c] = row[c];
      shown[i * K + c] = row[c] ** power / sumShown;
      if (u < row[c] && truth[i] === K - 1) {
        truth[i] = c;
        u = Infinity;
      } else u -= row[c];
    }
    let best = 0;
    for (let c = 1; c < K; c++) if (row[c] > row[best]) best = c;
    pred[i] = best;
  }
  return { shown, truthProbs, pred, truth };
}

function realised(pred: Int32Array, truth: Int32Array, start: number, end: number): { accuracy: number; f1: number } {
  let correct = 0;
  const tp = new Float64Array(K);
  const fp = new Float64Array(K);
  const fn = new Float64Array(K);
  for (let i = start; i < end; i++) {
    if (pred[i] === truth[i]) {
      correct++;
      tp[pred[i]]++;
    } else {
      fp[pred[i]]++;
      fn[truth[i]]++;
    }
  }
  let f1 = 0;
  for (let c = 0; c < K; c++) f1 += (2 * tp[c]) / (2 * tp[c] + fp[c] + fn[c]);
  return { accuracy: correct / (end - start), f1: f1 / K };
}

/** Prediction log lines of `d` as requests of 10 rows, with their feedback when `labelled`. */
function logLines(d: ReturnType<typeof synthetic>, offset: number, labelled: boolean, labels: string[]): string[] {
  const lines: string[] = [];
  for (let q = 0; q < d.pred.length / 10; q++) {
    const rows = Array.from({ length: 10 }, (_, k) => q * 10 + k);
    const id = `r${offset + q}`;
    lines.push(
      JSON.stringify({
        type: 'prediction',
        id,
        time: '2026-01-01T00:00:00.000Z',
        version: '1.0.0',
        latencyMs: 1,
        inputs: { x: rows.map((i) => i % 7) },
        outputs: {
          label: rows.map((i) => labels[d.pred[i]]),
          probabilities: rows.map((i) => Array.from(d.shown.subarray(i * K, i * K + K))),
        },
      }),
    );
    if (labelled)
      lines.push(
        JSON.stringify({
          type: 'feedback',
          id,
          time: '2026-01-01T00:00:01.000Z',
          labels: rows.map((i) => labels[d.truth[i]]),
        }),
      );
  }
  return lines;
}

test('isotonic regression is the non-decreasing least-squares step function', () => {
  const iso = new IsotonicCalibrator([0.1, 0.2, 0.3, 0.4, 0.5], [0, 1, 0, 1, 1]);
  // PAV pools (0.2, 0.3) into 0.5: steps 0, 0.5, 0.5, 1, 1.
  assert.deepEqual(
    [0.1, 0.2, 0.3, 0.4, 0.5].map((x) => iso.predict(x)),
    [0, 0.5, 0.5, 1, 1],
  );
  assert.equal(iso.predict(0), 0);
  assert.equal(iso.predict(0.9), 1);
});

test('calibrated probabilities: the expected accuracy and F1 of every window match the realised ones within their sampling error', () => {
  const n = 20_000;
  const w = 2_000;
  const { shown, pred, truth } = synthetic(n, 7, 0.75);
  const { calibration, check } = checkCalibration(shown, K, pred, truth, 0, 4_000);
  assert.equal(check.miscalibrated, false, `ECE ${check.ece} vs noise ${check.noise}`);
  assert.equal(check.method, 'none');
  const s = new CbpeScratch(K);
  let worst = 0;
  for (let start = 0; start < n; start += w) {
    const e = estimateWindow(shown, pred, start, start + w, calibration, s);
    const r = realised(pred, truth, start, start + w);
    assert.equal(e.rows, w);
    // The realised accuracy is a sum of Bernoulli(p): within 4 standard errors of the expectation.
    const z = Math.abs(r.accuracy - e.accuracy!) / e.accuracyStdErr!;
    worst = Math.max(worst, z);
    assert.ok(z < 4, `window at ${start}: estimated ${e.accuracy} vs realised ${r.accuracy} (z ${z.toFixed(2)})`);
    assert.ok(Math.abs(r.f1 - e.f1!) < 0.04, `window at ${start}: estimated F1 ${e.f1} vs realised ${r.f1}`);
  }
  assert.ok(worst > 0, 'the estimates are not copies of the realised values');
});

test('over-confident probabilities are found miscalibrated and recalibrated with isotonic regression on the reference', () => {
  const n = 20_000;
  const { shown, pred, truth } = synthetic(n, 11, 0.6, 3);
  const { calibration, check } = checkCalibration(shown, K, pred, truth, 0, 5_000);
  assert.equal(check.miscalibrated, true, `ECE ${check.ece} vs noise ${check.noise}`);
  assert.equal(check.method, 'isotonic');
  assert.ok(check.eceAfter! < check.ece / 3, `ECE ${check.ece} → ${check.eceAfter}`);
  const s = new CbpeScratch(K);
  const raw = estimateWindow(shown, pred, 5_000, n, new Calibration(K, null), s);
  const fixed = estimateWindow(shown, pred, 5_000, n, calibration, s);
  const r = realised(pred, truth, 5_000, n);
  // The raw probabilities overstate accuracy; the calibrated estimate is within 4 standard errors.
  assert.ok(raw.accuracy! - r.accuracy > 0.05, `raw ${raw.accuracy} vs realised ${r.accuracy}`);
  assert.ok(
    Math.abs(fixed.accuracy! - r.accuracy) < 4 * fixed.accuracyStdErr!,
    `calibrated ${fixed.accuracy} vs realised ${r.accuracy}`,
  );
  // Too few labelled rows: no calibrator, and the report says why.
  const few = checkCalibration(shown, K, pred, truth, 0, 60);
  if (few.check.miscalibrated) assert.match(few.check.note ?? '', /at least 100/);
  assert.equal(few.calibration.calibrated, false);
});

test('labels that come late: the calibration is checked and fitted on the test split recorded with the version', () => {
  const n = 20_000;
  const { shown, pred, truth } = synthetic(n, 13, 0.6, 3);
  // The reference windows (rows 0–5,000) have no label yet; rows 15,000 on played the test split at training.
  const unlabelled = new Int32Array(n).fill(-1);
  const split = evaluationSample(shown.subarray(15_000 * K), truth.subarray(15_000), K);
  assert.equal(split.rows, 1_667, 'every 3rd row of a 5,000-row split (at most 2,000 kept)');
  const { calibration, check } = checkCalibration(shown, K, pred, unlabelled, 0, 5_000, split);
  assert.equal(check.source, 'test split');
  assert.equal(check.rows, 1_667);
  assert.equal(check.method, 'isotonic', `ECE ${check.ece} vs noise ${check.noise}`);
  const s = new CbpeScratch(K);
  const fixed = estimateWindow(shown, pred, 5_000, 15_000, calibration, s);
  const r = realised(pred, truth, 5_000, 15_000);
  assert.ok(
    Math.abs(fixed.accuracy! - r.accuracy) < 4 * fixed.accuracyStdErr!,
    `calibrated on the split ${fixed.accuracy} vs realised ${r.accuracy}`,
  );
  // Without the split: raw probabilities, and the note says what is missing.
  const none = checkCalibration(shown, K, pred, unlabelled, 0, 5_000);
  assert.equal(none.check.source, 'reference windows');
  assert.equal(none.calibration.calibrated, false);
  // Enough labelled reference rows: those, not the split.
  const labelled = checkCalibration(shown, K, pred, truth, 0, 5_000, split);
  assert.equal(labelled.check.source, 'reference windows');
  assert.equal(labelled.check.rows, 5_000);
  // A wide model keeps fewer rows: at most 100,000 numbers (100 classes: 990 rows, every 6th of 5,000).
  const wide = evaluationSample(new Float64Array(5000 * 100).fill(0.01), new Int32Array(5000).fill(1), 100);
  assert.equal(wide.rows, 834);
  assert.ok(wide.probabilities.length <= 100_000);
  // Rows without a known class are left out of the split.
  const partial = evaluationSample([0.5, 0.5, 0.9, 0.1], [-1, 1], 2);
  assert.deepEqual(partial, { rows: 1, probabilities: [0.9, 0.1], truth: [1] });
});

test('the reliability report bins by confidence', () => {
  const r = reliability([0.95, 0.95, 0.55, 0.55], [1, 1, 0, 1]);
  assert.equal(r.bins.length, 2);
  assert.ok(Math.abs(r.ece - (0.5 * 0.05 + 0.5 * 0.05)) < 1e-12);
});

const tmp = tempDir('cbpe');
after(() => tmp.cleanup());

/**
 * A log of `lines` for model 'weather' in `tmp/<name>/log`, a workspace with a registered
 * version to monitor and a config with windows of 200; `run(model)` monitors the log, the
 * version's columns, labels and profile being `model`.
 */
async function monitoredLog(
  name: string,
  lines: string[],
): Promise<{ registry: Registry; run: (model: MonitoredModel) => Promise<MonitorResult> }> {
  const dir = join(tmp.dir, name);
  const logDir = join(dir, 'log');
  mkdirSync(logDir, { recursive: true });
  writeFileSync(join(logDir, 'predictions.jsonl'), lines.join('\n') + '\n');
  const registry = openRegistry(join(dir, 'ws'));
  await makeBundle(join(dir, 'bundle'), 1);
  await registry.registerVersion({
    model: 'weather',
    source: join(dir, 'bundle'),
    version: '1.0.0',
    format: 'modelops-tfjs',
  });
  const config = runConfig({
    project: 't',
    monitor: {
      target: 'local',
      window: 200,
      controlChart: { metric: 'accuracy', sigma: 3, baseline: 5, rules: [1, 2, 3, 4] },
      drift: {},
      alerts: { notify: false },
    },
  });
  const run = (model: MonitoredModel) =>
    monitor({ registry, config, target: 'local', model: 'weather', logDir, manifestFor: async () => model });
  return { registry, run };
}

test('monitoring: an estimated series beside the realised one, and a drop in the estimate alerts before any label arrives', async () => {
  const labels = ['fog', 'rain', 'sun'];
  // 8 labelled windows of 200 at ~0.85 confidence, then 4 unlabelled windows at ~0.45.
  const good = synthetic(1600, 3, 0.85);
  const bad = synthetic(800, 4, 0.45);
  const { registry, run } = await monitoredLog('drop', [
    ...logLines(good, 0, true, labels),
    ...logLines(bad, 1000, false, labels),
  ]);
  const model: MonitoredModel = { task: 'classification', labels, features: [{ name: 'x', kind: 'numeric' }] };
  try {
    const r = await run(model);
    assert.equal(r.windows.length, 12);
    assert.ok(r.estimated?.method === 'cbpe', 'CBPE ran');
    assert.equal(r.estimated.calibration.miscalibrated, false);
    assert.equal(r.estimated.referenceWindows, 5);
    // Realised chart: the 8 labelled windows, each with its estimate beside it.
    assert.equal(r.chart!.values.length, 8);
    assert.equal(r.chart!.estimated!.length, 8);
    assert.equal(r.chart!.estimatedBy, 'cbpe');
    assert.equal(r.chart!.side, 'lower');
    for (let i = 0; i < 8; i++) {
      const w = r.windows[i];
      assert.ok(
        Math.abs(w.accuracy! - w.estimatedAccuracy!) < 0.1,
        `window ${i}: realised ${w.accuracy}, estimated ${w.estimatedAccuracy}`,
      );
      assert.equal(r.chart!.estimated![i], w.estimatedAccuracy);
    }
    // Estimated chart: every window, the unlabelled ones far below.
    assert.equal(r.estimated.chart!.values.length, 12);
    assert.ok(r.windows[11].labelled === 0 && r.windows[11].estimatedAccuracy! < 0.6);
    const est = r.alerts.filter((a) => a.estimated);
    assert.ok(
      est.some(
        (a) =>
          a.rule === 'cbpe:we1' && /Estimated accuracy/.test(a.message) && /0 of 200 rows labelled/.test(a.message),
      ),
      JSON.stringify(r.alerts.map((a) => a.message)),
    );
    assert.ok(
      est.every(
        (a) => r.estimated!.chartWindows[r.estimated!.chart!.violations[0].index] >= 8 && a.rule.startsWith('cbpe:'),
      ),
    );
    // No realised alert could have fired: the low windows have no labels.
    assert.ok(r.alerts.filter((a) => !a.estimated && a.rule.startsWith('we')).length === 0);
  } finally {
    registry.close();
  }
});

test('monitoring with no label yet: the batch monitor calibrates on the test split the version recorded', async () => {
  const labels = ['fog', 'rain', 'sun'];
  // Over-confident probabilities (sharpened by a power of 3); no feedback in the log at all.
  const served = synthetic(2000, 21, 0.6, 3);
  const split = synthetic(1500, 22, 0.6, 3);
  const { registry, run } = await monitoredLog('late', logLines(served, 0, false, labels));
  const model: MonitoredModel = {
    task: 'classification',
    labels,
    features: [{ name: 'x', kind: 'numeric' }],
    profile: {
      rows: 0,
      features: {},
      predictions: { kind: 'categorical', count: 0, missing: 0, counts: {} },
      evaluation: evaluationSample(split.shown, split.truth, K),
    },
  };
  try {
    const r = await run(model);
    assert.ok(r.estimated?.method === 'cbpe', 'CBPE ran');
    assert.equal(r.estimated.calibration.source, 'test split');
    assert.equal(r.estimated.calibration.rows, 1500);
    assert.equal(r.estimated.calibration.method, 'isotonic');
    assert.ok(r.windows.every((w) => w.labelled === 0));
    // The estimate over all windows against what the (withheld) labels would say.
    const truthAccuracy = realised(served.pred, served.truth, 0, 2000).accuracy;
    const estimated = r.windows.reduce((s, w) => s + w.estimatedAccuracy!, 0) / r.windows.length;
    assert.ok(Math.abs(estimated - truthAccuracy) < 0.04, `estimated ${estimated} vs realised ${truthAccuracy}`);
  } finally {
    registry.close();
  }
});
