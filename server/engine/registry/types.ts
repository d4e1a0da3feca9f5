/**
 * The registry's public shape. The workspace store is `.modelops/` at the workspace root:
 * `registry.db` (SQLite, WAL) and `artifacts/` (content-addressed by SHA-256).
 * Versions are immutable; aliases move; every alias move is kept.
 */
import type { ColumnStats } from '../data/store/profile';
import type { OnnxBundleSpec, RuntimeSignature } from '../runtime/types';

/**
 * What a version takes and returns: for ONNX versions the graph's inputs and outputs (names,
 * datatypes, shapes with -1 for the batch dimension); for TF.js bundles their manifest's.
 * A change is a MAJOR bump.
 */
export type Signature = RuntimeSignature;

/** "sha256:<64 hex>" */
export type Digest = string;

export type ArtifactFormat =
  | 'modelops-tfjs'
  | 'tfjs-layers'
  | 'onnx'
  | 'keras'
  | 'h5'
  | 'torch'
  | 'safetensors'
  | 'pickle'
  | 'savedmodel'
  | 'unknown';

export interface ModelRecord {
  name: string;
  createdAt: string;
  versionCount: number;
  latestVersion: string | null;
  /** alias → version */
  aliases: Record<string, string>;
}

export interface DatasetRef {
  role: 'train' | 'validation' | 'test' | 'evaluation' | 'other';
  /** Workspace-relative path as configured. */
  path: string;
  digest: Digest;
}

export interface GateResult {
  /** Metric name, e.g. "accuracy". */
  metric: string;
  /** The expression as written, e.g. ">= production - 0.01". */
  expression: string;
  /** Comparison operator. */
  op: '>=' | '>' | '<=' | '<' | '==' | '!=';
  /** The threshold after resolving an alias reference, or null if it could not be resolved. */
  threshold: number | null;
  actual: number | null;
  passed: boolean;
  /** The version an alias-relative gate was resolved against. */
  reference: { alias: string; version: string | null } | null;
  /** Human sentence: "accuracy 0.912 ≥ 0.900" or why it failed. */
  message: string;
}

export interface GateReport {
  passed: boolean;
  results: GateResult[];
  evaluatedAt: string;
  /** Set when a user chose to ship despite failing gates. */
  override: { reason: string; at: string } | null;
  /** Set when the gates could not be evaluated, with why: never a pass (evaluation/gateState.ts). */
  notEvaluated?: string;
}

export interface VersionRecord {
  id: number;
  model: string;
  /** "MAJOR.MINOR.PATCH" */
  version: string;
  artifactDigest: Digest;
  /** 'directory' artifacts are stored as a manifest of content-addressed files. */
  artifactKind: 'file' | 'directory';
  format: ArtifactFormat;
  sizeBytes: number;
  signature: Signature | null;
  metrics: Record<string, number>;
  runId: string | null;
  configDigest: Digest | null;
  datasets: DatasetRef[];
  gitCommit: string | null;
  gitDirty: boolean | null;
  parentVersion: string | null;
  note: string | null;
  tags: string[];
  createdAt: string;
  archived: boolean;
  /** Aliases this version holds now. */
  aliases: string[];
  gates: GateReport | null;
  /** Targets where this version is the active deployment. */
  deployedTo: string[];
  /** The actor who registered it (its author for separation of duties); null for versions from before the audit trail. */
  registeredBy?: string | null;
  /** Set for a version imported from a version archive: where it was registered first (registry/versionArchive.ts). */
  origin?: VersionOrigin | null;
  /**
   * Set when ModelOps cannot run this version's format (PyTorch, Keras, pickle, …): what works
   * for it and the exact export call (modelFiles.ts formatNotice).
   */
  notice?: string;
}

/** Where an imported version came from: the archive, and the version as it was where it was exported. */
export interface VersionOrigin {
  /** The archive's file name and SHA-256. */
  archive: { name: string; digest: Digest };
  exportedAt: string;
  exportedBy: string | null;
  /** model@version where it was exported from. */
  ref: string;
  /** When and by whom it was first registered (an archive of an imported version carries its first origin). */
  createdAt: string;
  registeredBy: string | null;
}

export interface AliasMove {
  model: string;
  alias: string;
  fromVersion: string | null;
  toVersion: string | null;
  reason: string | null;
  /** Set when the move shipped a version whose gates failed: why the user overrode them. */
  forceReason: string | null;
  at: string;
}

// ── governance: audit trail and approvals ────────────────────────────────────

/** What an audit entry records. Engine writes use the first group; `audit()` takes the external ones. */
export type AuditAction =
  | 'version.register'
  | 'version.archive'
  | 'version.unarchive'
  | 'version.delete'
  | 'version.tags'
  | 'config.snapshot'
  | 'alias.set'
  | 'alias.rollback'
  | 'gates.record'
  | 'gates.override'
  | 'approval.grant'
  | 'policy.change'
  | 'deploy'
  | 'deploy.failed'
  | 'deploy.rolled-back'
  | 'alerts.acknowledge'
  | ExternalAuditAction;

/** Changes made outside the store that the sidecar or CLI report (never with a secret's value). */
export type ExternalAuditAction = 'token.set' | 'token.cleared' | 'config.snapshot';

export interface ExternalAuditEvent {
  action: ExternalAuditAction;
  /** The target whose token changed, or nothing. */
  target?: string | null;
  model?: string | null;
  /** Small facts (the secret's name, the config's digest); strings, numbers and booleans only. */
  detail?: Record<string, string | number | boolean | null>;
}

export interface AuditEntry {
  /** 1, 2, 3 … without gaps. */
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  model: string | null;
  version: string | null;
  alias: string | null;
  target: string | null;
  before: unknown;
  after: unknown;
  /** SHA-256 (hex) of the previous entry; 64 zeros for the first. */
  prevHash: string;
  /** SHA-256 (hex) of this entry's canonical form (audit.ts canonicalEntry), which includes prevHash. */
  hash: string;
}

export interface AuditQuery {
  model?: string;
  /** ISO date or date-time: entries at or after it. */
  since?: string;
  limit?: number;
}

export interface AuditVerification {
  ok: boolean;
  /** Entries that verified before the first bad one (all of them when ok). */
  entries: number;
  /** The last good entry: record it elsewhere to pin the log. */
  head: { seq: number; hash: string } | null;
  firstBad: { seq: number; problem: string; entry: AuditEntry | null } | null;
  /** Whether the head anchor file was there to check truncation against. */
  anchor: 'checked' | 'missing' | 'unreadable';
}

export type ApprovalScope = 'alias' | 'target';

export interface ApprovalRecord {
  id: number;
  model: string;
  version: string;
  /** The artifact approved; the approval is void when the version's digest no longer matches. */
  artifactDigest: Digest;
  scope: ApprovalScope;
  /** The alias or target it is for. */
  name: string;
  approver: string;
  comment: string | null;
  at: string;
  /** False when the version is gone or its artifact digest differs from the approved one. */
  valid: boolean;
}

export interface ApproveInput {
  scope: ApprovalScope;
  /** The alias or target name. */
  name: string;
  comment?: string | null;
  /** For targets: the target's separationOfDuties (aliases read it from the registry's policy). */
  separationOfDuties?: boolean;
}

export interface ApprovalRequirement {
  scope: ApprovalScope;
  name: string;
  separationOfDuties: boolean;
}

export interface SetAliasOptions {
  /**
   * Promote although the version's stored gate report failed; the reason is kept in the
   * alias history. Without it, a failed gate report refuses the move.
   */
  forceReason?: string | null;
}

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface RunRecord {
  id: string;
  /** optimize: a quantisation or pruning run (its child version names the method in its params). */
  kind: 'train' | 'evaluate' | 'optimize';
  model: string | null;
  status: RunStatus;
  params: Record<string, unknown>;
  /** TensorFlow.js backend or "command" for an external trainer. */
  backend: string | null;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  error: string | null;
  /** The version this run registered, if any. */
  version: string | null;
  /** Final metrics of the run. */
  metrics: Record<string, number>;
}

export interface RunMetricPoint {
  step: number;
  metrics: Record<string, number>;
  at: string;
}

export interface DatasetRecord {
  digest: Digest;
  path: string;
  rows: number;
  columns: Array<{ name: string; type: 'number' | 'string' | 'boolean' }>;
  createdAt: string;
}

export type DeploymentStatus = 'active' | 'superseded' | 'failed' | 'rolled-back';

export interface DeploymentRecord {
  id: number;
  target: string;
  model: string;
  version: string;
  status: DeploymentStatus;
  previousVersion: string | null;
  at: string;
  /** Named steps with outcome, e.g. [{step:"smoke test", ok:true, detail:"50/50 matched"}]. */
  steps: Array<{ step: string; ok: boolean; detail: string; ms: number }>;
  reason: string | null;
  /** The approval this deployment went out under (targets with requireApproval). */
  approvalId?: number | null;
}

export interface AlertRecord {
  id: number;
  target: string;
  model: string;
  version: string;
  /** e.g. "we1" (Western Electric rule 1) or "drift:temp_max". */
  rule: string;
  metric: string;
  message: string;
  at: string;
  acknowledged: boolean;
}

export interface RegisterVersionInput {
  model: string;
  /** Path of the artifact: a file or a directory (e.g. a model bundle). */
  source: string;
  /** Explicit semantic version; otherwise bumped from the latest by what changed. */
  version?: string;
  format?: ArtifactFormat;
  /** Ignored for ONNX files and bundles, whose signature is read from the graph. */
  signature?: Signature | null;
  /**
   * For a bare `.onnx` file: how to run it (task, columns, labels, outputs, reference rows…);
   * what is left out comes from the file's metadata_props. Ignored for other formats.
   */
  onnx?: OnnxBundleSpec;
  metrics?: Record<string, number>;
  runId?: string | null;
  /** Path of the config file; its bytes are kept in the artifact store under its SHA-256, which is recorded. */
  configPath?: string | null;
  datasets?: DatasetRef[];
  note?: string | null;
  tags?: string[];
  /** Defaults to the latest version of the model. */
  parentVersion?: string | null;
  /**
   * An imported version (versionArchive.ts): its origin is recorded, and its git lineage is the
   * one recorded where it was trained rather than this workspace's.
   */
  imported?: { origin: VersionOrigin; gitCommit: string | null; gitDirty: boolean | null };
}

export interface ListVersionsQuery {
  model: string;
  offset?: number;
  limit?: number;
  /** 'version' (semver order), 'created', or a metric name. */
  sort?: string;
  order?: 'asc' | 'desc';
  /** Case-insensitive substring of version, tag, alias or note. */
  filter?: string;
  includeArchived?: boolean;
}

export interface ChangeEvent {
  kind: 'models' | 'versions' | 'aliases' | 'runs' | 'datasets' | 'deployments' | 'alerts';
  model?: string;
}

export interface VersionComparison {
  a: VersionRecord;
  b: VersionRecord;
  /** metric → [a, b, b − a] */
  metrics: Record<string, [number | null, number | null, number | null]>;
  signatureChanged: boolean;
  sameArtifact: boolean;
  /**
   * Whether both were trained on the same bytes (their `train` datasets' digests), so their
   * metrics come from the same test split; null when either has no training data recorded.
   */
  sameData: boolean | null;
}

/** A stored file's chunk list, as data/store/manifest.ts `DataManifest` writes it. */
export interface StoredDataManifest {
  digest: Digest;
  size: number;
  chunks: Array<{ digest: Digest; size: number }>;
}

export interface RecordDataInput {
  manifest: StoredDataManifest;
  path: string;
  rows: number;
  columns: DatasetRecord['columns'];
  profile: ColumnStats[] | null;
}

/** What engine code holding a `Registry` does with its data versions (registry/datasets.ts `DataVersions` has the rest). */
export interface DataVersionWriter {
  readonly readonly: boolean;
  /** Records a stored file (its chunks already durable) as a dataset with its profile and a data version, in one transaction. */
  record(input: RecordDataInput, at?: string): void;
}

export interface Registry {
  /** Workspace root. */
  readonly root: string;
  /** `<root>/.modelops` */
  readonly storeDir: string;

  listModels(): ModelRecord[];
  listVersions(query: ListVersionsQuery): { total: number; items: VersionRecord[] };
  /** "model@1.2.0", "model@production", or "model" (latest). Throws ModelOpsError if absent. */
  getVersion(ref: string): VersionRecord;
  registerVersion(input: RegisterVersionInput): Promise<VersionRecord>;
  compareVersions(refA: string, refB: string): VersionComparison;
  archiveVersion(ref: string, archived?: boolean): VersionRecord;
  /** Only when nothing references it and it is not deployed. */
  deleteVersion(ref: string): void;
  setTags(ref: string, tags: string[]): VersionRecord;

  /** Refuses when the version's gate report failed, unless `options.forceReason` is given. */
  setAlias(model: string, alias: string, version: string, reason?: string | null, options?: SetAliasOptions): AliasMove;
  /** Moves the alias back to the version it held before its last move. */
  rollbackAlias(model: string, alias: string, reason?: string | null): AliasMove;
  aliasHistory(model: string, alias?: string): AliasMove[];

  /** A local path to the verified artifact (a file, or a directory for bundles). */
  artifactPath(ref: string): Promise<string>;
  /** The artifact's files and their digests, from its stored manifest ('' → the digest of a single-file artifact). */
  artifactFiles(ref: string): Promise<Record<string, Digest>>;
  /**
   * The config text the version was registered with, verified against its `configDigest`
   * (ModelOpsError 'config-corrupt' naming the version when it does not match); null when the
   * version has no config or was registered before configs were kept in the store.
   */
  configText(ref: string): Promise<string | null>;

  createRun(input: {
    kind: RunRecord['kind'];
    model: string | null;
    params: Record<string, unknown>;
    backend?: string | null;
  }): RunRecord;
  appendRunMetrics(runId: string, step: number, metrics: Record<string, number>): void;
  finishRun(
    runId: string,
    outcome: {
      status: Exclude<RunStatus, 'running'>;
      error?: string | null;
      version?: string | null;
      metrics?: Record<string, number>;
    },
  ): RunRecord;
  getRun(runId: string): RunRecord;
  listRuns(query?: { model?: string; limit?: number; offset?: number }): RunRecord[];
  runMetrics(runId: string): RunMetricPoint[];

  recordDataset(dataset: Omit<DatasetRecord, 'createdAt'>): DatasetRecord;
  listDatasets(): DatasetRecord[];
  /** The data versions, on the registry's own connection. */
  readonly datasets: DataVersionWriter;

  recordGates(ref: string, report: GateReport): VersionRecord;

  recordDeployment(d: Omit<DeploymentRecord, 'id' | 'at'>): DeploymentRecord;
  listDeployments(query?: { target?: string; model?: string; limit?: number }): DeploymentRecord[];
  /** The active deployment of a model on a target, if any. */
  activeDeployment(target: string, model: string): DeploymentRecord | null;

  recordAlert(a: Omit<AlertRecord, 'id' | 'at' | 'acknowledged'>): AlertRecord;
  listAlerts(query?: { target?: string; unacknowledgedOnly?: boolean; limit?: number }): AlertRecord[];
  acknowledgeAlert(id: number): void;
  /** Acknowledges the alerts named, or every unacknowledged one of a target (or of all); returns those it changed. */
  acknowledgeAlerts(query: { ids?: readonly number[]; target?: string }): AlertRecord[];

  /** Who this registry records as the actor of its writes (governance/identity.ts). */
  actor(): string;
  /** Records an approval of a version for an alias or target (audited). */
  approve(ref: string, input: ApproveInput): ApprovalRecord;
  listApprovals(query?: { model?: string; limit?: number }): ApprovalRecord[];
  /** The valid approval that lets `ref` reach the alias or target; throws 'approval-required' naming what to run. */
  requireApproval(ref: string, requirement: ApprovalRequirement): ApprovalRecord;
  /** Appends an external event (token set or cleared, config snapshot) to the audit trail. */
  audit(event: ExternalAuditEvent): AuditEntry;
  auditLog(query?: AuditQuery): AuditEntry[];
  /** Walks the hash chain; names the first bad entry. */
  verifyAudit(): AuditVerification;

  /** Subscribes to changes made through this instance; returns the unsubscribe function. */
  onChange(listener: (e: ChangeEvent) => void): () => void;
  close(): void;
}
