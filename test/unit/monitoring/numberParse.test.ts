import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonNumberReader } from '../../../server/engine/monitoring/log/number';
import { mulberry32 } from '../fixtures/random';

const reader = new JsonNumberReader();
const parseJsonNumber = (b: Buffer, i: number): number => reader.parseNumber(b, i);
const parseJsonFloat32 = (b: Buffer, i: number): number => reader.parseFloat32(b, i);
const numberEnd = (): number => reader.numEnd;

// A seeded generator, so a failure names a string that can be replayed.
const EDGES = [
  '0',
  '-0',
  '0.0',
  '-0.0',
  '0e5',
  '-0E-5',
  '1',
  '-1',
  '0.1',
  '0.5',
  '1.5',
  '1e22',
  '1e23',
  '1e-22',
  '1e-23',
  '123456789e-22',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '9007199254740993.0',
  '18014398509481985',
  '0.1000000000000000055511151231257827',
  '0.10000000149011612',
  '0.30000000000000004',
  '2.2250738585072014e-308',
  '2.2250738585072011e-308',
  '4.9e-324',
  '5e-324',
  '2e-324',
  '1.7976931348623157e308',
  '1.7976931348623158e308',
  '1e309',
  '-1e309',
  '1e-400',
  '1E+2',
  '1e+0',
  '1e-0',
  '123.456e3',
  '1234567890123456789012345678901234567890',
  '0.000000000000000000000000000000000001',
  '3.4028235677973366e38',
  '3.4028235677973367e38',
  '1.401298464324817e-45',
  '7.006492321624085e-46',
  '100000000000000000000000e-22',
  '1e99999999999999999999',
];

/** The texts a double is written as: shortest, fixed, exponent, precision forms. */
function forms(x: number, r: () => number): string[] {
  const out = [JSON.stringify(x), x.toExponential(Math.floor(r() * 21))];
  if (Math.abs(x) < 1e21) out.push(x.toFixed(Math.floor(r() * 25)));
  out.push(x.toPrecision(1 + Math.floor(r() * 21)));
  return out;
}

function randomDouble(r: () => number): number {
  switch (Math.floor(r() * 6)) {
    case 0:
      return r();
    case 1:
      return (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
    case 2:
      return Math.floor(r() * 2 ** 53) * (r() < 0.5 ? -1 : 1);
    case 3:
      return Math.fround(r() * 10 ** Math.floor(r() * 10 - 5));
    case 4: {
      // Any bit pattern: subnormals, huge exponents.
      const b = new Uint32Array([Math.floor(r() * 2 ** 32), Math.floor(r() * 2 ** 32)]);
      return new Float64Array(b.buffer)[0];
    }
    default:
      return Math.round(r() * 1e6) / 10 ** Math.floor(r() * 8);
  }
}

/** Random digit strings: long mantissas, leading zeros, any exponent. */
function randomDigits(r: () => number): string {
  const digits = (n: number, first19 = false) =>
    Array.from({ length: n }, (_, k) =>
      String(k === 0 && first19 ? 1 + Math.floor(r() * 9) : Math.floor(r() * 10)),
    ).join('');
  let s = r() < 0.3 ? '-' : '';
  s += r() < 0.3 ? '0' : digits(1 + Math.floor(r() * 25), true);
  if (r() < 0.7) s += '.' + digits(1 + Math.floor(r() * 25));
  if (r() < 0.4) s += (r() < 0.5 ? 'e' : 'E') + ['', '+', '-'][Math.floor(r() * 3)] + String(Math.floor(r() * 330));
  return s;
}

/** Float32 rounding boundaries written out: midpoints between neighbours and a double either side. */
function boundaries(r: () => number): string[] {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  u[0] = Math.floor(r() * 0x7f000000);
  const a = f[0];
  u[0]++;
  const b = f[0];
  const mid = (a + b) / 2;
  const d = new Float64Array([mid]);
  const bits = new BigUint64Array(d.buffer);
  bits[0] += 1n;
  const above = d[0];
  bits[0] -= 2n;
  const below = d[0];
  return [mid, above, below, a].map((x) => JSON.stringify(x));
}

function check(s: string): void {
  const want = JSON.parse(s) as number;
  const b = Buffer.from(`[${s},`);
  const got = parseJsonNumber(b, 1);
  assert.ok(Object.is(got, want), `${s}: ${got} ≠ JSON.parse ${want}`);
  assert.equal(numberEnd(), s.length + 1, `${s}: end`);
  assert.ok(Object.is(Number(s), want));
  const got32 = parseJsonFloat32(b, 1);
  assert.ok(Object.is(got32, Math.fround(want)), `${s}: float32 ${got32} ≠ ${Math.fround(want)}`);
  assert.equal(numberEnd(), s.length + 1, `${s}: end (float32)`);
}

test('byte number parsing gives exactly what JSON.parse / Number() give, on edge cases and 300k random texts', () => {
  for (const s of EDGES) check(s);
  const r = mulberry32(15_6);
  let n = EDGES.length;
  for (let i = 0; i < 40_000; i++) {
    for (const s of forms(randomDouble(r), r)) {
      if (!Number.isFinite(Number(s))) continue;
      check(s);
      n++;
    }
    check(randomDigits(r));
    n++;
    for (const s of boundaries(r)) {
      check(s);
      n++;
    }
  }
  assert.ok(n > 300_000, `${n} texts`);
});

test('float32 texts as the model server writes them (the double of a float32, 17 digits) take the fast path', () => {
  // Not observable from outside except through the value; this checks the values on many such
  // texts and that they are not all short (so the approximation path is exercised).
  const r = mulberry32(7);
  let long = 0;
  for (let i = 0; i < 50_000; i++) {
    const x = Math.fround(r());
    const s = JSON.stringify(x);
    if (s.length > 18) long++;
    check(s);
  }
  assert.ok(long > 10_000);
});

test('texts that are not JSON numbers are refused (JSON.parse would throw), even where Number() accepts them', () => {
  for (const s of [
    '01',
    '00',
    '-01',
    '1.',
    '.5',
    '-.5',
    '-',
    '+1',
    '1e',
    '1e+',
    '1E-',
    '--1',
    'NaN',
    'Infinity',
    'x',
  ]) {
    assert.throws(() => JSON.parse(`[${s}]`), SyntaxError, s);
    assert.ok(Number.isNaN(parseJsonNumber(Buffer.from(`${s}]`), 0)), s);
    assert.ok(Number.isNaN(parseJsonFloat32(Buffer.from(`${s}]`), 0)), s);
  }
  // No number at all (the caller's separators or spaces come first).
  for (const s of [']', ' 1', ',']) assert.ok(Number.isNaN(parseJsonNumber(Buffer.from(s), 0)), s);
  // A number stops at the first byte that cannot continue it; the caller checks that byte.
  assert.equal(parseJsonNumber(Buffer.from('12.5e3x'), 0), 12500);
  assert.equal(numberEnd(), 6);
  assert.equal(parseJsonNumber(Buffer.from('7'), 0), 7);
  assert.equal(numberEnd(), 1);
});
