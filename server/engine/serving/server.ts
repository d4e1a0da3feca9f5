/**
 * The model server's HTTP face: the Open Inference Protocol (KServe V2) for health, metadata
 * and inference, Prometheus metrics, feedback, and a bearer-token management API under
 * /v2/repository/ (documented in docs/serving-api.md).
 *
 * Memory is bounded by the server, not by its clients: request bodies held in memory share one
 * budget (503 + Retry-After beyond it), each body must arrive within a deadline, and bundle
 * uploads are streamed to disk (upload.ts).
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { httpStatusOf, isModelOpsError } from '../errors';
import { PRODUCT_VERSION } from '../version';
import { isValidName } from './names';
import type { ServerMetrics } from './metrics';
import { logFileInfos, logFiles, mayHoldSince, openLogFile, parseLogSince, type PredictionLog } from './predictionLog';
import { inferJob, type ModelRepository } from './repository';
import { decodeInferRequest, encodeInferResponse, HttpError } from './v2';
import { columnsJson, inputsJson, isoTime, nestRows, predictionLine, responseText } from './logLine';
import { bundleDigest } from './digest';
import { identityProof } from './identity';
import { receiveLoadBody } from './upload';
import type { LiveMonitorHub } from './liveMonitor';
import { explainRequest } from '../explain/serve';
import { RouteTable } from './routes';

export interface HandlerDeps {
  storeDir: string;
  repository: ModelRepository;
  metrics: ServerMetrics;
  log: PredictionLog | null;
  /** Live monitoring (windows, alerts, the monitor stream); null when off. */
  live?: LiveMonitorHub | null;
  /** Management token; null disables the management API. */
  token: string | null;
  /** Infer/feedback body limit in bytes. */
  bodyLimit: number;
  /** Management body limit (uploaded bundles). */
  managementBodyLimit: number;
  /** Whether `load` may name a directory on this machine (true for local servers). */
  allowPathLoads: boolean;
  /** Bytes of request bodies all requests together may hold in memory. */
  bodyBudget: BodyBudget;
  /** How long an infer/feedback/management JSON body may take to arrive, in ms. */
  bodyTimeoutMs: number;
  /**
   * Every route except the health checks and the identity proof needs the bearer token: set
   * when the server listens on an address other machines can reach.
   */
  authEverywhere: boolean;
  /** The port the server listens on (the identity proof binds to it). */
  port(): number;
  ready(): boolean;
}

/** Bytes of request bodies held in memory by all requests together. */
export class BodyBudget {
  used = 0;
  constructor(readonly limit: number) {}

  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

const NONCE = /^[0-9a-f]{16,128}$/i;

/**
 * The parameters route patterns use, checked as names before any handler runs; '' on a route
 * whose pattern has no such parameter (its handler does not read it).
 */
interface RouteParams {
  model: string;
  version: string;
  /** A log file's id (`…/log/files/:id`), checked by its handler. */
  id: string;
}

interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  p: RouteParams;
  /** When the request arrived (latency in metrics and the log). */
  started: bigint;
}

type Handler = (ctx: RouteContext) => Promise<void> | void;

/**
 * The file sets an uploaded bundle may consist of (a TensorFlow.js bundle, an ONNX bundle):
 * nothing else reaches the disk, and an upload must be exactly one of them.
 */
const BUNDLE_LAYOUTS: ReadonlyArray<readonly string[]> = [
  ['model.json', 'weights.bin', 'modelops.json'],
  ['model.json', 'weights.bin.gz', 'modelops.json'],
  ['model.onnx', 'modelops.json'],
];
const BUNDLE_FILES = new Set(BUNDLE_LAYOUTS.flat());

/** Why the uploaded file names are not one whole bundle, or null when they are. */
function layoutProblem(files: string[]): string | null {
  const have = new Set(files);
  if (BUNDLE_LAYOUTS.some((l) => l.length === have.size && l.every((f) => have.has(f)))) return null;
  // A whole layout with extra files names the extra one; else the closest layout names what is missing.
  const whole = BUNDLE_LAYOUTS.find((l) => l.every((f) => have.has(f)));
  if (!whole) {
    const best = [...BUNDLE_LAYOUTS].sort(
      (a, b) => b.filter((f) => have.has(f)).length / b.length - a.filter((f) => have.has(f)).length / a.length,
    )[0];
    return `The upload is missing '${best.find((f) => !have.has(f))}'.`;
  }
  const extra = files.filter((f) => !whole.includes(f));
  return `The upload mixes bundle layouts: '${extra[0]}' does not belong with ${whole.map((f) => `'${f}'`).join(', ')}.`;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, JSON.stringify(body), headers);
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const busy = (): HttpError =>
  new HttpError(503, 'The server is receiving too many request bodies at once; retry shortly.', {
    'retry-after': '1',
    connection: 'close',
  });

/**
 * Reads a body of at most `limit` bytes, counted against the shared budget until the response
 * is done (the parsed body lives that long too), within `timeoutMs`.
 */
function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  budget: BodyBudget,
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(
        new HttpError(413, `The request body is ${declared} bytes; the limit is ${limit}.`, { connection: 'close' }),
      );
      return;
    }
    let held = 0;
    res.once('close', () => budget.give(held));
    const hold = (n: number): boolean => {
      if (!budget.take(n)) return false;
      held += n;
      return true;
    };
    // A declared length is reserved up front, so a refusal comes before the bytes do.
    if (Number.isFinite(declared) && declared > 0 && !hold(declared)) {
      reject(busy());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      clearTimeout(timer);
      chunks.length = 0;
      req.pause();
      reject(e);
    };
    const timer = setTimeout(
      () =>
        fail(new HttpError(408, `The request body did not arrive within ${timeoutMs} ms.`, { connection: 'close' })),
      timeoutMs,
    );
    timer.unref();
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit)
        return fail(
          new HttpError(413, `The request body is larger than the limit of ${limit} bytes.`, { connection: 'close' }),
        );
      if (size > held && !hold(size - held)) return fail(busy());
      chunks.push(c);
    });
    req.on('end', () => {
      if (failed) return;
      failed = true;
      clearTimeout(timer);
      resolve(Buffer.concat(chunks, size));
    });
    req.on('error', fail);
    req.on('close', () => {
      if (!req.complete) fail(new HttpError(400, 'The client closed the connection before the body was complete.'));
    });
  });
}

async function readJson(
  req: IncomingMessage,
  res: ServerResponse,
  deps: HandlerDeps,
  limit = deps.bodyLimit,
): Promise<unknown> {
  return (await readJsonText(req, res, deps, limit)).body;
}

/** The parsed body and its text (the prediction log reuses the inputs' text). */
async function readJsonText(
  req: IncomingMessage,
  res: ServerResponse,
  deps: HandlerDeps,
  limit = deps.bodyLimit,
): Promise<{ body: unknown; text: string }> {
  const buf = await readBody(req, res, limit, deps.bodyBudget, deps.bodyTimeoutMs);
  if (buf.length === 0) throw new HttpError(400, 'The request body is empty; send a JSON object.');
  const text = buf.toString('utf8');
  try {
    return { body: JSON.parse(text), text };
  } catch {
    throw new HttpError(400, 'The request body is not valid JSON (NaN and Infinity are not JSON numbers).');
  }
}

/**
 * From this many rows a request's inputs are logged from the body's text: scanning it costs
 * less than formatting every number again; below, the scan's fixed cost is more than
 * JSON.stringify of a few values (measured in-process, bench/serving).
 */
const RAW_INPUT_ROWS = 16;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

function checkToken(req: IncomingMessage, token: string | null, what = 'The management API'): void {
  if (token === null)
    throw new HttpError(403, 'The management API is disabled: this server was started without a token.');
  const auth = req.headers.authorization;
  if (!auth || !/^Bearer\s+\S/i.test(auth))
    throw new HttpError(401, `${what} needs an "Authorization: Bearer <token>" header.`, {
      'www-authenticate': 'Bearer',
    });
  const given = auth.replace(/^Bearer\s+/i, '').trim();
  // Compare digests so the comparison takes the same time whatever the lengths.
  if (!timingSafeEqual(digest(given), digest(token)))
    throw new HttpError(403, 'The bearer token is not valid for this server.');
}

function name(value: string, what: 'model' | 'version'): string {
  if (!isValidName(value))
    throw new HttpError(
      400,
      `Invalid ${what} name '${value.slice(0, 64)}': use lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.`,
    );
  return value;
}

function statusOf(e: unknown): number {
  if (e instanceof HttpError) return e.status;
  if (isModelOpsError(e)) return httpStatusOf(e.code);
  return 500;
}

export function createRequestHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { repository, metrics, log } = deps;
  const live = deps.live ?? null;

  async function infer(
    req: IncomingMessage,
    res: ServerResponse,
    model: string,
    version: string | undefined,
    started: bigint,
  ): Promise<void> {
    let versionLabel = version ?? '';
    let rows = 0;
    let status = 200;
    try {
      const lv = repository.resolve(model, version);
      if (!lv) {
        const info = repository.modelInfo(model);
        throw new HttpError(
          404,
          version
            ? `Version ${version} of model '${model}' is not loaded.`
            : info
              ? `Model '${model}' has no version serving.`
              : `Model '${model}' is not loaded on this server.`,
        );
      }
      versionLabel = lv.version;
      const { body, text } = await readJsonText(req, res, deps);
      const decoded = decodeInferRequest(body, lv.predictor.manifest);
      rows = decoded.rows.length;
      const id = decoded.id ?? randomUUID();
      const job = inferJob(lv.predictor, decoded.rows);
      repository.release(lv, +1);
      let preds;
      try {
        preds = await lv.batcher.submit(job);
      } finally {
        repository.release(lv, -1);
      }
      const response = responseText(
        encodeInferResponse(model, lv.version, id, lv.predictor.manifest, preds, decoded.parameters),
      );
      sendText(res, 200, response.text);
      const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
      // Smoke tests and other synthetic traffic ask not to be logged, so monitoring sees real traffic only.
      const logged = decoded.parameters?.modelops_log !== false;
      if (log && logged) {
        // Built from text already in hand: the response's outputs, and for larger requests the
        // body's inputs (logLine.ts); the line JSON.stringify would write, key for key.
        const manifest = lv.predictor.manifest;
        let outputs: string;
        if (manifest.task === 'classification') {
          const k = manifest.labels?.length ?? 0;
          const whole = k > 0 && preds.every((p) => p.probabilities?.length === k);
          outputs = `{"label":${response.data[0]},"probabilities":${whole ? nestRows(response.data[1], k, preds.length) : JSON.stringify(preds.map((p) => p.probabilities ?? []))}}`;
        } else outputs = `{"value":${response.data[0]}}`;
        log.appendText(
          model,
          predictionLine({
            id,
            time: isoTime(),
            version: lv.version,
            latencyMs: Math.round(latencyMs * 1000) / 1000,
            inputs:
              rows >= RAW_INPUT_ROWS
                ? inputsJson(text, manifest.features, decoded.columns)
                : columnsJson(decoded.columns),
            outputs,
          }),
        );
      }
      // After the log: the record of what was served never depends on the live window.
      if (live && logged) live.observe(model, lv.version, lv.predictor.manifest, id, decoded.columns, preds, latencyMs);
    } catch (e) {
      status = statusOf(e);
      throw e;
    } finally {
      metrics.observe(
        model,
        versionLabel,
        status,
        Number(process.hrtime.bigint() - started) / 1e9,
        status === 200 ? rows : 0,
      );
    }
  }

  /** Shapley values for up to EXPLAIN_MAX_ROWS rows, within a deadline (docs/serving-api.md). */
  async function explain(req: IncomingMessage, res: ServerResponse, model: string, version?: string): Promise<void> {
    const lv = repository.resolve(model, version);
    if (!lv)
      throw new HttpError(
        404,
        version
          ? `Version ${version} of model '${model}' is not loaded.`
          : `Model '${model}' is not loaded on this server.`,
      );
    const body = await readJson(req, res, deps);
    repository.release(lv, +1);
    try {
      send(
        res,
        200,
        await explainRequest(body, { model, version: lv.version, bundleDir: lv.bundleDir, predictor: lv.predictor }),
      );
    } finally {
      repository.release(lv, -1);
    }
  }

  async function feedback(req: IncomingMessage, res: ServerResponse, model: string): Promise<void> {
    const body = await readJson(req, res, deps);
    const items = Array.isArray(body) ? body : [body];
    if (items.length === 0 || items.length > 10_000)
      throw new HttpError(400, 'Send one feedback object {id, label} or an array of 1 to 10,000 of them.');
    const lines = items.map((item, i) => {
      const where = Array.isArray(body) ? `feedback[${i}]` : 'feedback';
      if (typeof item !== 'object' || item === null)
        throw new HttpError(400, `${where} must be an object {id, label}.`);
      const { id, label, labels } = item as Record<string, unknown>;
      if (typeof id !== 'string' || id.length === 0 || id.length > 128)
        throw new HttpError(400, `${where}.id must be the request id (a string).`);
      const okLabel = (v: unknown) =>
        (typeof v === 'string' && v.length <= 256) || (typeof v === 'number' && Number.isFinite(v));
      const truth = labels !== undefined ? labels : [label];
      if (!Array.isArray(truth) || truth.length === 0 || !truth.every(okLabel))
        throw new HttpError(
          400,
          `${where} needs "label" (a string or finite number) or "labels" (one per row of the request).`,
        );
      return { type: 'feedback' as const, id, time: isoTime(), labels: truth as Array<string | number> };
    });
    if (!repository.modelInfo(model)) throw new HttpError(404, `Model '${model}' is not loaded on this server.`);
    if (!log && !live)
      throw new HttpError(
        409,
        'The prediction log and live monitoring are off on this server, so feedback cannot be attached.',
      );
    for (const line of lines) {
      log?.append(model, line);
      live?.feedback(model, line.id, line.labels);
    }
    send(res, 202, { accepted: lines.length });
  }

  async function loadVersion(req: IncomingMessage, res: ServerResponse, model: string, version: string): Promise<void> {
    const dir = join(deps.storeDir, 'bundles', model, version);
    const tmp = `${dir}.upload-${process.pid}-${randomBytes(6).toString('hex')}`;
    let body;
    try {
      body = await receiveLoadBody(req, deps.managementBodyLimit, tmp, BUNDLE_FILES);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    const { path, files, digest } = body;
    let lv;
    if (files !== null) {
      try {
        const problem = layoutProblem(files);
        if (problem)
          throw new HttpError(400, `${problem} Send ${BUNDLE_LAYOUTS.map((l) => l.join(' + ')).join(', or ')}.`);
        const existing = repository.resolve(model, version);
        if (existing) {
          // The folder serves already: keep it, and only say whether the upload is the same bundle.
          const uploaded = digest ?? (await bundleDigest(tmp));
          if (uploaded !== existing.digest)
            throw new HttpError(
              409,
              `${model}@${version} is already loaded with digest ${existing.digest}; the upload hashes to ${uploaded}. Unload it first.`,
            );
          lv = existing;
        } else {
          await rm(dir, { recursive: true, force: true });
          await mkdir(join(deps.storeDir, 'bundles', model), { recursive: true, mode: 0o700 });
          await rename(tmp, dir);
          try {
            lv = await repository.load(model, version, dir, digest);
          } catch (e) {
            // A bundle that did not load is not kept: nothing points at it.
            if (!repository.resolve(model, version)) await rm(dir, { recursive: true, force: true });
            throw e;
          }
        }
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    } else if (path !== null) {
      if (!deps.allowPathLoads)
        throw new HttpError(403, 'This server does not load bundles from its own paths; upload the files instead.');
      lv = await repository.load(model, version, path, digest);
    } else {
      throw new HttpError(400, 'Send {"path": "<bundle dir>"} or {"files": {"model.json": "<base64>", …}}.');
    }
    send(res, 200, {
      name: model,
      version,
      state: 'READY',
      active: repository.modelInfo(model)?.active === version,
      loadedAt: lv.loadedAt,
      digest: lv.digest,
    });
  }

  /** `GET /v2`: the server's metadata, with the prediction log's health (our extension). */
  function serverMetadata(res: ServerResponse): void {
    send(res, 200, {
      name: 'modelops',
      version: PRODUCT_VERSION,
      extensions: ['model_repository', 'modelops_feedback', 'modelops_prediction_log'],
      modelops: {
        predictionLog: log
          ? { enabled: true, dropped: log.dropped, lastError: log.lastError }
          : { enabled: false, dropped: 0, lastError: null },
      },
    });
  }

  function modelReady(res: ServerResponse, model: string, version?: string): void {
    const lv = repository.resolve(model, version);
    if (lv) return send(res, 200, { name: model, version: lv.version, ready: true });
    const why = repository.unavailableReason(model, version);
    send(res, 404, {
      error: `${version ? `Version ${version} of model` : 'Model'} '${model}' is not ready on this server${why ? ` (${why})` : ''}.`,
      ready: false,
    });
  }

  async function monitorSettings(req: IncomingMessage, res: ServerResponse, model: string): Promise<void> {
    if (!live) throw new HttpError(409, 'Live monitoring is off on this server.');
    if (req.method === 'GET') return send(res, 200, { model, config: live.configOf(model) });
    const body = await readJson(req, res, deps);
    try {
      send(res, 200, { model, config: live.configure(model, body) });
    } catch (err) {
      throw new HttpError(400, `Monitor settings of '${model}': ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /**
   * `POST /v2/repository/log/flush`: writes every buffered prediction and feedback line now and
   * answers once they are in the files, so a reader started after the answer (a retrain from
   * traffic) sees every request answered before it.
   */
  async function flushLog(res: ServerResponse): Promise<void> {
    if (!log) throw new HttpError(409, 'The prediction log is off on this server.');
    await log.flush();
    send(res, 200, { flushed: true, dropped: log.dropped, lastError: log.lastError });
  }

  /**
   * Every route the server has, and who may call it. Paths are matched on the raw URL, one
   * segment at a time after percent-decoding, so "../" never reaches a name; `:model` and
   * `:version` are checked as names (400) once the caller has passed the token check.
   */
  const table = new RouteTable<Handler>(
    [
      {
        method: 'GET',
        path: '/v2/health/live',
        access: 'public',
        handler: ({ res }) => send(res, 200, { live: true }),
      },
      {
        method: 'GET',
        path: '/v2/health/ready',
        access: 'public',
        handler: ({ res }) =>
          deps.ready()
            ? send(res, 200, { ready: true })
            : send(res, 503, { ready: false, error: 'The server is still reloading its models.' }),
      },
      { method: 'GET', path: '/v2/modelops/identity', access: 'public', handler: ({ req, res }) => identity(req, res) },
      {
        method: 'GET',
        path: '/metrics',
        access: 'open',
        handler: async ({ res }) => {
          await live?.settled();
          const text = metrics.render(log, live?.metricLines());
          res.writeHead(200, {
            'content-type': 'text/plain; version=0.0.4',
            'content-length': Buffer.byteLength(text),
          });
          res.end(text);
        },
      },
      { method: 'GET', path: '/v2', access: 'open', handler: ({ res }) => serverMetadata(res) },
      { method: 'GET', path: '/v2/models/:model', access: 'open', handler: ({ res, p }) => metadata(res, p.model) },
      {
        method: 'GET',
        path: '/v2/models/:model/versions/:version',
        access: 'open',
        handler: ({ res, p }) => metadata(res, p.model, p.version),
      },
      {
        method: 'GET',
        path: '/v2/models/:model/ready',
        access: 'open',
        handler: ({ res, p }) => modelReady(res, p.model),
      },
      {
        method: 'GET',
        path: '/v2/models/:model/versions/:version/ready',
        access: 'open',
        handler: ({ res, p }) => modelReady(res, p.model, p.version),
      },
      {
        method: 'POST',
        path: '/v2/models/:model/infer',
        access: 'open',
        handler: ({ req, res, p, started }) => infer(req, res, p.model, undefined, started),
      },
      {
        method: 'POST',
        path: '/v2/models/:model/versions/:version/infer',
        access: 'open',
        handler: ({ req, res, p, started }) => infer(req, res, p.model, p.version, started),
      },
      {
        method: 'POST',
        path: '/v2/models/:model/feedback',
        access: 'open',
        handler: ({ req, res, p }) => feedback(req, res, p.model),
      },
      {
        method: 'POST',
        path: '/v2/models/:model/explain',
        access: 'open',
        handler: ({ req, res, p }) => explain(req, res, p.model),
      },
      {
        method: 'POST',
        path: '/v2/models/:model/versions/:version/explain',
        access: 'open',
        handler: ({ req, res, p }) => explain(req, res, p.model, p.version),
      },
      {
        method: 'GET',
        path: '/v2/models/:model/monitor',
        access: 'open',
        handler: ({ req, res, p }) => monitorRoute(req, res, p.model, false),
      },
      {
        method: 'GET',
        path: '/v2/models/:model/monitor/stream',
        access: 'open',
        handler: ({ req, res, p }) => monitorRoute(req, res, p.model, true),
      },
      // The management API: the token on every route, whatever address the server listens on.
      {
        method: 'GET',
        path: '/v2/repository/index',
        access: 'token',
        handler: ({ res }) => send(res, 200, repository.index()),
      },
      {
        method: 'POST',
        path: '/v2/repository/index',
        access: 'token',
        handler: ({ res }) => send(res, 200, repository.index()),
      },
      {
        method: 'GET',
        path: '/v2/repository/models/:model',
        access: 'token',
        handler: ({ res, p }) => {
          const info = repository.modelInfo(p.model);
          return info
            ? send(res, 200, info)
            : send(res, 404, { error: `Model '${p.model}' is not loaded on this server.` });
        },
      },
      {
        method: 'GET',
        path: '/v2/repository/models/:model/log',
        access: 'token',
        handler: ({ req, res, p }) => sendLog(req, res, p.model),
      },
      {
        method: 'GET',
        path: '/v2/repository/models/:model/log/files',
        access: 'token',
        handler: async ({ res, p }) => {
          if (!log) throw new HttpError(409, 'The prediction log is off on this server.');
          await log.flush();
          send(res, 200, { model: p.model, files: await logFileInfos(log.dirOf(p.model)) });
        },
      },
      {
        method: 'GET',
        path: '/v2/repository/models/:model/log/files/:id',
        access: 'token',
        handler: ({ req, res, p }) => sendLogFile(req, res, p.model, p.id),
      },
      {
        method: 'GET',
        path: '/v2/repository/models/:model/monitor',
        access: 'token',
        handler: ({ req, res, p }) => monitorSettings(req, res, p.model),
      },
      {
        method: 'PUT',
        path: '/v2/repository/models/:model/monitor',
        access: 'token',
        handler: ({ req, res, p }) => monitorSettings(req, res, p.model),
      },
      {
        method: 'POST',
        path: '/v2/repository/models/:model/switch',
        access: 'token',
        handler: async ({ req, res, p }) => {
          const body = await readJson(req, res, deps);
          const v = (body as { version?: unknown } | null)?.version;
          if (typeof v !== 'string') throw new HttpError(400, 'Send {"version": "<version>"}.');
          send(res, 200, await repository.switchTo(p.model, name(v, 'version')));
        },
      },
      {
        method: 'POST',
        path: '/v2/repository/models/:model/versions/:version/load',
        access: 'token',
        handler: ({ req, res, p }) => loadVersion(req, res, p.model, p.version),
      },
      {
        method: 'POST',
        path: '/v2/repository/models/:model/versions/:version/unload',
        access: 'token',
        handler: async ({ res, p }) => {
          await repository.unload(p.model, p.version);
          send(res, 200, { name: p.model, version: p.version, state: 'UNLOADED' });
        },
      },
      { method: 'POST', path: '/v2/repository/log/flush', access: 'token', handler: ({ res }) => flushLog(res) },
    ],
    // Nothing under the management prefix answers without the token, not even "no such route".
    ['/v2/repository'],
  );

  async function route(req: IncomingMessage, res: ServerResponse, started: bigint): Promise<void> {
    const method = req.method ?? 'GET';
    const m = table.match(method, req.url ?? '/');
    if (m.kind === 'bad-url') throw new HttpError(400, 'The URL is not valid.');
    const access = m.kind === 'found' ? m.route.access : m.access;
    if (access === 'token') checkToken(req, deps.token);
    // Other machines can reach this server: nothing about its models is public.
    else if (access === 'open' && deps.authEverywhere)
      checkToken(req, deps.token, 'This server listens beyond this machine, so every request');
    if (m.kind === 'method')
      throw new HttpError(405, `No route for ${method} ${req.url?.slice(0, 100)}.`, { allow: m.allow.join(', ') });
    if (m.kind === 'none') throw new HttpError(404, `No route for ${method} ${req.url?.slice(0, 100)}.`);
    const { model, version, id } = m.params;
    if (model !== undefined) name(model, 'model');
    if (version !== undefined) name(version, 'version');
    return m.route.handler({ req, res, p: { model: model ?? '', version: version ?? '', id: id ?? '' }, started });
  }

  /**
   * `GET /v2/models/{m}/monitor`: settings, retained sizes and recent events (JSON);
   * `GET /v2/models/{m}/monitor/stream`: the events as Server-Sent Events (docs/monitoring.md).
   */
  async function monitorRoute(
    req: IncomingMessage,
    res: ServerResponse,
    model: string,
    stream: boolean,
  ): Promise<void> {
    if (!live) throw new HttpError(409, 'Live monitoring is off on this server.');
    if (!stream) {
      // Every request answered so far is in the windows and events shown.
      await live.settled();
      return send(
        res,
        200,
        {
          model,
          boot: live.boot,
          config: live.configOf(model),
          retained: live.retained(model),
          subscribers: live.subscriberCount,
          events: live.recent(model),
        },
        { 'cache-control': 'no-store' },
      );
    }
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const header = req.headers['last-event-id'];
    const lastEventId = (typeof header === 'string' ? header : null) ?? query.get('lastEventId');
    if (lastEventId !== null && lastEventId.length > 64)
      throw new HttpError(400, 'Last-Event-ID is longer than 64 characters.');
    if (!live.subscribe(model, req, res, lastEventId))
      throw new HttpError(503, 'Too many monitor streams are open on this server; retry later.', {
        'retry-after': '5',
      });
  }

  /**
   * Proof that this is the server holding the management token, for a client that knows the
   * token: HMAC(token, nonce:port). Public, since it reveals nothing without the token.
   */
  function identity(req: IncomingMessage, res: ServerResponse): void {
    if (deps.token === null)
      throw new HttpError(404, 'This server has no management token, so it cannot prove its identity.');
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const nonce = query.get('nonce') ?? '';
    if (!NONCE.test(nonce)) throw new HttpError(400, 'Send ?nonce=<16 to 128 hex digits>.');
    const port = deps.port();
    send(
      res,
      200,
      { server: 'modelops', pid: process.pid, port, proof: identityProof(deps.token, nonce, port) },
      { 'cache-control': 'no-store' },
    );
  }

  /**
   * Sends an open file (or bytes `start`…`end` of it) into the response, leaving the response open:
   * a read error or the client going away rejects, so the caller never sends half a file then more.
   */
  function pipeFile(
    fh: FileHandle,
    res: ServerResponse,
    range: { start: number; end: number } | null = null,
  ): Promise<void> {
    return new Promise<void>((done, fail) => {
      const stream = fh.createReadStream({ ...(range ?? {}), autoClose: false });
      const gone = (): void => {
        stream.destroy();
        fail(new Error('the client closed the connection'));
      };
      res.once('close', gone);
      stream.once('error', (e) => {
        res.off('close', gone);
        fail(e);
      });
      stream.once('end', () => {
        res.off('close', gone);
        done();
      });
      stream.pipe(res, { end: false });
    });
  }

  /**
   * One log file by id (`GET …/log/files`), from byte `?from=` to its end when asked: a client that
   * keeps a copy fetches only what was appended since. 404 when no file has that id any more
   * (rotated out), 416 when `from` is past its end.
   */
  async function sendLogFile(req: IncomingMessage, res: ServerResponse, model: string, id: string): Promise<void> {
    const raw = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('from') ?? '0';
    if (!/^\d{1,15}$/.test(raw))
      throw new HttpError(400, `from '${raw.slice(0, 32)}' is not a byte offset: send ?from=<bytes already held>.`);
    if (!log) throw new HttpError(409, 'The prediction log is off on this server.');
    await log.flush();
    const fh = /^[0-9a-f]{32}$/.test(id) ? await openLogFile(log.dirOf(model), id) : null;
    if (!fh)
      throw new HttpError(
        404,
        `No prediction log file of '${model}' has id ${id.slice(0, 40)} (rotated out): list them again.`,
      );
    try {
      // The size when opened: lines appended meanwhile are for the next request.
      const size = (await fh.stat()).size;
      const from = Number(raw);
      if (from > size) throw new HttpError(416, `from ${from} is past the end of log file ${id} (${size} bytes).`);
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'content-length': String(size - from) });
      if (from === size) return void res.end();
      await pipeFile(fh, res, { start: from, end: size - 1 });
      res.end();
    } finally {
      await fh.close();
    }
  }

  /**
   * The model's prediction log, oldest file first, as one JSONL stream (for remote monitoring).
   * `?since=<ISO time>` leaves out whole files last written before it (predictionLog.ts
   * `mayHoldSince`); the lines of a kept file are sent as they are, older ones included.
   */
  async function sendLog(req: IncomingMessage, res: ServerResponse, model: string): Promise<void> {
    const raw = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('since');
    const sinceMs = raw === null ? null : parseLogSince(raw);
    if (raw !== null && sinceMs === null)
      throw new HttpError(
        400,
        `since '${raw.slice(0, 64)}' is not a time: send ?since=<ISO 8601 time, e.g. 2024-05-01 or 2024-05-01T12:00:00Z>.`,
      );
    if (!log) throw new HttpError(409, 'The prediction log is off on this server.');
    await log.flush();
    const files = logFiles(log.dirOf(model));
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const file of files) {
      // Opened once, so the file whose mtime is read is the one sent even if it rotates meanwhile.
      const fh = await open(file, 'r').catch(() => null);
      if (!fh) continue; // rotated out since it was listed
      try {
        if (sinceMs !== null && !mayHoldSince((await fh.stat()).mtimeMs, sinceMs)) continue;
        if (res.destroyed) return; // the client is gone ('close' would not come again)
        // A read error or a client gone ends the response (the handler destroys it), never half a file then the next.
        await pipeFile(fh, res);
      } finally {
        await fh.close();
      }
    }
    res.end();
  }

  function metadata(res: ServerResponse, model: string, version?: string): void {
    const lv = repository.resolve(model, version);
    const info = repository.modelInfo(model);
    if (!lv || !info)
      return send(res, 404, {
        error: `${version ? `Version ${version} of model` : 'Model'} '${model}' is not loaded on this server.`,
      });
    const m = lv.predictor.manifest;
    send(res, 200, {
      name: model,
      versions: info.versions,
      platform: lv.predictor.platform ?? 'modelops',
      active_version: info.active,
      version: lv.version,
      task: m.task,
      ...(m.labels ? { labels: m.labels } : {}),
      inputs: m.signature.inputs,
      outputs: m.signature.outputs,
    });
  }

  return (req, res) => {
    const started = process.hrtime.bigint();
    route(req, res, started).catch((e: unknown) => {
      const status = statusOf(e);
      const message =
        e instanceof HttpError || isModelOpsError(e)
          ? e.message
          : `Internal error: ${e instanceof Error ? e.message : String(e)}`;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // After a refused body, close the connection rather than read the rest.
      const headers = e instanceof HttpError ? e.headers : {};
      if (status === 503) metrics.observeBusy();
      send(res, status, { error: message }, headers);
      if (headers.connection === 'close') {
        // A client that keeps sending after the answer is cut off soon, not when it pleases.
        const t = setTimeout(() => req.socket.destroy(), 2000);
        t.unref();
        req.socket.once('close', () => clearTimeout(t));
      }
    });
  };
}
