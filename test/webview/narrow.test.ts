/**
 * Panels that fit a narrow, low editor column (a chart beside the editor is ~480 px wide; the
 * bottom panel takes height): the SVG charts are drawn at the panel's width, so their text is
 * not scaled below its size and nothing runs off the edge; the control chart's plot and legend
 * fit the visible height and follow it when it changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { renderChartReport } from '../../server/report';
import { studyChartData } from '../../server/report/studyData';
import type { ChartDataMap, ChartKind } from '../../webview/protocol';
import { cspViolations, openPage, screenshot, useChromium, waitRendered } from './harness';
import {
  compareFixture,
  confusionFixture,
  controlFixture,
  driftFixture,
  explainFixture,
  fairnessFixture,
  runsFixture,
  studyRecords,
} from './fixtures';

const chromium = useChromium();
const NARROW = { width: 480, height: 500 };

async function open<K extends ChartKind>(
  kind: K,
  data: ChartDataMap[K],
  title: string,
  viewport = NARROW,
): Promise<{ page: Page; errors: string[] }> {
  const { page, problems } = await openPage(
    chromium.browser,
    renderChartReport({ kind, data, title }, chromium.bundle.path),
    {},
    viewport,
  );
  await waitRendered(page);
  assert.deepEqual(await cspViolations(page), []);
  return { page, errors: problems.errors };
}

interface SvgFit {
  /** The SVG's drawn width over its own width: 1 when its text is at the size it was written with. */
  scale: number;
  width: number;
  container: number;
  /** Text elements whose box leaves the SVG, with how far. */
  outside: Array<{ text: string; left: number; right: number }>;
  pageOverflow: number;
}

/** How the chart's SVG sits in the page. */
const svgFit = (page: Page): Promise<SvgFit> =>
  page.$eval('.mo-svg svg', (svg) => {
    const box = svg.getBoundingClientRect();
    const width = Number(svg.getAttribute('width'));
    const outside = Array.from(svg.querySelectorAll('text'))
      .map((t) => {
        const b = t.getBoundingClientRect();
        return { text: t.textContent ?? '', left: box.left - b.left, right: b.right - box.right };
      })
      .filter((t) => t.text !== '' && (t.left > 1 || t.right > 1));
    return {
      scale: box.width / width,
      width,
      container: (svg.parentElement as HTMLElement).clientWidth,
      outside,
      pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    };
  });

function assertFits(fit: SvgFit): void {
  assert.equal(fit.scale, 1, `the SVG (${fit.width} px) is drawn scaled by ${fit.scale}`);
  assert.ok(fit.width <= fit.container, `the SVG (${fit.width} px) is wider than its panel (${fit.container} px)`);
  assert.deepEqual(fit.outside, [], 'text runs off the chart');
  assert.equal(fit.pageOverflow, 0, 'the page scrolls sideways');
}

test('narrow panel, drift: drawn at the panel width, unscaled, bars tall enough to read', async () => {
  const data = driftFixture();
  data.features.push({ feature: 'a_rather_long_feature_name_from_a_wide_table', score: 0.02 });
  const { page, errors } = await open('drift', data, 'weather-classifier on local · drift');
  const fit = await svgFit(page);
  assertFits(fit);
  // It uses the width it has: at least the panel's width less the page padding.
  assert.ok(fit.width >= NARROW.width - 40, `${fit.width} px`);
  const bars = await page.$$eval('svg rect.bar', (rs) => rs.map((r) => r.getBoundingClientRect().height));
  assert.equal(bars.length, 4);
  assert.ok(
    bars.every((h) => h >= 20),
    `bar heights ${bars.join(', ')}`,
  );
  // The long name is cut with an ellipsis; its bar keeps the full name in its tooltip.
  const names = await page.$$eval('svg text[text-anchor="end"]', (ts) => ts.map((t) => t.textContent ?? ''));
  assert.ok(
    names.some((n) => n.startsWith('a_rather') && n.endsWith('…')),
    names.join(' | '),
  );
  await screenshot(page, 'narrow-drift');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('narrow panel, explain: the importance columns stack, titles and the note wrap, nothing is cut', async () => {
  const { page, errors } = await open('explain', explainFixture(), 'weather@1.0.0 · explanation');
  assertFits(await svgFit(page));
  // Stacked: every permutation bar starts below the last importance bar.
  const lastImp = Math.max(
    ...(await page.$$eval('svg rect.imp-bar', (rs) => rs.map((r) => r.getBoundingClientRect().bottom))),
  );
  const firstPerm = Math.min(
    ...(await page.$$eval('svg rect.perm-bar', (rs) => rs.map((r) => r.getBoundingClientRect().top))),
  );
  assert.ok(firstPerm > lastImp, `permutation bars at ${firstPerm}, importance bars end at ${lastImp}`);
  await screenshot(page, 'narrow-explain');
  // Another row redraws at the same width.
  await page.selectOption('#mo-explain-row', '2');
  await page.waitForFunction(() => (window.__chart.view() as { row: string }).row === '2');
  assertFits(await svgFit(page));
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('a wide panel keeps the explain importance columns side by side', async () => {
  const { page, errors } = await open('explain', explainFixture(), 'weather@1.0.0 · explanation', {
    width: 1000,
    height: 800,
  });
  assertFits(await svgFit(page));
  const top = (sel: string) => page.$eval(sel, (r) => r.getBoundingClientRect().top);
  assert.equal(await top('svg rect.perm-bar'), await top('svg rect.imp-bar'));
  assert.deepEqual(errors, []);
  await page.context().close();
});

interface ControlFit {
  height: number;
  legendBottom: number;
  viewport: number;
  scrolls: boolean;
}

const controlFit = (page: Page): Promise<ControlFit> =>
  page.evaluate(() => {
    const legend = document.querySelector('.u-legend') as HTMLElement;
    return {
      height: (window.__chart.view() as { height: number }).height,
      legendBottom: legend.getBoundingClientRect().bottom + window.scrollY,
      viewport: document.documentElement.clientHeight,
      scrolls: document.documentElement.scrollHeight > document.documentElement.clientHeight,
    };
  });

test('narrow, low panel, control chart: plot and legend fit the visible height and follow it', async () => {
  const { page, errors } = await open('control', controlFixture(), 'weather-classifier on local · control chart');
  let fit = await controlFit(page);
  assert.ok(fit.legendBottom <= fit.viewport, `legend ends at ${fit.legendBottom}, panel is ${fit.viewport} high`);
  assert.equal(fit.scrolls, false);
  // ... and it uses that height: the legend ends near the bottom (the page's padding and a margin).
  assert.ok(fit.legendBottom >= fit.viewport - 40, `legend ends at ${fit.legendBottom} of ${fit.viewport}`);
  assert.ok(fit.height >= 260, `plot ${fit.height} px`);
  await screenshot(page, 'narrow-control');

  // The bottom panel closes: the plot grows into the height (up to as tall as wide), legend still in view.
  const low = fit.height;
  await page.setViewportSize({ width: NARROW.width, height: 900 });
  await page.waitForFunction((h) => (window.__chart.view() as { height: number }).height > h, low);
  fit = await controlFit(page);
  assert.ok(fit.legendBottom <= fit.viewport, `legend ends at ${fit.legendBottom}, panel is ${fit.viewport} high`);
  assert.equal(fit.scrolls, false);

  // A very low panel: the plot stops at its minimum and the page scrolls instead.
  await page.setViewportSize({ width: NARROW.width, height: 300 });
  await page.waitForFunction(() => (window.__chart.view() as { height: number }).height === 260);
  assert.equal((await controlFit(page)).scrolls, true);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('narrow panel, compare of three versions: the chart at the panel width, the table scrolls in its own box', async () => {
  const { page, errors } = await open('compare', compareFixture(), 'weather · compare', { width: 400, height: 600 });
  assertFits(await svgFit(page));
  // A metric name wider than its group is cut; the table below has it whole.
  const names = await page.$$eval('.mo-svg svg text', (ts) => ts.map((t) => t.textContent ?? ''));
  assert.ok(names.includes('precision…'), names.join(' | '));
  const box = await page.$eval('.mo-table-scroll', (d) => ({ scroll: d.scrollWidth, client: d.clientWidth }));
  assert.ok(box.scroll > box.client, `the table (${box.scroll} px) is wider than its box (${box.client} px)`);
  assert.ok(
    (await page.$$eval('.mo-metrics-table tbody th', (ths) => ths.map((t) => t.textContent))).includes(
      'precision_macro',
    ),
  );
  await screenshot(page, 'narrow-compare');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test("the narrowest editor column (220 px): every SVG chart at the panel's width, nothing off the edge or scrolling the page", async () => {
  const tiny = { width: 220, height: 700 };
  const svgKinds = [
    ['compare', compareFixture()],
    ['confusion', confusionFixture()],
    ['drift', driftFixture()],
    ['explain', explainFixture()],
    ['fairness', fairnessFixture()],
    ['study', studyChartData(studyRecords())],
  ] as const;
  for (const [kind, data] of svgKinds) {
    // A title longer than the panel: the SVG's copy is cut with an ellipsis (the page's heading wraps).
    const { page, errors } = await open(kind, data as never, `weather-classifier@1.0.0 · ${kind} (test split)`, tiny);
    const fit = await svgFit(page);
    assertFits(fit);
    assert.ok(fit.width >= 180, `${kind}: ${fit.width} px`);
    // A table wider than the panel scrolls in its box; its caption wraps within the box.
    const captions = await page.$$eval('.mo-metrics-table caption', (cs) =>
      cs.map((c) => ({ right: c.getBoundingClientRect().right, page: document.documentElement.clientWidth })),
    );
    for (const c of captions) assert.ok(c.right <= c.page, `${kind}: a caption ends at ${c.right} of ${c.page} px`);
    if (kind !== 'compare' && kind !== 'explain') await screenshot(page, `narrowest-${kind}`);
    assert.deepEqual(errors, []);
    await page.close();
  }
  // The canvas charts fit too.
  for (const [kind, data] of [
    ['control', controlFixture()],
    ['runMetrics', runsFixture()],
  ] as const) {
    const { page, errors } = await open(kind, data as never, `weather-classifier · ${kind}`, tiny);
    assert.equal(
      await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth),
      0,
      `${kind}: the page scrolls sideways`,
    );
    assert.deepEqual(errors, []);
    await page.close();
  }
});
