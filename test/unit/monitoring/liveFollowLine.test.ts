import { test } from 'node:test';
import type { CalibrationCheck } from '../../../server/engine/monitoring/cbpe';
import type { LossModelReport } from '../../../server/engine/monitoring/dle';
import assert from 'node:assert/strict';
import { estimateLine, windowLine } from '../../../server/cli/commands/monitor';
import type { LiveWindow } from '../../../server/engine/monitoring/live/window';

const base: LiveWindow = {
  model: 'weather',
  index: 6,
  start: null,
  end: '2026-01-01T00:00:00.000Z',
  count: 100,
  labelled: 0,
  version: '1.1.0',
  accuracy: null,
  mae: null,
  rmse: null,
  distribution: { sun: 100 },
  meanPrediction: null,
  driftMethod: 'auto',
  driftTests: { temp_max: 'ks', season: 'chisquare', '(predictions)': 'chisquare' },
  driftWindow: 100,
  drifted: [],
  drift: { temp_max: 0.12, season: 3.5 },
  predictionDrift: 1.2,
  p50LatencyMs: 0.8,
  metric: 'accuracy',
  value: null,
  chart: null,
  closedBy: 'next-window',
  estimatedAccuracy: 0.71,
  estimatedF1: 0.6,
  estimated: {
    metric: 'accuracy',
    value: 0.71,
    rows: 100,
    accuracyStdErr: 0.04,
    calibration: 'none',
    chart: { kind: 'individuals', centre: 0.9, ucl: 0.95, lcl: 0.85, violations: [{ rule: 1, side: 'below' }] },
  },
};

test('modelops monitor --follow prints the test each feature got, not auto, and the CBPE estimate', () => {
  const line = windowLine(base);
  assert.doesNotMatch(line, /auto/);
  assert.match(line, /drift temp_max ks 0\.1200, season chisquare 3\.5000;/);
  assert.match(line, /estimated accuracy 0\.7100 \[0\.8500, 0\.9500\] rule 1;/);
  // One test for every feature is named once.
  const ks = windowLine({ ...base, drift: { temp_max: 0.12, wind: 0.3 }, driftTests: { temp_max: 'ks', wind: 'ks' } });
  assert.match(ks, /drift \(ks\) temp_max 0\.1200, wind 0\.3000;/);
  // A feature that drifted (by its test, among the watched ones) says so.
  const drifted = windowLine({ ...base, drifted: ['season', 'predictions'] });
  assert.match(drifted, /drift temp_max ks 0\.1200, season chisquare 3\.5000 drifted;/);
});

test('modelops monitor says what an estimate rests on: the calibration of CBPE, the loss model of DLE', () => {
  const common = { referenceWindows: 5, chart: null, chartWindows: [], chartNote: 'fewer than 2 windows' };
  // A CBPE line: recalibrated on 500 labelled rows of the reference windows unless told otherwise.
  const cbpeLine = (metric: 'accuracy' | 'f1', calibration: Partial<CalibrationCheck>): string =>
    estimateLine({
      ...common,
      method: 'cbpe',
      metric,
      calibration: {
        source: 'reference windows',
        rows: 500,
        ece: 0.12,
        noise: 0.02,
        miscalibrated: true,
        method: 'isotonic',
        note: null,
        eceAfter: 0.01,
        bins: [],
        ...calibration,
      },
    });
  // A DLE line: no loss model on 0 rows unless told otherwise.
  const dleLine = (lossModel: Partial<LossModelReport>): string =>
    estimateLine({
      ...common,
      method: 'dle',
      metric: 'mae',
      lossModel: {
        source: 'reference windows',
        loss: 'absolute',
        rows: 0,
        stride: 1,
        inputs: [],
        trees: 0,
        depth: 0,
        shrinkage: 0,
        bins: 0,
        realisedLoss: null,
        fittedLoss: null,
        note: null,
        ...lossModel,
      },
    });
  const cbpe = cbpeLine('accuracy', {});
  assert.match(cbpe, /^estimated accuracy \(CBPE, before labels\): no chart \(fewer than 2 windows\); /);
  assert.match(
    cbpe,
    /recalibrated \(isotonic\) on 500 labelled rows of the 5 reference windows: ECE 0\.1200 → 0\.0100$/,
  );
  const unlabelled = cbpeLine('f1', {
    rows: 0,
    ece: 0,
    noise: 0,
    miscalibrated: false,
    method: 'none',
    note: 'No labelled reference row has probabilities.',
    eceAfter: null,
  });
  assert.match(unlabelled, /used as they are \(No labelled reference row has probabilities\.\)$/);
  const lateLabels = cbpeLine('accuracy', { source: 'test split', rows: 400, ece: 0.09 });
  assert.match(
    lateLabels,
    /recalibrated \(isotonic\) on 400 rows of the version's test split \(the 5 reference windows had too few labels\): ECE 0\.0900 → 0\.0100$/,
  );
  const dle = dleLine({ note: 'Only 3 labelled reference rows.' });
  assert.match(
    dle,
    /^estimated mae \(DLE, before labels\): no chart .*; no loss model: Only 3 labelled reference rows\.$/,
  );
  const dleLate = dleLine({
    source: 'test split',
    rows: 219,
    inputs: ['x', '(prediction)'],
    trees: 50,
    depth: 3,
    shrinkage: 0.1,
    bins: 32,
    realisedLoss: 1.2,
    fittedLoss: 1.1,
  });
  assert.match(
    dleLate,
    /; loss model fitted on 219 rows of the version's test split \(the 5 reference windows had too few labels\)$/,
  );
});
