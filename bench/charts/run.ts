/**
 * Chart benchmark: time to first render in headless Chromium of the chart report page (the same
 * bundle and CSP as the panels) for 1k, 10k and 100k points, against a baseline measured in the
 * same run: a page under the same CSP that draws one canvas. Also the size of live updates.
 *
 *   npx tsx bench/charts/run.ts
 */
import { renderChartReport } from '../../server/engine/report';
import { chartPageHtml } from '../../webview/html';
import type { ControlAppend, RunMetricsAppend, RunMetricsData } from '../../webview/protocol';
import { buildBundle, launch, openPage } from '../../test/webview/harness';
import { largeControl } from '../../test/webview/fixtures';

const SIZES = [1_000, 10_000, 100_000];
const REPEAT = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function runMetrics(n: number): RunMetricsData {
  return {
    runs: [
      {
        runId: 'bench',
        label: 'bench run',
        points: Array.from({ length: n }, (_, i) => ({ step: i + 1, metrics: { loss: 1 / Math.sqrt(i + 1), val_loss: 1.1 / Math.sqrt(i + 1) } })),
      },
    ],
  };
}

const BASELINE_SCRIPT = `const c = document.createElement('canvas'); c.width = 1000; c.height = 340;
document.getElementById('app').replaceChildren(c);
const x = c.getContext('2d'); x.fillStyle = '#0969da'; x.fillRect(10, 10, 100, 100);
requestAnimationFrame(() => { window.__done = performance.now(); });`;

async function main(): Promise<void> {
  const bundle = await buildBundle();
  const browser = await launch();
  try {
    // Baseline: the same page shell and CSP, one canvas drawn, until the next frame.
    const baselineHtml = chartPageHtml({ title: 'baseline', nonce: 'YmFzZWxpbmUtbm9uY2U=', script: { code: BASELINE_SCRIPT } });
    const base: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const { page } = await openPage(browser, baselineHtml);
      await page.waitForFunction(() => (window as unknown as { __done?: number }).__done !== undefined);
      base.push(await page.evaluate(() => (window as unknown as { __done: number }).__done));
      await page.context().close();
    }
    const baseline = median(base);
    console.log(`baseline (blank canvas page, load → frame): ${baseline.toFixed(1)} ms (median of ${REPEAT})\n`);
    console.log('chart        points   engine ms   load→script ms   load→drawn ms   init→drawn ms   ratio to baseline   html KB');
    for (const kind of ['control', 'runMetrics'] as const) {
      for (const n of SIZES) {
        const t0 = performance.now();
        const html =
          kind === 'control'
            ? renderChartReport({ kind, data: largeControl(n), title: `bench ${n}` }, bundle.path)
            : renderChartReport({ kind, data: runMetrics(n), title: `bench ${n}` }, bundle.path);
        const engineMs = performance.now() - t0;
        const total: number[] = [];
        const render: number[] = [];
        const started: number[] = [];
        for (let i = 0; i < REPEAT; i++) {
          const { page } = await openPage(browser, html);
          await page.waitForFunction(() => (window.__chart?.renders ?? 0) >= 1, undefined, { timeout: 30_000 });
          // Both timestamps are taken in the page (performance.now() from navigation start).
          const t = await page.evaluate(() => [window.__chart.renderedAt ?? NaN, window.__chart.renderMs ?? NaN, window.__chart.scriptStartedAt] as [number, number, number]);
          total.push(t[0]);
          render.push(t[1]);
          started.push(t[2]);
          await page.context().close();
        }
        const m = median(total);
        console.log(
          `${kind.padEnd(12)} ${String(n).padStart(7)}   ${engineMs.toFixed(0).padStart(9)}   ${median(started).toFixed(1).padStart(14)}   ${m.toFixed(1).padStart(13)}   ${median(render).toFixed(1).padStart(13)}   ${(m / baseline).toFixed(2).padStart(17)}×   ${(Buffer.byteLength(html) / 1024).toFixed(0).padStart(7)}`,
        );
      }
    }
    const epoch: RunMetricsAppend = {
      type: 'append',
      kind: 'runMetrics',
      runId: 'run-0f3c2a9e-7d41-4b8e-9a11-2c5e8d7f6a10',
      points: [{ step: 37, metrics: { loss: 0.412345678, val_loss: 0.498765432, accuracy: 0.84567891, val_accuracy: 0.81234567, f1_macro: 0.6123456, val_f1_macro: 0.5987654 } }],
      status: 'running',
    };
    const control = largeControl(200);
    const win: ControlAppend = { type: 'append', kind: 'control', points: [control.points[199]] };
    console.log(`\nlive update, one epoch (6 metrics): ${Buffer.byteLength(JSON.stringify(epoch))} bytes (limit 1024)`);
    console.log(`live update, one control-chart window: ${Buffer.byteLength(JSON.stringify(win))} bytes`);
  } finally {
    await browser.close();
    bundle.dispose();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
