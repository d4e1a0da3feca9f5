import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PACK_MIN_LENGTH, packNumberColumns, unpackNumberColumns } from '../../../webview/packed';
import { chartPageHtml } from '../../../webview/html';
import { REPORT_DATA_ELEMENT_ID, type InitMessage } from '../../../webview/protocol';
import { buildControlChart } from '../../../server/engine/spc';

/** What the page does: JSON.parse of the inlined text, then unpack. */
const roundTrip = (v: unknown) => unpackNumberColumns(JSON.parse(JSON.stringify(packNumberColumns(v))));

test('long columns of measured values are packed as float64 base64 and come back bit-exact', () => {
  let s = 7;
  const values = Array.from({ length: 5000 }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return 0.9 + (s / 2 ** 32) * 0.02;
  });
  values[3] = -0;
  values[4] = Number.MAX_VALUE;
  values[5] = Number.MIN_VALUE;
  const packed = packNumberColumns({ values, label: 'x' }) as {
    $packed: unknown[];
    value: { values: { $f64: string }; label: string };
  };
  assert.deepEqual(packed.$packed, [['values']]);
  assert.equal(packed.value.label, 'x');
  assert.equal(packed.value.values.$f64.length, Math.ceil((values.length * 8) / 3) * 4);
  assert.ok(JSON.stringify(packed).length < JSON.stringify({ values }).length * 0.65);
  const back = roundTrip({ values }) as { values: number[] };
  assert.ok(Array.isArray(back.values));
  assert.equal(back.values.length, values.length);
  for (let i = 0; i < values.length; i++)
    assert.ok(Object.is(back.values[i], values[i]), `value ${i}: ${back.values[i]} vs ${values[i]}`);
});

test('nested columns are found by path; short decimals, short arrays, non-finite or mixed arrays stay plain JSON', () => {
  const runs = { runs: [{ id: 'a', series: [{ ys: Array.from({ length: 300 }, Math.random) }, { ys: [1, 2] }] }] };
  const packed = packNumberColumns(runs) as { $packed: unknown[] };
  assert.deepEqual(packed.$packed, [['runs', 0, 'series', 0, 'ys']]);
  assert.deepEqual(roundTrip(runs), runs);
  assert.deepEqual(
    roundTrip(Array.from({ length: 300 }, (_, i) => i / 7)),
    Array.from({ length: 300 }, (_, i) => i / 7),
  );

  const sizes = Array.from({ length: 1000 }, (_, i) => 100 + (i % 7));
  const short = [0.91, 0.92];
  const withNull = Array.from({ length: 1000 }, (_, i) => (i === 10 ? null : Math.random()));
  const strings = Array.from({ length: 1000 }, (_, i) => `w${i}`);
  const value = {
    sizes,
    short,
    withNull,
    strings,
    nested: { deep: [{ x: Array.from({ length: PACK_MIN_LENGTH - 1 }, Math.random) }] },
  };
  assert.deepEqual(packNumberColumns(value), value);
  assert.deepEqual(roundTrip(value), JSON.parse(JSON.stringify(value)));
});

test('a control-chart report inlines its value column packed, and the page data unpacks to the chart', () => {
  const values = Array.from({ length: 2000 }, (_, i) => 0.9 + Math.sin(i * 1.37) * 0.01);
  const data = buildControlChart(
    values.map((value) => ({ value })),
    { baseline: 100, metric: 'accuracy' },
  );
  const init: InitMessage = { type: 'init', kind: 'control', title: 'packed', data };
  const html = chartPageHtml({ title: 'packed', nonce: 'bm9uY2Utb2YtdGhlLXRlc3QtcnVu', script: { code: '' }, init });
  const text =
    new RegExp(`<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">(.*?)</script>`, 's').exec(html)?.[1] ??
    '';
  assert.match(text, /^\{"\$packed":\[\["data","values"\]\],"value":\{"type":"init"/);
  assert.match(text, /"values":\{"\$f64":"/);
  assert.deepEqual(unpackNumberColumns(JSON.parse(text)), JSON.parse(JSON.stringify(init)));
  const plain = chartPageHtml({
    title: 'packed',
    nonce: 'bm9uY2Utb2YtdGhlLXRlc3QtcnVu',
    script: { code: '' },
    init,
    packNumbers: false,
  });
  assert.ok(plain.length > html.length);
});
