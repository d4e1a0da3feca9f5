import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendControlSeries,
  buildControlChart,
  controlLimits,
  controlPoint,
  controlPoints,
  pChartLimits,
  pointLimits,
  sliceControlChart,
} from '../../../server/engine/spc';
import { isModelOpsError } from '../../../server/engine/errors';
import { metricRange } from '../../../server/engine/monitoring/monitor';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

test('limits from the first k points: sample std (n − 1)', () => {
  // baseline 8, 10, 12: mean 10, squared deviations 4+0+4 = 8, / (3 − 1) = 4, σ = 2
  const l = controlLimits([8, 10, 12, 30, -5], { baseline: 3 });
  assert.equal(l.mean, 10);
  assert.equal(l.std, 2);
  assert.equal(l.sigma, 3);
  assert.equal(l.ucl, 16);
  assert.equal(l.lcl, 4);
  assert.deepEqual(l.zones, { upper1: 12, lower1: 8, upper2: 14, lower2: 6 });
});

test('limits with another L and with every point as the baseline', () => {
  // 1..5: mean 3, SS 10, var 2.5
  const l = controlLimits([1, 2, 3, 4, 5], { sigma: 2 });
  close(l.std, Math.sqrt(2.5));
  close(l.ucl, 3 + 2 * Math.sqrt(2.5));
  close(l.lcl, 3 - 2 * Math.sqrt(2.5));
});

test('explicit baseline { mean, std }', () => {
  const l = controlLimits([100], { baseline: { mean: 0.9, std: 0.01 } });
  close(l.ucl, 0.93);
  close(l.lcl, 0.87);
  close(l.zones.upper2, 0.92);
});

test('bad baselines and sigmas are ModelOpsErrors that name the value', () => {
  const bad = (f: () => unknown, re: RegExp) =>
    assert.throws(f, (e) => isModelOpsError(e) && re.test(e.message) && Boolean(e.hint));
  bad(() => controlLimits([1, 2, 3], { baseline: 5 }), /first 5 points.*has 3/);
  bad(() => controlLimits([1, 2, 3], { baseline: 1 }), /baseline of 1/);
  bad(() => controlLimits([1, 2, 3], { sigma: 0 }), /sigma=0/);
  bad(() => controlLimits([1, Number.NaN, 3]), /Point 2/);
  bad(() => controlLimits([1], { baseline: { mean: 0, std: -1 } }), /std -1/);
});

test("p-chart: pooled p̄ from the baseline and limits from each point's own n", () => {
  // baseline: 0.9 of 100 and 0.6 of 50 → (90 + 30) / 150 = 0.8
  const p = pChartLimits(
    [
      { value: 0.9, n: 100 },
      { value: 0.6, n: 50 },
      { value: 0.7, n: 16 },
      { value: 0.8, n: 400 },
    ],
    { baseline: 2 },
  );
  close(p.mean, 0.8);
  // n = 100: σ = √(0.8·0.2/100) = 0.04 → 0.68 … 0.92
  close(p.points[0].std, 0.04);
  close(p.points[0].ucl, 0.92);
  close(p.points[0].lcl, 0.68);
  // n = 16: σ = 0.1 → UCL 1.1 clipped to 1, LCL 0.5; zones are not clipped
  close(p.points[2].std, 0.1);
  assert.equal(p.points[2].ucl, 1);
  close(p.points[2].lcl, 0.5);
  close(p.points[2].zones.upper2, 1.0);
  // n = 400: σ = 0.02
  close(p.points[3].ucl, 0.86);
});

test('p-chart with an explicit p̄ and the error for a proportion out of range', () => {
  const p = pChartLimits([{ value: 0.5, n: 25 }], { baseline: { mean: 0.5, std: 0 }, sigma: 2 });
  close(p.points[0].std, 0.1);
  close(p.points[0].ucl, 0.7);
  assert.throws(
    () => pChartLimits([{ value: 1.2, n: 10 }]),
    (e) => isModelOpsError(e) && /proportion 1.2/.test(e.message),
  );
  assert.throws(
    () => pChartLimits([{ value: 0.2, n: 0 }]),
    (e) => isModelOpsError(e) && /n=0/.test(e.message),
  );
});

test('buildControlChart: limits, zones, violations attached to their points, window metadata kept', () => {
  const values = [8, 10, 12, 17, 10, 14.5, 11, 14.2, 9];
  const data = buildControlChart(
    values.map((value, i) => ({
      value,
      n: 100,
      start: `2025-01-0${i + 1}T00:00:00Z`,
      end: `2025-01-0${i + 1}T23:59:59Z`,
    })),
    { baseline: 3, metric: 'latency_ms' },
  );
  assert.equal(data.chart, 'individuals');
  assert.equal(data.metric, 'latency_ms');
  assert.equal(data.centre, 10);
  assert.equal(data.std, 2);
  // Constant limits are sent once; the points carry only what varies.
  assert.deepEqual(data.limits, { std: 2, ucl: 16, lcl: 4, zones: { upper1: 12, lower1: 8, upper2: 14, lower2: 6 } });
  assert.equal(data.varying, undefined);
  assert.deepEqual(data.values, values);
  assert.deepEqual(data.baseline, { kind: 'points', count: 3 });
  assert.deepEqual(data.rules, [1, 2, 3, 4]);
  // z: -1, 0, 1, 3.5, 0, 2.25, 0.5, 2.1, -0.5
  // rule 1 at 3 (17 > 16); rule 2 at 5 (14.5 > 14 with 17 two before) and at 7 (14.2 with 14.5 two before)
  assert.deepEqual(
    data.violations.map((v) => [v.index, v.rule, v.side, v.points]),
    [
      [3, 1, 'above', [3]],
      [5, 2, 'above', [3, 5]],
      [7, 2, 'above', [5, 7]],
    ],
  );
  const points = controlPoints(data);
  assert.equal(points[3].violations.length, 1);
  assert.equal(points[4].violations.length, 0);
  assert.equal(points[3].ucl, 16);
  assert.deepEqual(points[0].zones, { upper1: 12, lower1: 8, upper2: 14, lower2: 6 });
  assert.equal(points[2].baseline, true);
  assert.equal(points[3].baseline, false);
  assert.equal(points[3].z, 3.5);
  [-1, 0, 1, 3.5, 0, 2.25, 0.5, 2.1, -0.5].forEach((z, i) => close(points[i].z, z));
  assert.equal(points[8].start, '2025-01-09T00:00:00Z');
  assert.equal(points[8].end, '2025-01-09T23:59:59Z');
  assert.equal(points[8].n, 100);
  assert.deepEqual(controlPoint(data, 5), points[5]);
  assert.equal(data.n?.length, 9);
  assert.equal(data.start?.[8], '2025-01-09T00:00:00Z');
});

test('buildControlChart: optional columns only when some point has the field, null where a point has none', () => {
  const data = buildControlChart([{ value: 1 }, { value: 2, start: 'a' }, { value: 3 }], { baseline: 3 });
  assert.equal(data.n, undefined);
  assert.equal(data.end, undefined);
  assert.deepEqual(data.start, [null, 'a', null]);
  const points = controlPoints(data);
  assert.equal('start' in points[0], false);
  assert.equal(points[1].start, 'a');
  assert.equal('n' in points[1], false);
});

test("buildControlChart as a p-chart: per-point limits and rule 1 against each point's own σ", () => {
  const data = buildControlChart(
    [
      { value: 0.8, n: 100 },
      { value: 0.8, n: 100 },
      { value: 0.67, n: 100 }, // σ 0.04: z = -3.25 → rule 1
      { value: 0.67, n: 16 }, // σ 0.1: z = -1.3 → in control
    ],
    { chart: 'p', baseline: { mean: 0.8, std: 0 }, rules: [1] },
  );
  assert.equal(data.chart, 'p');
  // Limits vary with n: per-point columns, no shared limits.
  assert.equal(data.limits, null);
  assert.deepEqual(
    data.violations.map((v) => v.index),
    [2],
  );
  assert.equal(data.varying?.std.length, 4);
  close(data.varying?.std[2] ?? NaN, 0.04);
  close(pointLimits(data, 3).lcl, 0.5);
  close(pointLimits(data, 3).ucl, 1);
  const p3 = controlPoint(data, 3);
  close(p3.lcl, 0.5);
  close(p3.std, 0.1);
  close(p3.zones.upper2, 1.0);
  close(p3.z, -1.3);
  close(controlPoint(data, 2).z, -3.25);
  assert.deepEqual(
    controlPoint(data, 2).violations.map((v) => v.rule),
    [1],
  );
  assert.throws(
    () => buildControlChart([{ value: 0.5 }], { chart: 'p' }),
    (e) => isModelOpsError(e) && /Point 1 has no sample size/.test(e.message),
  );
});

test('buildControlChart rejects an empty series', () => {
  assert.throws(
    () => buildControlChart([]),
    (e) => isModelOpsError(e) && /no points/.test(e.message),
  );
});

test('a p-chart with equal n has constant limits, sent once', () => {
  const data = buildControlChart(
    [0.8, 0.82, 0.78, 0.6].map((value) => ({ value, n: 100 })),
    { chart: 'p', baseline: { mean: 0.8, std: 0 } },
  );
  assert.equal(data.varying, undefined);
  assert.ok(data.limits);
  close(data.limits.std, 0.04);
  close(data.limits.ucl, 0.92);
  close(data.limits.lcl, 0.68);
  close(data.std, 0.04);
  assert.deepEqual(data.n, [100, 100, 100, 100]);
  assert.deepEqual(
    data.violations.map((v) => [v.index, v.rule]),
    [[3, 1]],
  );
});

test('sliceControlChart + appendControlSeries rebuild the grown chart, per-point limits appearing when n changes', () => {
  const input = [
    { value: 0.8, n: 100, start: 's0' },
    { value: 0.81, n: 100, start: 's1' },
    { value: 0.79, n: 100, start: 's2' },
    { value: 0.6, n: 100 },
    { value: 0.62, n: 25, start: 's4' },
  ];
  const opts = { chart: 'p' as const, baseline: { mean: 0.8, std: 0 } };
  const full = buildControlChart(input, opts);
  assert.equal(full.limits, null);
  // The first three windows alone have constant limits.
  const shown = buildControlChart(input.slice(0, 3), opts);
  assert.ok(shown.limits);
  const add = sliceControlChart(full, 3);
  assert.deepEqual(add.values, [0.6, 0.62]);
  assert.deepEqual(add.start, [null, 's4']);
  assert.deepEqual(
    add.violations.map((v) => v.index),
    full.violations.filter((v) => v.index >= 3).map((v) => v.index),
  );
  appendControlSeries(shown, add);
  assert.equal(shown.limits, null);
  assert.deepEqual(controlPoints(shown), controlPoints(full));

  // An individuals chart stays constant; its append carries no limits at all.
  const ind = buildControlChart(
    [1, 2, 3, 9].map((value) => ({ value })),
    { baseline: { mean: 2, std: 1 } },
  );
  const head = buildControlChart(
    [1, 2].map((value) => ({ value })),
    { baseline: { mean: 2, std: 1 } },
  );
  const tail = sliceControlChart(ind, 2);
  assert.equal(tail.varying, undefined);
  assert.equal(tail.n, undefined);
  appendControlSeries(head, tail);
  assert.deepEqual(head, ind);
  assert.throws(
    () => appendControlSeries(head, { values: [1, 2], n: [1], violations: [] }),
    /2 values but a column of 1/,
  );
  assert.throws(
    () => appendControlSeries(full, { values: [1], violations: [] }),
    /per-point limits but the append brings none/,
  );
});

test('the compact form of a large individuals chart has no per-point limits', () => {
  const values = Array.from({ length: 10_000 }, (_, i) => Math.sin(i) * 0.01 + 0.9);
  const data = buildControlChart(
    values.map((value) => ({ value })),
    { baseline: 100 },
  );
  assert.equal(data.varying, undefined);
  assert.equal(data.n, undefined);
  // The values, the violations and a header of well under 1 KB.
  const bytes = JSON.stringify(data).length;
  assert.ok(bytes < JSON.stringify(values).length + JSON.stringify(data.violations).length + 1000, `${bytes} bytes`);
});

test("an individuals chart's limits are drawn inside the metric's range; the rules judge as before", () => {
  // An accuracy near 1 whose 3σ band reaches past 1, then one low point.
  const values = [0.97, 0.99, 0.96, 0.995, 0.98, 0.97, 0.9];
  const open = buildControlChart(
    values.map((value) => ({ value })),
    { baseline: 5 },
  );
  const kept = buildControlChart(
    values.map((value) => ({ value })),
    { baseline: 5, range: metricRange('accuracy') },
  );
  assert.ok(open.limits!.ucl > 1, `ucl ${open.limits!.ucl} reaches past 1 without the range`);
  assert.equal(kept.limits!.ucl, 1);
  assert.equal(kept.limits!.lcl, open.limits!.lcl);
  assert.deepEqual(kept.violations, open.violations);
  assert.ok(kept.violations.some((v) => v.rule === 1 && v.index === 6));
  // An error never goes below 0.
  const mae = buildControlChart(
    [0.05, 0.3, 0.02, 0.25, 0.04].map((value) => ({ value })),
    { range: metricRange('mae') },
  );
  assert.equal(mae.limits!.lcl, 0);
  assert.deepEqual(metricRange('rmse'), [0, Infinity]);
  assert.deepEqual(metricRange('r2'), [-Infinity, 1]);
  assert.deepEqual(metricRange('f1'), [0, 1]);
});
