/**
 * HTTP client of a model server (ours or any server implementing docs/serving-api.md). Every
 * call has a timeout; errors name the target and URL, never the token.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ModelOpsError } from '../errors';
import type { RepositoryEntry, V2InferResponse } from '../serving/types';
import type { LogFileInfo } from '../serving/predictionLog';
import { envName } from './tokens';

export interface ClientOptions {
  /** Target name from the config, for messages. */
  target: string;
  url: string;
  token: string | null;
  /** Per-call timeout, default 15 s. */
  timeoutMs?: number;
  /** Timeout for load calls (model upload and load), default 120 s. */
  loadTimeoutMs?: number;
}

export interface ModelInfo {
  name: string;
  active: string | null;
  previous: string | null;
  versions: string[];
}

export class ModelServerClient {
  readonly target: string;
  readonly url: string;
  private readonly token: string | null;
  private readonly timeoutMs: number;
  private readonly loadTimeoutMs: number;

  constructor(options: ClientOptions) {
    this.target = options.target;
    this.url = options.url.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.loadTimeoutMs = options.loadTimeoutMs ?? 120_000;
  }

  /** Sends a request; returns status and parsed JSON (or null). Throws on network failure or timeout. */
  async raw(
    method: string,
    path: string,
    body?: unknown,
    opts: { timeoutMs?: number } = {},
  ): Promise<{ status: number; json: unknown }> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    // Every call carries the token when there is one: a server bound beyond loopback wants it on
    // every route, and redirects are refused, so it stays on this origin.
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      // Redirects are never followed: a token bound to this origin must not travel to another.
      res = await fetch(this.url + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const timedOut = err.name === 'TimeoutError' || err.name === 'AbortError';
      const reason = timedOut
        ? `no answer within ${timeoutMs} ms`
        : (err.cause?.code ?? err.cause?.message ?? err.message);
      throw new ModelOpsError(
        timedOut ? 'endpoint-timeout' : 'endpoint-unreachable',
        `Target '${this.target}' at ${this.url} did not answer ${method} ${path}: ${reason}.`,
        timedOut
          ? 'The endpoint is slow or stuck; check it and try again.'
          : 'Check that the endpoint is running and the URL in deploy.targets is right.',
      );
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => undefined);
      throw new ModelOpsError(
        'endpoint-redirect',
        `Target '${this.target}' at ${this.url} answered ${method} ${path} with a redirect (${res.status}) to ${safeLocation(res.headers.get('location'))}; ModelOps does not follow redirects.`,
        `Put the final URL in deploy.targets.${this.target}.url.`,
      );
    }
    let text: string;
    try {
      text = await res.text();
    } catch {
      throw new ModelOpsError(
        'endpoint-timeout',
        `Target '${this.target}' at ${this.url} stopped answering ${method} ${path} mid-response.`,
        'Check the endpoint and try again.',
      );
    }
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, json };
  }

  private async call<T>(method: string, path: string, body?: unknown, opts: { timeoutMs?: number } = {}): Promise<T> {
    const { status, json } = await this.raw(method, path, body, opts);
    if (status >= 200 && status < 300) return json as T;
    const error =
      typeof (json as { error?: unknown } | null)?.error === 'string'
        ? (json as { error: string }).error
        : `HTTP ${status}`;
    const hint =
      status === 401
        ? `Set the endpoint token: "ModelOps: Set Endpoint Token" in the editor, or MODELOPS_TOKEN_${envName(this.target)} for the CLI.`
        : status === 403
          ? `The endpoint refused the token; set the right one ("ModelOps: Set Endpoint Token", or MODELOPS_TOKEN_${envName(this.target)}).`
          : 'See the endpoint’s log for details.';
    throw new ModelOpsError(
      status === 401 || status === 403 ? 'endpoint-auth' : 'endpoint-error',
      `Target '${this.target}' at ${this.url} answered ${status} to ${method} ${path}: ${error}`,
      hint,
    );
  }

  async live(timeoutMs?: number): Promise<boolean> {
    try {
      return (await this.raw('GET', '/v2/health/live', undefined, { timeoutMs })).status === 200;
    } catch {
      return false;
    }
  }

  async ready(timeoutMs?: number): Promise<boolean> {
    try {
      return (await this.raw('GET', '/v2/health/ready', undefined, { timeoutMs })).status === 200;
    } catch {
      return false;
    }
  }

  async index(): Promise<RepositoryEntry[]> {
    const json = await this.call<unknown>('GET', '/v2/repository/index');
    if (
      !Array.isArray(json) ||
      !json.every(
        (e) =>
          isObject(e) && typeof e.name === 'string' && typeof e.version === 'string' && typeof e.state === 'string',
      )
    ) {
      throw this.badAnswer('GET /v2/repository/index', 'a list of {name, version, state}');
    }
    return json as RepositoryEntry[];
  }

  private badAnswer(call: string, expected: string): ModelOpsError {
    return new ModelOpsError(
      'endpoint-bad-response',
      `Target '${this.target}' at ${this.url} answered ${call} with something other than ${expected}.`,
      'Check that the URL points at a ModelOps-compatible model server (docs/serving-api.md).',
    );
  }

  async modelInfo(model: string): Promise<ModelInfo | null> {
    const { status, json } = await this.raw('GET', `/v2/repository/models/${encodeURIComponent(model)}`);
    if (status === 404) return null;
    if (status !== 200) return this.call('GET', `/v2/repository/models/${encodeURIComponent(model)}`);
    const ok =
      isObject(json) &&
      typeof json.name === 'string' &&
      (json.active === null || typeof json.active === 'string') &&
      (json.previous === null || json.previous === undefined || typeof json.previous === 'string') &&
      Array.isArray(json.versions) &&
      json.versions.every((v) => typeof v === 'string');
    if (!ok)
      throw this.badAnswer(
        `GET /v2/repository/models/${model}`,
        'a model description {name, active, previous, versions}',
      );
    return {
      name: json.name as string,
      active: json.active as string | null,
      previous: (json.previous as string | null | undefined) ?? null,
      versions: json.versions as string[],
    };
  }

  /** `digest`: the registry's artifact digest, which the server checks now and on every reload. */
  load(
    model: string,
    version: string,
    source: ({ path: string } | { files: Record<string, string> }) & { digest?: string },
  ): Promise<unknown> {
    return this.call('POST', `${versionPath(model, version, true)}/load`, source, { timeoutMs: this.loadTimeoutMs });
  }

  unload(model: string, version: string): Promise<unknown> {
    return this.call('POST', `${versionPath(model, version, true)}/unload`, {});
  }

  async switchTo(model: string, version: string): Promise<{ previous: string | null; active: string }> {
    const json = await this.call<unknown>('POST', `/v2/repository/models/${encodeURIComponent(model)}/switch`, {
      version,
    });
    if (
      !isObject(json) ||
      typeof json.active !== 'string' ||
      !(json.previous === null || json.previous === undefined || typeof json.previous === 'string')
    ) {
      throw this.badAnswer(`POST /v2/repository/models/${model}/switch`, '{active, previous}');
    }
    return { active: json.active, previous: (json.previous as string | null | undefined) ?? null };
  }

  /**
   * Downloads the model's prediction log (all files, oldest first) into `file`. `since` (an ISO
   * time) asks our server to leave out the files last written before it; the lines it still sends
   * may be older, and a server without the parameter sends everything, so the caller filters by
   * time as before.
   */
  async downloadLog(
    model: string,
    file: string,
    options: { since?: string; timeoutMs?: number } = {},
  ): Promise<number> {
    const { since, timeoutMs = 120_000 } = options;
    const path = `/v2/repository/models/${encodeURIComponent(model)}/log`;
    const query = since !== undefined ? `?since=${encodeURIComponent(since)}` : '';
    const { status, bytes } = await this.download(path + query, file, timeoutMs);
    if (status === 200) return bytes;
    await this.call('GET', path + query);
    throw new ModelOpsError(
      'endpoint-error',
      `Target '${this.target}' at ${this.url} sent no log.`,
      'See the endpoint’s log.',
    );
  }

  /**
   * The model's prediction log files, oldest first, each named by its first line (`GET
   * …/log/files`): a client that keeps a copy asks each for what it does not have yet. Null from a
   * server without the route (404, 405, 501: an older one, or another implementation).
   */
  async logFiles(model: string): Promise<LogFileInfo[] | null> {
    const path = `/v2/repository/models/${encodeURIComponent(model)}/log/files`;
    const { status, json } = await this.raw('GET', path);
    if (status === 404 || status === 405 || status === 501) return null;
    if (status !== 200) await this.call('GET', path);
    const files = isObject(json) && Array.isArray(json.files) ? (json.files as unknown[]) : null;
    const valid = (f: unknown): f is LogFileInfo =>
      isObject(f) &&
      typeof f.id === 'string' &&
      /^[0-9a-f]{32}$/.test(f.id) &&
      typeof f.size === 'number' &&
      Number.isSafeInteger(f.size) &&
      f.size >= 0 &&
      typeof f.modified === 'string';
    if (!files || !files.every(valid)) throw this.badAnswer(`GET ${path}`, '{files: [{id, size, modified}]}');
    return files;
  }

  /**
   * One log file from byte `from` to its end, into `file`; returns the bytes written, or null when
   * the server no longer has a file with that id (404: rotated out) or it is shorter than `from`
   * (416): the caller starts that file over or drops it. `append` adds to `file` instead of replacing it.
   */
  async downloadLogFile(
    model: string,
    id: string,
    from: number,
    file: string,
    options: { append?: boolean; timeoutMs?: number } = {},
  ): Promise<number | null> {
    const path = `/v2/repository/models/${encodeURIComponent(model)}/log/files/${encodeURIComponent(id)}?from=${from}`;
    const { status, bytes } = await this.download(path, file, options.timeoutMs ?? 120_000, options.append);
    if (status === 200) return bytes;
    if (status === 404 || status === 416) return null;
    await this.call('GET', path);
    throw new ModelOpsError(
      'endpoint-error',
      `Target '${this.target}' at ${this.url} sent no log file.`,
      'See the endpoint’s log.',
    );
  }

  /** GET `path` with the token, a 200 body streamed into (or after) `file`; any other status is returned unread. */
  private async download(
    path: string,
    file: string,
    timeoutMs: number,
    append = false,
  ): Promise<{ status: number; bytes: number }> {
    let res: Response;
    try {
      res = await fetch(this.url + path, {
        headers: this.token ? { authorization: `Bearer ${this.token}` } : {},
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      throw new ModelOpsError(
        'endpoint-unreachable',
        `Target '${this.target}' at ${this.url} did not answer GET ${path.split('?')[0]}: ${err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err.cause?.code ?? err.message)}.`,
        'Check that the endpoint is running.',
      );
    }
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      return { status: res.status === 200 ? 502 : res.status, bytes: 0 };
    }
    await mkdir(dirname(file), { recursive: true });
    const before = append
      ? await stat(file).then(
          (s) => s.size,
          () => 0,
        )
      : 0;
    await pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>),
      createWriteStream(file, { flags: append ? 'a' : 'w' }),
    );
    return { status: 200, bytes: (await stat(file)).size - before };
  }

  /**
   * What `GET /v2` says about the prediction log (our extension of the protocol): lines dropped
   * because the disk could not take them, and the last write error. Null when the server does not
   * say (another implementation of the protocol).
   */
  async predictionLogHealth(): Promise<{ dropped: number; lastError: string | null } | null> {
    const { status, json } = await this.raw('GET', '/v2');
    if (status !== 200 || !isObject(json) || !isObject(json.modelops) || !isObject(json.modelops.predictionLog))
      return null;
    const log = json.modelops.predictionLog;
    if (typeof log.dropped !== 'number' || !Number.isFinite(log.dropped)) return null;
    return { dropped: log.dropped, lastError: typeof log.lastError === 'string' ? log.lastError.slice(0, 300) : null };
  }

  /**
   * Asks the server to write its buffered prediction log (ours appends every 200 ms) and waits
   * until the lines are in its files (`POST /v2/repository/log/flush`, a management route): a
   * reader of the log started after this sees every request answered before it. Lines the
   * server could not write are counted in `dropped`, as `GET /v2` reports them.
   */
  async flushLog(): Promise<{ dropped: number; lastError: string | null }> {
    const json = await this.call<unknown>('POST', '/v2/repository/log/flush');
    if (!isObject(json) || json.flushed !== true || typeof json.dropped !== 'number')
      throw this.badAnswer('POST /v2/repository/log/flush', '{flushed: true, dropped, lastError}');
    return {
      dropped: json.dropped,
      lastError: typeof json.lastError === 'string' ? json.lastError.slice(0, 300) : null,
    };
  }

  /**
   * flushLog for a server that may not have the route: `{flushed: false, status, reason}` when it
   * answers 404, 405 or 501 (no such route: another implementation of the protocol) or 409 (its
   * log is off). Any other failure (the token refused, the endpoint down) throws as flushLog does.
   */
  async flushLogIfSupported(): Promise<
    { flushed: true; dropped: number; lastError: string | null } | { flushed: false; status: number; reason: string }
  > {
    const { status, json } = await this.raw('POST', '/v2/repository/log/flush');
    if (status === 404 || status === 405 || status === 409 || status === 501) {
      const error = isObject(json) && typeof json.error === 'string' ? json.error.slice(0, 300) : `HTTP ${status}`;
      return { flushed: false, status, reason: error };
    }
    if (status === 200 && isObject(json) && json.flushed === true && typeof json.dropped === 'number')
      return {
        flushed: true,
        dropped: json.dropped,
        lastError: typeof json.lastError === 'string' ? json.lastError.slice(0, 300) : null,
      };
    // Anything else: flushLog asks again (harmless) and throws the error it explains (token refused, bad answer).
    return { flushed: true, ...(await this.flushLog()) };
  }

  async versionReady(model: string, version: string): Promise<boolean> {
    return (await this.raw('GET', `${versionPath(model, version, false)}/ready`)).status === 200;
  }

  async infer(model: string, version: string | null, body: unknown): Promise<V2InferResponse> {
    const base = version ? versionPath(model, version, false) : `/v2/models/${encodeURIComponent(model)}`;
    const json = await this.call<unknown>('POST', `${base}/infer`, body);
    if (!isInferResponse(json))
      throw this.badAnswer(
        `POST ${base}/infer`,
        'an Open Inference Protocol response ({outputs: [{name, shape, datatype, data}]})',
      );
    return json;
  }
}

function versionPath(model: string, version: string, repo: boolean): string {
  return `/v2/${repo ? 'repository/' : ''}models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The shape every consumer of an infer response relies on; anything else is refused up front. */
export function isInferResponse(v: unknown): v is V2InferResponse {
  return (
    isObject(v) &&
    Array.isArray(v.outputs) &&
    v.outputs.every(
      (o) =>
        isObject(o) &&
        typeof o.name === 'string' &&
        typeof o.datatype === 'string' &&
        Array.isArray(o.shape) &&
        o.shape.every((d) => Number.isInteger(d) && (d as number) >= 0) &&
        Array.isArray(o.data),
    )
  );
}

/** A redirect target for messages: origin only (its path may carry a secret). */
function safeLocation(location: string | null): string {
  if (!location) return 'nowhere';
  try {
    return new URL(location).origin;
  } catch {
    return 'an invalid URL';
  }
}
