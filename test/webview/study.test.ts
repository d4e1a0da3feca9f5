/** Chromium tests of the study panel: parallel coordinates, objective per trial with best so far, importance, trials table, live update. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { renderChartReport } from '../../server/report';
import { binByParam, etaSquared, studyChartData } from '../../server/report/studyData';
import type { StudyData } from '../../webview/protocol';
import { cspViolations, openPage, screenshot, useChromium, waitRendered } from './harness';
import { studyRecords } from './fixtures';

const chromium = useChromium();

const { study, trial, trials } = studyRecords();

async function open(data: StudyData): Promise<Page> {
  const { page, problems } = await openPage(
    chromium.browser,
    renderChartReport({ kind: 'study', data, title: 'weather · study' }, chromium.bundle.path),
  );
  await waitRendered(page);
  assert.deepEqual(problems.errors, []);
  assert.deepEqual(await cspViolations(page), []);
  return page;
}

type StudyDebug = {
  status: string;
  trials: number;
  lines: number;
  points: number;
  bars: number;
  best: { number: number; value: number } | null;
  bestSoFar: Array<{ number: number; value: number }>;
  importance: Array<{ name: string; eta2: number; bins: number }> | null;
};
const debug = async (page: Page) => (await page.evaluate(() => window.__chart.view())) as unknown as StudyDebug;

test('importance: η² is 1 for a parameter that fixes the objective, the between-bin share otherwise', () => {
  const data = studyChartData({ study, trials });
  const imp = Object.fromEntries((data.importance ?? []).map((i) => [i.name, i]));
  assert.equal(imp.activation.eta2, 1);
  assert.equal(imp.activation.bins, 2);
  // learningRate, 4 completed trials sorted by it: 0.002 (0.6), 0.004 (0.8) | 0.03 (0.6), 0.05 (0.8): 2 bins with equal means.
  assert.equal(imp.learningRate.bins, 2);
  assert.equal(imp.learningRate.eta2, 0);
  // By hand: groups [1, 2] and [4, 5]: mean 3, SS_total 10, SS_between 2·(1.5−3)² + 2·(4.5−3)² = 9.
  assert.ok(
    Math.abs(
      etaSquared([
        [1, 2],
        [4, 5],
      ]) - 0.9,
    ) < 1e-12,
  );
  // Equal values never straddle two bins.
  const same = binByParam(
    { name: 'u', type: 'int', low: 0, high: 10 },
    [0, 0, 0, 5].map((u, i) => ({ params: { u }, value: i })),
  );
  assert.deepEqual(same, [[0, 1, 2], [3]]);
  // Fewer than 3 completed trials: no estimate.
  assert.equal(studyChartData({ study, trials: trials.slice(0, 3) }).importance, null);
});

test('study: a line per trial with the best on top, points with the best-so-far line, importance bars and a trials table that marks pruned and failed', async () => {
  const page = await open(studyChartData({ study, trials }));
  const d = await debug(page);
  assert.equal(d.trials, 6);
  assert.deepEqual(d.best, { number: 1, value: 0.8 });
  // Best so far over the completed trials in order: 0.6, 0.8, 0.8, 0.8 (trial 5 ties, does not replace).
  assert.deepEqual(d.bestSoFar, [
    { number: 0, value: 0.6 },
    { number: 1, value: 0.8 },
    { number: 4, value: 0.8 },
    { number: 5, value: 0.8 },
  ]);
  assert.equal(await page.$$eval('svg path.pc-line', (e) => e.length), 6);
  assert.equal(
    await page.$$eval('svg path.pc-line.best', (e) => e.map((x) => x.getAttribute('data-trial'))).then((x) => x.join()),
    '1',
  );
  // The best line is drawn last, so it is on top.
  assert.equal(await page.$$eval('svg path.pc-line', (e) => e[e.length - 1].getAttribute('data-trial')), '1');
  assert.equal(
    await page.$$eval('svg path.pc-line[data-status="pruned"]', (e) => e[0].getAttribute('stroke-dasharray')),
    '5 3',
  );
  assert.equal(await page.$$eval('svg circle.trial-point', (e) => e.length), 5);
  assert.equal(await page.$$eval('svg .trial-point.failed', (e) => e.length), 1);
  assert.equal(await page.$$eval('svg path.best-line', (e) => e.length), 1);
  assert.deepEqual(await page.$$eval('svg rect.imp-bar', (e) => e.map((x) => x.getAttribute('data-param'))), [
    'activation',
    'learningRate',
  ]);
  const rows = await page.$$eval('#mo-study-trials tbody tr', (trs) =>
    trs.map((tr) => [tr.getAttribute('data-status'), ...Array.from(tr.children).map((c) => c.textContent)]),
  );
  assert.equal(rows.length, 6);
  assert.deepEqual(rows[1], ['completed', '1', 'completed ★ best', 'relu', '0.05', '0.8', '3']);
  assert.deepEqual(rows[2].slice(0, 3), ['pruned', '2', '✂ pruned']);
  assert.deepEqual(rows[3], ['failed', '3', '✗ failed', 'relu', '0.09', '—', '2']);
  assert.equal(
    await page.$eval('#mo-study-trials tbody tr[data-status="failed"]', (tr) => tr.getAttribute('title')),
    'loss became NaN at epoch 2',
  );
  const csv = await page.evaluate(() => window.__chart.csv());
  assert.equal(csv?.split('\n')[0], 'trial,status,activation,learningRate,val_accuracy,epochs run,error');
  await screenshot(page, 'study');
});

test('study: a running study is retargeted in place as trials report (a new init redraws)', async () => {
  const page = await open(studyChartData({ study, trials: trials.slice(0, 2) }));
  assert.equal((await debug(page)).importance, null);
  assert.equal(await page.$$eval('svg rect.imp-bar', (e) => e.length), 0);
  const more = studyChartData({
    study: { ...study, status: 'completed' },
    trials: [...trials, trial(6, 'completed', 'relu', 0.02, 0.9)],
  });
  await page.evaluate((m) => window.postMessage(m, '*'), {
    type: 'init',
    kind: 'study',
    title: 'weather · study',
    data: more,
  });
  await waitRendered(page, 2);
  const d = await debug(page);
  assert.equal(d.status, 'completed');
  assert.equal(d.trials, 7);
  assert.deepEqual(d.best, { number: 6, value: 0.9 });
  assert.equal(d.bestSoFar.at(-1)?.value, 0.9);
  assert.equal(d.bars, 2);
});
