/**
 * Fairness metrics on small tables worked out by hand, as Fairlearn defines them
 * (fairlearn.metrics.demographic_parity_difference etc., method "between_groups").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeFairness, flattenFairness, gapOf } from '../../../server/engine/evaluation/fairness';
import { evaluateGates } from '../../../server/engine/evaluation/gates';
import type { FairnessConfig } from '../../../server/engine/config/types';
import { ModelOpsError } from '../../../server/engine/errors';

const close = (a: number | null | undefined, b: number, msg?: string) =>
  assert.ok(typeof a === 'number' && Math.abs(a - b) < 1e-12, `${msg ?? ''} ${a} ≠ ${b}`);

/** Rows with the given sensitive values; labels as indexes. */
function table(cols: string[], cells: Array<[...string[], number, number]>) {
  const rows = cells.map((c) => Object.fromEntries(cols.map((col, j) => [col, c[j] as string])));
  const yTrue = Int32Array.from(cells, (c) => c[cols.length] as number);
  const yPred = Int32Array.from(cells, (c) => c[cols.length + 1] as number);
  return { rows, yTrue, yPred };
}

const cfg = (
  sensitive: string[],
  minGroupSize: number,
  metrics: FairnessConfig['metrics'] = ['accuracy'],
): FairnessConfig => ({ sensitive, metrics, minGroupSize });

// Binary, labels [no, yes]: the positive class is 'yes' (index 1, the second label).
//   A: y = 1 1 0 0, ŷ = 1 0 1 0 → selection 2/4 = 0.5, TPR 1/2, FPR 1/2, accuracy 2/4
//   B: y = 1 1 0 0, ŷ = 1 1 1 0 → selection 3/4,       TPR 2/2, FPR 1/2, accuracy 3/4
//   C: y = 0,       ŷ = 1       → 1 row < minGroupSize 2: flagged, left out (it would make DP diff 1 − 0.5)
// DP difference 0.75 − 0.5 = 0.25; ratio 0.5 / 0.75 = 2/3; TPR diff 1 − 0.5 = 0.5; FPR diff 0;
// equalized odds max(0.5, 0) = 0.5; equal opportunity 0.5; accuracy gap 0.25, ratio 2/3.
const binary = table(
  ['sex'],
  [
    ['A', 1, 1],
    ['A', 1, 0],
    ['A', 0, 1],
    ['A', 0, 0],
    ['B', 1, 1],
    ['B', 1, 1],
    ['B', 0, 1],
    ['B', 0, 0],
    ['C', 0, 1],
  ],
);

test('binary: demographic parity, equalized odds and equal opportunity by hand; a small group is flagged and left out', () => {
  const r = computeFairness({
    task: 'classification',
    config: cfg(['sex'], 2),
    rows: binary.rows,
    source: 't.csv',
    yTrue: binary.yTrue,
    yPred: binary.yPred,
    labels: ['no', 'yes'],
  });
  assert.equal(r.positiveLabel, 'yes');
  close(r.fairness.demographic_parity_difference, 0.25, 'dpd');
  close(r.fairness.demographic_parity_ratio, 2 / 3, 'dpr');
  close(r.fairness.equalized_odds_difference, 0.5, 'eod');
  close(r.fairness.equal_opportunity_difference, 0.5, 'eopp');
  assert.equal(r.breakdowns.length, 1);
  const [b] = r.breakdowns;
  assert.deepEqual(
    b.groups.map((g) => [g.name, g.count, g.small]),
    [
      ['sex=A', 4, false],
      ['sex=B', 4, false],
      ['sex=C', 1, true],
    ],
  );
  close(b.groups[0].values.accuracy, 0.5);
  close(b.groups[1].values.accuracy, 0.75);
  close(b.groups[2].values.accuracy, 0, 'the small group is still reported');
  close(b.gaps.accuracy.difference, 0.25);
  close(b.gaps.accuracy.ratio, 2 / 3);
  assert.ok(
    r.notes.some((n) => n.includes('sex=C (1)')),
    r.notes.join('\n'),
  );

  // With no minimum, C (selection 1) counts: DP difference 1 − 0.5 = 0.5, ratio 0.5.
  const all = computeFairness({
    task: 'classification',
    config: cfg(['sex'], 1),
    rows: binary.rows,
    source: 't.csv',
    yTrue: binary.yTrue,
    yPred: binary.yPred,
    labels: ['no', 'yes'],
  });
  close(all.fairness.demographic_parity_difference, 0.5);
  close(all.fairness.demographic_parity_ratio, 0.5);
});

test('two sensitive columns: each alone and their intersection; the Fairlearn metrics are over the intersection', () => {
  //   F,young: (y,ŷ) (1,1) (0,0) → selection 1/2, TPR 1, FPR 0
  //   F,old:         (1,0) (0,0) → selection 0,   TPR 0, FPR 0
  //   M,young:       (1,1) (0,1) → selection 1,   TPR 1, FPR 1
  //   M,old:         (1,1) (0,0) → selection 1/2, TPR 1, FPR 0
  // Intersection: DP diff 1 − 0 = 1, ratio 0 / 1 = 0; TPR diff 1; FPR diff 1; EO 1.
  // sex alone: F selects 1 of 4, M 3 of 4; age alone: young 3 of 4, old 1 of 4 (DP diff would be 0.5).
  const t = table(
    ['sex', 'age'],
    [
      ['F', 'young', 1, 1],
      ['F', 'young', 0, 0],
      ['F', 'old', 1, 0],
      ['F', 'old', 0, 0],
      ['M', 'young', 1, 1],
      ['M', 'young', 0, 1],
      ['M', 'old', 1, 1],
      ['M', 'old', 0, 0],
    ],
  );
  const r = computeFairness({
    task: 'classification',
    config: cfg(['sex', 'age'], 1),
    rows: t.rows,
    source: 't.csv',
    yTrue: t.yTrue,
    yPred: t.yPred,
    labels: ['0', '1'],
  });
  assert.deepEqual(
    r.breakdowns.map((b) => b.by),
    [['sex'], ['age'], ['sex', 'age']],
  );
  assert.deepEqual(
    r.breakdowns[0].groups.map((g) => g.selectionRate?.[1]),
    [0.25, 0.75],
  );
  assert.deepEqual(
    r.breakdowns[1].groups.map((g) => [g.name, g.selectionRate?.[1]]),
    [
      ['age=old', 0.25],
      ['age=young', 0.75],
    ],
  );
  assert.equal(r.breakdowns[2].groups.length, 4);
  close(r.fairness.demographic_parity_difference, 1);
  close(r.fairness.demographic_parity_ratio, 0);
  close(r.fairness.equal_opportunity_difference, 1);
  close(r.fairness.equalized_odds_difference, 1);
});

test('multiclass: each class one-vs-rest, the worst class reported', () => {
  // labels a, b, c.
  //   G1: y = a b c, ŷ = a b b → selection a 1/3, b 2/3, c 0;   TPR a 1, b 1, c 0
  //   G2: y = a b c, ŷ = a a c → selection a 2/3, b 0,   c 1/3; TPR a 1, b 0, c 1
  // DP diff per class: a 1/3, b 2/3, c 1/3 → 2/3. DP ratio per class: a 1/2, b 0, c 0 → 0.
  // TPR diff per class: a 0, b 1, c 1 → equal opportunity 1.
  // FPR: G1 a 0/2, b 1/2, c 0/2; G2 a 1/2, b 0, c 0 → diffs 1/2, 1/2, 0; EO max(1, 1/2) = 1.
  const t = table(
    ['g'],
    [
      ['G1', 0, 0],
      ['G1', 1, 1],
      ['G1', 2, 1],
      ['G2', 0, 0],
      ['G2', 1, 0],
      ['G2', 2, 2],
    ],
  );
  const r = computeFairness({
    task: 'classification',
    config: cfg(['g'], 1),
    rows: t.rows,
    source: 't.csv',
    yTrue: t.yTrue,
    yPred: t.yPred,
    labels: ['a', 'b', 'c'],
  });
  assert.equal(r.positiveLabel, null);
  close(r.fairness.demographic_parity_difference, 2 / 3);
  close(r.fairness.demographic_parity_ratio, 0);
  close(r.fairness.equal_opportunity_difference, 1);
  close(r.fairness.equalized_odds_difference, 1);
  // accuracy: G1 2/3, G2 2/3 → gap 0, ratio 1.
  close(r.breakdowns[0].gaps.accuracy.difference, 0);
  close(r.breakdowns[0].gaps.accuracy.ratio, 1);
});

test('a group without positives has no TPR: left out of equal opportunity, never divided by zero', () => {
  //   P: y = 1 0, ŷ = 1 0 → TPR 1/1, FPR 0/1
  //   Q: y = 0 0, ŷ = 1 0 → TPR undefined (0 positives), FPR 1/2
  // equal opportunity: only P has a TPR → undefined (null); equalized odds: FPR diff 1/2.
  const t = table(
    ['g'],
    [
      ['P', 1, 1],
      ['P', 0, 0],
      ['Q', 0, 1],
      ['Q', 0, 0],
    ],
  );
  const r = computeFairness({
    task: 'classification',
    config: cfg(['g'], 1),
    rows: t.rows,
    source: 't.csv',
    yTrue: t.yTrue,
    yPred: t.yPred,
    labels: ['n', 'y'],
  });
  assert.equal(r.fairness.equal_opportunity_difference, null);
  close(r.fairness.equalized_odds_difference, 0.5);
  assert.ok(
    r.notes.some((n) => n.includes("'y' is undefined for g=Q")),
    r.notes.join('\n'),
  );
  assert.deepEqual(Object.keys(flattenFairness(r)).sort(), [
    'demographic_parity_difference',
    'demographic_parity_ratio',
    'equalized_odds_difference',
  ]);
});

test('all groups below the minimum: counts reported, no gap, no fairness value', () => {
  const r = computeFairness({
    task: 'classification',
    config: cfg(['sex'], 30),
    rows: binary.rows,
    source: 't.csv',
    yTrue: binary.yTrue,
    yPred: binary.yPred,
    labels: ['no', 'yes'],
  });
  assert.deepEqual(
    r.breakdowns[0].groups.map((g) => [g.count, g.small]),
    [
      [4, true],
      [4, true],
      [1, true],
    ],
  );
  assert.equal(r.breakdowns[0].gaps.accuracy.difference, null);
  assert.equal(r.fairness.demographic_parity_difference, null);
  assert.equal(r.fairness.demographic_parity_ratio, null);
  assert.deepEqual(flattenFairness(r), {});
});

test('regression: any metric per group, with its gap; a missing sensitive value is its own group', () => {
  //   X: y = 1 2, ŷ = 1 4 → mae (0 + 2) / 2 = 1
  //   Y: y = 0 0, ŷ = 3 3 → mae 3
  //   (missing): y = 5, ŷ = 5 → mae 0, below the minimum of 2
  // gap 3 − 1 = 2, ratio 1/3.
  const rows = [{ r: 'X' }, { r: 'X' }, { r: 'Y' }, { r: 'Y' }, { r: null }];
  const r = computeFairness({
    task: 'regression',
    config: cfg(['r'], 2, ['mae']),
    rows,
    source: 't.csv',
    yTrue: [1, 2, 0, 0, 5],
    yPred: [1, 4, 3, 3, 5],
  });
  const [b] = r.breakdowns;
  assert.deepEqual(
    b.groups.map((g) => [g.name, g.values.mae, g.small]),
    [
      ['r=(missing)', 0, true],
      ['r=X', 1, false],
      ['r=Y', 3, false],
    ],
  );
  close(b.gaps.mae.difference, 2);
  close(b.gaps.mae.ratio, 1 / 3);
  assert.deepEqual(r.fairness, {});
  assert.throws(
    () =>
      computeFairness({
        task: 'regression',
        config: cfg(['r'], 2, ['demographic_parity_difference']),
        rows,
        source: 't.csv',
        yTrue: [1, 2, 0, 0, 5],
        yPred: [1, 4, 3, 3, 5],
      }),
    (e: unknown) => e instanceof ModelOpsError && /only for classification/.test(e.message),
  );
});

test('a sensitive column absent from the rows is an error naming it and the file', () => {
  assert.throws(
    () =>
      computeFairness({
        task: 'classification',
        config: cfg(['race'], 1),
        rows: binary.rows,
        source: 'data/test.csv',
        yTrue: binary.yTrue,
        yPred: binary.yPred,
        labels: ['no', 'yes'],
      }),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.message.includes("'race'") &&
      e.message.includes('data/test.csv') &&
      (e.hint ?? '').length > 0,
  );
});

test('gapOf: fewer than two values, a zero maximum and negative values give no ratio', () => {
  assert.deepEqual(gapOf([0.5]), { difference: null, ratio: null });
  assert.deepEqual(gapOf([0, 0]), { difference: 0, ratio: null });
  assert.deepEqual(gapOf([-1, 1]), { difference: 2, ratio: null });
  assert.deepEqual(gapOf([null, 0.2, 0.4]), { difference: 0.2, ratio: 0.5 });
});

test('gates on fairness metrics pass and fail with the same grammar as other gates', () => {
  const r = computeFairness({
    task: 'classification',
    config: cfg(['sex'], 2),
    rows: binary.rows,
    source: 't.csv',
    yTrue: binary.yTrue,
    yPred: binary.yPred,
    labels: ['no', 'yes'],
  });
  const metrics = { accuracy: 0.6, ...flattenFairness(r) };
  const pass = evaluateGates({
    gates: { demographic_parity_difference: '<= 0.3', equalized_odds_difference: '<= 0.5' },
    metrics,
    resolveAlias: () => null,
  });
  assert.equal(pass.passed, true);
  const fail = evaluateGates({
    gates: { demographic_parity_difference: '<= 0.1', demographic_parity_ratio: '>= 0.8' },
    metrics,
    resolveAlias: () => null,
  });
  assert.equal(fail.passed, false);
  assert.deepEqual(
    fail.results.map((g) => g.passed),
    [false, false],
  );
  assert.match(fail.results[0].message, /demographic_parity_difference 0\.2500 is not ≤ 0\.1/);
  // Relative to the version holding an alias, like any metric.
  const rel = evaluateGates({
    gates: { demographic_parity_difference: '<= production + 0.01' },
    metrics,
    resolveAlias: () => ({ version: '1.0.0', metrics: { demographic_parity_difference: 0.2 } }),
  });
  assert.equal(rel.passed, false);
  // Undefined (all groups too small): not computed, so the gate fails.
  const none = evaluateGates({
    gates: { demographic_parity_difference: '<= 0.1' },
    metrics: { accuracy: 1 },
    resolveAlias: () => null,
  });
  assert.equal(none.passed, false);
});
