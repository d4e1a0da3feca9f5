/** The CLI's fairness table: every breakdown, the small-group mark, the gaps and the Fairlearn metrics. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fairnessText } from '../../../server/cli/commands/evaluate';
import { computeFairness } from '../../../server/engine/evaluation/fairness';

test('fairnessText shows the groups with counts, marks small ones and lists the fairness metrics', () => {
  // A: y 1 0, ŷ 1 1 → selection 1; B: y 1 0, ŷ 0 0 → selection 0; C: 1 row, small.
  const rows = ['A', 'A', 'B', 'B', 'C'].map((g) => ({ g }));
  const r = computeFairness({
    task: 'classification',
    config: { sensitive: ['g'], metrics: ['accuracy'], minGroupSize: 2 },
    rows,
    source: 't.csv',
    yTrue: [1, 0, 1, 0, 0],
    yPred: [1, 1, 0, 0, 0],
    labels: ['0', '1'],
  });
  const text = fairnessText(r, (s) => s);
  assert.match(text, /g=C \*/);
  assert.match(text, /g=A\s+│?\s*2/);
  assert.match(text, /difference \(max − min\)/);
  assert.match(text, /positive class: 1; over g/);
  assert.match(text, /demographic_parity_difference\s+│?\s*1\b/);
  assert.match(text, /fewer than 2 rows/);
});
