/** The shortest text of a float32 output: it reads back as the same float32, and no shorter text does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shortestFloat32 } from '../../../server/engine/data/write';

/** Significant digits of a number's shortest text. */
const digits = (x: number): number => x.toExponential().split('e')[0].replace(/[-.]/g, '').length;

test('a float32 is written as the shortest decimal that reads back as it; anything else as it is', () => {
  let s = 12345;
  const next = () => ((s = (s * 48271) % 2147483647), s / 2147483647);
  for (let i = 0; i < 20_000; i++) {
    // Probabilities, tiny and large values, negatives: every float32 magnitude.
    const x = Math.fround((next() - 0.2) * 10 ** Math.floor(next() * 60 - 40));
    const y = shortestFloat32(x);
    assert.equal(Math.fround(y), x, `${x} → ${y} reads back as another float32`);
    assert.ok(digits(y) <= 9, `${x} → ${y}`);
    // No shorter decimal reads back as x.
    if (digits(y) > 1)
      assert.notEqual(Math.fround(Number(y.toPrecision(digits(y) - 1))), x, `${x} → ${y} is not the shortest`);
  }
  assert.equal(shortestFloat32(Math.fround(0.03411579877138138)), 0.0341158);
  assert.equal(shortestFloat32(Math.fround(0.1)), 0.1);
  assert.equal(shortestFloat32(Math.fround(2.731717413037571e-12)), 2.7317174e-12);
  assert.equal(shortestFloat32(0.5), 0.5);
  assert.equal(shortestFloat32(3), 3);
  // Not a float32 (a float64 output): unchanged.
  assert.equal(shortestFloat32(0.1), 0.1);
  assert.equal(shortestFloat32(1 / 3), 1 / 3);
  for (const v of [0, -0, NaN, Infinity, -Infinity]) assert.ok(Object.is(shortestFloat32(v), v));
});
