/**
 * A real VS Code for end-to-end tests: code-server 4.100.3 (VS Code 1.100, installed by
 * scripts/setup-code-server.sh into .cache/code-server) driven by headless Chromium through
 * playwright-core. Everything lives in a temp folder: extensions, user data, the workspace.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from '../../server/engine/net';

export const ROOT = resolve(__dirname, '..', '..');
export const RESULTS = join(ROOT, 'test-results', 'e2e');
const CODE_SERVER_DIR = process.env.MODELOPS_CODE_SERVER_DIR ?? join(ROOT, '.cache', 'code-server');
const ENTRY = join(CODE_SERVER_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function findVsix(): string {
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const vsix = readdirSync(ROOT).find((f) => f.startsWith(`modelops-${version}-`) && f.endsWith('.vsix'));
  if (!vsix)
    throw new Error(`no modelops-${version}-<target>.vsix in ${ROOT}: run \`npm run package\` (npm run test:e2e does)`);
  return join(ROOT, vsix);
}

export function checkPrerequisites(): void {
  if (!existsSync(ENTRY))
    throw new Error(`code-server is not installed at ${CODE_SERVER_DIR}: run \`bash scripts/setup-code-server.sh\``);
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or set CHROMIUM_PATH)`);
}

export { freePort };

export interface Workbench {
  page: Page;
  /** The workspace folder opened in the workbench. */
  folder: string;
  /** The extension's own log file (LogOutputChannel "ModelOps"), once it exists. */
  extensionLog(): string;
  /** Process ids of the sidecars started from the installed extension (Linux /proc). */
  sidecarPids(): number[];
  screenshot(name: string): Promise<void>;
  /** Merges `patch` into the user settings.json; the workbench applies it live. */
  setSettings(patch: Record<string, unknown>): void;
  /** Switches the colour theme (Dark Modern / Light Modern) and waits until the workbench shows it. */
  setTheme(kind: 'dark' | 'light'): Promise<void>;
  close(): Promise<void>;
}

export interface WorkbenchOptions {
  /** Prefix of the log files written to test-results/e2e/. */
  name: string;
  /** Prepares the workspace folder (already holding a copy of examples/sample). */
  prepare?(folder: string): void;
  settings?: Record<string, unknown>;
}

/** Installs the vsix into a fresh extensions dir, starts code-server and opens the folder in Chromium. */
export async function openWorkbench(options: WorkbenchOptions): Promise<Workbench> {
  checkPrerequisites();
  const vsix = findVsix();
  mkdirSync(RESULTS, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'modelops-e2e-'));
  const extensions = join(tmp, 'extensions');
  const userData = join(tmp, 'user-data');
  const folder = join(tmp, 'workspace');
  const config = join(tmp, 'code-server.yaml');
  mkdirSync(join(userData, 'User'), { recursive: true });
  cpSync(join(ROOT, 'examples', 'sample'), folder, { recursive: true });
  options.prepare?.(folder);
  writeFileSync(config, 'auth: none\ncert: false\n');
  writeFileSync(
    join(userData, 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'telemetry.telemetryLevel': 'off',
        'security.workspace.trust.enabled': true,
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'workbench.tips.enabled': false,
        'update.mode': 'none',
        ...options.settings,
      },
      null,
      2,
    ),
  );
  // Keep code-server's own state out of the user's home.
  const env = {
    ...process.env,
    XDG_CONFIG_HOME: join(tmp, 'xdg-config'),
    XDG_DATA_HOME: join(tmp, 'xdg-data'),
    XDG_CACHE_HOME: join(tmp, 'xdg-cache'),
  };
  const common = ['--config', config, '--extensions-dir', extensions, '--user-data-dir', userData];

  const install = spawnSync(process.execPath, [ENTRY, ...common, '--install-extension', vsix], {
    env,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (install.status !== 0 || !/successfully installed/.test(install.stdout)) {
    throw new Error(`installing ${vsix} failed:\n${install.stdout}\n${install.stderr}`);
  }

  const port = await freePort();
  const log: string[] = [];
  // Its own process group, so closing ends code-server, its extension host and our sidecar.
  const server: ChildProcess = spawn(
    process.execPath,
    [
      ENTRY,
      ...common,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      folder,
    ],
    { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server.stdout?.on('data', (d: Buffer) => log.push(d.toString()));
  server.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
  await waitFor(
    () => log.join('').includes('HTTP server listening'),
    60_000,
    () => `code-server did not start:\n${log.join('')}`,
  );

  let browser: Browser | undefined;
  const stopAll = async (): Promise<void> => {
    await browser?.close().catch(() => undefined);
    if (server.pid && server.exitCode === null) {
      try {
        process.kill(-server.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      await Promise.race([new Promise((r) => server.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    // Servers our deploys started run detached (they outlive the sidecar by design): end
    // every process whose command line points into this test's temp folder.
    for (const pid of processesMentioning(tmp)) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
    writeFileSync(join(RESULTS, `${options.name}-code-server.log`), log.join(''));
  };

  try {
    browser = await chromium.launch({
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
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
    const extensionLog = (): string => {
      const logs = join(userData, 'logs');
      const found: string[] = [];
      const walk = (dir: string): void => {
        if (!existsSync(dir)) return;
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          const p = join(dir, e.name);
          if (e.isDirectory()) walk(p);
          else if (e.name === 'ModelOps.log') found.push(p);
        }
      };
      walk(logs);
      return found.map((f) => readFileSync(f, 'utf8')).join('\n');
    };
    const sidecarPids = (): number[] => {
      const pids: number[] = [];
      for (const name of readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        try {
          const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
          if (cmd.some((a) => a.startsWith(extensions) && a.endsWith(join('dist', 'server.js'))))
            pids.push(Number(name));
        } catch {
          // The process ended while we looked.
        }
      }
      return pids;
    };
    const setSettings = (patch: Record<string, unknown>): void => {
      const file = join(userData, 'User', 'settings.json');
      const current = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      writeFileSync(file, JSON.stringify({ ...current, ...patch }, null, 2));
    };
    return {
      page,
      folder,
      extensionLog,
      sidecarPids,
      async screenshot(name) {
        await page.screenshot({ path: join(RESULTS, `${options.name}-${name}.png`) });
      },
      setSettings,
      async setTheme(kind) {
        // The workbench root carries the theme type as a class: vs (light) or vs-dark.
        const applied = page.locator(kind === 'dark' ? '.monaco-workbench.vs-dark' : '.monaco-workbench.vs').first();
        if ((await applied.count()) > 0) return;
        // Through the theme picker, as a user would (code-server does not re-read an edited settings.json at once).
        await page.keyboard.press('F1');
        const input = page.locator('.quick-input-widget input');
        await input.waitFor({ timeout: 10_000 });
        await input.fill('>Preferences: Color Theme');
        // By its exact label: "Browse Color Themes in Marketplace" may be the first row.
        await page
          .locator('.quick-input-list .monaco-list-row[aria-label^="Preferences: Color Theme"]')
          .first()
          .click({ timeout: 10_000 });
        const name = kind === 'dark' ? 'Dark Modern' : 'Light Modern';
        await page
          .locator('.quick-input-list .monaco-list-row', { hasText: name })
          .first()
          .waitFor({ state: 'attached', timeout: 10_000 });
        await input.fill(name);
        await page
          .locator('.quick-input-list .monaco-list-row.focused', { hasText: name })
          .first()
          .waitFor({ state: 'attached', timeout: 10_000 });
        await page.keyboard.press('Enter');
        await applied.waitFor({ timeout: 30_000 });
      },
      async close() {
        // The last state of the window, most useful when a step failed.
        await page.screenshot({ path: join(RESULTS, `${options.name}-final.png`) }).catch(() => undefined);
        const extLog = extensionLog();
        if (extLog) writeFileSync(join(RESULTS, `${options.name}-ModelOps.log`), extLog);
        await stopAll();
        rmSync(tmp, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Linux: ids of processes whose command line contains `text`. */
export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) pids.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

export async function waitFor(cond: () => boolean, timeoutMs: number, message: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(message());
    await new Promise((r) => setTimeout(r, 100));
  }
}
