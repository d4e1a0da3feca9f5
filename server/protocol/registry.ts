/**
 * The model registry over JSON-RPC: what the model tree and the registry commands ask the
 * sidecar. Records are the engine's own types (server/engine/registry/types.ts).
 */
import { request } from './rpc';
import type {
  AlertRecord,
  AliasMove,
  DatasetRecord,
  DeploymentRecord,
  ListVersionsQuery,
  ModelRecord,
  RegisterVersionInput,
  RunMetricPoint,
  RunRecord,
  VersionComparison,
  VersionRecord,
} from '../engine/registry/types';
import type { LineageView } from '../engine/registry/lineage';
import type { ExportVersionResult, ImportVersionResult } from '../engine/registry/versionArchive';
import type { LostDatabase } from '../engine/registry/store';

export type { LineageView };

export const listModels = request<Record<string, never>, ModelRecord[]>('modelops/registry/listModels');

/** Paged: `offset`/`limit` (≤ 1000), `sort` ('version' | 'created' | a metric), `order`, `filter`. */
export const listVersions = request<ListVersionsQuery, { total: number; items: VersionRecord[] }>(
  'modelops/registry/listVersions',
);

/** `ref`: "model@1.2.0", "model@production" or "model" (latest). */
export const getVersion = request<{ ref: string }, VersionRecord>('modelops/registry/getVersion');

/** `source` is absolute or relative to the workspace root. */
export const registerVersion = request<RegisterVersionInput, VersionRecord>('modelops/registry/registerVersion');

export interface SetAliasParams {
  model: string;
  alias: string;
  version: string;
  reason?: string | null;
  /** Required to promote a version whose gate report failed; kept in the alias history. */
  forceReason?: string | null;
}
/** Promote: move `alias` to `version`. Fails with the gate results when the version's gates failed. */
export const setAlias = request<SetAliasParams, AliasMove>('modelops/registry/setAlias');

export const rollbackAlias = request<{ model: string; alias: string; reason?: string | null }, AliasMove>(
  'modelops/registry/rollbackAlias',
);

/** Newest first. */
export const aliasHistory = request<{ model: string; alias?: string }, AliasMove[]>('modelops/registry/aliasHistory');

export const compareVersions = request<{ a: string; b: string }, VersionComparison>(
  'modelops/registry/compareVersions',
);

export const archiveVersion = request<{ ref: string; archived?: boolean }, VersionRecord>(
  'modelops/registry/archiveVersion',
);

/** Refused while the version holds an alias or is deployed. */
export const deleteVersion = request<{ ref: string }, { deleted: string }>('modelops/registry/deleteVersion');

export const setTags = request<{ ref: string; tags: string[] }, VersionRecord>('modelops/registry/setTags');

/** A verified local path of the artifact (a file, or an unpacked folder), e.g. for "Reveal artifact". */
export const artifactPath = request<{ ref: string }, { path: string }>('modelops/registry/artifactPath');

export const listRuns = request<{ model?: string; limit?: number; offset?: number }, RunRecord[]>(
  'modelops/registry/listRuns',
);

export const getRun = request<{ id: string }, RunRecord>('modelops/registry/getRun');

export const runMetrics = request<{ id: string }, RunMetricPoint[]>('modelops/registry/runMetrics');

export const listDatasets = request<Record<string, never>, DatasetRecord[]>('modelops/registry/listDatasets');

export const listDeployments = request<{ target?: string; model?: string; limit?: number }, DeploymentRecord[]>(
  'modelops/registry/listDeployments',
);

export const listAlerts = request<{ target?: string; unacknowledgedOnly?: boolean; limit?: number }, AlertRecord[]>(
  'modelops/registry/listAlerts',
);

/** Acknowledges the alerts named, or every unacknowledged one of a target (or of all); returns those it changed. */
export const acknowledgeAlerts = request<{ ids?: number[]; target?: string }, AlertRecord[]>(
  'modelops/registry/acknowledgeAlerts',
);

export interface ConfigTextResult {
  /** The resolved version, "model@1.2.0". */
  ref: string;
  /** The config digest the version recorded, or null when it has none. */
  configDigest: string | null;
  /**
   * The config text kept in the workspace store, verified against the digest (a corrupted copy
   * is an error naming the version); null when the version has no config or was registered
   * before configs were kept.
   */
  text: string | null;
}
/** The config a version was registered with, as stored (no workspace or git fallback: see workspace.versionConfig). */
export const configText = request<{ ref: string }, ConfigTextResult>('modelops/registry/configText');

/** Display-ready lineage: run, config digest, datasets, git, ancestors, and label/value lines. */
export const lineage = request<{ ref: string }, LineageView>('modelops/registry/lineage');

export interface StoreState {
  /** Set when registry.db is missing or empty while the store holds artifacts or deployments: writes are refused. */
  lost: LostDatabase | null;
  /** Notes from opening the store (permissions tightened, artifacts set aside). */
  warnings: string[];
}
/** The workspace store's health, so the editor can warn that the database looks lost. */
export const storeState = request<Record<string, never>, StoreState>('modelops/registry/storeState');

/**
 * After the user confirmed it: start an empty registry beside the artifacts of a lost one (they are
 * set aside in .modelops/artifacts.lost-<time>/, not deleted). Needs a trusted workspace.
 */
export const confirmNewRegistry = request<Record<string, never>, StoreState>('modelops/registry/confirmNewRegistry', {
  requiresTrust: true,
  action: 'Starting a new registry',
});

export interface ExportVersionParams {
  /** "model@1.2.0" or "model@production". */
  ref: string;
  /** The archive to write (absolute). */
  out: string;
  /** Replace an existing file (default: refuse). */
  force?: boolean;
  /** Carry the exact bytes of the version's datasets. */
  withData?: boolean;
  workDoneToken?: string | number;
}
/** One version as a `.modelops.tgz` another workspace imports as the same version (registry/versionArchive.ts). */
export const exportVersion = request<ExportVersionParams, ExportVersionResult>('modelops/registry/exportVersion');

export interface ImportVersionParams {
  /** The archive (absolute). */
  file: string;
  /** Import under another model name or version (when the archive's is taken here). */
  model?: string;
  version?: string;
  workDoneToken?: string | number;
}
/** Imports a version archive after checking every entry against its digest. Needs trust: the model is loaded to check it. */
export const importVersion = request<ImportVersionParams, ImportVersionResult>('modelops/registry/importVersion', {
  requiresTrust: true,
  action: 'Importing a version (its model is loaded to check it)',
});
