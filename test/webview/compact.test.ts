/**
 * The columnar control-chart data end to end: a large report (packed columns, markers from the
 * sparse violation list, the table built when shown, tooltips and CSV expanding points), and
 * a p-chart whose limits start shared and become per-window through a live append.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderChartReport } from '../../server/report';
import { buildControlChart, controlPoint, pointLimits, sliceControlChart } from '../../server/engine/spc';
import type { ControlAppend } from '../../webview/protocol';
import { openPage, screenshot, useChromium, waitRendered } from './harness';
import { largeControl } from './fixtures';

const chromium = useChromium();

interface Debug {
  points: number;
  markers: Array<{ index: number; rules: number[]; x: number; y: number }>;
  lines: { ucl: { value: number }; lcl: { value: number }; centre: { value: number } };
  summary: string;
}

test('a 20,000-point report: packed columns, a marker per violating point, table on demand, full CSV', async () => {
  const data = largeControl(20_000);
  const html = renderChartReport({ kind: 'control', data, title: 'large' }, chromium.bundle.path);
  assert.match(html, /"values":\{"\$f64":"/);
  assert.doesNotMatch(html, /"ucl":[^}]*"ucl":/, 'limits are inlined once');
  const { page, problems } = await openPage(chromium.browser, html);
  await waitRendered(page);
  const v = (await page.evaluate(() => window.__chart.view())) as unknown as Debug;
  assert.equal(v.points, 20_000);
  const violating = [...new Set(data.violations.map((x) => x.index))];
  assert.ok(violating.length > 100, `${violating.length} violating points`);
  assert.deepEqual(
    v.markers.map((m) => m.index),
    violating,
  );
  const spike = data.violations.find((x) => x.rule === 1);
  assert.ok(spike);
  assert.deepEqual(v.markers.find((m) => m.index === spike.index)?.rules.includes(1), true);
  assert.equal(v.lines.ucl.value, data.limits?.ucl);
  assert.equal(v.lines.lcl.value, data.limits?.lcl);

  // The tooltip expands the point under the cursor (20 share a pixel here): value, z, limits.
  const m = v.markers.find((x) => x.index === spike.index);
  assert.ok(m);
  const over = await page.$eval('.u-over', (e) => e.getBoundingClientRect().toJSON() as { left: number; top: number });
  await page.mouse.move(over.left + m.x, over.top + m.y);
  const tip = (await (await page.waitForSelector('.mo-tooltip:not([hidden])')).textContent()) ?? '';
  const shown = Number(/^window (\d+)/.exec(tip)?.[1]) - 1;
  assert.ok(Math.abs(shown - spike.index) <= 40, tip);
  const p = controlPoint(data, shown);
  assert.ok(tip.includes(`accuracy: ${Number(p.value.toFixed(4))}  (z ${Number(p.z.toFixed(2))})`), tip);
  assert.ok(tip.includes(`UCL ${Number(p.ucl.toFixed(4))}  LCL ${Number(p.lcl.toFixed(4))}`), tip);
  assert.equal(/rule (\d)/.exec(tip)?.[1], p.violations[0] ? String(p.violations[0].rule) : undefined);
  // The keyboard reaches the exact point: End announces the last window with its rules.
  await page.focus('.mo-plot');
  await page.keyboard.press('End');
  const last = controlPoint(data, 19_999);
  const said = (await page.$eval('[aria-live="polite"]', (e) => e.textContent)) ?? '';
  assert.ok(
    said.startsWith(`window 20000; accuracy: ${Number(last.value.toFixed(4))}  (z ${Number(last.z.toFixed(2))})`),
    said,
  );

  // A large table is built when first shown, not with the chart.
  await page.waitForFunction(() => window.__chart.frameAt !== null);
  await page.waitForTimeout(50);
  assert.equal(await page.$$eval('#mo-data-table', (t) => t.length), 0);
  await page.click('#mo-toggle-table');
  const table = await page.$eval('#mo-data-table', (t) => ({
    rows: t.querySelectorAll('tbody tr').length,
    caption: t.querySelector('caption')?.textContent,
  }));
  assert.deepEqual(table, {
    rows: 1000,
    caption: 'Control chart of accuracy (first 1000 of 20000 rows; Save CSV has all)',
  });

  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#mo-save-csv')]);
  const lines = readFileSync((await dl.path()) as string, 'utf8')
    .trim()
    .split('\n');
  assert.equal(lines.length, 20_001);
  const row = lines[spike.index + 1].split(',');
  assert.equal(Number(row[1]), data.values[spike.index]);
  assert.equal(Number(row[8]), data.limits?.ucl);
  assert.match(row[15], /1/);
  await screenshot(page, 'control-20k');
  assert.deepEqual(problems.errors, []);
  await page.context().close();
});

test('a p-chart: shared limits until a window of another size arrives, then per-window limits', async () => {
  const input = [0.8, 0.82, 0.79, 0.81, 0.8, 0.62].map((value, i) => ({ value, n: i < 5 ? 100 : 25 }));
  const options = { chart: 'p' as const, baseline: { mean: 0.8, std: 0 }, metric: 'accuracy' };
  const full = buildControlChart(input, options);
  const first = buildControlChart(input.slice(0, 5), options);
  assert.ok(first.limits);
  assert.equal(full.limits, null);
  const { page, problems } = await openPage(
    chromium.browser,
    renderChartReport({ kind: 'control', data: first, title: 'p-chart' }, chromium.bundle.path),
  );
  await waitRendered(page);
  let v = (await page.evaluate(() => window.__chart.view())) as unknown as Debug;
  assert.match(v.summary, /p-chart of accuracy, 5 windows.*UCL 0\.92, LCL 0\.68/);

  const append: ControlAppend = { type: 'append', kind: 'control', ...sliceControlChart(full, 5) };
  await page.evaluate((m) => window.postMessage(m, '*'), append);
  await page.waitForFunction(() => (window.__chart.view() as { points: number }).points === 6);
  v = (await page.evaluate(() => window.__chart.view())) as unknown as Debug;
  assert.match(v.summary, /6 windows.*UCL\/LCL per window size/);
  // The last window (n = 25): σ 0.08, LCL 0.56; 0.62 is within its limits, so no marker.
  assert.deepEqual(v.markers, []);
  const csv = ((await page.evaluate(() => window.__chart.csv())) as string).trim().split('\n');
  const last = csv[6].split(',');
  assert.ok(
    Math.abs(Number(last[9]) - pointLimits(full, 5).lcl) < 1e-12 && Math.abs(Number(last[9]) - 0.56) < 1e-9,
    csv[6],
  );
  assert.ok(Math.abs(Number(csv[1].split(',')[9]) - 0.68) < 1e-9, csv[1]);
  // The SVG export steps the UCL: two heights.
  const svg = (await page.evaluate(() => window.__chart.svg())) as string;
  const d = /<path class="lcl" d="([^"]+)"/.exec(svg)?.[1] ?? '';
  const ys = new Set([...d.matchAll(/[ML][\d.]+ ([\d.]+)/g)].map((x) => x[1]));
  assert.equal(ys.size, 2, d);
  assert.deepEqual(problems.errors, []);
  await page.context().close();
});
