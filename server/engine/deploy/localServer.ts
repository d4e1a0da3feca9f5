/**
 * The `local` target: a `modelops serve` child process that outlives whoever started it.
 * `.modelops/serving/<target>.json` records its pid and port so later calls find it again;
 * its store (bundles, state, prediction logs) is `.modelops/serving/<target>/`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelOpsError } from '../errors';
import type { ServerRecord } from '../serving/types';
import { ModelServerClient } from './client';

/** How to start `modelops serve`: the executable and the arguments before `serve`. */
export interface ServeCommand {
  execPath: string;
  args: string[];
}

export function servingDir(storeDir: string): string {
  return join(storeDir, 'serving');
}

export function recordPath(storeDir: string, target: string): string {
  return join(servingDir(storeDir), `${target}.json`);
}

export function targetStoreDir(storeDir: string, target: string): string {
  return join(servingDir(storeDir), target);
}

export function readServerRecord(storeDir: string, target: string): ServerRecord | null {
  try {
    return JSON.parse(readFileSync(recordPath(storeDir, target), 'utf8')) as ServerRecord;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The token of a local target when none is configured: random, kept in
 * `.modelops/serving/<target>.token` (mode 600, outside the registry and the config).
 */
export function localToken(storeDir: string, target: string): string {
  const file = join(servingDir(storeDir), `${target}.token`);
  if (existsSync(file)) {
    const t = readFileSync(file, 'utf8').trim();
    if (t) return t;
  }
  mkdirSync(servingDir(storeDir), { recursive: true });
  const t = randomBytes(24).toString('base64url');
  writeFileSync(file, t + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return t;
}

/** The built CLI next to this bundle (dist/), or dist/cli.js of the checkout when run from source. */
export function defaultServeCommand(): ServeCommand {
  const candidates = [join(__dirname, 'cli.js'), join(__dirname, '..', '..', '..', 'dist', 'cli.js')];
  const cli = candidates.find((c) => existsSync(c));
  if (!cli) throw new ModelOpsError('cli-missing', `Cannot find the modelops CLI (looked for ${candidates.join(', ')}).`, 'Run `npm run build` first.');
  return { execPath: process.execPath, args: [cli] };
}

export interface EnsureLocalOptions {
  storeDir: string;
  target: string;
  host?: string;
  port?: number;
  token: string;
  command?: ServeCommand;
  startTimeoutMs?: number;
}

/** Finds the running local server of a target, or starts one. */
export async function ensureLocalServer(options: EnsureLocalOptions): Promise<{ url: string; record: ServerRecord; started: boolean }> {
  const { storeDir, target } = options;
  const existing = readServerRecord(storeDir, target);
  if (existing && alive(existing.pid)) {
    const client = new ModelServerClient({ target, url: existing.url, token: null });
    if (await client.live(2000)) {
      // A server started moments ago (by another window or the CLI) may still be reloading.
      const until = Date.now() + (options.startTimeoutMs ?? 30_000);
      while (!(await client.ready(2000)) && Date.now() < until) await sleep(50);
      return { url: existing.url, record: existing, started: false };
    }
  }
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8765;
  const command = options.command ?? defaultServeCommand();
  const dir = servingDir(storeDir);
  mkdirSync(dir, { recursive: true });
  const logPath = join(dir, `${target}.log`);
  const out = openSync(logPath, 'a');
  const args = [
    ...command.args,
    'serve',
    '--host', host,
    '--port', String(port),
    '--store', targetStoreDir(storeDir, target),
    '--token-env', 'MODELOPS_SERVE_TOKEN',
    '--record', recordPath(storeDir, target),
  ];
  // The token travels in the environment, never on the command line (visible in `ps`).
  const child = spawn(command.execPath, args, { detached: true, stdio: ['ignore', out, out], env: { ...process.env, MODELOPS_SERVE_TOKEN: options.token } });
  closeSync(out);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  child.unref();
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (exited !== null) break;
    const rec = readServerRecord(storeDir, target);
    // Ready, not just live: a restarted server reloads the versions it held before it is
    // ready, and a deploy must see them loaded rather than load them a second time.
    if (rec && rec.pid === child.pid && (await new ModelServerClient({ target, url: rec.url, token: null }).ready(2000))) {
      return { url: rec.url, record: rec, started: true };
    }
    await sleep(50);
  }
  if (exited === null && child.pid) {
    try {
      process.kill(child.pid);
    } catch {
      /* already gone */
    }
  }
  const tail = existsSync(logPath) ? readFileSync(logPath, 'utf8').trim().split('\n').slice(-5).join(' | ') : '';
  throw new ModelOpsError(
    'local-server-start',
    `The local model server for target '${target}' (${host}:${port}) did not start${exited !== null ? ` (exit code ${exited})` : ' in time'}${tail ? `: ${tail}` : ''}.`,
    `See ${logPath}. Another program may hold port ${port}; change deploy.targets.${target}.port.`,
  );
}

/** Stops the local server of a target (tests, `modelops serve --stop` style tools). */
export function stopLocalServer(storeDir: string, target: string): boolean {
  const rec = readServerRecord(storeDir, target);
  if (!rec || !alive(rec.pid)) return false;
  process.kill(rec.pid, 'SIGTERM');
  return true;
}
