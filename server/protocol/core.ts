import { clientNotification, notification, request } from './rpc';

/** What the sidecar reports about itself: shown in the status bar and the output channel. */
export interface SidecarStatus {
  /** Version of the sidecar (package.json). */
  version: string;
  /** The Node that runs the sidecar, e.g. "v20.20.2 (modules 115)". */
  runtime: string;
  /** Workspace root the engine works in, if any. */
  workspaceRoot: string | null;
  /** Whether the workspace is trusted: untrusted workspaces get read-only features only. */
  trusted: boolean;
}

export const status = request<Record<string, never>, SidecarStatus>('modelops/core/status');

/** Sent by the extension when Workspace Trust is granted after start-up. */
export const setTrust = clientNotification<{ trusted: boolean }>('modelops/core/setTrust');

/** What changed in the workspace store; the tree refreshes only the affected branch. */
export interface ChangedParams {
  kind: 'models' | 'versions' | 'aliases' | 'runs' | 'datasets' | 'deployments' | 'alerts' | 'endpoints';
  model?: string;
}
export const changed = notification<ChangedParams>('modelops/core/changed');

/** Sent after a document's diagnostics were published; tests wait on it instead of sleeping. */
export interface ValidatedParams {
  uri: string;
  version: number;
  diagnostics: number;
  /** Milliseconds spent analysing (excluding the debounce). */
  elapsedMs: number;
}
export const validated = notification<ValidatedParams>('modelops/core/validated');

/** Initialization options the extension passes to the sidecar. */
export interface InitializationOptions {
  trusted: boolean;
  /** Debounce for validation while typing, in milliseconds. */
  validationDelayMs?: number;
}
