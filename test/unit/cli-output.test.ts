import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayPath, formatNumber, progressBar, table } from '../../server/cli/output';

test('table right-aligns numeric columns and pads text', () => {
  const t = table(
    ['model', 'versions'],
    [
      ['iris', 12],
      ['churn', 3],
    ],
  );
  assert.equal(t, ['model  versions', '─────  ────────', 'iris         12', 'churn         3'].join('\n'));
});

test('progressBar clamps and rounds', () => {
  assert.equal(progressBar(0.5, 4), '[██░░]  50%');
  assert.equal(progressBar(2, 2), '[██] 100%');
  assert.equal(progressBar(-1, 2), '[░░]   0%');
});

test('formatNumber keeps integers and shows missing values as a dash', () => {
  assert.equal(formatNumber(3), '3');
  assert.equal(formatNumber(0.123456), '0.1235');
  assert.equal(formatNumber(null), '—');
  assert.equal(formatNumber(Number.NaN), '—');
});

test('displayPath is relative under the working folder and absolute outside it', () => {
  assert.equal(displayPath('/work/ws', '/work/ws/data/x.csv'), 'data/x.csv');
  assert.equal(displayPath('/work/ws', '/work/ws'), '.');
  assert.equal(displayPath('/work/ws', '/tmp/other/modelops.yaml'), '/tmp/other/modelops.yaml');
});
