/** Chromium tests of the governance panels: explain (importance, strip, waterfall), fairness, and compare's importance section. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { renderChartReport } from '../../server/report';
import type { ChartDataMap, ChartKind, CompareData } from '../../webview/protocol';
import { cspViolations, openPage, screenshot, useChromium, waitRendered } from './harness';
import { compareFixture, explainFixture, fairnessFixture } from './fixtures';

const chromium = useChromium();

async function open<K extends ChartKind>(kind: K, data: ChartDataMap[K], title: string): Promise<Page> {
  const { page, problems } = await openPage(
    chromium.browser,
    renderChartReport({ kind, data, title }, chromium.bundle.path),
  );
  await waitRendered(page);
  assert.deepEqual(problems.errors, []);
  assert.deepEqual(await cspViolations(page), []);
  return page;
}

const debug = (page: Page) => page.evaluate(() => window.__chart.view()) as Promise<Record<string, unknown>>;

type ExplainDebug = {
  output: string;
  row: string;
  order: string[];
  importance: Array<{ feature: string; meanAbsShap: number; permutation: number | null }>;
  waterfall: { base: number; end: number; output: number; steps: Array<{ feature: string; value: number }> };
  strip: { features: number; points: number };
};

test('explain: importance bars beside permutation ± std, a strip per feature, a waterfall that ends at f(x) for the picked row', async () => {
  const page = await open('explain', explainFixture(), 'weather@1.0.0 · explanation');
  let d = (await debug(page)) as unknown as ExplainDebug;
  // Row 0 has p = 0.5 + 0.3 − 0.2 = 0.6 for "sun": the first class shown is the one it predicts.
  assert.equal(d.output, 'sun');
  // mean |φ_temp| = 0.3·(1 + 1 + 0.5)/3, mean |φ_wind| = 0.1·(2 + 0.5 + 2)/3, rain 0 (dummy).
  assert.deepEqual(d.order, ['temp', 'wind', 'rain']);
  assert.ok(Math.abs(d.importance[0].meanAbsShap - 0.25) < 1e-12);
  assert.ok(Math.abs(d.importance[1].meanAbsShap - 0.15) < 1e-12);
  assert.equal(d.importance[2].meanAbsShap, 0);
  assert.equal(await page.$$eval('svg rect.imp-bar', (e) => e.length), 3);
  assert.equal(await page.$$eval('svg rect.perm-bar', (e) => e.length), 3);
  assert.equal(await page.$$eval('svg line.perm-std', (e) => e.length), 3);
  assert.equal(await page.$$eval('svg g.strip circle', (e) => e.length), 9);
  assert.ok(Math.abs(d.waterfall.end - d.waterfall.output) < 1e-12, 'base + Σ values = f(x)');
  assert.deepEqual(
    d.waterfall.steps.map((s) => s.feature),
    ['temp', 'wind', 'rain'],
  );
  await screenshot(page, 'explain');

  // Pick row 2: 0.5 + 0.15 + 0.2 = 0.85.
  await page.selectOption('#mo-explain-row', '2');
  await page.waitForFunction(() => (window.__chart.view() as { row: string }).row === '2');
  d = (await debug(page)) as unknown as ExplainDebug;
  assert.ok(Math.abs(d.waterfall.output - 0.85) < 1e-12);
  assert.ok(Math.abs(d.waterfall.end - 0.85) < 1e-12);
  assert.deepEqual(
    d.waterfall.steps.map((s) => s.feature),
    ['wind', 'temp', 'rain'],
  );
  // temp +0.15 and wind +0.2 raise it; rain (a dummy) adds 0.
  assert.equal(await page.$$eval('svg rect.wf-bar.up', (e) => e.length), 3);
  assert.equal(await page.$$eval('svg rect.wf-bar.down', (e) => e.length), 0);

  // The other class: values mirror, the waterfall ends at 1 − p.
  await page.selectOption('#mo-explain-output', '1');
  await page.waitForFunction(() => (window.__chart.view() as { output: string }).output === 'rain');
  d = (await debug(page)) as unknown as ExplainDebug;
  assert.ok(Math.abs(d.waterfall.end - 0.15) < 1e-12);
  const csv = ((await page.evaluate(() => window.__chart.csv())) as string).trim().split('\n');
  assert.equal(csv[0], 'row,temp (rain),wind (rain),rain (rain),base,output');
  assert.equal(csv.length, 4);
  await page.context().close();
});

test('fairness: a bar per group, small groups marked and outside the difference band, gates in the table', async () => {
  const page = await open('fairness', fairnessFixture(), 'credit@1.0.0 · fairness');
  const d = (await debug(page)) as {
    metric: string;
    groups: Array<{ name: string; small: boolean }>;
    difference: number;
  };
  assert.equal(d.metric, 'accuracy');
  assert.equal(d.difference, 0.1);
  assert.equal(await page.$$eval('svg rect.group-bar', (e) => e.length), 3);
  assert.equal(await page.$$eval('svg rect.group-bar.small', (e) => e.length), 1);
  // The band spans the groups that count (0.8 … 0.9), not the small group's 0.25.
  const band = await page.$eval('svg rect.gap-band', (e) => ({
    x: Number(e.getAttribute('x')),
    w: Number(e.getAttribute('width')),
  }));
  const bars = await page.$$eval('svg rect.group-bar', (es) =>
    es.map((e) => ({
      g: e.getAttribute('data-group'),
      right: Number(e.getAttribute('x')) + Number(e.getAttribute('width')),
    })),
  );
  const right = (g: string) => bars.find((b) => b.g === g)?.right ?? NaN;
  assert.ok(Math.abs(band.x - right('sex=F')) < 0.02 && Math.abs(band.x + band.w - right('sex=M')) < 0.02);
  const rows = await page.$$eval('.mo-metrics-table tbody tr', (trs) =>
    trs.map((tr) => Array.from(tr.children).map((c) => c.textContent)),
  );
  assert.deepEqual(rows[0], ['demographic_parity_difference', '0.12', '<= 0.1', 'failed']);
  assert.deepEqual(rows[1], ['equalized_odds_difference', '0.04', 'no gate', '']);
  await screenshot(page, 'fairness');
  await page.selectOption('#mo-fairness-metric', 'recall_macro');
  await page.waitForFunction(() => (window.__chart.view() as { metric: string }).metric === 'recall_macro');
  // A group where the metric is undefined shows no bar.
  assert.equal(await page.$$eval('svg rect.group-bar', (e) => e.length), 2);
  await page.context().close();
});

test('compare: a version without metrics (registered, never evaluated) draws no bar and is named with what to do', async () => {
  const data: CompareData = {
    versions: ['churn@1.0.0', 'churn@1.1.0'],
    metrics: [
      { name: 'accuracy', values: [0.91, null] },
      { name: 'f1_macro', values: [0.8, null] },
    ],
  };
  const page = await open('compare', data, 'Compare versions');
  assert.equal(
    await page.textContent('.mo-unmeasured'),
    'churn@1.1.0 has no metrics yet: run ModelOps: Evaluate Version… (or modelops evaluate churn@1.1.0) to compare it.',
  );
  const view = (await page.evaluate(() => window.__chart.view())) as { unmeasured: string[]; bars: unknown[] };
  assert.deepEqual(view.unmeasured, ['churn@1.1.0']);
  assert.equal(view.bars.length, 2);
  assert.match((await page.textContent('svg')) ?? '', /churn@1\.1\.0 \(no metrics\)/);
  await page.context().close();

  // Every version measured: no note.
  const all = await open('compare', compareFixture(), 'Compare versions');
  assert.equal(await all.$('.mo-unmeasured'), null);
  await all.context().close();
});

test('compare: a "Feature importance" section side by side, and fairness per version', async () => {
  const data: CompareData = {
    ...compareFixture(),
    importance: [
      { feature: 'temp', meanAbsShap: [0.2, null, 0.25], permutation: [0.1, null, 0.12] },
      { feature: 'wind', meanAbsShap: [0.05, null, 0.02], permutation: [0.01, null, 0] },
    ],
    fairness: [{ name: 'demographic_parity_difference', values: [0.1, null, 0.05] }],
  };
  const page = await open('compare', data, 'Compare versions');
  assert.equal(await page.textContent('.mo-compare-importance h2'), 'Feature importance');
  const rows = await page.$$eval('.mo-compare-importance tbody tr', (trs) =>
    trs.map((tr) => Array.from(tr.children).map((c) => c.textContent)),
  );
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[0], ['temp', '0.2', '0.1', '—', '—', '0.25', '0.12']);
  const fair = await page.$$eval('.mo-compare-fairness tbody tr', (trs) =>
    trs.map((tr) => Array.from(tr.children).map((c) => c.textContent)),
  );
  assert.deepEqual(fair[0], ['demographic_parity_difference', '0.1', '—', '0.05']);
  await screenshot(page, 'compare-governance');
  await page.context().close();
});
