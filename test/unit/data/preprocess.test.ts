import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  countImputed,
  dropMissing,
  encodeLabels,
  fitTransforms,
  inputWidth,
  summariseMissing,
  transformRows,
} from '../../../server/engine/data/preprocess';
import { seededPermutation, splitRows } from '../../../server/engine/data/split';
import { buildProfile, quantileSorted } from '../../../server/engine/data/profile';
import { ModelOpsError } from '../../../server/engine/errors';
import type { Row } from '../../../server/engine/data/read';

const rows: Row[] = [
  { t: 1, c: 'a', y: 'p' },
  { t: 3, c: 'b', y: 'q' },
  { t: null, c: 'a', y: 'p' },
  { t: 5, c: null, y: 'q' },
  { t: 7, c: 'b', y: null },
];
const cols = [
  { name: 't', type: 'number' as const },
  { name: 'c', type: 'string' as const },
];

test('split is seeded, disjoint and complete', () => {
  const idx = Array.from({ length: 100 }, (_, i) => i);
  const a = splitRows(idx, { train: 0.7, validation: 0.15, test: 0.15, seed: 7 });
  const b = splitRows(idx, { train: 0.7, validation: 0.15, test: 0.15, seed: 7 });
  const c = splitRows(idx, { train: 0.7, validation: 0.15, test: 0.15, seed: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.test, c.test);
  assert.deepEqual([a.train.length, a.validation.length, a.test.length], [70, 15, 15]);
  assert.deepEqual(
    [...a.train, ...a.validation, ...a.test].sort((x, y) => x - y),
    idx,
  );
  assert.equal(new Set(seededPermutation(1000, 1)).size, 1000);
  assert.throws(() => splitRows(idx, { train: 0.5, validation: 0.1, test: 0.1, seed: 1 }), ModelOpsError);
});

test('drop: rows with a missing feature or target go, and the report says how many', () => {
  const { sets, dropped } = dropMissing(
    [{ name: 'train', rows, lines: [2, 3, 4, 5, 6], source: 'f.csv' }],
    ['t', 'c'],
    'y',
    'drop',
  );
  assert.equal(sets[0].rows.length, 2);
  assert.deepEqual(sets[0].lines, [2, 3]);
  assert.deepEqual(dropped, { train: 3 });
  assert.match(summariseMissing('drop', dropped, {}).summary, /dropped 3 rows/);
});

test('impute: mean and mode fitted on training rows; a missing target still drops the row', () => {
  const { sets, dropped } = dropMissing(
    [{ name: 'train', rows, lines: [2, 3, 4, 5, 6], source: 'f.csv' }],
    ['t', 'c'],
    'y',
    'impute',
  );
  assert.deepEqual(dropped, { train: 1 });
  const f = fitTransforms(sets[0].rows, cols, 'impute');
  assert.deepEqual(f[0], { name: 't', kind: 'numeric', mean: 3, std: Math.sqrt(8 / 3), impute: 3 });
  assert.deepEqual(f[1], { name: 'c', kind: 'categorical', categories: ['a', 'b'], impute: 'a' });
  const imputed = countImputed(sets, f);
  assert.deepEqual(imputed, { t: { cells: 1, value: 3 }, c: { cells: 1, value: 'a' } });
  assert.match(
    summariseMissing('impute', dropped, imputed).summary,
    /imputed 1 missing 't' with the mean 3.*imputed 1 missing 'c' with the mode 'a'/,
  );
  const x = transformRows(sets[0].rows, f);
  assert.equal(inputWidth(f), 3);
  const s = Math.sqrt(8 / 3);
  assert.deepEqual(Array.from(x), [(1 - 3) / s, 1, 0, 0, 0, 1, 0, 1, 0, 2 / s, 1, 0].map(Math.fround));
});

test('an unseen category names the column and value; a missing value under drop is an error', () => {
  const f = fitTransforms(
    [
      { t: 1, c: 'a' },
      { t: 2, c: 'b' },
    ],
    cols,
    'drop',
  );
  assert.throws(
    () =>
      transformRows(
        [
          { t: 1, c: 'a' },
          { t: 1, c: 'zebra' },
        ],
        f,
        { source: 'test.csv', lines: [2, 9] },
      ),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.code === 'unseen-category' &&
      /test\.csv line 9, column 'c'.*'zebra'/.test(e.message),
  );
  assert.throws(
    () => transformRows([{ t: null, c: 'a' }], f),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'missing-value' && /row 1, column 't'/.test(e.message),
  );
  assert.throws(
    () => transformRows([{ t: 'warm', c: 'a' }], f),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'not-a-number' && /'warm'/.test(e.message),
  );
  assert.throws(
    () => encodeLabels([{ y: 'new' }], 'y', ['p', 'q']),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'unseen-label',
  );
});

test('a constant numeric column gets std 1 (no division by zero)', () => {
  const f = fitTransforms([{ t: 4 }, { t: 4 }], [cols[0]], 'drop');
  assert.deepEqual(Array.from(transformRows([{ t: 5 }], f)), [1]);
});

test('reference profile: deciles, seeded sample of at most 2,000, category counts', () => {
  const many = Array.from({ length: 5000 }, (_, i) => ({ t: i, c: i % 3 === 0 ? 'x' : 'y' }));
  const f = fitTransforms(many, cols, 'drop');
  const p = buildProfile(
    many,
    f,
    many.map((r) => r.c),
    3,
  );
  const t = p.features.t;
  assert.equal(t.kind, 'numeric');
  if (t.kind !== 'numeric') return;
  assert.equal(t.quantiles.length, 11);
  assert.equal(t.quantiles[0], 0);
  assert.equal(t.quantiles[10], 4999);
  assert.equal(t.quantiles[5], 2499.5);
  assert.equal(t.sample.length, 2000);
  assert.equal(new Set(t.sample).size, 2000);
  assert.deepEqual(buildProfile(many, f, [], 3).features.t, t, 'the sample is seeded');
  assert.deepEqual(p.features.c, { kind: 'categorical', count: 5000, missing: 0, counts: { x: 1667, y: 3333 } });
  assert.equal(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
});
