import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kthSmallest } from '../../../server/engine/monitoring/select';

test('kthSmallest is the k-th value of Float64Array sort order (NaN last, −0 before +0, runs of equal values)', () => {
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  const pool = [0, -0, NaN, 0.8, 0.8, 1.25, -3, Infinity, -Infinity, 2.5e-9];
  const scratch = new Float64Array(300);
  let checked = 0;
  for (let trial = 0; trial < 400; trial++) {
    const n = 1 + Math.floor(rnd() * 120);
    const values = new Float64Array(n + 10);
    // Mix values from a small pool (many ties, signed zeros, NaN) with arbitrary ones.
    for (let i = 0; i < values.length; i++)
      values[i] = rnd() < 0.6 ? pool[Math.floor(rnd() * pool.length)] : (rnd() - 0.5) * 100;
    const start = Math.floor(rnd() * 10);
    const end = start + n;
    const sorted = values.slice(start, end).sort();
    for (let k = 0; k < n; k++) {
      assert.ok(
        Object.is(kthSmallest(values, start, end, k, scratch), sorted[k]),
        `trial ${trial}, k ${k}: ${kthSmallest(values, start, end, k, scratch)} vs ${sorted[k]}`,
      );
      checked++;
    }
    assert.ok(Number.isNaN(kthSmallest(values, start, end, n, scratch)));
  }
  assert.ok(checked > 10_000);
  // All equal, the latencies of a quiet server: one pass, not quadratic.
  const flat = new Float64Array(100_000).fill(0.8);
  assert.equal(kthSmallest(flat, 0, flat.length, 50_000, new Float64Array(flat.length)), 0.8);
});
