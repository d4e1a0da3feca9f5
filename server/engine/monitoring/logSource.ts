/**
 * Where a model's prediction log is read from, for any target. A `local` target's server writes
 * it into the workspace store; an `http` target (a ModelOps model server elsewhere) is asked for
 * it through its management API (`GET /v2/repository/models/<model>/log`: the prediction and
 * feedback lines of every log file, oldest first, as one JSONL stream; with `?since=` the files
 * last written before that time are left out) with the target's token, and it is written to
 * .modelops/monitor-cache/<target>/<model>/ (a download limited by `since` to its `since/`
 * folder, so a monitor never reads a part of the log). Monitoring and retraining from traffic
 * (training/fromTraffic.ts) both get a log directory here.
 */
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelOpsConfig } from '../config/types';
import { ModelOpsError } from '../errors';
import { connectTarget } from '../deploy/deploy';
import { targetStoreDir } from '../deploy/localServer';
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
  const t = config.deploy?.targets?.[target];
  if (t && t.type !== 'local') {
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
  /** The directory the log was written to (one predictions.jsonl). */
  dir: string;
  /** The endpoint's URL as configured. */
  url: string;
  /** Bytes downloaded: predictions and feedback lines. */
  bytes: number;
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
  // A download limited by `since` has its own folder, never replacing the whole log a monitor may be reading.
  const dir = options.since !== undefined ? join(whole, 'since') : whole;
  const file = join(dir, 'predictions.jsonl');
  // Request data: owner only, as the server's own log.
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const d of new Set([whole, dir])) await chmod(d, 0o700);
  // Written beside and renamed over, so a monitor or retrain reading the last download never sees half of this one.
  const tmp = `${file}.${process.pid}-${++downloads}.tmp`;
  try {
    const flush = options.flush ? await client.flushLogIfSupported() : null;
    const bytes = await client.downloadLog(model, tmp, { since: options.since });
    await chmod(tmp, 0o600);
    await rename(tmp, file);
    return { dir, url: client.url, bytes, flush };
  } catch (e) {
    throw explained(e, target, client.url, model);
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

/** Local targets: the server's own log directory. http targets: a fresh download of the log. */
export async function logDirFor(
  options: LogSourceOptions,
  target: string,
  model: string,
  /** ISO time: a remote log sends only the files written since then (the reader filters the lines). */
  since?: string,
): Promise<string> {
  const { registry, config } = options;
  const t = config.deploy?.targets?.[target];
  if (!t || t.type === 'local') return defaultLogDir(registry, config, target, model);
  return (await downloadRemoteLog({ ...options, ...(since !== undefined ? { since } : {}) }, target, model)).dir;
}
