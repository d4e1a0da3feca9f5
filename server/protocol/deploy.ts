/**
 * Deploy, rollback, endpoints and monitoring over JSON-RPC. Deploys report their named steps
 * through the client's work-done progress and as `deployStep` notifications. Endpoint tokens
 * travel from SecretStorage to the sidecar's memory with `setToken`; they are never written.
 */
import { clientNotification, notification, request } from './rpc';
import type { DeploymentRecord } from '../engine/registry/types';
import type { EndpointStatus, StepEvent } from '../engine/deploy/deploy';
import type { MonitorResult, MonitorWindow, DriftSummary } from '../engine/monitoring/monitor';

export type { EndpointStatus, StepEvent, MonitorResult, MonitorWindow, DriftSummary };

export interface DeployParams {
  /** "model@1.2.0" or "model@production". */
  ref: string;
  target: string;
  /** Required to ship a version with failing gates to a target with requireApproval; recorded. */
  overrideReason?: string;
  /** modelops.yaml to use (default: the workspace root's). */
  configUri?: string;
  workDoneToken?: string | number;
}

export interface DeployResultInfo {
  deployment: DeploymentRecord;
  url: string;
}

export const deploy = request<DeployParams, DeployResultInfo>('modelops/deploy/deploy', {
  requiresTrust: true,
  action: 'Deploying',
});

/** Each step of a running deploy as it starts, passes or fails. */
export const deployStep = notification<{ ref: string; target: string; event: StepEvent }>('modelops/deploy/step');

export const rollback = request<{ target: string; model: string; configUri?: string }, DeploymentRecord>(
  'modelops/deploy/rollback',
  { requiresTrust: true, action: 'Rolling back a deployment' },
);

/** Configured targets with health and what they serve; never starts a server. */
export const listEndpoints = request<{ configUri?: string }, EndpointStatus[]>('modelops/deploy/listEndpoints');

export interface MonitorParams {
  /** Default: monitor.target of the config. */
  target?: string;
  /** Default: model.name of the config. */
  model?: string;
  /** Only the last N windows (default 500), so the chart stays light. */
  lastWindows?: number;
  configUri?: string;
}

/** Windows, the control chart (ready for the chart webview), drift and the alerts this run raised. */
// windowTable is the engine's in-process view of the windows; it is not serialised.
export const monitor = request<MonitorParams, Omit<MonitorResult, 'windowTable'>>('modelops/deploy/monitor');

export interface SetTokenParams {
  /** The secret's name: a target's tokenSecret, else the target's name. */
  secret: string;
  /** null clears it. */
  token: string | null;
  /** The origins (scheme://host:port) the user allowed this token to be sent to. */
  origins: string[];
}

/** Sets (or clears, with null) a token in the sidecar's memory only, with the origins it is bound to. */
export const setToken = clientNotification<SetTokenParams>('modelops/deploy/setToken');
