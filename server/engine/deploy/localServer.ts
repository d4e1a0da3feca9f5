/**
 * The `local` target: a `modelops serve` child process that outlives whoever started it.
 * `.modelops/serving/<target>.json` records its pid and port so later calls find it again;
 * its store (bundles, state, prediction logs) is `.modelops/serving/<target>/`.
 */
import { spawn } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelOpsError } from '../errors';
import { checkTargetName } from './names';
import { identityProof } from '../serving/identity';
import type { ServerRecord } from '../serving/types';
import { ModelServerClient } from './client';
import { portInUse } from '../net';

/** How to start `modelops serve`: the executable and the arguments before `serve`. */
export interface ServeCommand {
  execPath: string;
  args: string[];
}

export function servingDir(storeDir: string): string {
  return join(storeDir, 'serving');
}

export function recordPath(storeDir: string, target: string): string {
  return join(servingDir(storeDir), `${checkTargetName(target)}.json`);
}

export function targetStoreDir(storeDir: string, target: string): string {
  return join(servingDir(storeDir), checkTargetName(target));
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

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);

/**
 * The URL at which the local server of a target must answer: loopback, on the configured port. A
 * server bound to a wildcard address is reached through 127.0.0.1; a non-loopback host is refused,
 * because a token sent there would leave this machine.
 */
export function localUrl(target: string, host = '127.0.0.1', port = 8765): string {
  const h = host.toLowerCase();
  if (WILDCARD.has(h)) return `http://127.0.0.1:${port}`;
  if (!LOOPBACK.has(h)) {
    throw new ModelOpsError(
      'local-host',
      `deploy.targets.${target}.host is '${host}': a local target is reached on a loopback address only.`,
      `Use host: 127.0.0.1 (or 0.0.0.0 to also serve other machines, reached here through 127.0.0.1), or an http target for a remote server.`,
    );
  }
  return `http://${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port}`;
}

/**
 * Whether the server at `url` is our model server holding `token`: it must answer a fresh nonce
 * with HMAC(token, nonce:port) for the port we connected to. A process that merely claims a pid in
 * a committed .modelops/serving/<target>.json, or relays to the real server from another port,
 * cannot. Returns the server's pid, or null. The token itself never leaves this process.
 */
export async function verifyLocalServer(url: string, token: string, timeoutMs = 2000): Promise<{ pid: number } | null> {
  const nonce = randomBytes(24).toString('hex');
  const port = Number(new URL(url).port);
  try {
    const res = await fetch(`${url}/v2/modelops/identity?nonce=${nonce}`, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
    if (res.status !== 200) return null;
    const body = (await res.json()) as { server?: unknown; pid?: unknown; port?: unknown; proof?: unknown };
    if (
      body?.server !== 'modelops' ||
      typeof body.proof !== 'string' ||
      typeof body.pid !== 'number' ||
      body.port !== port
    )
      return null;
    const expected = Buffer.from(identityProof(token, nonce, port), 'hex');
    const got = Buffer.from(body.proof, 'hex');
    return got.length === expected.length && timingSafeEqual(got, expected) ? { pid: body.pid } : null;
  } catch {
    return null;
  }
}

/**
 * The record of a target's server, if it is one we may talk to: its URL is the loopback URL the
 * config gives (any port when the config says 0, as tests do) and its process is alive. Whether
 * it really is our server is proved separately (verifyLocalServer).
 */
export function checkedRecord(storeDir: string, target: string, expectedUrl: string): ServerRecord | null {
  const rec = readServerRecord(storeDir, target);
  if (!rec || typeof rec.pid !== 'number' || !Number.isInteger(rec.pid) || rec.pid <= 0 || typeof rec.url !== 'string')
    return null;
  let host: string;
  let port: string;
  try {
    const u = new URL(rec.url);
    if (u.protocol !== 'http:' || u.pathname !== '/' || u.username || u.password) return null;
    host = WILDCARD.has(u.hostname) ? '127.0.0.1' : u.hostname;
    port = u.port;
  } catch {
    return null;
  }
  const want = new URL(expectedUrl);
  if (!LOOPBACK.has(host) || host !== want.hostname || (want.port !== '0' && port !== want.port)) return null;
  if (!alive(rec.pid)) return null;
  return { ...rec, url: `http://${host}:${port}` };
}

function tokenFile(storeDir: string, target: string): string {
  return join(servingDir(storeDir), `${checkTargetName(target)}.token`);
}

/**
 * The token of a local target when none is configured, as kept in
 * `.modelops/serving/<target>.token` (mode 600, outside the registry and the config); null when
 * there is none yet. A token file that others can read (a committed one, say) is refused: its
 * token may be known to them.
 */
export function readLocalToken(storeDir: string, target: string): string | null {
  const file = tokenFile(storeDir, target);
  if (!existsSync(file)) return null;
  const st = statSync(file);
  if ((st.mode & 0o077) !== 0 || (typeof process.getuid === 'function' && st.uid !== process.getuid())) {
    throw new ModelOpsError(
      'token-file-exposed',
      `${file} can be read by other users (mode ${(st.mode & 0o777).toString(8)}) or belongs to another user, so its management token may be known to others.`,
      `Delete it (and stop the server that uses it: the pid in ${recordPath(storeDir, target)}); a new private token is made on the next deploy. Never commit .modelops/.`,
    );
  }
  return readFileSync(file, 'utf8').trim() || null;
}

/** The local target's token, made (random, mode 600) on first use. */
export function localToken(storeDir: string, target: string): string {
  const existing = readLocalToken(storeDir, target);
  if (existing) return existing;
  mkdirSync(servingDir(storeDir), { recursive: true, mode: 0o700 });
  const t = randomBytes(24).toString('base64url');
  const file = tokenFile(storeDir, target);
  writeFileSync(file, t + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return t;
}

/** The built CLI next to this bundle (dist/), or dist/cli.js of the checkout when run from source. */
export function defaultServeCommand(): ServeCommand {
  const candidates = [join(__dirname, 'cli.js'), join(__dirname, '..', '..', '..', 'dist', 'cli.js')];
  const cli = candidates.find((c) => existsSync(c));
  if (!cli)
    throw new ModelOpsError(
      'cli-missing',
      `Cannot find the modelops CLI (looked for ${candidates.join(', ')}).`,
      'Run `npm run build` first.',
    );
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
export async function ensureLocalServer(
  options: EnsureLocalOptions,
): Promise<{ url: string; record: ServerRecord; started: boolean }> {
  const { storeDir, target } = options;
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8765;
  const url = localUrl(target, host, port);
  const existing = checkedRecord(storeDir, target, url);
  const impostor = (at: string, pid: number | null): ModelOpsError =>
    new ModelOpsError(
      'local-server-identity',
      `The process at ${at} for target '${target}' cannot prove it is this workspace's model server, so nothing was sent to it.`,
      `Stop the program on port ${new URL(at).port}${pid ? ` (its record ${recordPath(storeDir, target)} names pid ${pid})` : ''}, or change deploy.targets.${target}.port.`,
    );
  if (existing) {
    const client = new ModelServerClient({ target, url: existing.url, token: null });
    if (await client.live(2000)) {
      const identity = await verifyLocalServer(existing.url, options.token);
      if (!identity) throw impostor(existing.url, existing.pid);
      // A server started moments ago (by another window or the CLI) may still be reloading.
      const until = Date.now() + (options.startTimeoutMs ?? 30_000);
      while (!(await client.ready(2000)) && Date.now() < until) await sleep(50);
      return { url: existing.url, record: { ...existing, pid: identity.pid }, started: false };
    }
  }
  // Something holds the port but did not answer as our server (a slow or foreign process):
  // refuse here rather than start a child that can only fail to bind.
  if (port !== 0 && (await portInUse(host, port))) throw impostor(url, existing?.pid ?? null);
  const command = options.command ?? defaultServeCommand();
  const dir = servingDir(storeDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const logPath = join(dir, `${checkTargetName(target)}.log`);
  const out = openSync(logPath, 'a', 0o600);
  const args = [
    ...command.args,
    'serve',
    '--host',
    host,
    '--port',
    String(port),
    '--store',
    targetStoreDir(storeDir, target),
    '--token-env',
    'MODELOPS_SERVE_TOKEN',
    '--record',
    recordPath(storeDir, target),
  ];
  // The token travels in the environment, never on the command line (visible in `ps`).
  const child = spawn(command.execPath, args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, MODELOPS_SERVE_TOKEN: options.token },
  });
  closeSync(out);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  child.unref();
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (exited !== null) break;
    const rec = checkedRecord(storeDir, target, url);
    // Ready, not just live: a restarted server reloads the versions it held before it is
    // ready, and a deploy must see them loaded rather than load them a second time. And
    // proven: the process on that port must hold the token we gave our child.
    if (
      rec &&
      rec.pid === child.pid &&
      (await new ModelServerClient({ target, url: rec.url, token: null }).ready(2000))
    ) {
      if (await verifyLocalServer(rec.url, options.token)) return { url: rec.url, record: rec, started: true };
      break;
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

/**
 * Stops the local server of a target (tests, the demo). Only a process that proves it is our
 * server is signalled: a committed record naming some other pid never gets a process killed.
 */
export async function stopLocalServer(storeDir: string, target: string, token?: string): Promise<boolean> {
  const rec = readServerRecord(storeDir, target);
  if (!rec || typeof rec.url !== 'string') return false;
  let tok: string | null = token ?? null;
  try {
    tok ??= readLocalToken(storeDir, target);
  } catch {
    return false;
  }
  const identity = tok ? await verifyLocalServer(rec.url, tok) : null;
  const pid = identity?.pid ?? null;
  if (pid === null || pid !== rec.pid || !alive(pid)) return false;
  process.kill(pid, 'SIGTERM');
  return true;
}
