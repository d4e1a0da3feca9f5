/**
 * Headless Chromium for the chart tests and benchmark: builds the webview bundle fresh (same
 * esbuild options as esbuild.mjs) and serves pages on a fake origin through request routing,
 * so nothing listens on a port and nothing reaches the network.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { after, before } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = resolve(__dirname, '../..');
export const RESULTS = join(ROOT, 'test-results', 'webview');
export const ORIGIN = 'https://webview.modelops.test';

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}; the webview tests need it. Install it with: apt-get update && apt-get install -y chromium`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Builds webview/main.ts into a temp dir; returns the bundle path and a cleanup function. */
export async function buildBundle(): Promise<{ path: string; dispose(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-webview-'));
  await esbuild.build({
    entryPoints: { webview: join(ROOT, 'webview/main.ts') },
    outdir: dir,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify: true,
    loader: { '.css': 'text' },
    logLevel: 'silent',
  });
  return { path: join(dir, 'webview.js'), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface PageProblems {
  errors: string[];
  cspViolations: string[];
}

/** Opens `html` at ORIGIN/index.html (plus any extra routed files) and collects errors. */
export async function openPage(
  browser: Browser,
  html: string,
  files: Record<string, { body: string; type: string }> = {},
  viewport = { width: 1000, height: 800 },
): Promise<{ page: Page; problems: PageProblems }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems: PageProblems = { errors: [], cspViolations: [] };
  page.on('pageerror', (e) => problems.errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.errors.push(m.text());
  });
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.origin !== ORIGIN) return route.abort();
    if (url.pathname === '/index.html') return route.fulfill({ body: html, contentType: 'text/html; charset=utf-8' });
    const f = files[url.pathname];
    if (f) return route.fulfill({ body: f.body, contentType: f.type });
    return route.fulfill({ status: 404, body: 'not found' });
  });
  // tsx compiles test callbacks with esbuild's keepNames, whose __name helper must exist in the page.
  await page.addInitScript('window.__name = (f) => f;');
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { __csp: string[] }).__csp ??= [];
      (window as unknown as { __csp: string[] }).__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  await page.goto(`${ORIGIN}/index.html`);
  return { page, problems };
}

export async function waitRendered(page: Page, renders = 1): Promise<void> {
  await page.waitForFunction((n) => (window.__chart?.renders ?? 0) >= n, renders, { timeout: 10_000 });
}

export async function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, `${name}.png`), fullPage: true });
}

export interface ChromiumContext {
  browser: Browser;
  bundle: { path: string; dispose(): void };
}

/**
 * One fresh webview bundle and one Chromium per test file, closed when the file is done.
 * `setup` runs in the same hook once both are there (hooks of one file do not wait on each other).
 */
export function useChromium(setup?: (ctx: ChromiumContext) => Promise<void> | void): ChromiumContext {
  const ctx = {} as ChromiumContext;
  before(async () => {
    ctx.bundle = await buildBundle();
    ctx.browser = await launch();
    await setup?.(ctx);
  });
  after(async () => {
    await ctx.browser?.close();
    ctx.bundle?.dispose();
  });
  return ctx;
}
