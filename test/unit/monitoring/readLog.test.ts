import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPredictionLog } from '../../../server/engine/monitoring';
import type { FeatureTransform } from '../../../server/engine/model/types';
import { tempDir } from '../serving/fixtures';

const FEATURES: FeatureTransform[] = [
  { name: 'x', kind: 'numeric', mean: 0, std: 1, impute: 0 },
  { name: 'c', kind: 'categorical', categories: ['a', 'b'], impute: null },
];

test('the fast line scanner and JSON.parse read the same values', async () => {
  const tmp = tempDir('readlog');
  try {
    const xs = [
      0.1 + 0.2,
      -0.5,
      1e-7,
      123456789012345678,
      12.8,
      0,
      5e300,
      1.7976931348623157e308,
      2.2250738585072014e-308,
      0.000001234567890123456,
    ];
    const lines: unknown[] = [];
    xs.forEach((x, i) => {
      lines.push({
        type: 'prediction',
        id: `r${i}`,
        time: '2026-01-01T00:00:00.000Z',
        version: '1.0.0',
        latencyMs: 0.25,
        inputs: { x: [x, null], c: ['a', 'b'] },
        outputs: {
          label: ['sun', 'rain'],
          probabilities: [
            [0.5, 0.5],
            [0.1, 0.9],
          ],
        },
      });
    });
    // Lines the scanner must hand to JSON.parse: escapes, another key order, unknown and missing inputs.
    lines.push({
      type: 'prediction',
      id: 'q"1',
      time: '2026-01-01T00:00:01.000Z',
      version: '1.0.0',
      latencyMs: 1,
      inputs: { x: [3], c: ['a\\"b'] },
      outputs: { label: ['fog'] },
    });
    lines.push({
      id: 'q2',
      type: 'prediction',
      time: '2026-01-01T00:00:02.000Z',
      version: '1.1.0',
      latencyMs: 1,
      inputs: { c: ['b'], x: [4] },
      outputs: { label: ['sun'] },
    });
    lines.push({
      type: 'prediction',
      id: 'q3',
      time: '2026-01-01T00:00:03.000Z',
      version: '1.1.0',
      latencyMs: 1,
      inputs: { other: [1], c: ['a'] },
      outputs: { label: ['rain'] },
    });
    lines.push({ type: 'feedback', id: 'r0', time: '2026-01-01T00:00:04.000Z', labels: ['sun', 'sun'] });
    lines.push({ type: 'feedback', id: 'q"1', time: '2026-01-01T00:00:04.000Z', labels: ['fog'] });
    const text = lines.map((l) => JSON.stringify(l)).join('\n') + '\n{"type":"prediction", broken\n';
    writeFileSync(join(tmp.dir, 'predictions.jsonl'), text);
    const cols = await readPredictionLog(tmp.dir, FEATURES, 'classification', ['fog', 'rain', 'sun']);
    assert.equal(cols.count, xs.length * 2 + 3);
    assert.equal(cols.badLines, 1);
    const expectedX = [...xs.flatMap((x) => [x, NaN]), 3, 4, NaN];
    assert.deepEqual([...cols.numeric.x], expectedX);
    const cat = [...cols.categorical.c].map((k) => (k < 0 ? null : cols.dictionaries.c.values[k]));
    assert.deepEqual(cat, [...xs.flatMap(() => ['a', 'b']), 'a\\"b', 'b', 'a']);
    const pred = [...cols.predictedLabel!].map((k) => cols.labels.values[k]);
    assert.deepEqual(pred, [...xs.flatMap(() => ['sun', 'rain']), 'fog', 'sun', 'rain']);
    const truth = [...cols.truthLabel!].map((k) => (k < 0 ? null : cols.labels.values[k]));
    assert.deepEqual(truth.slice(0, 4), ['sun', 'sun', null, null]);
    assert.equal(truth[xs.length * 2], 'fog');
    assert.deepEqual([...cols.version].map((k) => cols.versions.values[k]).slice(-3), ['1.0.0', '1.1.0', '1.1.0']);
    assert.equal(cols.latencyMs[0], 0.25);
    assert.equal(cols.time[0], Date.parse('2026-01-01T00:00:00.000Z'));
  } finally {
    tmp.cleanup();
  }
});

test('class probabilities are read (for CBPE) by the scanner and by JSON.parse alike, NaN where a line has none or not K of them', async () => {
  const tmp = tempDir('readlog-probs');
  try {
    const lines: unknown[] = [
      {
        type: 'prediction',
        id: 'r0',
        time: '2026-01-01T00:00:00.000Z',
        version: '1.0.0',
        latencyMs: 1,
        inputs: { x: [1, 2], c: ['a', 'b'] },
        outputs: {
          label: ['sun', 'rain'],
          probabilities: [
            [0.1, 0.2, 0.7],
            [1e-7, 0.9, 0.0999999],
          ],
        },
      },
      // Escaped id: JSON.parse reads this one.
      {
        type: 'prediction',
        id: 'q"1',
        time: '2026-01-01T00:00:01.000Z',
        version: '1.0.0',
        latencyMs: 1,
        inputs: { x: [3], c: ['a'] },
        outputs: { label: ['fog'], probabilities: [[0.6, 0.3, 0.1]] },
      },
      // No probabilities, and the wrong number of them (on both paths).
      {
        type: 'prediction',
        id: 'r2',
        time: '2026-01-01T00:00:02.000Z',
        version: '1.0.0',
        latencyMs: 1,
        inputs: { x: [4], c: ['b'] },
        outputs: { label: ['sun'] },
      },
      {
        type: 'prediction',
        id: 'r3',
        time: '2026-01-01T00:00:03.000Z',
        version: '1.0.0',
        latencyMs: 1,
        inputs: { x: [5], c: ['b'] },
        outputs: { label: ['sun'], probabilities: [[0.5, 0.5]] },
      },
      {
        type: 'prediction',
        id: 'q"4',
        time: '2026-01-01T00:00:04.000Z',
        version: '1.0.0',
        latencyMs: 1,
        inputs: { x: [6], c: ['b'] },
        outputs: { label: ['sun'], probabilities: [[0.5, 0.5]] },
      },
    ];
    writeFileSync(join(tmp.dir, 'predictions.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const cols = await readPredictionLog(tmp.dir, FEATURES, 'classification', ['fog', 'rain', 'sun'], {
      probabilities: true,
    });
    assert.equal(cols.count, 6);
    const f32 = (v: number) => Math.fround(v);
    assert.deepEqual(
      [...cols.probabilities!.subarray(0, 9)],
      [0.1, 0.2, 0.7, 1e-7, 0.9, 0.0999999, 0.6, 0.3, 0.1].map(f32),
    );
    assert.ok([...cols.probabilities!.subarray(9)].every((v) => Number.isNaN(v)));
    assert.deepEqual([...cols.numeric.x], [1, 2, 3, 4, 5, 6]);
    // Without asking, they are skipped.
    assert.equal(
      (await readPredictionLog(tmp.dir, FEATURES, 'classification', ['fog', 'rain', 'sun'])).probabilities,
      null,
    );
  } finally {
    tmp.cleanup();
  }
});
