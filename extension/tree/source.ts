/**
 * What the trees read, as a narrow interface over the sidecar's requests: the tree code does
 * not care which protocol module each list comes from.
 */
import type { ModelRecord, RunRecord, VersionRecord } from '../../server/engine/registry/types';
import type { AlertCount, DatasetInfo } from '../../server/protocol/monitoring';
import type { VersionStatus } from '../../server/protocol/governance';
import type { StudySummary } from '../../server/protocol/optimize';

export interface EndpointItem {
  target: string;
  type: string;
  /** e.g. "http://127.0.0.1:8765" */
  url: string | null;
  /** What it serves: one entry per model. */
  serving: Array<{ model: string; version: string }>;
  /** 'stopped': a local target whose server is not running (it starts on deploy). */
  health: 'ready' | 'live' | 'down' | 'stopped' | 'unknown';
  /** Unacknowledged alerts on this target. */
  alerts: number;
  /** Prediction log lines the server dropped (full disk): monitoring misses them. */
  logDropped: number;
  logError: string | null;
  requireApproval: boolean;
}

export interface TreeSource {
  listModels(): Promise<ModelRecord[]>;
  listVersions(model: string, offset: number, limit: number): Promise<{ total: number; items: VersionRecord[] }>;
  /** Data versions with size, stored or not, and the versions that used them. */
  listDatasets(): Promise<DatasetInfo[]>;
  listRuns(limit: number): Promise<RunRecord[]>;
  listEndpoints(): Promise<EndpointItem[]>;
  /** Alerts of what each target serves, since its deploy and per version. */
  alertCounts?(): Promise<AlertCount[]>;
  /** Protection, approvals and fairness of a model's versions (pending/approved icons, the worst gap in tooltips). */
  versionStatus?(model: string): Promise<VersionStatus>;
  /** Hyperparameter studies of a model, newest first (a "Studies" child under the model). */
  listStudies?(model: string): Promise<StudySummary[]>;
}
