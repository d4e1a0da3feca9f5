import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ks2samp, ksExactCacheStats } from '../../../server/engine/drift/ks';

/** Park–Miller, so every run sees the same samples. */
function sample(n: number, seed: number, shift: number): Float64Array {
  let s = seed;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 48271) % 2147483647;
    out[i] = Math.round(((s / 2147483647) * 10 + shift) * 10) / 10;
  }
  return out;
}

test('ks2samp: sorted inputs are used as they are and remembered exact p-values equal computed ones', () => {
  const ref = sample(1000, 3, 0).sort();
  for (let k = 0; k < 20; k++) {
    const win = sample(100, 11 + k, k / 10);
    const shuffled = Array.from(win);
    const sortedWin = Float64Array.from(win).sort();
    const before = ksExactCacheStats();
    const first = ks2samp(Array.from(ref).reverse(), shuffled); // unsorted: copied and sorted
    const again = ks2samp(ref, sortedWin); // sorted: read in place, p-value from the cache
    const after = ksExactCacheStats();
    assert.deepEqual(again, first, `window ${k}`);
    if (first.method === 'exact' && first.pValue < 1) assert.ok(after.hits > before.hits, 'the second call hits');
    // The inputs are not reordered or changed.
    assert.deepEqual(Array.from(shuffled), Array.from(win));
    assert.ok(ref.every((v, i) => i === 0 || ref[i - 1] <= v));
  }
  // Sorted typed arrays, plain arrays in reverse: the same test (D = 0.5 at x = 5).
  const a = ks2samp(Float64Array.of(1, 2, 3, 4, 5), Float64Array.of(3, 4, 5, 6, 7, 8));
  const b = ks2samp([5, 4, 3, 2, 1], [8, 7, 6, 5, 4, 3]);
  assert.equal(a.statistic, 0.5);
  assert.deepEqual(b, a);
  // An unsorted Float64Array is not taken as sorted.
  assert.deepEqual(ks2samp(Float64Array.of(5, 1, 4, 2, 3), Float64Array.of(8, 3, 7, 4, 6, 5)), a);
});
