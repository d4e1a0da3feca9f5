import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { renderChartReport } from '../../server/report';
import { cspViolations, openPage, screenshot, useChromium, waitRendered, type PageProblems } from './harness';
import { controlFixture } from './fixtures';

interface Line {
  value: number;
  y: number;
}
interface ControlDebug {
  lines: { centre: Line; ucl: Line; lcl: Line; upper2: Line; lower2: Line };
  plot: { left: number; top: number; width: number; height: number };
  yRange: [number, number];
  markers: Array<{ index: number; rules: number[]; side: string; x: number; y: number }>;
  axes: { x: string; y: string };
}

let page: Page;
let problems: PageProblems;
let html: string;
const data = controlFixture();

useChromium(async ({ browser, bundle }) => {
  html = renderChartReport({ kind: 'control', data, title: 'Control chart — latency' }, bundle.path);
  ({ page, problems } = await openPage(browser, html));
  await waitRendered(page);
});

const view = async () => (await page.evaluate(() => window.__chart.view())) as unknown as ControlDebug;

test('the report carries a strict CSP with a nonce, and nothing is blocked or thrown', async () => {
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
  const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
  assert.ok(nonce && nonce.length >= 16, csp);
  assert.equal(csp, `default-src 'none'; img-src data:; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'`);
  assert.ok(html.includes(`<script nonce="${nonce}">`));
  assert.ok(
    !/https?:\/\/(?!www\.w3\.org)/.test(html.replace(/xmlns="[^"]+"/g, '')) ||
      !/<(script|link)[^>]+src="http/.test(html),
    'no remote resources',
  );
  const injected = await page.evaluate(() =>
    Array.from(document.querySelectorAll('style')).map((s) => (s.nonce ?? '').length > 0),
  );
  assert.deepEqual(injected, [true]);
  assert.deepEqual(problems.errors, []);
  assert.deepEqual(await cspViolations(page), []);
});

test('limit lines sit at the computed values and pixels', async () => {
  const v = await view();
  assert.equal(v.lines.centre.value, 10);
  assert.equal(v.lines.ucl.value, 16);
  assert.equal(v.lines.lcl.value, 4);
  const [min, max] = v.yRange;
  for (const l of [v.lines.centre, v.lines.ucl, v.lines.lcl, v.lines.upper2, v.lines.lower2]) {
    const expected = ((max - l.value) / (max - min)) * v.plot.height;
    assert.ok(Math.abs(l.y - expected) < 0.5, `${l.value} at ${l.y}px, expected ${expected}px`);
  }
  // Read the canvas: the UCL/LCL rows hold red line pixels, the centre row green ones, a row inside zone A none.
  const counts = await page.evaluate((lines) => {
    const canvas = document.querySelector('.u-wrap canvas') as HTMLCanvasElement;
    const cr = canvas.getBoundingClientRect();
    const over = (document.querySelector('.u-over') as HTMLElement).getBoundingClientRect();
    const dpr = canvas.width / cr.width;
    const c = canvas.getContext('2d') as CanvasRenderingContext2D;
    // The canvas is transparent under the page background: count only opaque (line) pixels.
    const count = (y: number, test: (r: number, g: number, b: number) => boolean) => {
      const row = Math.round((over.top - cr.top + y) * dpr);
      const px = c.getImageData(Math.round((over.left - cr.left) * dpr), row - 1, Math.round(over.width * dpr), 3).data;
      let n = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i + 3] > 200 && test(px[i], px[i + 1], px[i + 2])) n++;
      return n;
    };
    const red = (r: number, g: number, b: number) => r > 150 && g < 90 && b < 100;
    const green = (r: number, g: number, b: number) => g > r + 50 && g > b + 40 && g < 200;
    return {
      ucl: count(lines.ucl.y, red),
      lcl: count(lines.lcl.y, red),
      centre: count(lines.centre.y, green),
      zoneA: count((lines.lcl.y + lines.lower2.y) / 2, red),
    };
  }, v.lines);
  assert.ok(counts.ucl > 200, `UCL row has ${counts.ucl} red pixels`);
  assert.ok(counts.lcl > 200, `LCL row has ${counts.lcl} red pixels`);
  assert.ok(counts.centre > 400, `centre row has ${counts.centre} green pixels`);
  assert.equal(counts.zoneA, 0);
});

test('one marker per violating point, labelled with its rule, in the view and in the SVG export', async () => {
  const v = await view();
  assert.deepEqual(
    v.markers.map((m) => [m.index, m.rules, m.side]),
    [
      [3, [1], 'above'],
      [5, [2], 'above'],
      [7, [2], 'above'],
    ],
  );
  const svg = (await page.evaluate(() => window.__chart.svg())) as string;
  const groups = [...svg.matchAll(/<g class="violation" data-index="(\d+)" data-rules="([\d,]+)">/g)].map((m) => [
    Number(m[1]),
    m[2],
  ]);
  assert.deepEqual(groups, [
    [3, '1'],
    [5, '2'],
    [7, '2'],
  ]);
  assert.equal((svg.match(/>R1</g) ?? []).length, 1);
  assert.equal((svg.match(/>R2</g) ?? []).length, 2);
});

test('axis labels and legend name the window and the metric', async () => {
  const v = await view();
  assert.deepEqual(v.axes, { x: 'window', y: 'latency_ms' });
  // uPlot draws axis titles on the canvas; the SVG export draws them from the same options.
  const svg = (await page.evaluate(() => window.__chart.svg())) as string;
  const labels = [...svg.matchAll(/class="axis-label (x|y)"[^>]*>([^<]+)</g)].map((m) => `${m[1]}:${m[2]}`);
  assert.deepEqual(labels, ['x:window', 'y:latency_ms']);
  const summary = await page.textContent('.mo-summary');
  assert.match(summary ?? '', /Centre μ 10, σ 2, UCL 16, LCL 4.*3 violations \(rule 1: 1 above; rule 2: 2 above\)\./);
});

test('the tooltip shows the window time range, its size and the rule', async () => {
  const v = await view();
  const m = v.markers[0];
  const over = await page.$eval('.u-over', (e) => e.getBoundingClientRect().toJSON() as { left: number; top: number });
  await page.mouse.move(over.left + m.x, over.top + m.y);
  const tip = await page.waitForSelector('.mo-tooltip:not([hidden])');
  const t = (await tip.textContent()) ?? '';
  assert.match(t, /window 4/);
  assert.match(t, /2025-01-04T00:00Z → 2025-01-04T23:59Z/);
  assert.match(t, /size: 50/);
  assert.match(t, /rule 1 \(above the centre line\)/);
  await page.mouse.move(0, 0);
});

test('keyboard: the plot takes focus and arrow keys walk the points, announced politely', async () => {
  await page.focus('.mo-plot');
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowRight');
  const live = await page.$eval('[aria-live="polite"]', (e) => e.textContent);
  assert.match(live ?? '', /^window 2; latency_ms: 10/);
  await page.keyboard.press('End');
  assert.match((await page.$eval('[aria-live="polite"]', (e) => e.textContent)) ?? '', /^window 9/);
});

test('the data table is in the DOM, visually hidden until toggled', async () => {
  const before = await page.$eval('.mo-table-wrap', (e) => ({
    cls: e.className,
    rows: e.querySelectorAll('tbody tr').length,
  }));
  assert.match(before.cls, /mo-sr-only/);
  assert.equal(before.rows, 9);
  await page.click('#mo-toggle-table');
  assert.equal(await page.getAttribute('#mo-toggle-table', 'aria-expanded'), 'true');
  const shown = await page.$eval('.mo-table-wrap', (e) => ({ cls: e.className, h: e.getBoundingClientRect().height }));
  assert.doesNotMatch(shown.cls, /mo-sr-only/);
  assert.ok(shown.h > 100);
  const rule = await page.$eval('.mo-table-wrap tbody tr:nth-child(4) td:last-child', (e) => e.textContent);
  assert.equal(rule, '1 (above)');
  await screenshot(page, 'control');
});

test('Save CSV, SVG and PNG download files in the standalone report', async () => {
  const save = async (id: string) => {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click(id)]);
    return { name: dl.suggestedFilename(), bytes: readFileSync((await dl.path()) as string) };
  };
  const csv = await save('#mo-save-csv');
  assert.equal(csv.name, 'control-chart-latency.csv');
  const lines = csv.bytes.toString('utf8').trim().split('\n');
  assert.equal(lines.length, 10);
  assert.match(lines[0], /^window,value,n,start,end,centre,std,z,ucl,lcl/);
  assert.match(lines[4], /^4,17,50,2025-01-04T00:00Z,2025-01-04T23:59Z,10,2,3.5,16,4,.*,1$/);
  const svg = await save('#mo-save-svg');
  assert.match(svg.bytes.toString('utf8'), /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  const png = await save('#mo-save-png');
  assert.deepEqual([...png.bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.ok(png.bytes.length > 5000);
});
