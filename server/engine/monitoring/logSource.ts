/**
 * Where a model's prediction log is read from, for any target. A `local` target's server writes
 * it into the workspace store; an `http` target (a ModelOps model server elsewhere) is asked for
 * it through its management API with the target's token and kept in
 * .modelops/monitor-cache/<target>/<model>/:
 *  - a server that lists its log files (`GET /v2/repository/models/<model>/log/files`, each file
 *    named by its first line) is mirrored file by file into `files/<id>.jsonl`, fetching only what
 *    was appended since the last read (`…/log/files/<id>?from=<bytes held>`); each read gets its own
 *    folder of hard links under `views/`, named as the server names its files, so a monitor
 *    reading one never sees a later read change it;
 *  - an older server's whole log (`GET …/log`, one JSONL stream, oldest file first) is written to
 *    `predictions.jsonl` (a download limited by `since` to its `since/` folder); once the endpoint
 *    lists its files, that download is removed an hour after it was last written.
 * Monitoring and retraining from traffic (training/fromTraffic.ts) both get a log directory here.
 */
import { chmod, copyFile, link, mkdir, open, readdir, rename, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelOpsConfig } from '../config/types';
import { ModelOpsError } from '../errors';
import { connectTarget, targetConfig } from '../deploy/deploy';
import { targetStoreDir } from '../deploy/localServer';
import type { ModelServerClient } from '../deploy/client';
import { LOG_FILE, mayHoldSince, type LogFileInfo } from '../serving/predictionLog';
import type { TokenFor } from '../deploy/tokens';
import type { Registry } from '../registry/types';

export interface LogSourceOptions {
  registry: Registry;
  config: ModelOpsConfig;
  /** Token of an http target, whose log is downloaded through the management API. */
  tokenFor?: TokenFor;
  /** False in an untrusted workspace: no authenticated call and no call to a URL the workspace names. */
  trusted?: boolean;
}

/** The log directory of a model on a local target. */
export function defaultLogDir(registry: Registry, config: ModelOpsConfig, target: string, model: string): string {
  // A target the config does not name has no log here: said, not read as an empty local log.
  const t = targetConfig(config, target);
  if (t.type !== 'local') {
    throw new ModelOpsError(
      'monitor-remote',
      `Target '${target}' is an http endpoint; its prediction log is on the endpoint, not in this workspace.`,
      `Read it through \`modelops monitor --target ${target}\` or \`modelops train --from-traffic ${target}\` (both download it), or pass the log directory.`,
    );
  }
  return join(targetStoreDir(registry.storeDir, target), 'logs', model);
}

/** Whether the endpoint wrote its buffered lines before the log was downloaded. */
export type RemoteFlush =
  | { flushed: true; dropped: number; lastError: string | null }
  /** The endpoint has no flush route (404, 405, 501) or no log (409): what it answered. */
  | { flushed: false; status: number; reason: string };

export interface RemoteLog {
  /** The directory to read the log from (the server's file names). */
  dir: string;
  /** The endpoint's URL as configured. */
  url: string;
  /** Bytes of log in `dir`: predictions and feedback lines. */
  bytes: number;
  /** Bytes fetched from the endpoint for this read (a mirrored log: only what was new). */
  downloaded: number;
  /** Null when not asked to flush. */
  flush: RemoteFlush | null;
}

let downloads = 0;

/**
 * Downloads an http target's log of `model` into the workspace store. `flush` first asks the
 * endpoint to write what it buffers (`POST /v2/repository/log/flush`), so requests it answered
 * just before are in the log; an endpoint without that route is read as it is, and `flush` says so.
 * `since` (an ISO time) downloads only the files the endpoint last wrote from then on; lines before
 * it may still be in them (and all of them from a server without the parameter), so the reader
 * filters by time. Refused in an untrusted workspace before any token is looked up or any call is made.
 */
export async function downloadRemoteLog(
  options: LogSourceOptions & { flush?: boolean; since?: string },
  target: string,
  model: string,
): Promise<RemoteLog> {
  const { registry, config } = options;
  if (options.trusted === false) {
    throw new ModelOpsError(
      'untrusted-workspace',
      `Target '${target}' is an http endpoint; its log is not downloaded in an untrusted workspace.`,
      'Trust the workspace (Manage Workspace Trust) to monitor remote endpoints.',
    );
  }
  // Never null for an http target: it throws (no url, no token) instead.
  const client = (await connectTarget({ registry, config, tokenFor: options.tokenFor ?? (() => null) }, target))!;
  const whole = join(registry.storeDir, 'monitor-cache', target, model);
  // Request data: owner only, as the server's own log.
  await mkdir(whole, { recursive: true, mode: 0o700 });
  await chmod(whole, 0o700);
  try {
    const flush = options.flush ? await client.flushLogIfSupported() : null;
    const files = await client.logFiles(model);
    if (files) return { ...(await mirrorLog(client, model, whole, files, options.since)), url: client.url, flush };
    return { ...(await downloadWhole(client, model, whole, options.since)), url: client.url, flush };
  } catch (e) {
    throw explained(e, target, client.url, model);
  }
}

/** A read folder (`views/…`) or a temporary file left this long is stale: no monitor reads that long. */
const STALE_MS = 60 * 60 * 1000;

/**
 * Brings `files/` up to the endpoint's files (only what each grew by; a file it no longer has is
 * dropped) and links the ones this read needs into a new folder under `views/`. A changed file is
 * rebuilt beside and renamed over (copy, then the new bytes), so a view made before keeps the
 * bytes it had and two reads at once each leave a whole file.
 */
async function mirrorLog(
  client: ModelServerClient,
  model: string,
  root: string,
  files: LogFileInfo[],
  since: string | undefined,
): Promise<{ dir: string; bytes: number; downloaded: number }> {
  const store = join(root, 'files');
  const views = join(root, 'views');
  for (const d of [store, views]) await mkdir(d, { recursive: true, mode: 0o700 });
  await dropStale(views, store);
  await dropWholeLog(root);
  const sinceMs = since !== undefined ? Date.parse(since) : null;
  // With `since`, only the files that may hold a line from then on are read (and fetched).
  const wanted = files.filter((f) => sinceMs === null || mayHoldSince(Date.parse(f.modified), sinceMs));
  let downloaded = 0;
  for (const f of wanted) {
    const local = join(store, `${f.id}.jsonl`);
    const have = await stat(local).then(
      (st) => st.size,
      () => 0,
    );
    if (have === f.size) continue;
    const tmp = `${local}.${process.pid}-${++downloads}.tmp`;
    try {
      // Longer here than there cannot be the same file: fetched again whole.
      const from = have < f.size ? have : 0;
      if (from > 0) await copyFile(local, tmp);
      const got = await client.downloadLogFile(model, f.id, from, tmp, { append: true });
      if (got === null) continue; // rotated out since it was listed
      downloaded += got;
      await keepWholeLines(tmp);
      await chmod(tmp, 0o600);
      await rename(tmp, local);
    } finally {
      await rm(tmp, { force: true });
    }
  }
  const listed = new Set(files.map((f) => `${f.id}.jsonl`));
  for (const name of await readdir(store))
    if (name.endsWith('.jsonl') && !listed.has(name)) await rm(join(store, name), { force: true });
  // The view: the newest file is predictions.jsonl, the one before predictions.1.jsonl, … as the server names them.
  const dir = join(views, `${Date.now()}-${process.pid}-${++downloads}`);
  await mkdir(dir, { mode: 0o700 });
  let bytes = 0;
  const present: LogFileInfo[] = [];
  for (const f of wanted) if (await stat(join(store, `${f.id}.jsonl`)).catch(() => null)) present.push(f);
  for (let i = 0; i < present.length; i++) {
    const k = present.length - 1 - i;
    const src = join(store, `${present[i].id}.jsonl`);
    const dst = join(dir, k === 0 ? LOG_FILE : `predictions.${k}.jsonl`);
    // A hard link costs nothing; a file system without them gets a copy.
    await link(src, dst).catch(() => copyFile(src, dst));
    bytes += (await stat(dst)).size;
  }
  return { dir, bytes, downloaded };
}

/** Cuts a fetched file after its last newline: a line cut mid-way is fetched whole next time. */
async function keepWholeLines(file: string): Promise<void> {
  const { size } = await stat(file);
  if (size === 0) return;
  const fh = await open(file, 'r');
  try {
    const tail = Buffer.alloc(Math.min(size, 64 * 1024));
    let end = size;
    while (end > 0) {
      const n = Math.min(tail.length, end);
      await fh.read(tail, 0, n, end - n);
      const nl = tail.subarray(0, n).lastIndexOf(10);
      if (nl >= 0) {
        end = end - n + nl + 1;
        break;
      }
      end -= n;
    }
    if (end < size) await truncate(file, end);
  } finally {
    await fh.close();
  }
}

/** Removes read folders and temporary files older than STALE_MS (a process that stopped mid-read left them). */
async function dropStale(views: string, store: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(views)) {
    const p = join(views, name);
    const st = await stat(p).catch(() => null);
    if (st && now - st.mtimeMs > STALE_MS) await rm(p, { recursive: true, force: true });
  }
  for (const name of await readdir(store)) {
    if (!name.endsWith('.tmp')) continue;
    const p = join(store, name);
    const st = await stat(p).catch(() => null);
    if (st && now - st.mtimeMs > STALE_MS) await rm(p, { force: true });
  }
}

/**
 * The whole-log download of an older server (`predictions.jsonl`, `since/`), left beside the mirror
 * once the endpoint lists its files: removed when stale, as no read uses it any more.
 */
async function dropWholeLog(root: string): Promise<void> {
  const now = Date.now();
  for (const name of [LOG_FILE, 'since']) {
    const p = join(root, name);
    const st = await stat(p).catch(() => null);
    if (st && now - st.mtimeMs > STALE_MS) await rm(p, { recursive: true, force: true });
  }
}

/** An older server's whole log, one stream, into `predictions.jsonl` (with `since`, into `since/`). */
async function downloadWhole(
  client: ModelServerClient,
  model: string,
  whole: string,
  since: string | undefined,
): Promise<{ dir: string; bytes: number; downloaded: number }> {
  // A download limited by `since` has its own folder, never replacing the whole log a monitor may be reading.
  const dir = since !== undefined ? join(whole, 'since') : whole;
  const file = join(dir, LOG_FILE);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  // Written beside and renamed over, so a monitor or retrain reading the last download never sees half of this one.
  const tmp = `${file}.${process.pid}-${++downloads}.tmp`;
  try {
    const bytes = await client.downloadLog(model, tmp, { since });
    await chmod(tmp, 0o600);
    await rename(tmp, file);
    return { dir, bytes, downloaded: bytes };
  } finally {
    await rm(tmp, { force: true });
  }
}

/** The client's errors name the call; this says what it means for reading the log and what to do. */
function explained(e: unknown, target: string, url: string, model: string): unknown {
  if (!(e instanceof ModelOpsError)) return e;
  if (e.code === 'endpoint-unreachable' || e.code === 'endpoint-timeout')
    return new ModelOpsError(
      e.code,
      `${e.message} The prediction log of ${model} is downloaded from the endpoint, so nothing could be read.`,
      `Start the model server at ${url} (or fix deploy.targets.${target}.url), then try again.`,
    );
  if (e.code === 'endpoint-error' || e.code === 'endpoint-bad-response')
    return new ModelOpsError(
      e.code,
      `${e.message.replace(/\.?$/, '.')} No prediction log of ${model} could be downloaded from it.`,
      `The endpoint must be a ModelOps model server with its prediction log on (modelops serve without --no-log); check deploy.targets.${target}.url, or see the endpoint’s log.`,
    );
  return e;
}

/** Where a read of the log came from: an http target's URL, the bytes read and of them those fetched now. */
export interface RemoteRead {
  url: string;
  bytes: number;
  fetched: number;
}

/** Local targets: the server's own log directory. http targets: the copy, brought up to date. */
export async function logSourceFor(
  options: LogSourceOptions,
  target: string,
  model: string,
  /** ISO time: a remote log sends only the files written since then (the reader filters the lines). */
  since?: string,
): Promise<{ dir: string; remote: RemoteRead | null }> {
  const { registry, config } = options;
  if (targetConfig(config, target).type === 'local')
    return { dir: defaultLogDir(registry, config, target, model), remote: null };
  const r = await downloadRemoteLog({ ...options, ...(since !== undefined ? { since } : {}) }, target, model);
  return { dir: r.dir, remote: { url: r.url, bytes: r.bytes, fetched: r.downloaded } };
}
