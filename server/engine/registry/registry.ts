/**
 * The Registry over the workspace store: one SQLite connection (handle.ts) shared by the parts
 * that own each concern — versions, aliases and gates (versions.ts), runs (runs.ts), deployments
 * and alerts (deployments.ts), approvals and the audit trail (approvals.ts, audit.ts), datasets
 * and data versions (datasets.ts), hyperparameter studies (studies.ts) — plus the
 * content-addressed artifacts (artifacts.ts). `WorkspaceRegistry` composes them behind the
 * `Registry` interface; `registry.datasets` and `registry.studies` are the parts other engine
 * modules use directly, so nothing opens a second connection while a registry is open.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cleanActor, resolveActor } from '../governance/identity';
import type { AliasPolicy } from '../governance/policy';
import { ApprovalStore, AuditTrail } from './approvals';
import { ArtifactStore } from './artifacts';
import { DataVersions } from './datasets';
import { DeploymentStore } from './deployments';
import { StoreHandle } from './handle';
import { RunStore } from './runs';
import { mapStoreError, openStore, type LostDatabase } from './store';
import { StudyStore } from './studies';
import { VersionStore } from './versions';
import type {
  Digest,
  AlertRecord,
  AliasMove,
  ApprovalRecord,
  ApprovalRequirement,
  ApproveInput,
  AuditEntry,
  AuditQuery,
  AuditVerification,
  ChangeEvent,
  DatasetRecord,
  DeploymentRecord,
  ExternalAuditEvent,
  GateReport,
  ListVersionsQuery,
  ModelRecord,
  RegisterVersionInput,
  Registry,
  RunMetricPoint,
  RunRecord,
  SetAliasOptions,
  VersionComparison,
  VersionRecord,
} from './types';

export { MAX_CONFIG_BYTES } from './versions';

export interface OpenRegistryOptions {
  /** Open without writing anything (listing in an untrusted or read-only workspace). */
  readonly?: boolean;
  /** Skip the orphan sweep on open (tests that inspect orphans). */
  sweep?: boolean;
  /**
   * The user confirmed a fresh start: a registry.db that is missing or empty beside existing
   * artifacts ("looks lost") is replaced by a new, empty one; the old artifacts are moved aside.
   */
  confirmNewRegistry?: boolean;
  /** Who is acting (recorded in the audit trail and on approvals); default: governance/identity.ts resolveActor. */
  actor?: string;
  /** The config whose `registry:` block says which aliases are protected (default: <root>/modelops.yaml). */
  configPath?: string;
  /** The alias policy itself, instead of reading it from the config (tests, embedders). */
  aliasPolicy?: AliasPolicy;
}

export type { LostDatabase };

/** How long a resolved actor is reused (see `actor()`). */
const ACTOR_TTL_MS = 10_000;

export function openRegistry(workspaceRoot: string, options: OpenRegistryOptions = {}): WorkspaceRegistry {
  return new WorkspaceRegistry(resolve(workspaceRoot), options);
}

export class WorkspaceRegistry implements Registry {
  readonly root: string;
  readonly storeDir: string;
  readonly readonly: boolean;
  /**
   * Set when registry.db is missing or empty while the store holds artifacts or deployment
   * records: the registry reads as empty and refuses every write (`registry-lost`) until the
   * database is restored or a fresh start is confirmed (`confirmNewRegistry`).
   */
  readonly lostDatabase: LostDatabase | null;
  /** One-line notes from opening, for the caller to log (permissions tightened, artifacts set aside). */
  readonly warnings: string[];
  /** Datasets and data versions, on this registry's connection. */
  readonly datasets: DataVersions;
  /** Hyperparameter studies and trials, on this registry's connection. */
  readonly studies: StudyStore;

  private readonly h: StoreHandle;
  private readonly snapshotDir: string | null;
  /** The actor given when opening (tests, embedders); null: resolved from the environment. */
  private readonly fixedActor: string | null;
  private resolvedActor: { id: string; at: number } | null = null;
  private readonly versions: VersionStore;
  private readonly runs: RunStore;
  private readonly deployments: DeploymentStore;
  private readonly approvals: ApprovalStore;
  private readonly trail: AuditTrail;

  constructor(root: string, options: OpenRegistryOptions) {
    this.root = root;
    this.storeDir = join(root, '.modelops');
    this.readonly = options.readonly === true;
    const { db, dbPath, snapshotDir, lost, warnings } = openStore(this.storeDir, {
      readonly: this.readonly,
      confirmNewRegistry: options.confirmNewRegistry === true,
    });
    this.snapshotDir = snapshotDir;
    this.lostDatabase = lost;
    this.warnings = warnings;
    this.fixedActor = options.actor !== undefined ? cleanActor(options.actor) || 'unknown' : null;
    const actor = () => this.actor();
    this.h = new StoreHandle(db, dbPath, this.storeDir, this.readonly, lost, actor);
    this.runs = new RunStore(this.h);
    this.versions = new VersionStore(this.h, {
      root,
      artifacts: new ArtifactStore(this.storeDir),
      runs: this.runs,
      actor,
      approvalFor: (row, alias) => this.approvals.approvalFor(row, alias),
    });
    this.approvals = new ApprovalStore(this.h, this.versions, {
      configPath: options.configPath ? resolve(root, options.configPath) : join(root, 'modelops.yaml'),
      aliasPolicy: options.aliasPolicy ?? null,
      actor,
    });
    this.deployments = new DeploymentStore(this.h, this.versions);
    this.trail = new AuditTrail(this.h);
    this.datasets = new DataVersions(this.h, (e) => this.h.emit(e));
    this.studies = new StudyStore(this.h);
    try {
      if (!this.readonly && !this.lostDatabase) {
        this.versions.backfillArtifactFiles();
        if (options.sweep !== false) this.versions.sweepOrphans();
        this.runs.markInterruptedRuns();
      }
      this.h.markSeen();
    } catch (e) {
      this.close();
      throw mapStoreError(e, dbPath);
    }
  }

  // ── plumbing ────────────────────────────────────────────────────────────────

  /**
   * Who acts now. Resolved again once ACTOR_TTL_MS have passed, so a sidecar open for a whole
   * session records the new name after `git config user.name` or MODELOPS_ACTOR changes, without
   * running git for every audited write.
   */
  actor(): string {
    if (this.fixedActor !== null) return this.fixedActor;
    const now = Date.now();
    if (!this.resolvedActor || now - this.resolvedActor.at >= ACTOR_TTL_MS)
      this.resolvedActor = { id: resolveActor(this.root).id, at: now };
    return this.resolvedActor.id;
  }

  /** True (once) when another process committed to the store since the last call or change here. */
  changedElsewhere(): boolean {
    return this.h.changedElsewhere();
  }

  onChange(listener: (e: ChangeEvent) => void): () => void {
    return this.h.onChange(listener);
  }

  close(): void {
    if (this.h.isClosed) return;
    this.h.close();
    if (this.snapshotDir) rmSync(this.snapshotDir, { recursive: true, force: true });
  }

  /** Removes unreferenced artifacts and stale temp files; under the write lock so no registration commits mid-sweep. */
  sweepOrphans(nowMs = Date.now()): { blobs: number; temps: number } {
    return this.versions.sweepOrphans(nowMs);
  }

  // ── models, versions, aliases, gates, artifacts (versions.ts) ───────────────

  listModels(): ModelRecord[] {
    return this.versions.listModels();
  }

  listVersions(query: ListVersionsQuery): { total: number; items: VersionRecord[] } {
    return this.versions.listVersions(query);
  }

  getVersion(ref: string): VersionRecord {
    return this.versions.getVersion(ref);
  }

  registerVersion(input: RegisterVersionInput): Promise<VersionRecord> {
    return this.versions.registerVersion(input);
  }

  configText(ref: string): Promise<string | null> {
    return this.versions.configText(ref);
  }

  compareVersions(refA: string, refB: string): VersionComparison {
    return this.versions.compareVersions(refA, refB);
  }

  archiveVersion(ref: string, archived = true): VersionRecord {
    return this.versions.archiveVersion(ref, archived);
  }

  deleteVersion(ref: string): void {
    this.versions.deleteVersion(ref);
  }

  setTags(ref: string, tags: string[]): VersionRecord {
    return this.versions.setTags(ref, tags);
  }

  recordGates(ref: string, report: GateReport): VersionRecord {
    return this.versions.recordGates(ref, report);
  }

  setAlias(
    model: string,
    alias: string,
    version: string,
    reason?: string | null,
    options: SetAliasOptions = {},
  ): AliasMove {
    return this.versions.setAlias(model, alias, version, reason, options);
  }

  rollbackAlias(model: string, alias: string, reason?: string | null): AliasMove {
    return this.versions.rollbackAlias(model, alias, reason);
  }

  aliasHistory(model: string, alias?: string): AliasMove[] {
    return this.versions.aliasHistory(model, alias);
  }

  artifactPath(ref: string): Promise<string> {
    return this.versions.artifactPath(ref);
  }

  artifactFiles(ref: string): Promise<Record<string, Digest>> {
    return this.versions.artifactFiles(ref);
  }

  // ── runs (runs.ts) ──────────────────────────────────────────────────────────

  createRun(input: {
    kind: RunRecord['kind'];
    model: string | null;
    params: Record<string, unknown>;
    backend?: string | null;
  }): RunRecord {
    return this.runs.createRun(input);
  }

  appendRunMetrics(runId: string, step: number, metrics: Record<string, number>): void {
    this.runs.appendRunMetrics(runId, step, metrics);
  }

  finishRun(
    runId: string,
    outcome: {
      status: Exclude<RunRecord['status'], 'running'>;
      error?: string | null;
      version?: string | null;
      metrics?: Record<string, number>;
    },
  ): RunRecord {
    return this.runs.finishRun(runId, outcome);
  }

  /** Marks runs of processes that are gone as failed (see RunStore.markInterruptedRuns). */
  markInterruptedRuns(): number {
    return this.runs.markInterruptedRuns();
  }

  getRun(runId: string): RunRecord {
    return this.runs.getRun(runId);
  }

  listRuns(query: { model?: string; limit?: number; offset?: number } = {}): RunRecord[] {
    return this.runs.listRuns(query);
  }

  runMetrics(runId: string): RunMetricPoint[] {
    return this.runs.runMetrics(runId);
  }

  importRun(run: RunRecord, series: readonly RunMetricPoint[], model: string, version: string): boolean {
    return this.runs.importRun(run, series, model, version);
  }

  // ── datasets (datasets.ts) ──────────────────────────────────────────────────

  recordDataset(dataset: Omit<DatasetRecord, 'createdAt'>): DatasetRecord {
    return this.datasets.recordDataset(dataset);
  }

  listDatasets(): DatasetRecord[] {
    return this.datasets.listDatasets();
  }

  // ── deployments and alerts (deployments.ts) ─────────────────────────────────

  recordDeployment(d: Omit<DeploymentRecord, 'id' | 'at'>): DeploymentRecord {
    return this.deployments.recordDeployment(d);
  }

  listDeployments(query: { target?: string; model?: string; limit?: number } = {}): DeploymentRecord[] {
    return this.deployments.listDeployments(query);
  }

  activeDeployment(target: string, model: string): DeploymentRecord | null {
    return this.deployments.activeDeployment(target, model);
  }

  recordAlert(a: Omit<AlertRecord, 'id' | 'at' | 'acknowledged'>): AlertRecord {
    return this.deployments.recordAlert(a);
  }

  listAlerts(query: { target?: string; unacknowledgedOnly?: boolean; limit?: number } = {}): AlertRecord[] {
    return this.deployments.listAlerts(query);
  }

  acknowledgeAlert(id: number): void {
    this.deployments.acknowledgeAlert(id);
  }

  acknowledgeAlerts(query: { ids?: readonly number[]; target?: string }): AlertRecord[] {
    return this.deployments.acknowledgeAlerts(query);
  }

  // ── governance: approvals and the audit trail (approvals.ts) ────────────────

  approve(ref: string, input: ApproveInput): ApprovalRecord {
    return this.approvals.approve(ref, input);
  }

  listApprovals(query: { model?: string; limit?: number } = {}): ApprovalRecord[] {
    return this.approvals.listApprovals(query);
  }

  requireApproval(ref: string, requirement: ApprovalRequirement): ApprovalRecord {
    return this.approvals.requireApproval(ref, requirement);
  }

  audit(event: ExternalAuditEvent): AuditEntry {
    return this.trail.audit(event);
  }

  auditLog(query: AuditQuery = {}): AuditEntry[] {
    return this.trail.auditLog(query);
  }

  verifyAudit(): AuditVerification {
    return this.trail.verifyAudit();
  }
}
