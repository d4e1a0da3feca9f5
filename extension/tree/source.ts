/**
 * What the trees read, as a narrow interface over the sidecar's requests: the tree code does
 * not care which protocol module each list comes from.
 */
import type { DatasetRecord, ModelRecord, RunRecord, VersionRecord } from '../../server/engine/registry/types';

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
  listDatasets(): Promise<DatasetRecord[]>;
  listRuns(limit: number): Promise<RunRecord[]>;
  listEndpoints(): Promise<EndpointItem[]>;
}
