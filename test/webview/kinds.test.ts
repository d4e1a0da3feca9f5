import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { renderChartReport } from '../../server/report';
import type { ChartDataMap, ChartKind, RunMetricsAppend } from '../../webview/protocol';
import { cspViolations, openPage, screenshot, useChromium, waitRendered } from './harness';
import { compareFixture, confusionFixture, driftFixture, runsFixture } from './fixtures';

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

test('run metrics: one chart per metric, runs overlaid, live append of only the new epoch', async () => {
  const page = await open('runMetrics', runsFixture(), 'Training — a1 vs b2');
  type Charts = { charts: Array<{ group: string; axes: { x: string; y: string }; series: string[]; steps: number }> };
  let d = (await debug(page)) as unknown as Charts;
  assert.deepEqual(
    d.charts.map((c) => c.group),
    ['loss', 'accuracy'],
  );
  assert.deepEqual(d.charts[0].axes, { x: 'epoch', y: 'loss' });
  assert.deepEqual(d.charts[0].series, ['run a1 · loss', 'run a1 · val_loss', 'run b2 · loss', 'run b2 · val_loss']);
  assert.equal(d.charts[0].steps, 5);
  await screenshot(page, 'run-metrics');

  const epoch: RunMetricsAppend = {
    type: 'append',
    kind: 'runMetrics',
    runId: 'b2',
    points: [{ step: 5, metrics: { loss: 0.251234, val_loss: 0.271234, accuracy: 0.771234, val_accuracy: 0.731234 } }],
    status: 'running',
  };
  assert.ok(Buffer.byteLength(JSON.stringify(epoch)) <= 1024);
  await page.evaluate((m) => window.postMessage(m, '*'), epoch);
  await page.waitForFunction(() => (window.__chart.csv() ?? '').includes('0.251234'));
  const csv = ((await page.evaluate(() => window.__chart.csv())) as string).trim().split('\n');
  assert.equal(csv.length, 1 + 5 + 5);
  assert.equal(csv[0], 'run_id,run,epoch,loss,val_loss,accuracy,val_accuracy');

  // A run that is not on the chart yet appears with its label.
  await page.evaluate((m) => window.postMessage(m, '*'), {
    type: 'append',
    kind: 'runMetrics',
    runId: 'c3',
    label: 'run c3',
    points: [{ step: 1, metrics: { loss: 0.9 } }],
  });
  await page.waitForFunction(() => (window.__chart.view() as { runs: unknown[] }).runs.length === 3);
  d = (await debug(page)) as unknown as Charts;
  assert.equal(d.charts[0].series.length, 6);
  await page.context().close();
});

test('compare versions: grouped bars for every value and a table with the deltas', async () => {
  const page = await open('compare', compareFixture(), 'Compare versions');
  const d = (await debug(page)) as { bars: Array<{ metric: string; version: string; value: number; height: number }> };
  assert.equal(d.bars.length, 11); // 4 metrics × 3 versions, one value missing
  const acc = d.bars.filter((b) => b.metric === 'accuracy');
  assert.ok(acc[0].height < acc[1].height && acc[1].height < acc[2].height);
  assert.equal(await page.$$eval('svg rect.bar', (e) => e.length), 11);
  const rows = await page.$$eval('.mo-metrics-table tbody tr', (trs) =>
    trs.map((tr) => Array.from(tr.children).map((c) => c.textContent)),
  );
  assert.deepEqual(rows[0], ['accuracy', '0.81', '0.84', '0.86', '+0.05']);
  assert.deepEqual(rows[2], ['precision_macro', '0.65', '—', '0.72', '+0.07']);
  await screenshot(page, 'compare');
  await page.context().close();
});

test('confusion matrix: a cell per pair and per-class precision/recall/F1 from the matrix', async () => {
  const page = await open('confusion', confusionFixture(), 'Confusion matrix');
  assert.equal(await page.$$eval('svg rect.cell', (e) => e.length), 9);
  assert.equal(await page.getAttribute('svg rect.cell[data-actual="1"][data-predicted="2"]', 'data-count'), '2');
  const rows = await page.$$eval('.mo-metrics-table tbody tr', (trs) =>
    trs.map((tr) => Array.from(tr.children).map((c) => c.textContent)),
  );
  // rain: precision 5/7, recall 5/6, F1 2·(5/7)(5/6)/((5/7)+(5/6)) = 10/13
  assert.deepEqual(rows[0], ['rain', '0.7143', '0.8333', '0.7692', '6']);
  // fog: precision 4/6, recall 4/4, F1 0.8
  assert.deepEqual(rows[2], ['fog', '0.6667', '1', '0.8', '4']);
  await screenshot(page, 'confusion');
  await page.context().close();
});

test('drift: a bar per feature, red beyond its threshold, threshold line at the threshold', async () => {
  const page = await open('drift', driftFixture(), 'Drift');
  const d = (await debug(page)) as { drifted: string[]; thresholdX: number };
  assert.deepEqual(d.drifted, ['temp_max', 'wind']);
  assert.equal(await page.$$eval('svg rect.bar.drifted', (e) => e.length), 2);
  const x = Number(await page.getAttribute('svg line.threshold', 'x1'));
  assert.ok(Math.abs(x - d.thresholdX) < 0.01);
  assert.match((await page.textContent('.mo-summary')) ?? '', /drifted: temp_max, wind/);
  await screenshot(page, 'drift');
  await page.context().close();
});

test('drift with a test per feature: each bar is its distance to its own threshold; drift is what the test says', async () => {
  const data = {
    method: 'auto',
    threshold: null,
    features: [
      // KS p = 0.001 < 0.05: drifted although D is small; log 0.001 / log 0.05 ≈ 2.31
      { feature: 'temp_max', score: 0.08, test: 'ks', pValue: 0.001, threshold: 0.05, drifted: true },
      // chi-square p = 0.5: not drifted although its statistic is large
      { feature: 'weather', score: 7.2, test: 'chisquare', pValue: 0.5, threshold: 0.05, drifted: false },
      // Wasserstein 0.05 / 0.1 = 0.5
      { feature: 'wind', score: 0.05, test: 'wasserstein', pValue: null, threshold: 0.1, drifted: false },
    ],
  };
  const page = await open('drift', data, 'Drift');
  const d = (await debug(page)) as { drifted: string[]; relative: boolean; thresholdX: number };
  assert.equal(d.relative, true);
  assert.deepEqual(d.drifted, ['temp_max']);
  const width = async (f: string) => Number(await page.getAttribute(`svg rect.bar[data-feature="${f}"]`, 'width'));
  const toThreshold = d.thresholdX - Number(await page.getAttribute('svg rect.bar[data-feature="wind"]', 'x'));
  assert.ok(Math.abs((await width('temp_max')) / toThreshold - Math.log(0.001) / Math.log(0.05)) < 0.01);
  assert.ok(Math.abs((await width('wind')) / toThreshold - 0.5) < 0.01);
  assert.ok((await width('weather')) < toThreshold, 'p = 0.5 sits below the threshold');
  assert.match(
    (await page.textContent('.mo-summary')) ?? '',
    /Each feature against its own test and threshold; drifted: temp_max/,
  );
  await screenshot(page, 'drift-mixed');
  await page.context().close();
});

test("compare: the change is coloured by the metric's direction; size and latency go to their own table, not the bars", async () => {
  const data = {
    versions: ['weather@1.0.0', 'weather@1.1.0'],
    metrics: [
      { name: 'accuracy', values: [0.8, 0.79] },
      { name: 'log_loss', values: [0.55, 0.5] },
      { name: 'size_bytes', values: [null, 65_536] },
      { name: 'parent_size_bytes', values: [null, 131_072] },
      { name: 'latency_p50_ms_b1', values: [null, 0.42] },
    ],
  };
  const page = await open('compare', data, 'Compare versions');
  const d = (await debug(page)) as { metrics: string[]; cost: string[]; bars: Array<{ metric: string }> };
  assert.deepEqual(d.metrics, ['accuracy', 'log_loss']);
  assert.deepEqual(d.cost, ['size_bytes', 'latency_p50_ms_b1'], 'parent_* copies are dropped');
  assert.ok(d.bars.every((b) => b.metric === 'accuracy' || b.metric === 'log_loss'));
  const cells = await page.$$eval('.mo-metrics-table tbody tr', (trs) =>
    trs.map((tr) => {
      const last = tr.lastElementChild as HTMLElement;
      return [tr.firstElementChild?.textContent, last.textContent, last.className];
    }),
  );
  assert.deepEqual(cells[0], ['accuracy', '-0.01', 'mo-worse'], 'a lower accuracy is worse');
  assert.deepEqual(cells[1], ['log_loss', '-0.05', 'mo-better'], 'a lower log_loss is better');
  const cost = await page.$$eval('.mo-metrics-table', (ts) =>
    Array.from(ts[1].querySelectorAll('tbody tr')).map((tr) => Array.from(tr.children).map((c) => c.textContent)),
  );
  assert.deepEqual(cost[0], ['size_bytes', '—', '64.0 KiB', '—']);
  assert.deepEqual(cost[1], ['latency_p50_ms_b1', '—', '0.42 ms', '—']);
  await page.context().close();
});
