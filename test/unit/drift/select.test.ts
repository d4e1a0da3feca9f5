import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chiSquareCategorical,
  chiSquareFromCounts,
  chooseDriftTest,
  defaultThreshold,
  isDrifted,
  jensenShannonFromCounts,
  wassersteinNormed,
  wassersteinSorted,
  zTestFromCounts,
} from '../../../server/engine/drift';

const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('auto chooses the test as Evidently does: by type, reference size and distinct values', () => {
  assert.equal(chooseDriftTest('auto', 'numeric', 1000, 50), 'ks');
  assert.equal(chooseDriftTest('auto', 'numeric', 1001, 50), 'wasserstein');
  assert.equal(chooseDriftTest('auto', 'categorical', 800, 4), 'chisquare');
  assert.equal(chooseDriftTest('auto', 'categorical', 800, 2), 'ztest');
  assert.equal(chooseDriftTest('auto', 'categorical', 5000, 4), 'jensenshannon');
  // A numeric column with ≤ 5 values is treated as categorical.
  assert.equal(chooseDriftTest('auto', 'numeric', 800, 5), 'chisquare');
  assert.equal(chooseDriftTest('auto', 'numeric', 5000, 3), 'jensenshannon');
  // A named test is kept, except numeric-only tests on a categorical column.
  assert.equal(chooseDriftTest('psi', 'numeric', 5000, 50), 'psi');
  assert.equal(chooseDriftTest('ks', 'categorical', 5000, 4), 'jensenshannon');
  assert.equal(chooseDriftTest('wasserstein', 'categorical', 100, 4), 'chisquare');
  assert.equal(defaultThreshold('ks'), 0.05);
  assert.equal(defaultThreshold('wasserstein'), 0.1);
  assert.equal(defaultThreshold('jensenshannon'), 0.1);
  assert.equal(defaultThreshold('psi'), 0.2);
  // p-value tests drift below the threshold, distances above it.
  assert.equal(isDrifted('ks', 0.9, 0.01, 0.05), true);
  assert.equal(isDrifted('ks', 0.9, 0.2, 0.05), false);
  assert.equal(isDrifted('wasserstein', 0.11, null, 0.1), true);
});

test('Jensen–Shannon distance matches scipy.spatial.distance.jensenshannon (natural log)', () => {
  // scipy: jensenshannon([1, 0], [0.5, 0.5]) = 0.46450140402245893
  close(jensenShannonFromCounts([10, 0], [5, 5], 0), 0.46450140402245893, 1e-12, 'JS');
  assert.equal(jensenShannonFromCounts([3, 7], [30, 70]), 0);
});

test('Wasserstein distance matches scipy.stats.wasserstein_distance, normed by the reference std', () => {
  assert.equal(wassersteinSorted([0, 1, 3], [5, 6, 8]), 5);
  close(wassersteinSorted([1, 2, 3], [1, 1, 1]), 1, 1e-12, 'W1');
  // np.std([0, 1, 3]) = 1.247219128924647
  close(wassersteinNormed([0, 1, 3], [5, 6, 8], 1.247219128924647), 5 / 1.247219128924647, 1e-12, 'normed');
});

test('chi-square from counts equals the categorical chi-square; the Z-test of two proportions', () => {
  const ref = { a: 40, b: 35, c: 25 };
  const cur = { a: 20, b: 50, c: 30 };
  const byName = chiSquareCategorical(ref, cur);
  const byCounts = chiSquareFromCounts([40, 35, 25], [20, 50, 30]);
  close(byCounts.statistic, byName.statistic, 1e-12, 'statistic');
  close(byCounts.pValue, byName.pValue, 1e-12, 'p');
  // p1 = 0.5, p2 = 0.7, pooled 0.6: z = −0.2 / √(0.24 · 0.02) = −2.886751…, two-sided p = 0.003892…
  const z = zTestFromCounts([50, 50], [70, 30]);
  close(z.statistic, 2.886751345948129, 1e-9, '|z|');
  close(z.pValue, 0.0038924171227629, 1e-6, 'p');
  assert.equal(zTestFromCounts([50, 50], [50, 50]).pValue, 1);
});
