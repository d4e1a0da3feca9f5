/**
 * A small test client for the built sidecar (dist/server.js) as a real process over stdio.
 *
 *   const c = await startSidecar({ files: { 'modelops.yaml': text } });
 *   const v = await c.open('modelops.yaml', text);        // waits for modelops/validated
 *   v.diagnostics                                        // the published diagnostics
 *   await c.request(core.status, {});                    // typed requests from server/protocol
 *   await c.close();                                     // shutdown, exit, temp dir removed
 *
 * The client answers window/workDoneProgress/create and client/registerCapability, records
 * every $/progress, and waits on notifications instead of sleeping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { Diagnostic, InitializeResult } from 'vscode-languageserver-protocol';
import { core, type RequestType, type ParamsOf, type ResultOf } from '../../server/protocol';
import type { ValidatedParams } from '../../server/protocol/core';

export const REPO = join(__dirname, '..', '..');
export const SERVER = join(REPO, 'dist', 'server.js');

/** Throws a clear message when the sidecar has not been built (`npm test` builds first). */
export function ensureBuilt(): void {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing — run \`npm run build\` before the protocol tests.`);
}

export interface StartOptions {
  /** Files to write into the temp workspace, path → content. */
  files?: Record<string, string>;
  /** Folders to copy into the workspace, workspace path → absolute source. */
  copy?: Record<string, string>;
  /** Merged over { trusted: true, validationDelayMs: 0 }. */
  initializationOptions?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}

export interface Validation extends Omit<ValidatedParams, 'diagnostics'> {
  /** Diagnostics published for this uri and version. */
  diagnostics: Diagnostic[];
  /** The count modelops/validated reported. */
  count: number;
}

export interface ProgressEvent {
  token: string | number;
  value: {
    kind: 'begin' | 'report' | 'end';
    title?: string;
    message?: string;
    percentage?: number;
    cancellable?: boolean;
  };
}

export interface SidecarClient {
  readonly connection: MessageConnection;
  readonly process: ChildProcess;
  /** Absolute path of the temp workspace (removed by close()). */
  readonly workspace: string;
  readonly initializeResult: InitializeResult;
  /** Round trip of the initialize request, in ms. */
  readonly initializeMs: number;
  /** Every $/progress received, in order. */
  readonly progress: ProgressEvent[];
  /** Every stderr line and window/logMessage text (for debugging failures). */
  readonly log: string[];
  uri(relPath: string): string;
  request<T extends RequestType<unknown, unknown>>(type: T, params: ParamsOf<T>): Promise<ResultOf<T>>;
  /** Opens a document and resolves when it has been validated. */
  open(relPath: string, text: string, languageId?: string): Promise<Validation>;
  /** Replaces a document's text (full-content change) and resolves when that version is validated. */
  change(relPath: string, text: string): Promise<Validation>;
  closeDocument(relPath: string): void;
  /** The last diagnostics published for a document, or undefined when none were. */
  diagnosticsFor(relPath: string): Diagnostic[] | undefined;
  /** Resolves with the first notification `method` whose params satisfy `match`. */
  waitFor<P>(method: string, match?: (p: P) => boolean, timeoutMs?: number): Promise<P>;
  /** Shuts the server down, waits for it to exit and removes the workspace. */
  close(): Promise<void>;
}

export async function startSidecar(options: StartOptions = {}): Promise<SidecarClient> {
  ensureBuilt();
  const workspace = mkdtempSync(join(tmpdir(), 'modelops-proto-'));
  for (const [rel, content] of Object.entries(options.files ?? {})) {
    mkdirSync(dirname(join(workspace, rel)), { recursive: true });
    writeFileSync(join(workspace, rel), content);
  }
  for (const [rel, src] of Object.entries(options.copy ?? {})) cpSync(src, join(workspace, rel), { recursive: true });
  const child = spawn(process.execPath, [SERVER, '--stdio'], {
    cwd: workspace,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  child.stderr?.on('data', (b: Buffer) => log.push(b.toString()));
  const connection = createMessageConnection(
    new StreamMessageReader(child.stdout as NodeJS.ReadableStream),
    new StreamMessageWriter(child.stdin as NodeJS.WritableStream),
  );

  const progress: ProgressEvent[] = [];
  const published = new Map<string, { version?: number; diagnostics: Diagnostic[] }>();
  const waiters = new Set<{ method: string; match: (p: unknown) => boolean; resolve: (p: unknown) => void }>();
  const seen: Array<{ method: string; params: unknown }> = [];
  const dispatch = (method: string, params: unknown) => {
    seen.push({ method, params });
    if (seen.length > 2000) seen.shift();
    for (const w of [...waiters]) {
      if (w.method === method && w.match(params)) {
        waiters.delete(w);
        w.resolve(params);
      }
    }
  };
  connection.onRequest('window/workDoneProgress/create', () => null);
  connection.onRequest('client/registerCapability', () => null);
  connection.onRequest('client/unregisterCapability', () => null);
  connection.onRequest('workspace/configuration', (p: { items: unknown[] }) => p.items.map(() => null));
  connection.onNotification('$/progress', (p: ProgressEvent) => {
    progress.push(p);
    dispatch('$/progress', p);
  });
  connection.onNotification(
    'textDocument/publishDiagnostics',
    (p: { uri: string; version?: number; diagnostics: Diagnostic[] }) => {
      published.set(p.uri, { version: p.version, diagnostics: p.diagnostics });
      dispatch('textDocument/publishDiagnostics', p);
    },
  );
  connection.onNotification('window/logMessage', (p: { message: string }) => log.push(p.message));
  connection.onUnhandledNotification((n) => dispatch(n.method, n.params));
  connection.listen();

  const t0 = performance.now();
  const initializeResult = (await connection.sendRequest('initialize', {
    processId: process.pid,
    rootUri: pathToFileURL(workspace).href,
    workspaceFolders: [{ uri: pathToFileURL(workspace).href, name: 'ws' }],
    capabilities: {
      window: { workDoneProgress: true },
      workspace: { didChangeWatchedFiles: { dynamicRegistration: true }, configuration: true },
      textDocument: { publishDiagnostics: { versionSupport: true }, synchronization: { dynamicRegistration: false } },
    },
    initializationOptions: { trusted: true, validationDelayMs: 0, ...options.initializationOptions },
  })) as InitializeResult;
  const initializeMs = performance.now() - t0;
  await connection.sendNotification('initialized', {});

  const versions = new Map<string, number>();
  const uri = (rel: string) => pathToFileURL(join(workspace, rel)).href;

  function waitFor<P>(method: string, match: (p: P) => boolean = () => true, timeoutMs = 10_000): Promise<P> {
    const prior = seen.find((s) => s.method === method && match(s.params as P));
    if (prior && method !== core.validated.method) return Promise.resolve(prior.params as P);
    return new Promise<P>((resolve, reject) => {
      const w = { method, match: match as (p: unknown) => boolean, resolve: resolve as (p: unknown) => void };
      waiters.add(w);
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${method}\n${log.join('').slice(-2000)}`));
      }, timeoutMs);
      timer.unref();
    });
  }

  async function validated(u: string, version: number): Promise<Validation> {
    const v = await waitFor<ValidatedParams>(core.validated.method, (p) => p.uri === u && p.version === version);
    const pub = published.get(u);
    return { ...v, count: v.diagnostics, diagnostics: pub?.diagnostics ?? [] };
  }

  const client: SidecarClient = {
    connection,
    process: child,
    workspace,
    initializeResult,
    initializeMs,
    progress,
    log,
    uri,
    request: (type, params) => connection.sendRequest(type.method, params) as Promise<never>,
    async open(rel, text, languageId = 'yaml') {
      const u = uri(rel);
      versions.set(u, 1);
      const done = validated(u, 1);
      await connection.sendNotification('textDocument/didOpen', {
        textDocument: { uri: u, languageId, version: 1, text },
      });
      return done;
    },
    async change(rel, text) {
      const u = uri(rel);
      const version = (versions.get(u) ?? 1) + 1;
      versions.set(u, version);
      const done = validated(u, version);
      await connection.sendNotification('textDocument/didChange', {
        textDocument: { uri: u, version },
        contentChanges: [{ text }],
      });
      return done;
    },
    closeDocument(rel) {
      void connection.sendNotification('textDocument/didClose', { textDocument: { uri: uri(rel) } });
    },
    diagnosticsFor: (rel) => published.get(uri(rel))?.diagnostics,
    waitFor,
    async close() {
      const exited = new Promise<void>((resolve) =>
        child.exitCode !== null ? resolve() : child.once('exit', () => resolve()),
      );
      try {
        await Promise.race([connection.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 3000).unref())]);
        await connection.sendNotification('exit');
      } catch {
        // already gone
      }
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
      connection.dispose();
      rmSync(workspace, { recursive: true, force: true });
    },
  };
  return client;
}
