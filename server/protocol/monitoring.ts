/**
 * Live monitoring, data versions and alert counts over JSON-RPC. While the editor is open and the
 * workspace trusted, the sidecar follows the monitor stream of every running target (see
 * server/lsp/handlers/monitoring.ts), runs the `monitor.on` policies and sends each alert as an
 * `alert` notification: the extension never polls for them.
 */
import { clientNotification, notification, request } from './rpc';
import type { MonitorAction } from '../engine/config/types';
import type { DeploymentRecord, GateReport, VersionRecord } from '../engine/registry/types';
import type { DataUse, DataVersionRecord } from '../engine/registry/datasets';
import type { LiveAlert } from '../engine/monitoring/live/window';

export type { LiveAlert, DataUse };

/** What the sidecar did about a live alert (`monitor.on`). */
export interface AlertOutcomeInfo {
  action: MonitorAction;
  /** The policy key that chose the action ('default' when none matched). */
  because: string;
  /** What was done, or why nothing was, for people. */
  detail: string;
  ok: boolean;
  /** The registry's id of the alert; null when the same alert was recorded before. */
  alertId: number | null;
  /** rollback: the new deployment (the version that serves again); null otherwise. */
  deployment: DeploymentRecord | null;
}

export interface LiveAlertParams {
  target: string;
  model: string;
  alert: LiveAlert;
  outcome: AlertOutcomeInfo;
  /** When the sidecar received it (ISO time). */
  at: string;
}

/** Each live alert as it arrives from a model server, after its policy ran. */
export const alert = notification<LiveAlertParams>('modelops/monitoring/alert');

/** started: the stream was asked for, no event yet (a server sends nothing until a window closes); following: events arrive. */
export type SubscriptionState = 'started' | 'following' | 'retrying' | 'refused';

export interface SubscriptionInfo {
  target: string;
  model: string;
  url: string;
  state: SubscriptionState;
  /** Why it is retrying or refused. */
  detail: string | null;
  /** Windows seen since the subscription started. */
  windows: number;
  alerts: number;
}

export interface SubscriptionsResult {
  /** False in Restricted Mode: nothing is followed there. */
  trusted: boolean;
  subscriptions: SubscriptionInfo[];
  /** Targets that are configured but not followed, and why (not running, no token, …). */
  skipped: Array<{ target: string; reason: string }>;
}

/** The streams the sidecar follows now. */
export const subscriptions = request<Record<string, never>, SubscriptionsResult>('modelops/monitoring/subscriptions');

/** Sent when the set of followed streams or their state changes. */
export const subscriptionsChanged = notification<SubscriptionsResult>('modelops/monitoring/subscriptionsChanged');

/** Asks the sidecar to look again at targets now (after a deploy, a rollback or a config save) instead of at its next check. */
export const resubscribe = clientNotification<Record<string, never>>('modelops/monitoring/resubscribe');

/** A data version for the tree: rows, size, whether its bytes are stored, the versions that used it. */
export interface DatasetInfo extends Omit<DataVersionRecord, 'profile'> {
  usedBy: DataUse[];
}

export const datasets = request<Record<string, never>, DatasetInfo[]>('modelops/monitoring/datasets');

export interface CheckoutDatasetParams {
  /** The data digest ("sha256:…"). */
  digest: string;
  /** Absolute path of the file to write. */
  out: string;
  /** Replace an existing file. */
  force?: boolean;
}

/** Restores a data version's exact bytes (verified against its digest) to a file. */
export const checkoutDataset = request<CheckoutDatasetParams, { path: string; size: number; digest: string }>(
  'modelops/monitoring/checkoutDataset',
  {
    requiresTrust: true,
    action: 'Restoring a dataset',
  },
);

/** Alerts of what a target serves: for the version serving now, since it was (re)deployed. */
export interface AlertCount {
  target: string;
  model: string;
  /** The version that serves now. */
  version: string;
  /** When the active deployment (deploy or rollback) made it serve. */
  since: string;
  /** Unacknowledged alerts on this version since then. */
  sinceDeploy: number;
  /** Unacknowledged alerts on this target per version, all time (version → count). */
  byVersion: Record<string, number>;
}

export const alertCounts = request<{ target?: string }, AlertCount[]>('modelops/monitoring/alertCounts');

export interface RetrainFromTrafficParams {
  /** The deploy target whose logged, labelled predictions become the training data. */
  target: string;
  /** Served model (default model.name). */
  model?: string;
  /** ISO time or a duration back from now ("7d"); default the whole log. */
  since?: string;
  /** Fraction of rows from the original data.train, 0–1 (default 0). */
  mix?: number;
  /** auto | tensorflow | wasm | cpu (the `modelops.training.backend` setting). */
  backend?: string;
  configUri?: string;
  workDoneToken?: string | number;
}

export interface RetrainFromTrafficResult {
  /** The stored data version the model was trained on. */
  dataset: { path: string; digest: string; rows: number; labelled: number; unlabelled: number; originalRows: number };
  version: VersionRecord;
  metrics: Record<string, number>;
  gates: GateReport | null;
  /** The promote and deploy commands when the version passed its gates; empty otherwise. */
  next: Array<{ action: 'promote' | 'deploy'; command: string }>;
}

/**
 * Retraining from traffic (`modelops train --from-traffic`): builds the dataset from the target's
 * predictions joined with their feedback, stores it as a data version, trains and gates. Reports
 * work-done progress and honours cancellation.
 */
export const retrainFromTraffic = request<RetrainFromTrafficParams, RetrainFromTrafficResult>(
  'modelops/monitoring/retrainFromTraffic',
  {
    requiresTrust: true,
    action: 'Retraining from traffic',
  },
);
