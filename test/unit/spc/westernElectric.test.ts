import { test } from 'node:test';
import assert from 'node:assert/strict';
import { westernElectric, westernElectricZ, type Violation } from '../../../server/engine/spc';
import { isModelOpsError } from '../../../server/engine/errors';

// With centre 0 and σ 1 every value is its own z-score, so the patterns below read directly.
const unit = { mean: 0, std: 1 };
const brief = (vs: Violation[]) =>
  vs.map((v) => `${v.rule}@${v.index}${v.side === 'above' ? '+' : '-'}[${v.points.join(',')}]`);

test('rule 1 fires on each point beyond ±3σ and not on a point exactly at 3σ', () => {
  const v = westernElectric([0, 3.5, 0, -3.01, 3, -3, 2.99], unit, { rules: [1] });
  assert.deepEqual(brief(v), ['1@1+[1]', '1@3-[3]']);
});

test('rule 1 follows the configured limit width L', () => {
  assert.deepEqual(brief(westernElectric([0, 2.6, 2.4], unit, { rules: [1], sigma: 2.5 })), ['1@1+[1]']);
});

test('rule 2 fires on two of three beyond 2σ on the same side', () => {
  // points 1 and 3 are beyond +2σ with one point between them
  assert.deepEqual(brief(westernElectric([0, 2.5, 0, 2.1], unit, { rules: [2] })), ['2@3+[1,3]']);
  // adjacent, below
  assert.deepEqual(brief(westernElectric([-2.2, -2.9, 0], unit, { rules: [2] })), ['2@1-[0,1]']);
});

test('rule 2 near misses: too far apart, opposite sides, exactly on 2σ', () => {
  assert.deepEqual(westernElectric([2.5, 0, 0, 2.5], unit, { rules: [2] }), []);
  assert.deepEqual(westernElectric([2.5, -2.5, 0, -1], unit, { rules: [2] }), []);
  assert.deepEqual(westernElectric([2, 2.5, 2], unit, { rules: [2] }), []);
});

test('rule 3 fires on four of five beyond 1σ on the same side', () => {
  assert.deepEqual(brief(westernElectric([1.5, 1.5, 0, 1.5, 1.5], unit, { rules: [3] })), ['3@4+[0,1,3,4]']);
  assert.deepEqual(brief(westernElectric([-1.1, -1.2, -1.3, -1.4], unit, { rules: [3] })), ['3@3-[0,1,2,3]']);
});

test('rule 3 near misses: three of five, one on the other side, exactly on 1σ', () => {
  assert.deepEqual(westernElectric([1.5, 1.5, 0, 0, 1.5, 1.5], unit, { rules: [3] }), []);
  assert.deepEqual(westernElectric([1.5, 1.5, -1.5, 1.5, 0, 1.5], unit, { rules: [3] }), []);
  assert.deepEqual(westernElectric([1.5, 1, 1.5, 1.5, 1], unit, { rules: [3] }), []);
});

test('rule 4 fires on eight in a row on one side, once per point from the eighth on', () => {
  const eight = Array(8).fill(0.5);
  assert.deepEqual(brief(westernElectric(eight, unit, { rules: [4] })), ['4@7+[0,1,2,3,4,5,6,7]']);
  const nine = [...Array(9).fill(-0.1)];
  assert.deepEqual(brief(westernElectric(nine, unit, { rules: [4] })), [
    '4@7-[0,1,2,3,4,5,6,7]',
    '4@8-[1,2,3,4,5,6,7,8]',
  ]);
});

test('rule 4 near misses: seven in a row, a point on the centre line breaks the run', () => {
  assert.deepEqual(westernElectric([...Array(7).fill(0.5), -0.5], unit, { rules: [4] }), []);
  assert.deepEqual(westernElectric([...Array(4).fill(0.5), 0, ...Array(4).fill(0.5)], unit, { rules: [4] }), []);
});

test('with all rules enabled each pattern fires only its own rule', () => {
  assert.deepEqual(brief(westernElectric([0, 3.5, 0], unit)), ['1@1+[1]']);
  assert.deepEqual(brief(westernElectric([0, 2.5, -1, 2.1, 0], unit)), ['2@3+[1,3]']);
  assert.deepEqual(brief(westernElectric([1.5, 1.5, -0.5, 1.5, 1.5, 0], unit)), ['3@4+[0,1,3,4]']);
  assert.deepEqual(brief(westernElectric([...Array(8).fill(0.5), -0.2], unit)), ['4@7+[0,1,2,3,4,5,6,7]']);
  // In-control noise fires nothing.
  assert.deepEqual(westernElectric([0.3, -0.8, 1.2, -1.9, 0.4, 0.1, -0.6, 2.4, -0.2, 0.9], unit), []);
});

test('one point can violate several rules; order is by index then rule', () => {
  const v = westernElectric([2.5, 3.5], unit);
  assert.deepEqual(brief(v), ['1@1+[1]', '2@1+[0,1]']);
});

test('disabled rules do not fire', () => {
  assert.deepEqual(westernElectric([0, 3.5, 3.5], unit, { rules: [3, 4] }), []);
});

test('a per-point σ (p-chart) is used for each point', () => {
  // centre 0.5; point 1 is 0.2 above with σ 0.05 (4σ), point 2 is 0.2 above with σ 0.1 (2σ)
  const v = westernElectric([0.5, 0.7, 0.7], { mean: 0.5, std: [0.1, 0.05, 0.1] }, { rules: [1] });
  assert.deepEqual(brief(v), ['1@1+[1]']);
});

test('σ = 0: any departure is beyond every limit, no departure is on the centre line', () => {
  assert.deepEqual(brief(westernElectricZ([0, 0], { rules: [1] })), []);
  assert.deepEqual(brief(westernElectric([1, 1, 0.99], { mean: 1, std: 0 }, { rules: [1] })), ['1@2-[2]']);
});

test('an unknown rule is a ModelOpsError naming it', () => {
  assert.throws(
    () => westernElectric([1], unit, { rules: [5] }),
    (e) => isModelOpsError(e) && /rule 5/.test(e.message),
  );
});
