import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { renderChartReport } from '../../server/report';
import { buildControlChart } from '../../server/engine/spc';
import { cspViolations, openPage, screenshot, useChromium, waitRendered, type PageProblems } from './harness';

interface EstimatedDebug {
  legend: string[];
  estimated: { points: number; dash: number[] | null } | null;
  sigmaEstimator: string | null;
  side: string | null;
  summary: string;
  yRange: [number, number];
  plot: { left: number; top: number; width: number; height: number };
}

let page: Page;
let problems: PageProblems;
// Realised accuracy for 8 windows, the CBPE estimate beside it; the last two windows have an estimate only far below.
const realised = [0.9, 0.91, 0.89, 0.9, 0.92, 0.9, 0.91, 0.9];
const estimate = [0.88, 0.9, 0.9, 0.89, 0.9, 0.89, 0.9, null];
const data = buildControlChart(
  realised.map((value, i) => ({ value, estimated: estimate[i] })),
  { baseline: 5, estimator: 'movingRange', side: 'lower', metric: 'accuracy' },
);

useChromium(async ({ browser, bundle }) => {
  const html = renderChartReport({ kind: 'control', data, title: 'Control chart — accuracy' }, bundle.path);
  ({ page, problems } = await openPage(browser, html));
  await waitRendered(page);
});

const view = async () => (await page.evaluate(() => window.__chart.view())) as unknown as EstimatedDebug;

test('the estimated series is drawn dashed beside the realised one, with the legend "estimated (CBPE)"', async () => {
  const v = await view();
  assert.deepEqual(problems.errors, []);
  assert.deepEqual(await cspViolations(page), []);
  assert.ok(v.legend.includes('estimated (CBPE)'), v.legend.join(', '));
  assert.deepEqual(v.estimated, { points: 7, dash: [3, 3] });
  // Walk the estimate between windows 1 and 2 (0.88 → 0.90) one device pixel at a time: a
  // dashed line has blue runs and gaps along it.
  const walk = await page.evaluate(
    ({ yRange, plot }) => {
      const canvas = document.querySelector('.u-wrap canvas') as HTMLCanvasElement;
      const cr = canvas.getBoundingClientRect();
      const over = (document.querySelector('.u-over') as HTMLElement).getBoundingClientRect();
      const dpr = canvas.width / cr.width;
      const c = canvas.getContext('2d') as CanvasRenderingContext2D;
      const u = (window as unknown as { __chart: { view(): { xRange: [number, number] } } }).__chart.view();
      const [x0, x1] = u.xRange;
      const steps = Math.round((plot.width / (x1 - x0)) * 0.8 * dpr);
      let blue = 0;
      let gap = 0;
      for (let s = 0; s < steps; s++) {
        const t = 0.1 + (0.8 * s) / steps;
        const px = ((1 + t - x0) / (x1 - x0)) * plot.width;
        const py = ((yRange[1] - (0.88 + 0.02 * t)) / (yRange[1] - yRange[0])) * plot.height;
        const d = c.getImageData(
          Math.round((over.left - cr.left + px) * dpr),
          Math.round((over.top - cr.top + py) * dpr) - 1,
          1,
          3,
        ).data;
        let hit = false;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 100 && d[i + 2] > d[i] + 40 && d[i + 2] > 100) hit = true;
        if (hit) blue++;
        else gap++;
      }
      return { blue, gap };
    },
    { yRange: v.yRange, plot: v.plot },
  );
  assert.ok(walk.blue > 5 && walk.gap > 5, `along the estimate: ${walk.blue} blue pixels, ${walk.gap} gaps`);
  const svg = (await page.evaluate(() => window.__chart.svg())) as string;
  assert.match(
    svg,
    /<path class="estimated" d="M[^"]+" fill="none" stroke="[^"]+" stroke-width="1.5" stroke-dasharray="3 3"\/>/,
  );
  // The last window has no estimate: the path has one move (no gap inside the 7 estimates).
  assert.equal((/<path class="estimated" d="([^"]+)"/.exec(svg)?.[1].match(/M/g) ?? []).length, 1);
  assert.match(svg, />estimated \(CBPE\)</);
  await screenshot(page, 'control-estimated');
});

test('the subtitle says how σ was estimated and which side the rules watch', async () => {
  const v = await view();
  assert.equal(v.sigmaEstimator, 'movingRange');
  assert.equal(v.side, 'lower');
  assert.match(v.summary, /σ from the average moving range \(MR̄\/1\.128\); rules watch drops only/);
  assert.match(v.summary, /dashed: estimated \(CBPE\)/);
  const csv = (await page.evaluate(() => window.__chart.csv())) as string;
  assert.match(csv.split('\n')[0], /^window,value,estimated,n/);
  assert.match(csv.split('\n')[1], /^1,0\.9,0\.88,/);
});
