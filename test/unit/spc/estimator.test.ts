import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildControlChart,
  controlLimits,
  movingRangeStd,
  sampleStd,
  westernElectric,
} from '../../../server/engine/spc';
import { isModelOpsError } from '../../../server/engine/errors';

test('σ from the average moving range is MR̄ / 1.128; stddev stays the sample standard deviation', () => {
  // Moving ranges 2, 1, 2: MR̄ = 5/3.
  assert.ok(Math.abs(movingRangeStd([1, 3, 2, 4]) - 5 / 3 / 1.128) < 1e-12);
  const mr = controlLimits([1, 3, 2, 4], { estimator: 'movingRange' });
  assert.ok(Math.abs(mr.std - 5 / 3 / 1.128) < 1e-12);
  assert.ok(Math.abs(mr.ucl - (2.5 + (3 * 5) / 3 / 1.128)) < 1e-12);
  assert.equal(controlLimits([1, 3, 2, 4]).std, sampleStd([1, 3, 2, 4]));
  // A step inside the baseline inflates the sample std far more than the moving range.
  const step = [1, 1.1, 0.9, 1, 5, 5.1, 4.9, 5];
  assert.ok(controlLimits(step, { estimator: 'movingRange' }).std < controlLimits(step, { estimator: 'stddev' }).std);
  assert.throws(
    () => controlLimits([1, 2], { estimator: 'range' as 'stddev' }),
    (e) => isModelOpsError(e) && e.code === 'spc-estimator' && /"range"/.test(e.message),
  );
});

test('every chart says where its σ came from and which side its rules watch', () => {
  const values = [0.9, 0.91, 0.89, 0.9, 0.92, 0.5];
  assert.equal(
    buildControlChart(
      values.map((value) => ({ value })),
      { baseline: 5, estimator: 'movingRange' },
    ).sigmaEstimator,
    'movingRange',
  );
  assert.equal(
    buildControlChart(
      values.map((value) => ({ value })),
      { baseline: 5 },
    ).sigmaEstimator,
    'stddev',
  );
  assert.equal(
    buildControlChart(
      values.map((value) => ({ value, n: 100 })),
      { chart: 'p', baseline: 5 },
    ).sigmaEstimator,
    'binomial',
  );
  const explicit = buildControlChart(
    values.map((value) => ({ value })),
    { baseline: { mean: 0.9, std: 0.01 }, side: 'lower' },
  );
  assert.equal(explicit.sigmaEstimator, 'explicit');
  assert.equal(explicit.side, 'lower');
});

test('one-sided rules report only patterns on their side', () => {
  const unit = { mean: 0, std: 1 };
  const series = [0, 3.5, 0, -3.5, 2.5, 2.5, -2.5, -2.5];
  const sides = (side: 'lower' | 'upper' | 'both') =>
    westernElectric(series, unit, { rules: [1, 2], side }).map(
      (v) => `${v.rule}${v.side === 'above' ? '+' : '-'}@${v.index}`,
    );
  assert.deepEqual(sides('both'), ['1+@1', '1-@3', '2+@5', '2-@7']);
  assert.deepEqual(sides('lower'), ['1-@3', '2-@7']);
  assert.deepEqual(sides('upper'), ['1+@1', '2+@5']);
  assert.throws(
    () => westernElectric(series, unit, { side: 'down' as 'lower' }),
    (e) => isModelOpsError(e) && e.code === 'spc-side',
  );
});

test('an estimated column rides along with the points, null where a point has none', () => {
  const c = buildControlChart([{ value: 0.9, estimated: 0.88 }, { value: 0.91 }, { value: 0.9, estimated: 0.9 }], {
    baseline: 3,
  });
  assert.deepEqual(c.estimated, [0.88, null, 0.9]);
  assert.equal(buildControlChart([{ value: 1 }, { value: 2 }]).estimated, undefined);
});
