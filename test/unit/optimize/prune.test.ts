import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isPruningStep,
  magnitudeMask,
  pruningRate,
  scheduleFor,
  sparsityAt,
} from '../../../server/engine/optimize/prune';
import { checkSparsity } from '../../../server/engine/optimize';
import { ModelOpsError } from '../../../server/engine/errors';

test('polynomial decay: s_t = s_f + (s_i − s_f)(1 − (t − t0)/(t1 − t0))^3, flat after t1', () => {
  const s = {
    kind: 'polynomial' as const,
    initialSparsity: 0.1,
    finalSparsity: 0.9,
    beginStep: 10,
    endStep: 110,
    frequency: 20,
  };
  assert.ok(Math.abs(sparsityAt(0, s) - 0.1) < 1e-12);
  assert.ok(Math.abs(sparsityAt(10, s) - 0.1) < 1e-12);
  assert.ok(Math.abs(sparsityAt(60, s) - (0.9 + (0.1 - 0.9) * 0.5 ** 3)) < 1e-12);
  assert.ok(Math.abs(sparsityAt(35, s) - (0.9 + (0.1 - 0.9) * 0.75 ** 3)) < 1e-12);
  assert.equal(sparsityAt(110, s), 0.9);
  assert.equal(sparsityAt(500, s), 0.9);
  // Monotone between begin and end.
  for (let t = 10; t < 110; t++) assert.ok(sparsityAt(t + 1, s) >= sparsityAt(t, s));
  assert.deepEqual(
    [0, 10, 20, 30, 50, 109, 110, 111, 130].filter((t) => isPruningStep(t, s)),
    [10, 30, 50, 110],
  );
  assert.equal(sparsityAt(3, { ...s, kind: 'constant' }), 0.9);
});

test('the schedule over n steps ends at two thirds, about ten mask updates', () => {
  const s = scheduleFor('polynomial', 0.5, 300);
  assert.equal(s.beginStep, 0);
  assert.equal(s.endStep, 200);
  assert.equal(s.frequency, 20);
  assert.equal(s.initialSparsity, 0);
  assert.equal(scheduleFor('polynomial', 0.5, 0).endStep, 0);
});

test('magnitude mask zeroes exactly round(s · n) smallest |w|, ties by index', () => {
  const w = Float32Array.from([0.5, -0.1, 0.3, -0.9, 0.1, 0.0, 2, -0.3]);
  assert.deepEqual(Array.from(magnitudeMask(w, 0.5)), [1, 0, 0, 1, 0, 0, 1, 1]);
  assert.equal(
    magnitudeMask(w, 0.3).reduce((a, v) => a + (v === 0 ? 1 : 0), 0),
    2,
  ); // round(2.4)
  assert.equal(
    magnitudeMask(new Float32Array(7), 0.5).reduce((a, v) => a + (v === 0 ? 1 : 0), 0),
    4,
  ); // round(3.5) = 4
});

test('pruning rate: per layer pruned / (kernel + bias), overall pruned / every parameter', () => {
  // 4×32 + 32 and 32×5 + 5 dense layers, 50 % of kernels pruned; 10 other parameters (e.g. batch norm).
  const r = pruningRate(
    [
      { layer: 'dense_1', pruned: 64, kernel: 128, bias: 32 },
      { layer: 'dense_2', pruned: 80, kernel: 160, bias: 5 },
    ],
    128 + 32 + 160 + 5 + 10,
  );
  assert.equal(r.layers[0].rate, 64 / 160);
  assert.equal(r.layers[0].kernelSparsity, 0.5);
  assert.equal(r.layers[1].rate, 80 / 165);
  assert.equal(r.pruned, 144);
  assert.equal(r.total, 335);
  assert.equal(r.rate, 144 / 335);
});

test('sparsity outside (0, 1) is refused with the value and what to give', () => {
  for (const bad of [0, 1, -0.2, 1.5, Number.NaN]) {
    assert.throws(
      () => checkSparsity(bad),
      (e: unknown) =>
        e instanceof ModelOpsError &&
        e.code === 'optimize-bad-sparsity' &&
        e.message.includes(String(bad)) &&
        /between 0 and 1/.test(e.hint ?? ''),
    );
  }
  assert.equal(checkSparsity(0.5), 0.5);
});
