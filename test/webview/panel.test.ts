/**
 * The page as the panel serves it inside VS Code: script from the webview origin under the
 * panel CSP, a stub of acquireVsCodeApi, and the message contract in both directions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { chartPageHtml, chartCsp } from '../../webview/html';
import {
  isWebviewToHost,
  type ChartState,
  type ControlAppend,
  type InitMessage,
  type WebviewToHost,
} from '../../webview/protocol';
import { buildControlChart, sliceControlChart } from '../../server/engine/spc';
import { ORIGIN, cspViolations, openPage, useChromium, waitRendered } from './harness';
import { controlFixture } from './fixtures';

let code: string;
const chromium = useChromium(({ bundle }) => {
  code = readFileSync(bundle.path, 'utf8');
});

/** Opens the panel page with a stub of the VS Code API that records posts and state. */
async function panelPage(initialState?: ChartState, themeVars: Record<string, string> = {}): Promise<Page> {
  const nonce = 'bm9uY2Utb2YtdGhlLXRlc3QtcnVu';
  const html = chartPageHtml({
    title: 'Control chart',
    nonce,
    cspSource: ORIGIN,
    script: { src: `${ORIGIN}/dist/webview.js` },
  });
  assert.ok(html.includes(`content="${chartCsp(nonce, ORIGIN)}"`));
  assert.equal(
    chartCsp(nonce, ORIGIN),
    `default-src 'none'; img-src ${ORIGIN} data:; style-src ${ORIGIN} 'nonce-${nonce}'; script-src 'nonce-${nonce}'`,
  );
  const stub = `(() => {
    window.__posted = [];
    window.__state = ${JSON.stringify(initialState ?? null)} ?? undefined;
    window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => window.__state, setState: (s) => { window.__state = s; } });
    const vars = ${JSON.stringify(themeVars)};
    for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
  })();`;
  const { page, problems } = await openPage(
    chromium.browser,
    html.replace('<body>', `<body>\n<script nonce="${nonce}">${stub}</script>`),
    { '/dist/webview.js': { body: code, type: 'text/javascript' } },
  );
  pageErrors.set(page, problems.errors);
  return page;
}

const pageErrors = new Map<Page, string[]>();
/** Closes a page after checking that nothing threw or logged an error in it. */
async function done(page: Page): Promise<void> {
  assert.deepEqual(pageErrors.get(page), []);
  await page.context().close();
}

const posted = async (page: Page): Promise<WebviewToHost[]> =>
  (await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted)) as WebviewToHost[];
const state = async (page: Page): Promise<ChartState | undefined> =>
  (await page.evaluate(() => (window as unknown as { __state: unknown }).__state)) as ChartState | undefined;
const send = (page: Page, m: unknown) => page.evaluate((msg) => window.postMessage(msg, '*'), m);

test('panel page: ready → init → render; setState keeps the data for a reload', async () => {
  const page = await panelPage();
  await page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
  assert.deepEqual(await posted(page), [{ type: 'ready', protocol: 1 }]);
  const init: InitMessage = { type: 'init', kind: 'control', title: 'accuracy on local', data: controlFixture() };
  await send(page, init);
  await waitRendered(page);
  const s = await state(page);
  assert.deepEqual(
    { ...s, data: undefined },
    { kind: 'control', title: 'accuracy on local', tableVisible: false, data: undefined },
  );
  assert.deepEqual((s?.data as { values: number[] }).values, init.data.values);
  assert.deepEqual(await cspViolations(page), []);
  // The injected style carries the nonce the script was loaded with.
  assert.equal(await page.evaluate(() => document.querySelector('style')?.nonce), 'bm9uY2Utb2YtdGhlLXRlc3QtcnVu');
  await done(page);
});

test("panel page: the estimate's panel keeps its slot in its state, through a reload", async () => {
  const page = await panelPage();
  await page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
  const init: InitMessage = {
    type: 'init',
    kind: 'control',
    title: 'estimated accuracy',
    data: controlFixture(),
    slot: 'estimate',
  };
  await send(page, init);
  await waitRendered(page);
  const s = await state(page);
  assert.equal(s?.slot, 'estimate');
  await done(page);
  // Restored from that state, the page keeps the slot for the next reload (the extension's
  // serializer reads it to put the panel back in its slot, not in the realised chart's).
  const again = await panelPage(s);
  await waitRendered(again);
  assert.equal((await state(again))?.slot, 'estimate');
  // An init with an unknown slot is not a message of the protocol: nothing is drawn from it.
  await send(again, { ...init, title: 'bad', slot: 'other' });
  await again.waitForTimeout(200);
  assert.equal(await again.textContent('h1'), 'estimated accuracy');
  await done(again);
});

test('panel page: live control append, then an export request answered with an export message', async () => {
  const page = await panelPage();
  const values = [8, 10, 12, 9, 11, 10];
  const full = buildControlChart(
    [...values, 17].map((value) => ({ value })),
    { baseline: { mean: 10, std: 2 } },
  );
  const first = { ...full, ...sliceControlChart(full, 0, values.length) };
  assert.deepEqual(first.violations, []);
  await send(page, { type: 'init', kind: 'control', title: 'live', data: first } satisfies InitMessage);
  await waitRendered(page);
  assert.equal(((await page.evaluate(() => window.__chart.view())) as { markers: unknown[] }).markers.length, 0);
  const append: ControlAppend = { type: 'append', kind: 'control', ...sliceControlChart(full, 6) };
  await send(page, append);
  await page.waitForFunction(() => (window.__chart.view() as { points: number }).points === 7);
  const v = (await page.evaluate(() => window.__chart.view())) as {
    markers: Array<{ index: number; rules: number[] }>;
  };
  assert.deepEqual(
    v.markers.map((m) => [m.index, m.rules]),
    [[6, [1]]],
  );
  // The state keeps the data (with the appended point) for a reload.
  assert.deepEqual(((await state(page))?.data as { values: number[] }).values, [...values, 17]);

  await send(page, { type: 'export', format: 'csv' });
  await page.waitForFunction(() =>
    (window as unknown as { __posted: Array<{ type: string }> }).__posted.some((m) => m.type === 'export'),
  );
  const exp = (await posted(page)).find((m) => m.type === 'export');
  assert.ok(exp && isWebviewToHost(exp) && exp.type === 'export');
  assert.equal(exp.fileName, 'live.csv');
  assert.equal(exp.encoding, 'utf8');
  assert.equal(exp.content.trim().split('\n').length, 8);
  await page.click('#mo-save-png');
  await page.waitForFunction(() =>
    (window as unknown as { __posted: Array<{ format?: string }> }).__posted.some((m) => m.format === 'png'),
  );
  const png = (await posted(page)).find((m) => m.type === 'export' && m.format === 'png');
  assert.ok(png && png.type === 'export' && png.encoding === 'base64');
  assert.equal(Buffer.from(png.content, 'base64').subarray(1, 4).toString(), 'PNG');
  await done(page);
});

test('panel page: restores from state after a reload, colours from the VS Code theme variables', async () => {
  const data = controlFixture();
  const page = await panelPage(
    { kind: 'control', title: 'restored', data, tableVisible: true },
    {
      '--vscode-charts-red': '#ff0000',
      '--vscode-editor-background': '#1e1e1e',
      '--vscode-editor-foreground': '#d4d4d4',
    },
  );
  await waitRendered(page);
  assert.equal(await page.textContent('h1'), 'restored');
  assert.match((await page.getAttribute('.mo-table-wrap', 'class')) ?? '', /^mo-table-wrap$/);
  const svg = (await page.evaluate(() => window.__chart.svg())) as string;
  assert.match(svg, /<path class="ucl" [^>]*stroke="#ff0000"/);
  assert.match(svg, /<rect width="100%" height="100%" fill="#1e1e1e"\/>/);
  // A theme change (VS Code swaps the body class) redraws with the new colours.
  await page.evaluate(() => {
    document.documentElement.style.setProperty('--vscode-charts-red', '#00ff00');
    document.body.className = 'vscode-high-contrast';
  });
  await waitRendered(page, 2);
  assert.match((await page.evaluate(() => window.__chart.svg())) as string, /<path class="ucl" [^>]*stroke="#00ff00"/);
  await done(page);
});
