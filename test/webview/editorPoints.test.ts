/**
 * Issue 16, point 7 (display): the drift subtitle says no "window … → …" when the times are
 * unknown, no drift bar label crosses the right edge, and a control-chart violation says which
 * side of the centre line it is on and when one-sided rules would not have flagged it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { renderChartReport } from '../../server/report';
import { buildControlChart } from '../../server/engine/spc';
import type { ChartDataMap, ChartKind, DriftData } from '../../webview/protocol';
import { cspViolations, openPage, screenshot, useChromium, waitRendered } from './harness';

const chromium = useChromium();

async function open<K extends ChartKind>(kind: K, data: ChartDataMap[K], title: string, width = 1000): Promise<Page> {
  const { page, problems } = await openPage(
    chromium.browser,
    renderChartReport({ kind, data, title }, chromium.bundle.path),
    {},
    { width, height: 700 },
  );
  await waitRendered(page);
  assert.deepEqual(problems.errors, []);
  assert.deepEqual(await cspViolations(page), []);
  return page;
}

type DriftView = { labels: Array<{ feature: string; inside: boolean; right: number }>; width: number };

test('drift: a window without times names only its size, and no bar label crosses the right edge', async () => {
  const data: DriftData = {
    method: 'psi',
    threshold: 0.2,
    features: [
      { feature: 'temp_max', score: 8.408 },
      { feature: 'precipitation_with_a_long_name', score: 7.9 },
      { feature: 'wind', score: 0.05 },
    ],
    window: { size: 100 },
  };
  for (const width of [560, 1000]) {
    const page = await open('drift', data, 'Drift', width);
    const summary = (await page.textContent('.mo-summary')) ?? '';
    assert.doesNotMatch(summary, /…|→/);
    assert.match(summary, /drifted: temp_max, precipitation_with_a_long_name · window of 100 rows\.$/);
    const v = (await page.evaluate(() => window.__chart.view())) as unknown as DriftView;
    assert.equal(v.labels.length, 3);
    for (const l of v.labels) assert.ok(l.right <= v.width, `${l.feature}: label ends at ${l.right} of ${v.width}`);
    // Measured in the page, not only as the chart computed it.
    const overflow = await page.$$eval('svg text', (ts) => {
      const svg = (ts[0] as SVGTextElement | undefined)?.ownerSVGElement;
      const w = svg?.viewBox.baseVal.width || svg?.getBoundingClientRect().width || 0;
      return ts
        .filter((t) => /drifted|\d\.\d{3}$/.test(t.textContent ?? ''))
        .map((t) => (t as SVGTextElement).getBBox())
        .filter((b) => b.x + b.width > w + 0.5).length;
    });
    assert.equal(overflow, 0);
    if (width === 560) await screenshot(page, 'drift-narrow');
    await page.context().close();
  }
  const partial = await open('drift', { ...data, window: { start: '2025-02-01T00:00Z', size: 50 } }, 'Drift');
  assert.match((await partial.textContent('.mo-summary')) ?? '', / · window from 2025-02-01T00:00Z \(50 rows\)\.$/);
  await partial.context().close();
});

test('control: violations say their side; an improvement names monitor.controlChart.side', async () => {
  // accuracy: baseline 0.80/0.82/0.84 (μ 0.82); a jump to 0.95 is above the centre line, an improvement.
  const values = [0.8, 0.82, 0.84, 0.95, 0.82, 0.6];
  const both = buildControlChart(
    values.map((value) => ({ value })),
    { baseline: 3, metric: 'accuracy', rules: [1] },
  );
  const page = await open('control', both, 'Control chart — accuracy');
  const summary = (await page.textContent('.mo-summary')) ?? '';
  assert.match(
    summary,
    /2 violations \(rule 1: 1 above, 1 below\); 1 above the centre line is an improvement that one-sided rules \(monitor\.controlChart\.side: lower\) would not flag\./,
  );
  await page.context().close();

  const lower = buildControlChart(
    values.map((value) => ({ value })),
    { baseline: 3, metric: 'accuracy', rules: [1], side: 'lower' },
  );
  const one = await open('control', lower, 'Control chart — accuracy');
  const s1 = (await one.textContent('.mo-summary')) ?? '';
  assert.match(s1, /1 violation \(rule 1: 1 below\)\./);
  assert.doesNotMatch(s1, /improvement/);
  await one.context().close();
});
