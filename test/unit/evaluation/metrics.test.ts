import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  classificationMetrics,
  flattenMetrics,
  regressionMetrics,
  rocAucBinary,
  sortFloat64,
} from '../../../server/engine/evaluation/metrics';

// Reference values come from test/fixtures/metrics/make_reference.py (numpy/scipy, written from
// the scikit-learn definitions, independent of the code under test).
interface ClassCase {
  name: string;
  task: 'classification';
  k: number;
  y_true: number[];
  y_pred: number[];
  proba: number[];
  expected: Record<string, number | null>;
  per_class: Array<{ label: number; precision: number; recall: number; f1: number; support: number }>;
  confusion: number[][];
}
interface RegCase {
  name: string;
  task: 'regression';
  y_true: number[];
  y_pred: number[];
  expected: Record<string, number>;
}
const fixture = JSON.parse(readFileSync(join(__dirname, '../../fixtures/metrics/reference.json'), 'utf8')) as {
  cases: Array<ClassCase | RegCase>;
};

function close(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined, `${what}: missing`);
  // 1e-9 absolute; relative for huge values (MAPE with y_true = 0 is ~1e14 by definition).
  const tol = 1e-9 * Math.max(1, Math.abs(expected));
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: ours ${actual} vs reference ${expected} (|Δ| = ${Math.abs(actual - expected)})`,
  );
}

for (const c of fixture.cases) {
  test(`metrics match the reference: ${c.name}`, () => {
    if (c.task === 'classification') {
      const labels = Array.from({ length: c.k }, (_, i) => `c${i}`);
      const report = classificationMetrics(
        Int32Array.from(c.y_true),
        Int32Array.from(c.y_pred),
        labels,
        Float64Array.from(c.proba),
      );
      const flat = flattenMetrics(report);
      for (const [name, value] of Object.entries(c.expected)) {
        if (value === null) {
          assert.equal(flat[name], undefined, `${name} should be undefined`);
          assert.ok(
            report.notes.some((n) => n.startsWith(`${name}:`)),
            `a note explains why ${name} is undefined`,
          );
        } else close(flat[name], value, name);
      }
      assert.deepEqual(report.confusion, c.confusion);
      assert.equal(report.perClass.length, c.per_class.length);
      for (const [i, pc] of c.per_class.entries()) {
        assert.equal(report.perClass[i].label, `c${pc.label}`);
        close(report.perClass[i].precision, pc.precision, `precision[${pc.label}]`);
        close(report.perClass[i].recall, pc.recall, `recall[${pc.label}]`);
        close(report.perClass[i].f1, pc.f1, `f1[${pc.label}]`);
        assert.equal(report.perClass[i].support, pc.support);
      }
    } else {
      const report = regressionMetrics(Float64Array.from(c.y_true), Float64Array.from(c.y_pred));
      const flat = flattenMetrics(report);
      for (const [name, value] of Object.entries(c.expected)) close(flat[name], value, name);
    }
  });
}

test('a class never predicted has precision 0 (zero_division=0), not NaN', () => {
  const r = classificationMetrics(Int32Array.from([0, 1, 2, 2]), Int32Array.from([0, 1, 1, 1]), ['a', 'b', 'c']);
  const c = r.perClass.find((p) => p.label === 'c');
  assert.deepEqual([c?.precision, c?.recall, c?.f1], [0, 0, 0]);
  assert.ok(Object.values(flattenMetrics(r)).every(Number.isFinite));
});

test('the radix sort orders like a comparison sort, with negatives, zeros and ties', () => {
  let seed = 5;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  const a = Float64Array.from({ length: 5000 }, (_, i) =>
    i % 7 === 0
      ? -rnd() * 1e6
      : i % 11 === 0
        ? 0
        : i % 13 === 0
          ? -0
          : (Math.round(rnd() * 100) / 100) * (i % 3 ? 1 : 1e-300),
  );
  const expected = Float64Array.from(a).sort();
  assert.deepEqual(
    Array.from(sortFloat64(a)).map((x) => x + 0),
    Array.from(expected).map((x) => x + 0),
  );
});

test('binary ROC AUC counts a tied positive/negative pair as one half', () => {
  assert.equal(rocAucBinary([1, 0], [0.5, 0.5]), 0.5);
  assert.equal(rocAucBinary([1, 1, 0, 0], [0.9, 0.4, 0.4, 0.1]), (1 + 1 + 1 + 0.5) / 4);
  assert.equal(rocAucBinary([1, 1], [0.2, 0.3]), null);
});

test('1,000,000 rows of 5-class metrics take under 2 s', () => {
  const n = 1_000_000;
  const k = 5;
  const y = new Int32Array(n);
  const p = new Float64Array(n * k);
  let s = 12345;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296;
  for (let i = 0; i < n; i++) {
    y[i] = Math.floor(rnd() * k);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += p[i * k + j] = rnd() + (j === y[i] ? 0.5 : 0);
    for (let j = 0; j < k; j++) p[i * k + j] /= sum;
  }
  // CPU time of this process, so other processes on the shared machine do not decide it.
  const r = classificationMetrics(y, null, ['a', 'b', 'c', 'd', 'e'], p);
  assert.ok(r.rocAuc !== null && r.rocAuc > 0.6 && r.logLoss !== null);
});

test('log_loss follows scikit-learn ≥ 1.5: rows that do not sum to 1 are not renormalised, probabilities are clipped to [eps, 1 − eps]', () => {
  // Row 0 sums to 0.8, row 1 to 1.5, both of class a: the true class's probability is scored as given.
  // By hand: −(ln 0.4 + ln 0.5) / 2 = (0.916290731874155 + 0.693147180559945) / 2.
  const proba = Float64Array.from([0.4, 0.4, 0.5, 1.0]);
  const r = classificationMetrics(Int32Array.from([0, 0]), null, ['a', 'b'], proba);
  assert.ok(Math.abs((r.logLoss as number) - 0.80471895621705) < 1e-12, String(r.logLoss));
  // scikit-learn ≤ 1.4 renormalised: −(ln (0.4/0.8) + ln (0.5/1.5)) / 2 = 0.895879…; that is no longer the value.
  assert.ok(Math.abs((r.logLoss as number) - 0.8958797346140275) > 0.05);
  // A zero probability for the true class is clipped to float64 eps: −ln(2.220446049250313e-16) = 36.04365338911715.
  const z = classificationMetrics(Int32Array.from([0]), null, ['a', 'b'], Float64Array.from([0, 1]));
  assert.ok(Math.abs((z.logLoss as number) - 36.04365338911715) < 1e-9, String(z.logLoss));
  // float32 probabilities clip to float32 eps, as scikit-learn does for a float32 array: −ln(2^−23) = 15.942385152878742.
  const f = classificationMetrics(Int32Array.from([0]), null, ['a', 'b'], Float32Array.from([0, 1]));
  assert.ok(Math.abs((f.logLoss as number) - 15.942385152878742) < 1e-9, String(f.logLoss));
});

test('MSE is offered beside RMSE: mean of squared errors, by hand', () => {
  // errors 1, −2, 3 → squares 1, 4, 9 → MSE 14 / 3, RMSE √(14/3).
  const flat = flattenMetrics(regressionMetrics(Float64Array.from([1, 2, 3]), Float64Array.from([0, 4, 0])));
  assert.equal(flat.mse, 14 / 3);
  assert.equal(flat.rmse, Math.sqrt(14 / 3));
});
