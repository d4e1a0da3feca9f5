/**
 * Typed names for JSON-RPC messages, with no dependency on either LSP library, so the
 * extension (vscode-languageclient), the sidecar (vscode-languageserver), the CLI and the
 * tests all import the same constants.
 */
export interface RequestType<P, R> {
  readonly kind: 'request';
  readonly method: string;
  /** Phantom fields: carry the parameter and result types; never set at run time. */
  readonly _params?: P;
  readonly _result?: R;
}

export interface NotificationType<P> {
  readonly kind: 'notification';
  readonly method: string;
  readonly _params?: P;
}

export function request<P, R>(method: string): RequestType<P, R> {
  return { kind: 'request', method };
}

export function notification<P>(method: string): NotificationType<P> {
  return { kind: 'notification', method };
}

export type ParamsOf<T> = T extends RequestType<infer P, unknown> ? P : T extends NotificationType<infer P> ? P : never;
export type ResultOf<T> = T extends RequestType<unknown, infer R> ? R : never;
