/**
 * The one object every command factory, tree and panel receives: the sidecar, a typed request
 * helper over the shared protocol module, the log and the secret store. Commands hold no state
 * of their own.
 */
import * as vscode from 'vscode';
import { ResponseError, State } from 'vscode-languageclient/node';
import type { NotificationType, ParamsOf, RequestType, ResultOf } from '../server/protocol';
import { isErrorCode, type ErrorCode } from '../shared/errorCodes';
import type { Sidecar } from './client';
import type { MarkdownDocs } from './markdownDocs';
import type { StatusBar } from './statusBar';
import type { Charts } from './charts';

export interface Ctx {
  readonly extension: vscode.ExtensionContext;
  readonly sidecar: Sidecar;
  readonly output: vscode.LogOutputChannel;
  readonly secrets: vscode.SecretStorage;
  /** Read-only markdown views (details, lineage, comparisons). */
  readonly docs: MarkdownDocs;
  readonly status: StatusBar;
  /** Chart panels (webviews). */
  readonly charts: Charts;
  /** Sends a typed `modelops/…` request; waits for the sidecar to be running first. */
  request<T extends RequestType<unknown, unknown>>(
    type: T,
    params: ParamsOf<T>,
    token?: vscode.CancellationToken,
  ): Promise<ResultOf<T>>;
  /** Sends a typed notification to the running sidecar (dropped while it is not running). */
  notify<T extends NotificationType<unknown>>(type: T, params: ParamsOf<T>): Promise<void>;
  /** Subscribes to a typed notification from the sidecar (survives sidecar restarts). */
  onNotification<T extends NotificationType<unknown>>(
    type: T,
    handler: (params: ParamsOf<T>) => void,
  ): vscode.Disposable;
  /** The first workspace folder, if any. */
  workspaceFolder(): vscode.WorkspaceFolder | undefined;
}

/** A failure the user can act on: shown as a notification, never with a stack. */
export class UserError extends Error {
  /** The engine's error code (ModelOpsError.code), when the sidecar sent one. */
  constructor(
    message: string,
    readonly code?: ErrorCode,
  ) {
    super(message);
  }
}

export interface CtxParts {
  docs: MarkdownDocs;
  status: StatusBar;
  charts: Charts;
}

export function createCtx(extension: vscode.ExtensionContext, sidecar: Sidecar, parts: CtxParts): Ctx {
  const ctx: Ctx = {
    extension,
    sidecar,
    output: sidecar.output,
    secrets: extension.secrets,
    ...parts,
    request: (type, params, token) => sendRequest(sidecar, type.method, params, token) as never,
    notify: (type, params) => sidecar.notify(type, params),
    onNotification(type, handler) {
      return sidecar.client.onNotification(type.method, (p: unknown) => handler(p as never));
    },
    workspaceFolder: () => vscode.workspace.workspaceFolders?.[0],
  };
  return ctx;
}

/** Sends a request once the sidecar runs; engine errors become UserErrors with their code. */
export async function sendRequest(
  sidecar: Sidecar,
  method: string,
  params: unknown,
  token?: vscode.CancellationToken,
): Promise<unknown> {
  await waitForRunning(sidecar);
  try {
    return await sidecar.client.sendRequest(method, params, token);
  } catch (e) {
    // The sidecar already phrased engine errors as "message — hint".
    if (e instanceof ResponseError) {
      const data: unknown = e.data;
      const code = data && typeof data === 'object' && 'code' in data && isErrorCode(data.code) ? data.code : undefined;
      throw new UserError(e.message, code);
    }
    throw e;
  }
}

/** Resolves once the client is running; rejects after a bound so a command never hangs. */
async function waitForRunning(sidecar: Sidecar, timeoutMs = 20_000): Promise<void> {
  if (sidecar.client.state === State.Running) return;
  if (sidecar.current === 'failed' || sidecar.current === 'stopped') {
    throw new UserError(
      'The ModelOps sidecar is not running — run "ModelOps: Restart Sidecar" or "ModelOps: Show Log".',
    );
  }
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new UserError('The ModelOps sidecar did not start in time — see "ModelOps: Show Log".'));
    }, timeoutMs);
    const sub = sidecar.client.onDidChangeState((e) => {
      if (e.newState === State.Running) {
        clearTimeout(timer);
        sub.dispose();
        resolve();
      }
    });
  });
}
