/** The median pruner on constructed curves, as Optuna's MedianPruner decides. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MedianPruner, isFirstInInterval, median } from '../../../server/engine/tuning/pruner';

test('median of an even and an odd count', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('prunes a trial whose best so far is worse than the median of completed trials at that epoch', () => {
  const p = new MedianPruner({ warmupEpochs: 2, minTrials: 3 });
  const completed = [
    [0.9, 0.7, 0.5, 0.4],
    [0.8, 0.6, 0.45, 0.3],
    [1.0, 0.8, 0.7, 0.6],
  ];
  // minimising a loss; at epoch 3 the completed values are 0.5, 0.45, 0.7 → median 0.5
  assert.equal(p.shouldPrune([1.0, 0.9, 0.8], completed, 'minimize'), true);
  assert.equal(p.shouldPrune([1.0, 0.9, 0.49], completed, 'minimize'), false);
  // the best so far counts, not the last value: 0.45 at epoch 2 keeps it alive at epoch 3
  assert.equal(p.shouldPrune([1.0, 0.45, 0.9], completed, 'minimize'), false);
  // equal to the median is not worse
  assert.equal(p.shouldPrune([1.0, 0.9, 0.5], completed, 'minimize'), false);
});

test('never during warm-up, never before minTrials completed, never without values at the epoch', () => {
  const p = new MedianPruner({ warmupEpochs: 2, minTrials: 3 });
  const completed = [
    [0.1, 0.1, 0.1],
    [0.1, 0.1, 0.1],
    [0.1, 0.1, 0.1],
  ];
  assert.equal(p.shouldPrune([9, 9], completed, 'minimize'), false, 'epoch 2 is still warm-up');
  assert.equal(p.shouldPrune([9, 9, 9], completed, 'minimize'), true);
  assert.equal(p.shouldPrune([9, 9, 9], completed.slice(0, 2), 'minimize'), false, 'only 2 completed');
  assert.equal(p.shouldPrune([9, 9, 9, 9], completed, 'minimize'), false, 'no completed trial reached epoch 4');
});

test('maximising: prunes below the median; a trial that reported only NaN is pruned', () => {
  const p = new MedianPruner({ warmupEpochs: 0, minTrials: 1 });
  const completed = [
    [0.6, 0.7],
    [0.5, 0.8],
    [0.4, 0.9],
  ];
  assert.equal(p.shouldPrune([0.45], completed, 'maximize'), true);
  assert.equal(p.shouldPrune([0.55], completed, 'maximize'), false);
  assert.equal(p.shouldPrune([0.3, 0.81], completed, 'maximize'), false);
  assert.equal(p.shouldPrune([0.3, 0.7], completed, 'maximize'), true);
  assert.equal(p.shouldPrune([Number.NaN], completed, 'maximize'), true);
});

test("Optuna's defaults: warm-up 0 prunes at epoch 1, once 5 trials have completed", () => {
  const p = new MedianPruner({ warmupEpochs: 0, minTrials: 5 });
  const completed = [[0.8], [0.7], [0.6], [0.5], [0.4]];
  // maximising; epoch 1 (step 0) is not warm-up when n_warmup_steps = 0: median 0.6
  assert.equal(p.shouldPrune([0.55], completed, 'maximize'), true);
  assert.equal(p.shouldPrune([0.6], completed, 'maximize'), false);
  assert.equal(p.shouldPrune([0.55], completed.slice(1), 'maximize'), false, 'only 4 completed');
  // warm-up 1: step 0 < 1 is skipped, step 1 (epoch 2) is checked
  const w = new MedianPruner({ warmupEpochs: 1, minTrials: 5 });
  const two = completed.map((c) => [...c, c[0]]);
  assert.equal(w.shouldPrune([0.1], two, 'maximize'), false);
  assert.equal(w.shouldPrune([0.1, 0.1], two, 'maximize'), true);
});

test('the epoch compared is the one just reported; completed trials count only at that epoch', () => {
  const p = new MedianPruner({ warmupEpochs: 0, minTrials: 3 });
  // minimising: at epoch 1 the median is 0.5, at epoch 2 it is 0.2
  const completed = [
    [0.4, 0.1],
    [0.5, 0.2],
    [0.6, 0.3],
  ];
  assert.equal(p.shouldPrune([0.45], completed, 'minimize'), false);
  assert.equal(p.shouldPrune([0.45, 0.3], completed, 'minimize'), true);
  // a completed trial that stopped before epoch 2 has no say at epoch 2: median of 0.1, 0.2
  const short = [[0.4, 0.1], [0.5, 0.2], [0.6]];
  assert.equal(p.shouldPrune([0.45, 0.16], short, 'minimize'), true);
  assert.equal(p.shouldPrune([0.45, 0.15], short, 'minimize'), false);
  // null (not reported) at the epoch is left out of the median, as nanpercentile leaves out NaN
  const gap = [
    [0.4, 0.1],
    [0.5, null],
    [0.6, 0.3],
  ];
  assert.equal(p.shouldPrune([0.45, 0.21], gap, 'minimize'), true);
  assert.equal(p.shouldPrune([0.45, 0.2], gap, 'minimize'), false);
});

test('n_min_trials: no pruning while fewer completed trials have a value at the epoch', () => {
  const p = new MedianPruner({ warmupEpochs: 0, minTrials: 1, minTrialsAtEpoch: 3 });
  const completed = [[0.9, 0.9], [0.9, 0.9], [0.9]];
  assert.equal(p.shouldPrune([0.1], completed, 'maximize'), true, '3 values at epoch 1');
  assert.equal(p.shouldPrune([0.1, 0.1], completed, 'maximize'), false, 'only 2 values at epoch 2');
  assert.equal(
    new MedianPruner({ warmupEpochs: 0, minTrials: 1 }).shouldPrune([0.1, 0.1], completed, 'maximize'),
    true,
  );
});

test('interval: checks only at warm-up + k·interval, a missed check is made at the next report', () => {
  const p = new MedianPruner({ warmupEpochs: 1, minTrials: 1, intervalEpochs: 3 });
  const completed = [Array.from({ length: 10 }, () => 0.9)];
  const bad = (n: number) => Array.from({ length: n }, () => 0.1);
  // steps 1, 4, 7 (epochs 2, 5, 8) are the pruning checks
  const checked = [1, 2, 3, 4, 5, 6, 7, 8, 9].filter((e) => p.shouldPrune(bad(e), completed, 'maximize'));
  assert.deepEqual(checked, [2, 5, 8]);
  // epoch 5 (step 4) was not reported: the check is made at epoch 6, and not again at epoch 7
  const skipped = [0.1, 0.1, 0.1, 0.1, null, 0.1];
  assert.equal(isFirstInInterval(skipped, 1, 3), true);
  assert.equal(p.shouldPrune(skipped, completed, 'maximize'), true);
  assert.equal(isFirstInInterval([...skipped, 0.1], 1, 3), false);
  // interval 1 checks every epoch after the warm-up
  assert.deepEqual(
    [1, 2, 3].map((e) => isFirstInInterval(bad(e), 0, 1)),
    [true, true, true],
  );
});

test('no completed trial: never pruned; a trial with no value at all is pruned as all-NaN', () => {
  const p = new MedianPruner({ warmupEpochs: 0, minTrials: 1 });
  assert.equal(p.shouldPrune([0.1], [], 'maximize'), false);
  assert.equal(p.shouldPrune([null, null], [[0.5, 0.5]], 'maximize'), true, 'no value at all: pruned like all-NaN');
});
