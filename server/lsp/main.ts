/**
 * The sidecar: a language server over stdio or Node IPC (chosen by the command line, as
 * vscode-languageserver does) that hosts the ModelOps engine.
 */
import {
  createConnection,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  ResponseError,
  ErrorCodes,
  type InitializeParams,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { fileURLToPath } from 'node:url';
import { core } from '../protocol';
import type { InitializationOptions } from '../protocol/core';
import type { ServerContext } from './context';
import { createWorkspaceServices } from './workspaceServices';
import { handlerModules } from './handlers';
import { describeError, isModelOpsError, ModelOpsError } from '../engine/errors';
import { PRODUCT_VERSION } from '../engine/version';
import { consoleToLog, splicingWriter } from './messageWriter';

/** The transport the command line names first, as vscode-languageserver reads it. */
const transport = process.argv.slice(2).find((a) => /^--(node-ipc|stdio|socket|pipe)(=|$)/.test(a));
/**
 * Over stdio the sidecar writes with its own writer, which sends a cached outline's JSON as
 * encoded once per parse (messageWriter.ts); stdin stays a stream so the library still exits when
 * the client closes it. Node IPC (the extension) and sockets keep the library's transports.
 */
const connection =
  transport === '--stdio'
    ? createConnection(
        ProposedFeatures.all,
        process.stdin,
        // The library takes a MessageWriter as the output beside a stream input; its typings pair
        // a stream only with a stream.
        splicingWriter(process.stdout) as unknown as NodeJS.WritableStream,
      )
    : createConnection(ProposedFeatures.all);
// The library moves console output off stdout only for the stdio it opens itself.
if (transport === '--stdio') consoleToLog(connection.console);
const documents = new TextDocuments(TextDocument);

let root: string | null = null;
let trusted = false;
let validationDelayMs = 150;
const shutdownHooks: Array<() => void | Promise<void>> = [];
const services = createWorkspaceServices({
  workspaceRoot: () => root,
  log: (message) => connection.console.log(message),
  notify: (type, params) => void connection.sendNotification(type.method, params),
});

const ctx: ServerContext = {
  ...services,
  connection,
  documents,
  workspaceRoot: () => root,
  trusted: () => trusted,
  tokens: new Map(),
  validationDelayMs: () => validationDelayMs,
  log: (message) => connection.console.log(message),
  onShutdown: (dispose) => shutdownHooks.push(dispose),
  handle: (type, handler) => {
    connection.onRequest(type.method, async (params: unknown, token) => {
      try {
        if (type.requiresTrust && !trusted) {
          throw new ModelOpsError(
            'untrusted-workspace',
            `${type.action ?? 'This'} is disabled in an untrusted workspace: it would run what the workspace names.`,
            'Trust the workspace (Manage Workspace Trust) to do this.',
          );
        }
        return await handler(params as never, token);
      } catch (e) {
        // Engine errors reach the client as a message that names what is wrong and what to do.
        if (!isModelOpsError(e))
          connection.console.error(`${type.method} failed: ${e instanceof Error ? e.stack : String(e)}`);
        throw new ResponseError(
          isModelOpsError(e) ? 1 : ErrorCodes.InternalError,
          describeError(e),
          isModelOpsError(e) ? { code: e.code } : undefined,
        );
      }
    });
  },
  notify: (type, params) => {
    void connection.sendNotification(type.method, params);
  },
  onNotification: (type, handler) => {
    connection.onNotification(type.method, (params: unknown) => {
      try {
        handler(params && typeof params === 'object' ? (params as never) : undefined);
      } catch (e) {
        connection.console.error(`${type.method} failed: ${describeError(e)}`);
      }
    });
  },
};

connection.onInitialize((params: InitializeParams): InitializeResult => {
  const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri;
  root = folder ? fileURLToPath(folder) : null;
  const options = (params.initializationOptions ?? {}) as Partial<InitializationOptions>;
  trusted = options.trusted === true;
  if (typeof options.validationDelayMs === 'number' && options.validationDelayMs >= 0) {
    validationDelayMs = options.validationDelayMs;
  }
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      completionProvider: { triggerCharacters: [':', ' ', '"', "'", '/', '.'], resolveProvider: false },
      hoverProvider: true,
      codeActionProvider: { codeActionKinds: ['quickfix'] },
      documentSymbolProvider: true,
      definitionProvider: true,
    },
    serverInfo: { name: 'modelops-sidecar', version: PRODUCT_VERSION },
  };
});

ctx.handle(core.status, () => ({
  version: PRODUCT_VERSION,
  runtime: `${process.version} (modules ${process.versions.modules})`,
  workspaceRoot: root,
  trusted,
}));

ctx.onNotification(core.setTrust, (p) => {
  trusted = p?.trusted === true;
});

for (const register of handlerModules) register(ctx);
// Closed after the handlers' own shutdown hooks, which may still touch the registry.
ctx.onShutdown(services.closeRegistry);

connection.onShutdown(async () => {
  for (const hook of shutdownHooks.splice(0)) {
    try {
      await hook();
    } catch (e) {
      connection.console.error(`shutdown: ${describeError(e)}`);
    }
  }
});

// A bug in one handler must not take the sidecar down with it.
process.on('uncaughtException', (e) => connection.console.error(`uncaught: ${e.stack ?? e.message}`));
process.on('unhandledRejection', (e) => connection.console.error(`unhandled rejection: ${describeError(e)}`));

documents.listen(connection);
connection.listen();
