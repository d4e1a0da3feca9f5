import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControlChartData, Violation } from '../../../webview/protocol';
import {
  controlCsv,
  controlSummary,
  controlTable,
  markerPoints,
  pointText,
  sigmaText,
  violationText,
} from '../../../webview/charts/controlExport';
import { controlPoint, violationsByIndex } from '../../../shared/spc/points';

const HEADER = 'window,value,estimated,n,start,end,centre,std,z,ucl,lcl,upper2,upper1,lower1,lower2,baseline,rules';

const violations: Violation[] = [
  { index: 1, rule: 1, side: 'above', points: [1] },
  { index: 3, rule: 2, side: 'above', points: [1, 2, 3] },
  { index: 3, rule: 4, side: 'above', points: [0, 1, 2, 3] },
];

/** Shared limits (μ 10, σ 1, 3σ); window metadata that CSV must quote; a NaN value and missing estimates. */
function chart(over: Partial<ControlChartData> = {}): ControlChartData {
  return {
    chart: 'individuals',
    metric: 'accuracy',
    centre: 10,
    std: 1,
    sigma: 3,
    limits: { std: 1, ucl: 13, lcl: 7, zones: { upper1: 11, lower1: 9, upper2: 12, lower2: 8 } },
    baseline: { kind: 'points', count: 2 },
    rules: [1, 2, 3, 4],
    sigmaEstimator: 'movingRange',
    values: [10, 14, NaN, 11],
    n: [100, null, 80, 100],
    start: ['2024-01-01', 'a "quoted", start', null, 'line\nbreak'],
    estimated: [9.8, null, 9.1, null],
    violations: violations.map((v) => ({ ...v })),
    ...over,
  };
}

test('control CSV: every point with its limits and zones; commas, quotes and newlines quoted; NaN and null empty', () => {
  assert.equal(
    controlCsv(chart()),
    [
      HEADER,
      '1,10,9.8,100,2024-01-01,,10,1,0,13,7,12,11,9,8,true,',
      '2,14,,,"a ""quoted"", start",,10,1,4,13,7,12,11,9,8,true,1',
      '3,,9.1,80,,,10,1,,13,7,12,11,9,8,false,',
      '4,11,,100,"line\nbreak",,10,1,1,13,7,12,11,9,8,false,2;4',
      '',
    ].join('\n'),
  );
});

test('control CSV: without an estimate the column is left out; an empty series is the header line alone', () => {
  const noEstimate = chart({ estimated: undefined });
  assert.equal(controlCsv(noEstimate).split('\n')[0], HEADER.replace(',estimated', ''));
  assert.equal(controlCsv(noEstimate).split('\n')[1], '1,10,100,2024-01-01,,10,1,0,13,7,12,11,9,8,true,');
  const empty = chart({ values: [], n: undefined, start: undefined, estimated: undefined, violations: [] });
  assert.equal(controlCsv(empty), `${HEADER.replace(',estimated', '')}\n`);
  assert.deepEqual(controlTable(empty, 1000).rows, []);
  assert.equal(controlTable(empty, 1000).total, 0);
});

test('control CSV: per-point limits (a p-chart with unequal n) give each row its own σ, limits and zones', () => {
  const p = chart({
    chart: 'p',
    centre: 0.5,
    limits: null,
    varying: { std: [0.25, 0.125], ucl: [1, 0.875], lcl: [0, 0.125] },
    values: [0.5, 0.875],
    n: [4, 16],
    start: undefined,
    estimated: undefined,
    violations: [{ index: 1, rule: 1, side: 'above', points: [1] }],
  });
  assert.deepEqual(controlCsv(p).split('\n').slice(1), [
    '1,0.5,4,,,0.5,0.25,0,1,0,1,0.75,0.25,0,true,',
    '2,0.875,16,,,0.5,0.125,3,0.875,0.125,0.75,0.625,0.375,0.25,true,1',
    '',
  ]);
});

test('control table: numbers stay numbers, missing cells are null, violations name rule and side', () => {
  const t = controlTable(chart(), 1000);
  assert.equal(t.caption, 'Control chart of accuracy');
  assert.deepEqual(t.headers, [
    'window',
    'accuracy',
    'estimated (CBPE)',
    'n',
    'start',
    'end',
    'z',
    'UCL',
    'LCL',
    'rules',
  ]);
  assert.equal(t.total, 4);
  assert.deepEqual(t.rows, [
    ['1', 10, 9.8, 100, '2024-01-01', null, 0, 13, 7, ''],
    ['2', 14, null, null, 'a "quoted", start', null, 4, 13, 7, '1 (above)'],
    ['3', NaN, 9.1, 80, null, null, NaN, 13, 7, ''],
    ['4', 11, null, 100, 'line\nbreak', null, 1, 13, 7, '2 (above); 4 (above)'],
  ]);
});

test('control table: only the first maxRows points are expanded, total counts them all', () => {
  const t = controlTable(chart(), 2);
  assert.equal(t.rows.length, 2);
  assert.equal(t.total, 4);
  assert.deepEqual(
    t.rows.map((r) => r[0]),
    ['1', '2'],
  );
  assert.equal(controlTable(chart({ metric: null, estimated: undefined }), 1).headers[1], 'value');
});

test('the estimated column and summary name the method the engine recorded, not one guessed from the metric', () => {
  // A loss charted with a CBPE estimate beside it (estimatedBy wins over the metric's name).
  const byCbpe = chart({ metric: 'mae', estimatedBy: 'cbpe' });
  assert.equal(controlTable(byCbpe, 1).headers[2], 'estimated (CBPE)');
  assert.match(controlSummary(byCbpe), /; dashed: estimated \(CBPE\)\.$/);
  const byDle = chart({ metric: 'accuracy', estimatedBy: 'dle' });
  assert.equal(controlTable(byDle, 1).headers[2], 'estimated (DLE)');
  assert.match(controlSummary(byDle), /; dashed: estimated \(DLE\)\.$/);
  // A chart saved before estimatedBy existed falls back to the metric: a loss was DLE's.
  assert.equal(controlTable(chart({ metric: 'rmse' }), 1).headers[2], 'estimated (DLE)');
});

test('markers: one per violating point, in index order, its rules ascending and once each', () => {
  const shuffled: Violation[] = [violations[2], violations[0], violations[1], { ...violations[1] }];
  assert.deepEqual(markerPoints(violationsByIndex(shuffled)), [
    { index: 1, rules: [1], side: 'above' },
    { index: 3, rules: [2, 4], side: 'above' },
  ]);
  assert.deepEqual(markerPoints(violationsByIndex([])), []);
});

test('summary: windows, limits, σ source, baseline, violations by rule and side, the one-sided note, the estimate', () => {
  assert.equal(
    controlSummary(chart()),
    'Individuals chart of accuracy, 4 windows. Centre μ 10, σ 1, UCL 13, LCL 7 (±3σ); σ from the average moving range (MR̄/1.128); baseline: first 2 windows; 3 violations (rule 1: 1 above; rule 2: 1 above; rule 4: 1 above); 3 above the centre line are improvements that one-sided rules (monitor.controlChart.side: lower) would not flag; dashed: estimated (CBPE).',
  );
  // A latency rising is no improvement; rules that watch one side say so; one violation is singular.
  assert.equal(
    controlSummary(
      chart({
        metric: 'latency_ms',
        side: 'upper',
        chart: 'p',
        sigmaEstimator: undefined,
        limits: null,
        varying: { std: [1, 1, 1, 1], ucl: [13, 13, 13, 13], lcl: [7, 7, 7, 7] },
        baseline: { kind: 'explicit' },
        estimated: undefined,
        violations: [{ index: 1, rule: 1, side: 'below', points: [1] }],
      }),
    ),
    'p-chart of latency_ms, 4 windows. Centre μ 10, σ 1, UCL/LCL per window size (±3σ); σ binomial per window, √(p̄(1−p̄)/n); rules watch rises only; baseline: given μ and σ; 1 violation (rule 1: 1 below).',
  );
  assert.match(controlSummary(chart({ violations: [] })), /; no rule violations; dashed/);
});

test('a point in words: window, value and z, size, time range, limits, its violations, baseline', () => {
  const d = chart();
  const p = controlPoint(d, 1, violationsByIndex(d.violations));
  assert.equal(
    pointText(p, 'accuracy', d),
    [
      'window 2',
      'accuracy: 14  (z 4)',
      'a "quoted", start → …',
      'UCL 13  LCL 7',
      'rule 1 (above the centre line; an improvement, which one-sided rules (monitor.controlChart.side: lower) would not flag)',
      'baseline',
    ].join('\n'),
  );
  assert.equal(
    pointText(controlPoint(d, 2), 'accuracy', d),
    ['window 3', 'accuracy: —  (z —)', 'size: 80', 'UCL 13  LCL 7'].join('\n'),
  );
});

test('violation text: rules once each; the improvement note only on the improving side and when both sides are watched', () => {
  const above: Violation[] = [violations[1], violations[2], { ...violations[1] }];
  assert.equal(violationText([], { metric: 'accuracy' }), '');
  assert.equal(violationText(above, { metric: 'log_loss' }), 'rule 2, 4 (above the centre line)');
  assert.equal(violationText(above, { metric: 'accuracy', side: 'lower' }), 'rule 2, 4 (above the centre line)');
  assert.equal(violationText(above, { metric: null }), 'rule 2, 4 (above the centre line)');
  assert.match(violationText(above, { metric: 'accuracy', side: 'both' }), /an improvement/);
});

test('σ text names its source; a p-chart without one is binomial', () => {
  assert.equal(sigmaText({ chart: 'individuals', sigmaEstimator: 'stddev' }), 'σ from the sample standard deviation');
  assert.equal(
    sigmaText({ chart: 'individuals', sigmaEstimator: 'explicit', side: 'lower' }),
    'σ given; rules watch drops only',
  );
  assert.equal(sigmaText({ chart: 'individuals' }), 'σ from the baseline');
  assert.equal(sigmaText({ chart: 'p' }), 'σ binomial per window, √(p̄(1−p̄)/n)');
});
