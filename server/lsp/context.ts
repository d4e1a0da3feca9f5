import type { Connection, TextDocuments } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { NotificationType, ParamsOf, RequestType, ResultOf } from '../protocol';
import type { BoundToken } from '../engine/deploy';
import type { WorkspaceServices } from './workspaceServices';

/**
 * What every handler module receives: the connection, open documents and workspace facts, and
 * (from WorkspaceServices) the shared registry, config paths and the alias lookup, so no handler
 * module keeps workspace state in a module global.
 */
export interface ServerContext extends WorkspaceServices {
  readonly connection: Connection;
  readonly documents: TextDocuments<TextDocument>;
  /** Absolute path of the first workspace folder, or null with no folder open. */
  workspaceRoot(): string | null;
  /** Whether the workspace is trusted (nothing from an untrusted workspace is executed). */
  trusted(): boolean;
  /**
   * Endpoint tokens the extension sent from SecretStorage, by secret name, with the origins each
   * is bound to. Kept in memory only; deploys, rollbacks and live monitoring read them here.
   */
  readonly tokens: Map<string, BoundToken>;
  /** Validation debounce in milliseconds. */
  validationDelayMs(): number;
  log(message: string): void;
  /** Registers things to close when the server shuts down. */
  onShutdown(dispose: () => void | Promise<void>): void;
  /** Typed request handler registration; requests declared `requiresTrust` are refused in an untrusted workspace here. */
  handle<T extends RequestType<unknown, unknown>>(
    type: T,
    handler: (
      params: ParamsOf<T>,
      token: import('vscode-languageserver/node').CancellationToken,
    ) => ResultOf<T> | Promise<ResultOf<T>>,
  ): void;
  /** Typed notification to the client. */
  notify<T extends NotificationType<unknown>>(type: T, params: ParamsOf<T>): void;
  /**
   * Typed handler of a notification from the client. Its params come over the wire: the handler
   * still checks their shape.
   */
  onNotification<T extends NotificationType<unknown>>(
    type: T,
    handler: (params: Partial<ParamsOf<T>> | undefined) => void,
  ): void;
}
