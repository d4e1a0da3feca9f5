/** Starts the model server in this process (`modelops serve`, tests, benchmarks). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelOpsError } from '../errors';
import { ServerMetrics } from './metrics';
import { PredictionLog, type PredictionLogOptions } from './predictionLog';
import { ModelRepository } from './repository';
import { createRequestHandler } from './server';
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
  /** Infer body limit, default 10 MB. */
  bodyLimit?: number;
  /** Management (upload) body limit, default 256 MB. */
  managementBodyLimit?: number;
  allowPathLoads?: boolean;
  /** How bundles are loaded; default `loadModelBundle`. */
  loader?: PredictorLoader;
  /** Server messages (never a token). */
  onLog?: (message: string) => void;
}

export interface RunningModelServer {
  url: string;
  host: string;
  port: number;
  repository: ModelRepository;
  log: PredictionLog | null;
  /** Resolves once the models of a previous run are loaded again. */
  restored: Promise<void>;
  close(): Promise<void>;
}

const defaultLoader: PredictorLoader = async (dir) => {
  const { loadModelBundle } = await import('../model/bundle');
  return loadModelBundle(dir);
};

export async function startModelServer(options: ModelServerOptions): Promise<RunningModelServer> {
  const host = options.host ?? '127.0.0.1';
  const storeDir = resolve(options.storeDir);
  await mkdir(storeDir, { recursive: true });
  const onLog = options.onLog ?? (() => undefined);
  const metrics = new ServerMetrics();
  const repository = new ModelRepository(storeDir, options.loader ?? defaultLoader, {
    maxBatchSize: Math.max(1, options.maxBatchSize ?? 64),
    maxWaitMs: Math.max(0, options.maxWaitMs ?? 0),
    onBatch: (rows) => metrics.observeBatch(rows),
  });
  const log = options.logging === false ? null : new PredictionLog(join(storeDir, 'logs'), options.log);
  let ready = false;
  const handler = createRequestHandler({
    storeDir,
    repository,
    metrics,
    log,
    token: options.token ?? null,
    bodyLimit: options.bodyLimit ?? 10 * 1024 * 1024,
    managementBodyLimit: options.managementBodyLimit ?? 256 * 1024 * 1024,
    allowPathLoads: options.allowPathLoads ?? true,
    ready: () => ready,
  });
  const server: Server = createServer({ keepAlive: true }, handler);
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'EADDRINUSE'
          ? new ModelOpsError('port-in-use', `Port ${options.port ?? 8765} on ${host} is already in use.`, 'Stop the other server or choose another port (--port, or deploy.targets.<name>.port).')
          : e,
      );
    });
    server.listen(options.port ?? 8765, host, () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const restored = repository.restore(onLog).then(
    () => {
      ready = true;
    },
    (e: unknown) => {
      ready = true;
      onLog(`restore failed: ${e instanceof Error ? e.message : String(e)}`);
    },
  );
  let closing: Promise<void> | null = null;
  return {
    url,
    host,
    port,
    repository,
    log,
    restored,
    close() {
      closing ??= (async () => {
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
