/**
 * Chart benchmark: time to first render in headless Chromium of the chart report page (the same
 * bundle and CSP as the panels) for 1k, 10k and 100k points, against a baseline measured in the
 * same run: a page under the same CSP that draws one canvas. Also the size of live updates.
 *
 *   npx tsx bench/charts/run.ts        (REPEAT=15 for more loads per case; default 9)
 *
 * Every time is read in the page, from performance.now() (0 = navigation start):
 *   script  the bundle starts running (the page and its inlined data have been read);
 *   drawn   the chart's draw hook has finished (canvas drawn: points, limits, zones, markers);
 *   frame   the first requestAnimationFrame callback after that (what the baseline measures);
 *   init→drawn  the renderer alone: init message handled → drawn.
 * Pages are served from a routed origin (as in the webview tests) and, for the "file" column,
 * opened as a file:// URL as a report is opened from disk.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser } from 'playwright-core';
import { renderChartReport } from '../../server/report';
import { sliceControlChart } from '../../server/engine/spc';
import { chartPageHtml } from '../../webview/html';
import type { ControlAppend, InitMessage, RunMetricsAppend, RunMetricsData } from '../../webview/protocol';
import { buildBundle, launch, openPage } from '../../test/webview/harness';
import { largeControl } from '../../test/webview/fixtures';

const SIZES = [1_000, 10_000, 100_000];
const REPEAT = Number(process.env.REPEAT ?? 9);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function runMetrics(n: number): RunMetricsData {
  return {
    runs: [
      {
        runId: 'bench',
        label: 'bench run',
        points: Array.from({ length: n }, (_, i) => ({
          step: i + 1,
          metrics: { loss: 1 / Math.sqrt(i + 1), val_loss: 1.1 / Math.sqrt(i + 1) },
        })),
      },
    ],
  };
}

const BASELINE_SCRIPT = `const c = document.createElement('canvas'); c.width = 1000; c.height = 340;
document.getElementById('app').replaceChildren(c);
const x = c.getContext('2d'); x.fillStyle = '#0969da'; x.fillRect(10, 10, 100, 100);
requestAnimationFrame(() => { window.__done = performance.now(); });`;

interface Sample {
  script: number;
  drawn: number;
  frame: number;
  render: number;
}

interface Case {
  kind: 'control' | 'runMetrics';
  n: number;
  wire: 'packed' | 'json';
  html: string;
  file: string;
  engineMs: number;
  routed: Sample[];
  fileFrames: number[];
}

/** After closing a page: let its renderer process go away before the next load is timed. */
const SETTLE_MS = 250;

const readTimes = (): Sample => {
  const c = window.__chart;
  return { script: c.scriptStartedAt, drawn: c.renderedAt ?? NaN, frame: c.frameAt ?? NaN, render: c.renderMs ?? NaN };
};

/** One load of the page from the routed origin, and one as a file:// URL. */
async function loadOnce(browser: Browser, c: Case): Promise<void> {
  const { page } = await openPage(browser, c.html);
  await page.waitForFunction(() => (window.__chart?.frameAt ?? null) !== null, undefined, { timeout: 60_000 });
  c.routed.push(await page.evaluate(readTimes));
  await page.context().close();
  await sleep(SETTLE_MS);

  const context = await browser.newContext({ viewport: { width: 1000, height: 800 }, deviceScaleFactor: 1 });
  const fp = await context.newPage();
  await fp.goto(`file://${c.file}`);
  await fp.waitForFunction(() => (window.__chart?.frameAt ?? null) !== null, undefined, { timeout: 60_000 });
  c.fileFrames.push((await fp.evaluate(readTimes)).frame);
  await context.close();
  await sleep(SETTLE_MS);
}

async function loadBaseline(browser: Browser, html: string): Promise<number> {
  const { page } = await openPage(browser, html);
  await page.waitForFunction(() => (window as unknown as { __done?: number }).__done !== undefined);
  const t = await page.evaluate(() => (window as unknown as { __done: number }).__done);
  await page.context().close();
  await sleep(SETTLE_MS);
  return t;
}

async function main(): Promise<void> {
  const bundle = await buildBundle();
  const browser = await launch();
  const dir = mkdtempSync(join(tmpdir(), 'modelops-bench-charts-'));
  try {
    const code = readFileSync(bundle.path, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
    const specs: Array<Pick<Case, 'kind' | 'n' | 'wire'>> = [
      ...SIZES.map((n) => ({ kind: 'control' as const, n, wire: 'packed' as const })),
      // The same 100k chart with its number columns left as JSON text: what packing saves.
      { kind: 'control', n: 100_000, wire: 'json' },
      ...SIZES.map((n) => ({ kind: 'runMetrics' as const, n, wire: 'packed' as const })),
    ];
    const cases: Case[] = specs.map(({ kind, n, wire }) => {
      const t0 = performance.now();
      const data = kind === 'control' ? largeControl(n) : runMetrics(n);
      const init = { type: 'init', kind, title: `bench ${n}`, data } as InitMessage;
      const html =
        wire === 'packed'
          ? renderChartReport({ kind, data, title: init.title } as Parameters<typeof renderChartReport>[0], bundle.path)
          : chartPageHtml({
              title: init.title,
              nonce: 'YmVuY2gtbm9uY2UtanNvbg==',
              script: { code },
              init,
              packNumbers: false,
            });
      const engineMs = performance.now() - t0;
      const file = join(dir, `${kind}-${n}-${wire}.html`);
      writeFileSync(file, html);
      return { kind, n, wire, html, file, engineMs, routed: [], fileFrames: [] };
    });

    // Baseline: the same page shell and CSP, one canvas drawn, until the next frame. Every
    // repetition loads the baseline and then each case once, so a change in the machine's load
    // during the run reaches all of them alike.
    const baselineHtml = chartPageHtml({
      title: 'baseline',
      nonce: 'YmFzZWxpbmUtbm9uY2U=',
      script: { code: BASELINE_SCRIPT },
    });
    const base: number[] = [];
    const loadBefore = loadavg()[0];
    for (let r = 0; r < REPEAT; r++) {
      base.push(await loadBaseline(browser, baselineHtml));
      for (const c of cases) await loadOnce(browser, c);
    }
    const baseline = median(base);
    console.log(
      `baseline (blank canvas page, load → next frame): ${baseline.toFixed(1)} ms; load average ${loadBefore.toFixed(1)} → ${loadavg()[0].toFixed(1)}`,
    );
    console.log(`medians of ${REPEAT} loads, round-robin (best in brackets)\n`);
    console.log(
      'chart        points  wire    engine ms   html KB   load→script   load→drawn (best)   load→frame (best)   init→drawn   frame÷baseline   file: load→frame',
    );
    for (const c of cases) {
      const med = (k: keyof Sample) => median(c.routed.map((x) => x[k]));
      const best = (k: keyof Sample) => Math.min(...c.routed.map((x) => x[k]));
      console.log(
        `${c.kind.padEnd(12)} ${String(c.n).padStart(7)}  ${c.wire.padEnd(6)} ${c.engineMs.toFixed(0).padStart(9)}   ${(Buffer.byteLength(c.html) / 1024).toFixed(0).padStart(7)}   ${med('script').toFixed(1).padStart(11)}   ${`${med('drawn').toFixed(1)} (${best('drawn').toFixed(0)})`.padStart(17)}   ${`${med('frame').toFixed(1)} (${best('frame').toFixed(0)})`.padStart(17)}   ${med('render').toFixed(1).padStart(10)}   ${(med('frame') / baseline).toFixed(2).padStart(13)}×   ${median(c.fileFrames).toFixed(1).padStart(16)}`,
      );
    }
    const epoch: RunMetricsAppend = {
      type: 'append',
      kind: 'runMetrics',
      runId: 'run-0f3c2a9e-7d41-4b8e-9a11-2c5e8d7f6a10',
      points: [
        {
          step: 37,
          metrics: {
            loss: 0.412345678,
            val_loss: 0.498765432,
            accuracy: 0.84567891,
            val_accuracy: 0.81234567,
            f1_macro: 0.6123456,
            val_f1_macro: 0.5987654,
          },
        },
      ],
      status: 'running',
    };
    const control = largeControl(200);
    const win: ControlAppend = { type: 'append', kind: 'control', ...sliceControlChart(control, 199) };
    console.log(`\nlive update, one epoch (6 metrics): ${Buffer.byteLength(JSON.stringify(epoch))} bytes (limit 1024)`);
    console.log(`live update, one control-chart window: ${Buffer.byteLength(JSON.stringify(win))} bytes`);
  } finally {
    await browser.close();
    bundle.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
