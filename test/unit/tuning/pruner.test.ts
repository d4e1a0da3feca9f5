/** The median pruner on constructed curves, as Optuna's MedianPruner decides. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MedianPruner, median } from '../../../server/engine/tuning/pruner';

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
