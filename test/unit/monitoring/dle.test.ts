import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BoostedTrees,
  DLE_BOOST,
  DLE_CHUNK,
  DleReference,
  LossModel,
  MAX_DLE_ROWS,
  binEdges,
  type DleColumn,
} from '../../../server/engine/monitoring/dle';
import { monitor, type MonitoredModel, type MonitorResult } from '../../../server/engine/monitoring';
import { openRegistry } from '../../../server/engine/registry';
import { makeBundle, tempDir } from '../serving/fixtures';
import { runConfig } from '../fixtures/config';
import { estimatedLabel } from '../../../webview/charts/controlExport';
import { alertKind } from '../../../extension/text/alerts';
import { mulberry32, normal } from '../fixtures/random';

const num = (values: number[]): DleColumn => ({ values: Float64Array.from(values), codes: false });

test('the tree fit: one tree reproduces a step function exactly, 100 boosted trees to 1e-4', () => {
  const x = Array.from({ length: 400 }, (_, i) => i % 20);
  const step = (v: number) => (v < 5 ? 1 : v < 12 ? 4 : -2);
  const y = Float64Array.from(x, step);
  const one = BoostedTrees.fit([num(x)], y, x.length, { trees: 1, depth: 3, shrinkage: 1, bins: 32, minLeaf: 1 });
  const boosted = BoostedTrees.fit([num(x)], y, x.length, { ...DLE_BOOST, minLeaf: 1 });
  for (let v = 0; v < 20; v++) {
    assert.ok(Math.abs(one.predict([v]) - step(v)) < 1e-12, `x = ${v}: ${one.predict([v])}`);
    // Shrinkage 0.1 leaves 0.9^100 ≈ 2.7e-5 of the first residual (≤ 4.6 here).
    assert.ok(Math.abs(boosted.predict([v]) - step(v)) < 1e-4, `x = ${v}: ${boosted.predict([v])}`);
  }
  assert.ok(one.splits >= 2 && one.splits <= 7);
  // A constant target needs no split.
  assert.equal(BoostedTrees.fit([num(x)], new Float64Array(400).fill(3), 400).splits, 0);
});

test('the tree fit: missing values and category codes split like values, and refitting gives the same model', () => {
  const r = mulberry32(5);
  const n = 2000;
  const a = Array.from({ length: n }, () => (r() < 0.2 ? NaN : r()));
  const codes = Int32Array.from({ length: n }, () => Math.floor(r() * 4) - 1); // −1 is missing
  const y = Float64Array.from(
    { length: n },
    (_, i) => (a[i] !== a[i] ? 10 : 0) + (codes[i] === 2 ? 3 : 0) + r() * 0.01,
  );
  const cols: DleColumn[] = [num(a), { values: codes, codes: true }];
  const m1 = BoostedTrees.fit(cols, y, n);
  const m2 = BoostedTrees.fit(cols, y, n);
  for (let i = 0; i < n; i++) {
    const x = [a[i], codes[i] < 0 ? NaN : codes[i]];
    assert.equal(m1.predict(x), m2.predict(x), 'deterministic');
    assert.ok(Math.abs(m1.predict(x) - y[i]) < 0.05, `row ${i}: ${m1.predict(x)} vs ${y[i]}`);
  }
  // ≤ 32 quantile bins for a continuous column, one per value below that.
  assert.ok(binEdges(a, 32).length <= 31);
  assert.deepEqual([...binEdges([3, 1, 2, 2, NaN], 32)], [1, 2]);
});

test('the fast evaluation (tree by tree over columns) gives the same bits as `predict` row by row', () => {
  const r = mulberry32(11);
  const n = 3 * DLE_CHUNK + 123;
  // Inputs: a number column with NaN, a category-code column with −1 (missing), the prediction with NaN.
  const a = Float64Array.from({ length: n }, () => (r() < 0.15 ? NaN : normal(r) * 3));
  const codes = Int32Array.from({ length: n }, () => Math.floor(r() * 6) - 1);
  const p = Float64Array.from({ length: n }, () => (r() < 0.05 ? NaN : r() * 10));
  const cols: DleColumn[] = [
    { values: a, codes: false },
    { values: codes, codes: true },
  ];
  const xOf = (i: number) => [a[i], codes[i] < 0 ? NaN : codes[i], p[i]];
  // Targets that make splits on missingness (threshold −∞), on codes, on values, and a near-constant
  // one whose deeper nodes do not split (threshold NaN).
  const targets: Array<(i: number) => number> = [
    (i) => (a[i] !== a[i] ? 5 : Math.abs(a[i])) + (codes[i] === 3 ? 2 : 0) + (p[i] === p[i] ? p[i] / 4 : 1) + r(),
    (i) => (codes[i] < 0 ? 3 : 0) + r() * 0.01,
    () => r(),
  ];
  const inputs = [...cols, { values: p, codes: false }];
  let checked = 0;
  for (const depth of [1, 2, 3, 4]) {
    for (const [ti, target] of targets.entries()) {
      const y = Float64Array.from({ length: n }, (_, i) => target(i));
      const trees = BoostedTrees.fit(inputs, y, n, { ...DLE_BOOST, trees: 30, depth, minLeaf: ti === 1 ? 400 : 20 });
      if (ti === 0) assert.ok(trees.splits > 0, `depth ${depth}: the trees split`);
      if (ti === 1 && depth >= 3) assert.ok(trees.splits < 30 * ((1 << depth) - 1), 'some nodes do not split');
      // Row by row, the reference.
      const each = Array.from({ length: n }, (_, i) => trees.predict(xOf(i)));
      // Column-major, with a stride larger than the rows (as LossModel's buffer).
      const stride = n + 5;
      const x = new Float64Array(3 * stride);
      for (let i = 0; i < n; i++) xOf(i).forEach((v, f) => (x[f * stride + i] = v));
      const out = new Float64Array(n);
      trees.predictColumns(x, stride, n, out);
      for (let i = 0; i < n; i++) assert.equal(out[i], each[i], `depth ${depth}, target ${ti}, row ${i}`);
      // A window's estimate: rows with a NaN prediction skipped, across chunk boundaries.
      const model = new LossModel('absolute', trees, 2);
      for (const [start, end] of [
        [0, n],
        [7, 107],
        [DLE_CHUNK - 50, 2 * DLE_CHUNK + 10],
        [5, 5],
      ]) {
        let sum = 0;
        let rows = 0;
        for (let i = start; i < end; i++)
          if (p[i] === p[i]) {
            sum += Math.max(0, each[i]);
            rows++;
          }
        const e = model.estimate(cols, p, start, end);
        assert.equal(e.rows, rows);
        assert.equal(e.meanLoss, rows > 0 ? sum / rows : null, `depth ${depth}, target ${ti}, rows ${start}–${end}`);
        checked++;
      }
    }
  }
  assert.equal(checked, 4 * 3 * 4);
});

test('the reference keeps at most MAX_DLE_ROWS rows (every s-th past that) and, as a ring, the last windows', () => {
  const W = 100_000;
  const ref = new DleReference(1, W, 5, false);
  assert.equal(ref.stride, Math.ceil((5 * W) / MAX_DLE_ROWS));
  const x = Float64Array.from({ length: W }, (_, i) => (i % 100) / 100);
  const pred = Float64Array.from(x, (v) => 2 * v);
  const truth = Float64Array.from(x, (v, i) => 2 * v + (i % 2 ? 1 : -1) * v);
  for (let w = 0; w < 7; w++) ref.add([{ values: x, codes: false }], pred, truth, 0, w);
  assert.deepEqual(ref.held, [0, 1, 2, 3, 4], 'windows past the reference are not kept');
  assert.ok(ref.rows <= MAX_DLE_ROWS, `${ref.rows} rows`);
  const { model, report } = ref.fit('absolute', ['x']);
  assert.ok(model);
  assert.ok(report.rows <= MAX_DLE_ROWS && report.rows > MAX_DLE_ROWS / 2, `${report.rows}`);
  assert.deepEqual(report.inputs, ['x', '(prediction)']);
  // |y − ŷ| = x exactly: the loss model learns it.
  assert.ok(Math.abs(report.fittedLoss! - report.realisedLoss!) < 0.01);

  const ring = new DleReference(1, 10, 3, true);
  const small = Float64Array.from({ length: 10 }, (_, i) => i);
  for (let w = 0; w < 7; w++) ring.add([{ values: small, codes: false }], small, small, 0, w);
  assert.deepEqual(ring.held, [4, 5, 6]);
  assert.equal(ring.fit('squared', ['x']).report.note?.includes('at least 100'), true, 'too few rows: no model');
});

const tmp = tempDir('dle');
after(() => tmp.cleanup());

const WINDOW = 500;
const REFERENCE = 5;

/**
 * Regression traffic: `labelled` windows with x ~ U(0, 1), then `shifted` windows with
 * x ~ U(0.6, 1) logged without feedback. The model predicts 2x (the true mean); the true value
 * has noise of std `noise(x)`. Returns the realised MAE of every window (from the true values,
 * also of those never sent).
 */
async function run(
  name: string,
  noise: (x: number) => number,
  labelled: number,
  shifted: number,
  metric: 'mae' | 'rmse' = 'mae',
): Promise<{ r: MonitorResult; realised: number[] }> {
  const r = mulberry32(name.length * 7919);
  const dir = join(tmp.dir, name);
  const logDir = join(dir, 'log');
  mkdirSync(logDir, { recursive: true });
  const lines: string[] = [];
  const realised: number[] = [];
  const windows = labelled + shifted;
  for (let w = 0; w < windows; w++) {
    const shift = w >= labelled;
    let loss = 0;
    for (let q = 0; q < WINDOW / 10; q++) {
      const x = Array.from({ length: 10 }, () => (shift ? 0.6 + 0.4 * r() : r()));
      const z = Array.from({ length: 10 }, () => r());
      const c = Array.from({ length: 10 }, () => (r() < 0.5 ? 'a' : 'b'));
      const pred = x.map((v) => 2 * v);
      const truth = x.map((v) => 2 * v + noise(v) * normal(r));
      for (let k = 0; k < 10; k++) {
        const d = truth[k] - pred[k];
        loss += metric === 'mae' ? Math.abs(d) : d * d;
      }
      const id = `r${w}-${q}`;
      lines.push(
        JSON.stringify({
          type: 'prediction',
          id,
          time: new Date(Date.UTC(2026, 0, 1, 0, w, q)).toISOString(),
          version: '1.0.0',
          latencyMs: 1,
          inputs: { x, z, c },
          outputs: { value: pred },
        }),
      );
      if (!shift) lines.push(JSON.stringify({ type: 'feedback', id, time: '2026-01-02T00:00:00.000Z', labels: truth }));
    }
    realised.push(metric === 'mae' ? loss / WINDOW : Math.sqrt(loss / WINDOW));
  }
  writeFileSync(join(logDir, 'predictions.jsonl'), lines.join('\n') + '\n');
  const registry = openRegistry(join(dir, 'ws'));
  await makeBundle(join(dir, 'bundle'), 1);
  await registry.registerVersion({
    model: 'm',
    source: join(dir, 'bundle'),
    version: '1.0.0',
    format: 'modelops-tfjs',
  });
  const config = runConfig({
    project: 't',
    monitor: {
      target: 'local',
      window: WINDOW,
      controlChart: { metric, sigma: 3, baseline: REFERENCE, rules: [1, 2, 3, 4] },
      drift: {},
      alerts: { notify: false },
    },
  });
  const model: MonitoredModel = {
    task: 'regression',
    features: [
      { name: 'x', kind: 'numeric' },
      { name: 'z', kind: 'numeric' },
      { name: 'c', kind: 'categorical' },
    ],
  };
  try {
    const res = await monitor({
      registry,
      config,
      target: 'local',
      model: 'm',
      logDir,
      manifestFor: async () => model,
    });
    return { r: res, realised };
  } finally {
    registry.close();
  }
}

test('DLE: with noise that grows with x, the estimated MAE follows a shift of x and alerts before any label of it', async () => {
  const { r, realised } = await run('hetero', (x) => 0.1 + x, 7, 6);
  assert.equal(r.windows.length, 13);
  assert.ok(r.estimated, 'DLE ran');
  assert.equal(r.estimated.method, 'dle');
  assert.equal(r.estimated.metric, 'mae');
  assert.equal(r.estimated.referenceWindows, REFERENCE);
  assert.ok(r.estimated.method === 'dle' && r.estimated.lossModel.rows === REFERENCE * WINDOW);
  assert.equal(r.estimated.chart!.values.length, 13);
  // Tolerance 0.1: a 500-row window's realised MAE has a sampling std of about sd(|e|)/√500 ≈ 0.025
  // here (sd(|e|) ≈ 0.55 after the shift), so 0.1 is 4 of them plus a little for the loss model.
  for (let i = 0; i < 13; i++) {
    const w = r.windows[i];
    assert.ok(
      Math.abs(w.estimatedMae! - realised[i]) < 0.1,
      `window ${i}: realised ${realised[i]}, estimated ${w.estimatedMae}`,
    );
    if (i < 7) assert.equal(w.mae, realised[i], 'labelled windows have their realised MAE');
    else assert.equal(w.labelled, 0);
  }
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const before = mean(r.windows.slice(0, 7).map((w) => w.estimatedMae!));
  const afterShift = mean(r.windows.slice(7).map((w) => w.estimatedMae!));
  // True MAE ≈ 0.8·E[0.1 + x]: 0.48 before, 0.72 after; the estimate's mean over 6 windows within 0.04.
  assert.ok(afterShift - before > 0.15, `estimate ${before} → ${afterShift}`);
  assert.ok(Math.abs(afterShift - mean(realised.slice(7))) < 0.04);
  // The realised chart shows the estimate beside each labelled window.
  assert.equal(r.chart!.values.length, 7);
  assert.deepEqual(
    r.chart!.estimated,
    r.windows.slice(0, 7).map((w) => w.estimatedMae),
  );
  // ...and says which method made it, so the editor need not guess from the metric.
  assert.equal(r.chart!.estimatedBy, 'dle');
  const est = r.alerts.filter((a) => a.estimated);
  assert.ok(
    est.some(
      (a) => a.rule === 'dle:we1' && /Estimated mae/.test(a.message) && /0 of 500 rows labelled/.test(a.message),
    ),
    JSON.stringify(r.alerts.map((a) => `${a.rule} ${a.message}`)),
  );
  assert.ok(est.every((a) => a.rule.startsWith('dle:')));
  const firstViolation = r.estimated.chartWindows[r.estimated.chart!.violations[0].index];
  assert.ok(firstViolation >= 7, `first estimated violation in window ${firstViolation}`);
  // No realised alert could have fired on the shifted windows: they have no labels.
  assert.equal(r.alerts.filter((a) => !a.estimated && /^we\d$/.test(a.rule)).length, 0);
});

test('DLE: with constant noise the estimate stays flat through the same shift of x, and nothing alerts', async () => {
  const { r, realised } = await run('homo', () => 0.5, 7, 6);
  assert.ok(r.estimated?.chart);
  const values = r.estimated.chart.values;
  const centre = r.estimated.chart.centre;
  for (let i = 0; i < 13; i++) {
    assert.ok(Math.abs(values[i] - centre) < 0.03, `window ${i}: ${values[i]} vs centre ${centre}`);
    // True MAE 0.5·√(2/π) ≈ 0.399 everywhere.
    assert.ok(Math.abs(values[i] - realised[i]) < 0.1);
  }
  assert.equal(r.estimated.chart.violations.length, 0, JSON.stringify(r.estimated.chart.violations));
  assert.equal(r.alerts.filter((a) => a.rule.startsWith('dle:')).length, 0);
});

test('DLE: an RMSE chart is estimated from the squared loss', async () => {
  const { r, realised } = await run('rmse', (x) => 0.1 + x, 6, 2, 'rmse');
  assert.equal(r.estimated?.metric, 'rmse');
  assert.ok(r.estimated.method === 'dle' && r.estimated.lossModel.loss === 'squared');
  for (let i = 0; i < 8; i++) {
    const w = r.windows[i];
    assert.equal(w.estimatedMae, undefined);
    assert.ok(Math.abs(w.estimatedRmse! - realised[i]) < 0.12, `window ${i}: ${w.estimatedRmse} vs ${realised[i]}`);
  }
});

test('the editor names the method: a DLE estimate and its alerts are worded as such', () => {
  // The method the engine recorded wins over the metric's name.
  assert.equal(estimatedLabel({ metric: 'mae', estimatedBy: 'dle' }), 'estimated (DLE)');
  assert.equal(estimatedLabel({ metric: 'mae', estimatedBy: 'cbpe' }), 'estimated (CBPE)');
  assert.equal(estimatedLabel({ metric: 'accuracy', estimatedBy: 'dle' }), 'estimated (DLE)');
  // A chart saved before `estimatedBy` existed: the method is told by the metric.
  assert.equal(estimatedLabel({ metric: 'mae' }), 'estimated (DLE)');
  assert.equal(estimatedLabel({ metric: 'rmse' }), 'estimated (DLE)');
  assert.equal(estimatedLabel({ metric: 'accuracy' }), 'estimated (CBPE)');
  assert.equal(alertKind('dle:we1'), 'estimated performance');
  assert.equal(alertKind('cbpe:we1'), 'estimated performance');
});
