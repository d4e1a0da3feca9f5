/**
 * Typed names for JSON-RPC messages, with no dependency on either LSP library, so the
 * extension (vscode-languageclient), the sidecar (vscode-languageserver), the CLI and the
 * tests all import the same constants.
 */
export interface RequestType<P, R> {
  readonly kind: 'request';
  readonly method: string;
  /**
   * The request runs something the workspace names (training commands, deploys, network calls
   * with the user's tokens): the sidecar refuses it in an untrusted workspace, in one place.
   */
  readonly requiresTrust: boolean;
  /** What the request does, for the refusal message ("Deploying", "Training"). */
  readonly action?: string;
  /** Phantom fields: carry the parameter and result types; never set at run time. */
  readonly _params?: P;
  readonly _result?: R;
}

export interface NotificationType<P> {
  readonly kind: 'notification';
  readonly method: string;
  /** Who sends it: the extension ('toServer') or the sidecar ('toClient'). */
  readonly direction: 'toServer' | 'toClient';
  readonly _params?: P;
}

/** Method names are `modelops/<domain>/<name>`, the domain being the protocol file that declares it. */
export function request<P, R>(
  method: string,
  options: { requiresTrust?: boolean; action?: string } = {},
): RequestType<P, R> {
  return {
    kind: 'request',
    method,
    requiresTrust: options.requiresTrust === true,
    ...(options.action ? { action: options.action } : {}),
  };
}

/** A notification the sidecar sends to the extension. */
export function notification<P>(method: string): NotificationType<P> {
  return { kind: 'notification', method, direction: 'toClient' };
}

/** A notification the extension sends to the sidecar. */
export function clientNotification<P>(method: string): NotificationType<P> {
  return { kind: 'notification', method, direction: 'toServer' };
}

export type ParamsOf<T> = T extends RequestType<infer P, unknown> ? P : T extends NotificationType<infer P> ? P : never;
export type ResultOf<T> = T extends RequestType<unknown, infer R> ? R : never;
