/** Starts the model server in this process (`modelops serve`, tests, benchmarks). */
import { createServer, type Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelOpsError } from '../errors';
import { ServerMetrics } from './metrics';
import { PredictionLog, type PredictionLogOptions } from './predictionLog';
import { LiveMonitorHub, type LiveMonitorOptions } from './liveMonitor';
import { ModelRepository } from './repository';
import { BodyBudget, createRequestHandler } from './server';
import type { PredictorLoader } from './types';

export interface ModelServerOptions {
  /** Default 127.0.0.1: other machines cannot reach the server unless asked for. */
  host?: string;
  /** Default 8765; 0 picks a free port. */
  port?: number;
  /** Where uploaded bundles, state.json and logs/ live. */
  storeDir: string;
  /** Management API bearer token; absent disables the management API. */
  token?: string | null;
  /** Most rows in one model call (default 64). */
  maxBatchSize?: number;
  /** How long a request may wait for company; 0 (default) batches what arrived in the same event-loop turn. */
  maxWaitMs?: number;
  /** Prediction log on/off (default on) and its limits. */
  logging?: boolean;
  log?: PredictionLogOptions;
  /**
   * Live monitoring (windows, alerts, GET /v2/models/{m}/monitor/stream, gauges on /metrics).
   * Default on; MODELOPS_LIVE_MONITOR=off in the environment turns it off (`modelops serve`).
   */
  monitoring?: boolean;
  monitor?: LiveMonitorOptions;
  /** Infer body limit, default 10 MB. */
  bodyLimit?: number;
  /** Management (upload) body limit, default 256 MB; uploads are streamed to disk. */
  managementBodyLimit?: number;
  /** Bytes of request bodies all requests together may hold in memory (503 beyond), default 64 MB. */
  maxInflightBodyBytes?: number;
  /** Open connections at most (more are closed at once), default 1024. */
  maxConnections?: number;
  /** Time for a request's headers to arrive, default 10 s. */
  headersTimeoutMs?: number;
  /** Time for a whole request (headers and body, uploads included) to arrive, default 120 s. */
  requestTimeoutMs?: number;
  /** Time for an infer, feedback or other JSON body to arrive, default 15 s. */
  bodyTimeoutMs?: number;
  allowPathLoads?: boolean;
  /** How bundles are loaded; default `loadPredictor` (the model runtime layer: TF.js or ONNX). */
  loader?: PredictorLoader;
  /** Server messages (never a token); `level` is 'info' unless said otherwise. */
  onLog?: (message: string, level?: 'info' | 'warn' | 'error') => void;
}

/** Whether `host` can only be reached from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && mapped[1].startsWith('127.');
}

export interface RunningModelServer {
  url: string;
  host: string;
  port: number;
  repository: ModelRepository;
  log: PredictionLog | null;
  live: LiveMonitorHub | null;
  /** Resolves once the models of a previous run are loaded again. */
  restored: Promise<void>;
  close(): Promise<void>;
}

/**
 * MODELOPS_LOG_FLUSH_MS: how often the prediction log is appended (10 ms to 10 min; default 200).
 * Readers of a running local server's log ask it to flush first (POST /v2/repository/log/flush),
 * so a long interval only delays what a plain file reader sees.
 */
function envFlushMs(): number | undefined {
  const text = process.env.MODELOPS_LOG_FLUSH_MS;
  const ms = text === undefined ? NaN : Number(text);
  return Number.isInteger(ms) && ms >= 10 && ms <= 600_000 ? ms : undefined;
}

// Loaded on first use, so a server that never loads a model does not load a runtime.
const defaultLoader: PredictorLoader = async (dir) => (await import('./predictor')).loadPredictor(dir);

/** Pending connections the kernel may queue (capped by net.core.somaxconn). */
const LISTEN_BACKLOG = 4096;

export async function startModelServer(options: ModelServerOptions): Promise<RunningModelServer> {
  const host = options.host ?? '127.0.0.1';
  const storeDir = resolve(options.storeDir);
  const token = options.token ?? null;
  const exposed = !isLoopbackHost(host);
  if (exposed && token === null) {
    throw new ModelOpsError(
      'no-token',
      `The model server would listen on ${host}, which other machines can reach, without a token.`,
      'Start it with a token (--token-env VAR): on such an address every request must carry it. Or listen on 127.0.0.1.',
    );
  }
  // Bundles, state and prediction logs (request data) are the owner's only.
  await mkdir(storeDir, { recursive: true, mode: 0o700 });
  const onLog = options.onLog ?? (() => undefined);
  const metrics = new ServerMetrics();
  const repository = new ModelRepository(storeDir, options.loader ?? defaultLoader, {
    maxBatchSize: Math.max(1, options.maxBatchSize ?? 64),
    maxWaitMs: Math.max(0, options.maxWaitMs ?? 0),
    onBatch: (rows) => metrics.observeBatch(rows),
  });
  const log =
    options.logging === false
      ? null
      : new PredictionLog(join(storeDir, 'logs'), {
          ...options.log,
          flushMs: options.log?.flushMs ?? envFlushMs(),
          onError: (m, level) => onLog(m, level),
        });
  const live =
    (options.monitoring ?? process.env.MODELOPS_LIVE_MONITOR !== 'off') ? new LiveMonitorHub(options.monitor) : null;
  let ready = false;
  let port = 0;
  const handler = createRequestHandler({
    storeDir,
    repository,
    metrics,
    log,
    live,
    token,
    bodyLimit: options.bodyLimit ?? 10 * 1024 * 1024,
    managementBodyLimit: options.managementBodyLimit ?? 256 * 1024 * 1024,
    allowPathLoads: options.allowPathLoads ?? true,
    bodyBudget: new BodyBudget(options.maxInflightBodyBytes ?? 64 * 1024 * 1024),
    bodyTimeoutMs: options.bodyTimeoutMs ?? 15_000,
    authEverywhere: exposed,
    port: () => port,
    ready: () => ready,
  });
  const requestTimeout = options.requestTimeoutMs ?? 120_000;
  // Node may not take a headers timeout above the request timeout.
  const headersTimeout = Math.min(options.headersTimeoutMs ?? 10_000, requestTimeout);
  const server: Server = createServer(
    {
      keepAlive: true,
      headersTimeout,
      requestTimeout,
      // Node checks both timeouts on this interval (30 s by default): check often enough that
      // they act within about a second of their setting.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
    handler,
  );
  server.keepAliveTimeout = 30_000;
  server.maxConnections = options.maxConnections ?? 1024;
  server.on('drop', () => metrics.observeBusy());
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'EADDRINUSE'
          ? new ModelOpsError(
              'port-in-use',
              `Port ${options.port ?? 8765} on ${host} is already in use.`,
              'Stop the other server or choose another port (--port, or deploy.targets.<name>.port).',
            )
          : e,
      );
    });
    // A burst of new connections (clients without keep-alive, a load balancer's warm-up) queues in
    // the kernel instead of being dropped at Node's default backlog of 511 while the loop is busy.
    server.listen({ port: options.port ?? 8765, host, backlog: LISTEN_BACKLOG }, () => resolveListen());
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (exposed)
    onLog(
      `listening on ${host}, which other machines can reach: every request except /v2/health/live, /v2/health/ready and /v2/modelops/identity needs the bearer token`,
      'warn',
    );
  const restored = repository
    .restore((m) => onLog(m, 'error'))
    .then(
      () => {
        ready = true;
      },
      (e: unknown) => {
        ready = true;
        onLog(`restore failed: ${e instanceof Error ? e.message : String(e)}`, 'error');
      },
    );
  let closing: Promise<void> | null = null;
  return {
    url,
    host,
    port,
    repository,
    log,
    live,
    restored,
    close() {
      closing ??= (async () => {
        live?.close();
        await new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        });
        await restored;
        if (log) await log.close();
        repository.disposeAll();
      })();
      return closing;
    },
  };
}
