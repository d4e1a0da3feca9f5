/** The Registry over the workspace store: SQLite rows plus content-addressed artifacts. */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ModelOpsError } from '../errors';
import { loadOnnxBundle, writeOnnxBundle } from '../runtime/onnx';
import { ONNX_MANIFEST_FORMAT, ONNX_MODEL_FILE, type OnnxManifest } from '../runtime/types';
import { ArtifactStore, digestHex, type DirectoryManifest, type StoredArtifact } from './artifacts';
import { gitState } from './lineage';
import { detectModelFormat, formatNotice } from './modelFiles';
import { gateProblem, isNotEvaluated } from '../../../shared/gateState';
import { parseRef, validateAlias, validateModelName } from './refs';
import { canonicalJson, nextVersion, parseSemver, requireSemver } from './semver';
import { currentProcess, processAlive } from './processes';
import { lostError, mapStoreError, openStore, storeFullError, withWriteTx, type Db, type LostDatabase } from './store';
import { appendAudit, checkAnchoredEntry, readHead, toAuditEntry, verifyRows, writeHead, type AuditHead, type AuditInput, type AuditRow } from './audit';
import { resolveActor, sameActor, cleanActor } from '../governance/identity';
import { readAliasPolicy, type AliasPolicy } from '../governance/policy';
import { checkTargetName } from '../deploy/names';
import type {
  AlertRecord,
  AliasMove,
  ApprovalRecord,
  ApprovalRequirement,
  ApproveInput,
  AuditEntry,
  AuditQuery,
  AuditVerification,
  ExternalAuditEvent,
  ArtifactFormat,
  ChangeEvent,
  DatasetRecord,
  DatasetRef,
  DeploymentRecord,
  GateReport,
  ListVersionsQuery,
  ModelRecord,
  RegisterVersionInput,
  Registry,
  RunMetricPoint,
  RunRecord,
  SetAliasOptions,
  Signature,
  VersionComparison,
  VersionRecord,
} from './types';

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

interface VersionRow {
  id: number;
  model: string;
  version: string;
  major: number;
  minor: number;
  patch: number;
  artifact_digest: string;
  artifact_kind: 'file' | 'directory';
  format: string;
  size_bytes: number;
  signature: string | null;
  metrics: string;
  run_id: string | null;
  config_digest: string | null;
  datasets: string;
  git_commit: string | null;
  git_dirty: number | null;
  parent_version: string | null;
  note: string | null;
  tags: string;
  created_at: string;
  archived: number;
  registered_by?: string | null;
  gate_report: string | null;
}

interface RunRow {
  id: string;
  kind: RunRecord['kind'];
  model: string | null;
  status: RunRecord['status'];
  params: string;
  backend: string | null;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  error: string | null;
  version: string | null;
  metrics: string;
  pid?: number | null;
  pid_start?: string | null;
  host?: string | null;
}

interface MoveRow {
  model: string;
  alias: string;
  from_version: string | null;
  to_version: string | null;
  reason: string | null;
  force_reason: string | null;
  kind: string;
  at: string;
}

interface DeploymentRow {
  id: number;
  target: string;
  model: string;
  version: string;
  status: DeploymentRecord['status'];
  previous_version: string | null;
  at: string;
  steps: string;
  reason: string | null;
  approval_id?: number | null;
}

interface ApprovalRow {
  id: number;
  model: string;
  version: string;
  artifact_digest: string;
  scope: 'alias' | 'target';
  name: string;
  approver: string;
  comment: string | null;
  at: string;
  current_digest: string | null;
}

interface AlertRow {
  id: number;
  target: string;
  model: string;
  version: string;
  rule: string;
  metric: string;
  message: string;
  at: string;
  acknowledged: number;
}

const VERSION_COLUMNS = `v.*, g.report AS gate_report`;
const VERSION_FROM = `versions v LEFT JOIN gate_reports g ON g.version_id = v.id`;
/** A config is a few KiB; anything this large was passed as --config by mistake. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
const FORMATS: ArtifactFormat[] = ['modelops-tfjs', 'tfjs-layers', 'onnx', 'keras', 'h5', 'torch', 'safetensors', 'pickle', 'savedmodel', 'unknown'];

const now = (): string => new Date().toISOString();
const json = <T>(s: string | null, fallback: T): T => {
  if (s === null) return fallback;
  try {
    return JSON.parse(s) as T;
  } catch {
    return fallback;
  }
};

export function openRegistry(workspaceRoot: string, options: OpenRegistryOptions = {}): WorkspaceRegistry {
  return new WorkspaceRegistry(resolve(workspaceRoot), options);
}

export class WorkspaceRegistry implements Registry {
  readonly root: string;
  readonly storeDir: string;
  readonly readonly: boolean;
  private readonly db: Db;
  private readonly dbPath: string;
  private readonly artifacts: ArtifactStore;
  private readonly listeners = new Set<(e: ChangeEvent) => void>();
  private lastDataVersion = 0;
  private closed = false;
  private readonly snapshotDir: string | null;
  /**
   * Set when registry.db is missing or empty while the store holds artifacts or deployment
   * records: the registry reads as empty and refuses every write (`registry-lost`) until the
   * database is restored or a fresh start is confirmed (`confirmNewRegistry`).
   */
  readonly lostDatabase: LostDatabase | null;
  /** One-line notes from opening, for the caller to log (permissions tightened, artifacts set aside). */
  readonly warnings: string[];
  private actorId: string | null;
  private readonly configPath: string;
  private readonly fixedPolicy: AliasPolicy | null;
  /** The newest audit entry this instance appended in the current write, for the head anchor. */
  private pendingHead: AuditHead | null = null;

  constructor(root: string, options: OpenRegistryOptions) {
    this.root = root;
    this.storeDir = join(root, '.modelops');
    this.readonly = options.readonly === true;
    const { db, dbPath, snapshotDir, lost, warnings } = openStore(this.storeDir, { readonly: this.readonly, confirmNewRegistry: options.confirmNewRegistry === true });
    this.snapshotDir = snapshotDir;
    this.db = db;
    this.dbPath = dbPath;
    this.lostDatabase = lost;
    this.warnings = warnings;
    this.artifacts = new ArtifactStore(this.storeDir);
    this.actorId = options.actor !== undefined ? cleanActor(options.actor) || 'unknown' : null;
    this.configPath = options.configPath ? resolve(root, options.configPath) : join(root, 'modelops.yaml');
    this.fixedPolicy = options.aliasPolicy ?? null;
    try {
      if (!this.readonly && !this.lostDatabase) {
        this.backfillArtifactFiles();
        if (options.sweep !== false) this.sweepOrphans();
        this.markInterruptedRuns();
      }
      this.lastDataVersion = this.db.pragma('data_version', { simple: true }) as number;
    } catch (e) {
      this.close();
      throw mapStoreError(e, this.dbPath);
    }
  }

  // ── plumbing ────────────────────────────────────────────────────────────────

  private write<T>(fn: () => T): T {
    this.assertWritable();
    this.pendingHead = null;
    let result: T;
    try {
      result = withWriteTx(this.db, this.dbPath, fn);
    } catch (e) {
      this.pendingHead = null;
      throw e;
    }
    if (this.pendingHead) {
      writeHead(this.storeDir, this.pendingHead);
      this.pendingHead = null;
    }
    return result;
  }

  /** Appends an audit entry; only inside `write`, so it commits or rolls back with the change. */
  private record(input: AuditInput): AuditRow {
    const row = appendAudit(this.db, this.actor(), input, now());
    this.pendingHead = { seq: row.seq, hash: row.hash };
    return row;
  }

  actor(): string {
    if (this.actorId === null) this.actorId = resolveActor(this.root).id;
    return this.actorId;
  }

  private read<T>(fn: () => T): T {
    if (this.closed) throw new ModelOpsError('registry-closed', 'The registry is closed.', 'Open it again.');
    try {
      return fn();
    } catch (e) {
      throw mapStoreError(e, this.dbPath);
    }
  }

  private assertWritable(): void {
    if (this.closed) throw new ModelOpsError('registry-closed', 'The registry is closed.', 'Open it again.');
    if (this.lostDatabase) throw lostError(this.dbPath, this.lostDatabase);
    if (this.readonly) {
      throw new ModelOpsError('registry-readonly', `The registry at ${this.storeDir} was opened read-only.`, 'Open the workspace with write access (and trust it) to change the registry.');
    }
  }

  private emit(...events: ChangeEvent[]): void {
    this.lastDataVersion = this.db.pragma('data_version', { simple: true }) as number;
    for (const e of events) {
      for (const l of [...this.listeners]) {
        try {
          l(e);
        } catch {
          /* a listener's failure is its own */
        }
      }
    }
  }

  /** True (once) when another process committed to the store since the last call or change here. */
  changedElsewhere(): boolean {
    if (this.closed) return false;
    const dv = this.db.pragma('data_version', { simple: true }) as number;
    if (dv === this.lastDataVersion) return false;
    this.lastDataVersion = dv;
    return true;
  }

  onChange(listener: (e: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.db.close();
    if (this.snapshotDir) rmSync(this.snapshotDir, { recursive: true, force: true });
  }

  /** Directory artifacts from a schema-1 store have no artifact_files rows yet: read their manifests. */
  private backfillArtifactFiles(): void {
    const missing = this.db
      .prepare(`SELECT DISTINCT artifact_digest FROM versions WHERE artifact_kind = 'directory' AND artifact_digest NOT IN (SELECT artifact_digest FROM artifact_files)`)
      .pluck()
      .all() as string[];
    if (missing.length === 0) return;
    const insert = this.db.prepare(`INSERT OR IGNORE INTO artifact_files (artifact_digest, path, blob_digest, size) VALUES (?, ?, ?, ?)`);
    this.write(() => {
      for (const digest of missing) {
        try {
          const m = JSON.parse(readFileSync(this.artifacts.blobPath(digest), 'utf8')) as DirectoryManifest;
          for (const [path, e] of Object.entries(m.files)) insert.run(digest, path, e.digest, e.size);
        } catch {
          /* a missing or broken manifest is reported when the artifact is read */
        }
      }
    });
  }

  /** Removes unreferenced artifacts and stale temp files; under the write lock so no registration commits mid-sweep. */
  sweepOrphans(nowMs = Date.now()): { blobs: number; temps: number } {
    return this.write(() => {
      const referenced = new Set<string>();
      // Config blobs are addressed by the config digest each version already records.
      const rows = this.db
        .prepare(`SELECT artifact_digest AS d FROM versions UNION SELECT blob_digest AS d FROM artifact_files UNION SELECT config_digest AS d FROM versions WHERE config_digest IS NOT NULL`)
        .pluck()
        .all() as string[];
      for (const d of rows) {
        try {
          referenced.add(digestHex(d));
        } catch {
          /* ignore malformed */
        }
      }
      return this.artifacts.sweep(referenced, nowMs);
    });
  }

  // ── models and versions ─────────────────────────────────────────────────────

  listModels(): ModelRecord[] {
    return this.read(() => {
      const rows = this.db
        .prepare(
          `SELECT m.name, m.created_at,
             (SELECT COUNT(*) FROM versions v WHERE v.model = m.name) AS cnt,
             (SELECT version FROM versions v WHERE v.model = m.name AND v.archived = 0 ORDER BY major DESC, minor DESC, patch DESC LIMIT 1) AS latest
           FROM models m ORDER BY m.name`,
        )
        .all() as Array<{ name: string; created_at: string; cnt: number; latest: string | null }>;
      const aliasRows = this.db
        .prepare(`SELECT a.model, a.alias, v.version FROM aliases a JOIN versions v ON v.id = a.version_id ORDER BY a.alias`)
        .all() as Array<{ model: string; alias: string; version: string }>;
      const aliases = new Map<string, Record<string, string>>();
      for (const a of aliasRows) {
        const m = aliases.get(a.model) ?? {};
        m[a.alias] = a.version;
        aliases.set(a.model, m);
      }
      return rows.map((r) => ({ name: r.name, createdAt: r.created_at, versionCount: r.cnt, latestVersion: r.latest, aliases: aliases.get(r.name) ?? {} }));
    });
  }

  private requireModel(model: string): void {
    validateModelName(model);
    const row = this.db.prepare(`SELECT 1 FROM models WHERE name = ?`).get(model);
    if (!row) {
      throw new ModelOpsError('model-not-found', `No model named '${model}' in the registry.`, 'List models with `modelops versions list`, or register one with `modelops versions register <path> --model <name>`.');
    }
  }

  private decorate(rows: VersionRow[], model: string): VersionRecord[] {
    if (rows.length === 0) return [];
    const aliasRows = this.db.prepare(`SELECT alias, version_id FROM aliases WHERE model = ? ORDER BY alias`).all(model) as Array<{ alias: string; version_id: number }>;
    const aliases = new Map<number, string[]>();
    for (const a of aliasRows) aliases.set(a.version_id, [...(aliases.get(a.version_id) ?? []), a.alias]);
    const depRows = this.db.prepare(`SELECT target, version FROM deployments WHERE model = ? AND status = 'active' ORDER BY target`).all(model) as Array<{ target: string; version: string }>;
    const deployed = new Map<string, string[]>();
    for (const d of depRows) deployed.set(d.version, [...(deployed.get(d.version) ?? []), d.target]);
    return rows.map((r) => this.toVersion(r, aliases.get(r.id) ?? [], deployed.get(r.version) ?? []));
  }

  private toVersion(r: VersionRow, aliases: string[], deployedTo: string[]): VersionRecord {
    return {
      id: r.id,
      model: r.model,
      version: r.version,
      artifactDigest: r.artifact_digest,
      artifactKind: r.artifact_kind,
      format: (FORMATS.includes(r.format as ArtifactFormat) ? r.format : 'unknown') as ArtifactFormat,
      sizeBytes: r.size_bytes,
      signature: json<Signature | null>(r.signature, null),
      metrics: json<Record<string, number>>(r.metrics, {}),
      runId: r.run_id,
      configDigest: r.config_digest,
      datasets: json<DatasetRef[]>(r.datasets, []),
      gitCommit: r.git_commit,
      gitDirty: r.git_dirty === null ? null : r.git_dirty === 1,
      parentVersion: r.parent_version,
      note: r.note,
      tags: json<string[]>(r.tags, []),
      createdAt: r.created_at,
      archived: r.archived === 1,
      aliases,
      gates: json<GateReport | null>(r.gate_report, null),
      deployedTo,
      registeredBy: r.registered_by ?? null,
      ...withNotice(r.format),
    };
  }

  listVersions(query: ListVersionsQuery): { total: number; items: VersionRecord[] } {
    return this.read(() => {
      this.requireModel(query.model);
      const where: string[] = ['v.model = ?'];
      const params: unknown[] = [query.model];
      if (!query.includeArchived) where.push('v.archived = 0');
      const filter = query.filter?.trim().toLowerCase();
      if (filter) {
        const like = `%${filter.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        where.push(
          `(v.version LIKE ? ESCAPE '\\' OR lower(v.tags) LIKE ? ESCAPE '\\' OR lower(coalesce(v.note, '')) LIKE ? ESCAPE '\\'
            OR EXISTS (SELECT 1 FROM aliases a WHERE a.version_id = v.id AND a.alias LIKE ? ESCAPE '\\'))`,
        );
        params.push(like, like, like, like);
      }
      const desc = (query.order ?? 'desc') === 'desc';
      const dir = desc ? 'DESC' : 'ASC';
      const semverOrder = `v.major ${dir}, v.minor ${dir}, v.patch ${dir}`;
      const sort = query.sort ?? 'version';
      let orderBy: string;
      const orderParams: unknown[] = [];
      if (sort === 'version') orderBy = semverOrder;
      else if (sort === 'created') orderBy = `v.created_at ${dir}, v.id ${dir}`;
      else {
        // A metric: versions without it go last whichever the direction.
        orderBy = `(json_extract(v.metrics, ?) IS NULL), json_extract(v.metrics, ?) ${dir}, ${semverOrder}`;
        const path = `$."${sort.replace(/"/g, '')}"`;
        orderParams.push(path, path);
      }
      const whereSql = where.join(' AND ');
      const total = (this.db.prepare(`SELECT COUNT(*) FROM versions v WHERE ${whereSql}`).pluck().get(...params) as number) ?? 0;
      const limit = Math.max(1, Math.min(1000, Math.floor(query.limit ?? 100)));
      const offset = Math.max(0, Math.floor(query.offset ?? 0));
      const rows = this.db
        .prepare(`SELECT ${VERSION_COLUMNS} FROM ${VERSION_FROM} WHERE ${whereSql} ORDER BY ${orderBy} LIMIT ? OFFSET ?`)
        .all(...params, ...orderParams, limit, offset) as VersionRow[];
      return { total, items: this.decorate(rows, query.model) };
    });
  }

  private findRow(ref: string): VersionRow {
    const p = parseRef(ref);
    this.requireModel(p.model);
    let row: VersionRow | undefined;
    if (p.version) {
      row = this.db.prepare(`SELECT ${VERSION_COLUMNS} FROM ${VERSION_FROM} WHERE v.model = ? AND v.version = ?`).get(p.model, p.version) as VersionRow | undefined;
    } else if (p.alias) {
      row = this.db
        .prepare(`SELECT ${VERSION_COLUMNS} FROM aliases a JOIN versions v ON v.id = a.version_id LEFT JOIN gate_reports g ON g.version_id = v.id WHERE a.model = ? AND a.alias = ?`)
        .get(p.model, p.alias) as VersionRow | undefined;
      if (!row) {
        throw new ModelOpsError('alias-not-found', `Model '${p.model}' has no alias '${p.alias}'.`, `Promote a version first: modelops versions promote ${p.model}@<version> --alias ${p.alias}.`);
      }
    } else {
      row = this.db
        .prepare(`SELECT ${VERSION_COLUMNS} FROM ${VERSION_FROM} WHERE v.model = ? ORDER BY v.archived ASC, v.major DESC, v.minor DESC, v.patch DESC LIMIT 1`)
        .get(p.model) as VersionRow | undefined;
    }
    if (!row) {
      throw new ModelOpsError('version-not-found', `No version ${ref} in the registry.`, `List the versions with: modelops versions list ${p.model}.`);
    }
    return row;
  }

  getVersion(ref: string): VersionRecord {
    return this.read(() => {
      const row = this.findRow(ref);
      return this.decorate([row], row.model)[0];
    });
  }

  async registerVersion(input: RegisterVersionInput): Promise<VersionRecord> {
    this.assertWritable();
    const model = validateModelName(input.model);
    const explicit = input.version !== undefined && input.version !== null && input.version !== '' ? requireSemver(input.version).join('.') : null;
    if (input.format !== undefined && !FORMATS.includes(input.format)) {
      throw new ModelOpsError('invalid-format', `Unknown artifact format '${String(input.format)}'.`, `Use one of: ${FORMATS.join(', ')}.`);
    }
    const source = resolve(this.root, input.source);
    if (!existsSync(source)) {
      throw new ModelOpsError('artifact-not-found', `Cannot register ${input.source}: no such file or folder.`, 'Pass the path of a model file or model folder.');
    }
    const tags = normaliseTags(input.tags ?? []);
    const format = input.format ?? detectModelFormat(source);
    const configSource = input.configPath ? resolve(this.root, input.configPath) : null;
    if (explicit) {
      // Fail early, before copying a large artifact; checked again inside the transaction.
      const taken = this.db.prepare(`SELECT 1 FROM versions WHERE model = ? AND version = ?`).get(model, explicit);
      if (taken) throw versionTaken(model, explicit);
    }
    // ONNX is read and checked before anything is stored: a bad file leaves no trace.
    const prepared = await prepareSource(source, format, input);
    try {
      return await this.storeVersion(input, model, explicit, format, tags, configSource, prepared);
    } finally {
      if (prepared.cleanup) await rm(prepared.cleanup, { recursive: true, force: true });
    }
  }

  private async storeVersion(
    input: RegisterVersionInput,
    model: string,
    explicit: string | null,
    format: ArtifactFormat,
    tags: string[],
    configSource: string | null,
    prepared: PreparedSource,
  ): Promise<VersionRecord> {
    const git = await gitState(this.root);
    const signature = prepared.signature ? canonicalJson(prepared.signature) : null;
    const source = prepared.path;

    for (let attempt = 0; ; attempt++) {
      // The config first: it is small, and a wrong path should fail before a large artifact is copied.
      const cfgDigest = configSource ? await this.storeConfig(configSource, input.configPath as string) : null;
      let stored: StoredArtifact;
      try {
        stored = await this.artifacts.put(source);
      } catch (e) {
        throw mapArtifactError(e, input.source);
      }
      const result: { row: VersionRow; newModel: boolean } | 'blob-swept' = this.write(() => {
        // A sweep in another process may have removed a deduplicated blob before we committed.
        const needed = [stored.digest, ...stored.files.map((f) => f.digest), ...(cfgDigest ? [cfgDigest] : [])];
        if (needed.some((d) => !this.artifacts.hasBlob(d))) return 'blob-swept' as const;
        const newModel = !this.db.prepare(`SELECT 1 FROM models WHERE name = ?`).get(model);
        if (newModel) this.db.prepare(`INSERT INTO models (name, created_at) VALUES (?, ?)`).run(model, now());
        const latest = this.db
          .prepare(`SELECT version, signature, artifact_digest FROM versions WHERE model = ? ORDER BY major DESC, minor DESC, patch DESC LIMIT 1`)
          .get(model) as { version: string; signature: string | null; artifact_digest: string } | undefined;
        let version: string;
        if (explicit) {
          if (this.db.prepare(`SELECT 1 FROM versions WHERE model = ? AND version = ?`).get(model, explicit)) throw versionTaken(model, explicit);
          version = explicit;
        } else {
          version = nextVersion(latest ? { version: latest.version, signature: latest.signature, artifactDigest: latest.artifact_digest } : null, {
            signature,
            artifactDigest: stored.digest,
          });
        }
        const parent = input.parentVersion !== undefined ? input.parentVersion : (latest?.version ?? null);
        if (parent !== null && parent !== undefined) requireSemver(parent, 'parent version');
        const [major, minor, patch] = parseSemver(version) as [number, number, number];
        const info = this.db
          .prepare(
            `INSERT INTO versions (model, version, major, minor, patch, artifact_digest, artifact_kind, format, size_bytes, signature, metrics,
               run_id, config_digest, datasets, git_commit, git_dirty, parent_version, note, tags, created_at, archived, registered_by)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
          )
          .run(
            model,
            version,
            major,
            minor,
            patch,
            stored.digest,
            stored.kind,
            format,
            stored.size,
            signature,
            JSON.stringify(finiteMetrics(input.metrics ?? {})),
            input.runId ?? null,
            cfgDigest,
            JSON.stringify(input.datasets ?? []),
            git.commit,
            git.dirty === null ? null : git.dirty ? 1 : 0,
            parent ?? null,
            input.note ?? null,
            JSON.stringify(tags),
            now(),
            this.actor(),
          );
        const files = this.db.prepare(`INSERT OR IGNORE INTO artifact_files (artifact_digest, path, blob_digest, size) VALUES (?, ?, ?, ?)`);
        for (const f of stored.files) files.run(stored.digest, f.path, f.digest, f.size);
        if (input.runId) this.db.prepare(`UPDATE runs SET version = ? WHERE id = ? AND version IS NULL`).run(version, input.runId);
        const subject = { subject: `${model}@${version}`, model, version };
        this.record({
          action: 'version.register',
          ...subject,
          after: { artifactDigest: stored.digest, format, parentVersion: parent ?? null, runId: input.runId ?? null, datasets: input.datasets ?? [], gitCommit: git.commit, note: input.note ?? null },
        });
        if (cfgDigest) this.record({ action: 'config.snapshot', ...subject, after: { configDigest: cfgDigest, path: input.configPath ?? null } });
        const row = this.db.prepare(`SELECT ${VERSION_COLUMNS} FROM ${VERSION_FROM} WHERE v.id = ?`).get(info.lastInsertRowid) as VersionRow;
        return { row, newModel };
      });
      if (result === 'blob-swept') {
        if (attempt < 3) continue;
        throw new ModelOpsError('artifact-race', `The artifact of ${input.source} was removed while registering.`, 'Try again.');
      }
      const events: ChangeEvent[] = [];
      if (result.newModel) events.push({ kind: 'models' });
      events.push({ kind: 'versions', model });
      if (input.runId) events.push({ kind: 'runs', model });
      this.emit(...events);
      return this.decorate([result.row], model)[0];
    }
  }

  /**
   * Copies the config into the artifact store. Its blob's address is the SHA-256 the version
   * records as `configDigest` ("sha256:<hex>", as before), so the digest stays what it was.
   */
  private async storeConfig(path: string, shown: string): Promise<string> {
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(path, { throwIfNoEntry: false });
    } catch (e) {
      throw mapArtifactError(e, shown);
    }
    if (!st?.isFile()) {
      throw new ModelOpsError('config-not-found', `Cannot read the config ${shown} to record it with the version.`, 'Pass an existing modelops.yaml or leave the config out.');
    }
    if (st.size > MAX_CONFIG_BYTES) {
      throw new ModelOpsError('config-too-large', `The config ${shown} is ${(st.size / 1024 / 1024).toFixed(1)} MiB; a modelops.yaml is a few KiB.`, 'Pass the modelops.yaml the model was trained with.');
    }
    try {
      return (await this.artifacts.putFile(path)).digest;
    } catch (e) {
      throw mapArtifactError(e, shown);
    }
  }

  async configText(ref: string): Promise<string | null> {
    const v = this.getVersion(ref);
    const digest = v.configDigest;
    if (!digest || !/^sha256:[0-9a-f]{64}$/.test(digest)) return null;
    const label = `${v.model}@${v.version}`;
    let blob: Awaited<ReturnType<ArtifactStore['readBlob']>>;
    try {
      blob = await this.artifacts.readBlob(digest);
    } catch (e) {
      const code = e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : 'error';
      throw new ModelOpsError('config-unreadable', `Cannot read the stored config of ${label} (${code}).`, 'Check the permissions of .modelops/artifacts.');
    }
    // Versions registered before configs were kept have the digest but no blob.
    if (!blob) return null;
    if (blob.actual !== digest) {
      throw new ModelOpsError(
        'config-corrupt',
        `The stored config of ${label} is corrupted: it should have digest ${digest} but has ${blob.actual}.`,
        'Restore .modelops/artifacts from a backup; the same config may also be in git at the version’s commit.',
      );
    }
    return blob.bytes.toString('utf8');
  }

  compareVersions(refA: string, refB: string): VersionComparison {
    const a = this.getVersion(refA);
    const b = this.getVersion(refB);
    const names = [...new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)])].sort();
    const metrics: VersionComparison['metrics'] = {};
    for (const n of names) {
      const x = typeof a.metrics[n] === 'number' ? a.metrics[n] : null;
      const y = typeof b.metrics[n] === 'number' ? b.metrics[n] : null;
      metrics[n] = [x, y, x !== null && y !== null ? y - x : null];
    }
    return {
      a,
      b,
      metrics,
      signatureChanged: canonicalJson(a.signature) !== canonicalJson(b.signature),
      sameArtifact: a.artifactDigest === b.artifactDigest,
    };
  }

  archiveVersion(ref: string, archived = true): VersionRecord {
    const model = this.write(() => {
      const row = this.findRow(ref);
      if (archived) {
        const held = this.db.prepare(`SELECT alias FROM aliases WHERE version_id = ?`).pluck().all(row.id) as string[];
        if (held.length) {
          throw new ModelOpsError('version-in-use', `${row.model}@${row.version} holds the alias${held.length > 1 ? 'es' : ''} ${held.join(', ')} and cannot be archived.`, `Move the alias to another version first (modelops versions promote ${row.model}@<version> --alias ${held[0]}).`);
        }
      }
      this.db.prepare(`UPDATE versions SET archived = ? WHERE id = ?`).run(archived ? 1 : 0, row.id);
      if ((row.archived === 1) !== archived) {
        this.record({ action: archived ? 'version.archive' : 'version.unarchive', subject: `${row.model}@${row.version}`, model: row.model, version: row.version, before: { archived: row.archived === 1 }, after: { archived } });
      }
      return { model: row.model, version: row.version };
    });
    this.emit({ kind: 'versions', model: model.model }, { kind: 'models' });
    return this.getVersion(`${model.model}@${model.version}`);
  }

  deleteVersion(ref: string): void {
    const model = this.write(() => {
      const row = this.findRow(ref);
      const label = `${row.model}@${row.version}`;
      const held = this.db.prepare(`SELECT alias FROM aliases WHERE version_id = ?`).pluck().all(row.id) as string[];
      if (held.length) {
        throw new ModelOpsError('version-in-use', `${label} cannot be deleted: it holds the alias ${held.join(', ')}.`, `Move the alias to another version first, or archive ${label} instead.`);
      }
      const deployed = this.db
        .prepare(`SELECT target FROM deployments WHERE model = ? AND status = 'active' AND (version = ? OR previous_version = ?)`)
        .pluck()
        .all(row.model, row.version, row.version) as string[];
      if (deployed.length) {
        throw new ModelOpsError('version-in-use', `${label} cannot be deleted: it is deployed to ${[...new Set(deployed)].join(', ')} (or is the rollback target there).`, `Deploy another version first, or archive ${label} instead.`);
      }
      this.db.prepare(`DELETE FROM versions WHERE id = ?`).run(row.id);
      this.record({
        action: 'version.delete',
        subject: label,
        model: row.model,
        version: row.version,
        before: { artifactDigest: row.artifact_digest, format: row.format, registeredBy: row.registered_by ?? null, archived: row.archived === 1 },
      });
      // Its artifact stays until the sweep on a later open finds nothing referencing it.
      return row.model;
    });
    this.emit({ kind: 'versions', model }, { kind: 'models' });
  }

  setTags(ref: string, tags: string[]): VersionRecord {
    const clean = normaliseTags(tags);
    const r = this.write(() => {
      const row = this.findRow(ref);
      this.db.prepare(`UPDATE versions SET tags = ? WHERE id = ?`).run(JSON.stringify(clean), row.id);
      const before = json<string[]>(row.tags, []);
      if (canonicalJson(before) !== canonicalJson(clean)) this.record({ action: 'version.tags', subject: `${row.model}@${row.version}`, model: row.model, version: row.version, before: { tags: before }, after: { tags: clean } });
      return { model: row.model, version: row.version };
    });
    this.emit({ kind: 'versions', model: r.model });
    return this.getVersion(`${r.model}@${r.version}`);
  }

  // ── aliases ─────────────────────────────────────────────────────────────────

  setAlias(model: string, alias: string, version: string, reason?: string | null, options: SetAliasOptions = {}): AliasMove {
    validateAlias(alias);
    const v = requireSemver(version).join('.');
    const forceReason = options.forceReason?.trim() || null;
    const move = this.write((): AliasMove => {
      const row = this.findRow(`${model}@${v}`);
      const label = `${model}@${v}`;
      if (row.archived) {
        throw new ModelOpsError('version-archived', `${label} is archived and cannot take the alias '${alias}'.`, `Unarchive it first: modelops versions archive ${label} --undo.`);
      }
      const gates = json<GateReport | null>(row.gate_report, null);
      // A report whose gates could not be evaluated counts as failed: it needs a reason too.
      if (gates && (!gates.passed || isNotEvaluated(gates))) {
        if (!forceReason) {
          const why = isNotEvaluated(gates) ? `its quality gates were not evaluated (${gates.notEvaluated})` : `its quality gates failed (${gateProblem(gates) || 'see the gate report'})`;
          throw new ModelOpsError(
            'gates-failed',
            `${label} cannot become '${alias}': ${why}.`,
            isNotEvaluated(gates)
              ? `Evaluate it (modelops evaluate ${label}), or promote anyway with a written reason (--force-reason "…"), which is kept in the alias history.`
              : 'Train a version that passes the gates, or promote anyway with a written reason (--force-reason "…"), which is kept in the alias history.',
          );
        }
        const override = { reason: forceReason, at: now() };
        this.db.prepare(`UPDATE gate_reports SET report = ? WHERE version_id = ?`).run(JSON.stringify({ ...gates, override }), row.id);
        this.record({ action: 'gates.override', subject: label, model, version: v, alias, before: { passed: gates.passed, override: gates.override, notEvaluated: gates.notEvaluated ?? null }, after: { override } });
      }
      // Protected aliases (registry.protectedAliases) move only with a valid approval.
      const policy = this.aliasPolicy();
      const approval = policy.protectedAliases.includes(alias) ? this.findApproval(row, { scope: 'alias', name: alias, separationOfDuties: policy.separationOfDuties }) : null;
      const current = this.db
        .prepare(`SELECT v.version, a.version_id FROM aliases a JOIN versions v ON v.id = a.version_id WHERE a.model = ? AND a.alias = ?`)
        .get(model, alias) as { version: string; version_id: number } | undefined;
      const at = now();
      const result: AliasMove = { model, alias, fromVersion: current?.version ?? null, toVersion: v, reason: reason?.trim() || null, forceReason, at };
      if (current?.version_id === row.id) return result;
      this.db
        .prepare(`INSERT INTO aliases (model, alias, version_id, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (model, alias) DO UPDATE SET version_id = excluded.version_id, updated_at = excluded.updated_at`)
        .run(model, alias, row.id, at);
      this.insertMove(result, 'set');
      this.record({
        action: 'alias.set',
        subject: `${model}@${alias}`,
        model,
        version: v,
        alias,
        before: { version: result.fromVersion },
        after: { version: v, artifactDigest: row.artifact_digest, reason: result.reason, forceReason, approvalId: approval?.id ?? null },
      });
      return result;
    });
    this.emit({ kind: 'aliases', model }, { kind: 'versions', model }, { kind: 'models' });
    return move;
  }

  private insertMove(m: AliasMove, kind: 'set' | 'rollback'): void {
    this.db
      .prepare(`INSERT INTO alias_moves (model, alias, from_version, to_version, reason, at, kind, force_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(m.model, m.alias, m.fromVersion, m.toVersion, m.reason, m.at, kind, m.forceReason);
  }

  /**
   * The alias's history replayed as a stack (a move pushes, a rollback pops), skipping versions
   * deleted since; rollback pops once more, so repeated rollbacks walk further back.
   */
  rollbackAlias(model: string, alias: string, reason?: string | null): AliasMove {
    validateAlias(alias);
    const move = this.write((): AliasMove => {
      this.requireModel(model);
      const current = this.db
        .prepare(`SELECT v.version FROM aliases a JOIN versions v ON v.id = a.version_id WHERE a.model = ? AND a.alias = ?`)
        .pluck()
        .get(model, alias) as string | undefined;
      if (!current) {
        throw new ModelOpsError('alias-not-found', `Model '${model}' has no alias '${alias}' to roll back.`, `Promote a version first: modelops versions promote ${model}@<version> --alias ${alias}.`);
      }
      const exists = this.db.prepare(`SELECT id FROM versions WHERE model = ? AND version = ?`).pluck();
      const moves = this.db.prepare(`SELECT to_version, kind FROM alias_moves WHERE model = ? AND alias = ? ORDER BY id`).all(model, alias) as Array<{ to_version: string | null; kind: string }>;
      const stack: string[] = [];
      const dropGone = (): void => {
        while (stack.length && !exists.get(model, stack[stack.length - 1])) stack.pop();
      };
      for (const m of moves) {
        if (m.kind === 'rollback') stack.pop();
        else if (m.to_version) stack.push(m.to_version);
        dropGone();
      }
      stack.pop();
      dropGone();
      const target = stack[stack.length - 1];
      if (!target) {
        throw new ModelOpsError('nothing-to-roll-back', `'${alias}' of ${model} has no earlier version to roll back to (it is at ${current}).`, `Promote the version you want instead: modelops versions promote ${model}@<version> --alias ${alias}.`);
      }
      const id = exists.get(model, target) as number;
      const at = now();
      this.db.prepare(`UPDATE aliases SET version_id = ?, updated_at = ? WHERE model = ? AND alias = ?`).run(id, at, model, alias);
      const m: AliasMove = { model, alias, fromVersion: current, toVersion: target, reason: reason?.trim() || 'rollback', forceReason: null, at };
      this.insertMove(m, 'rollback');
      // A rollback returns to a version that held the alias before; it needs no new approval.
      this.record({ action: 'alias.rollback', subject: `${model}@${alias}`, model, version: target, alias, before: { version: current }, after: { version: target, reason: m.reason } });
      return m;
    });
    this.emit({ kind: 'aliases', model }, { kind: 'versions', model }, { kind: 'models' });
    return move;
  }

  aliasHistory(model: string, alias?: string): AliasMove[] {
    return this.read(() => {
      this.requireModel(model);
      const rows = (
        alias
          ? this.db.prepare(`SELECT * FROM alias_moves WHERE model = ? AND alias = ? ORDER BY id DESC`).all(model, validateAlias(alias))
          : this.db.prepare(`SELECT * FROM alias_moves WHERE model = ? ORDER BY id DESC`).all(model)
      ) as MoveRow[];
      return rows.map((r) => ({ model: r.model, alias: r.alias, fromVersion: r.from_version, toVersion: r.to_version, reason: r.reason, forceReason: r.force_reason, at: r.at }));
    });
  }

  // ── artifacts ───────────────────────────────────────────────────────────────

  async artifactPath(ref: string): Promise<string> {
    const v = this.getVersion(ref);
    const label = `${v.model}@${v.version}`;
    if (v.artifactKind === 'file') return this.artifacts.verifiedFile(v.artifactDigest, label);
    if (this.readonly) {
      // Rebuilding the cache writes; a read-only open only verifies that the manifest is intact.
      await this.artifacts.readManifest(v.artifactDigest, label);
      const cached = join(this.artifacts.cacheDir, digestHex(v.artifactDigest));
      if (existsSync(cached) && statSync(cached).isDirectory()) return cached;
      throw new ModelOpsError('registry-readonly', `${label} is a folder artifact that must be unpacked into .modelops/cache, which a read-only registry cannot do.`, 'Open the workspace with write access.');
    }
    try {
      return await this.artifacts.materializeDirectory(v.artifactDigest, label);
    } catch (e) {
      const code = e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : '';
      if (code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT') throw storeFullError(`the unpacked copy of ${label} in .modelops/cache`, code);
      throw e;
    }
  }

  // ── runs ────────────────────────────────────────────────────────────────────

  createRun(input: { kind: RunRecord['kind']; model: string | null; params: Record<string, unknown>; backend?: string | null }): RunRecord {
    if (input.model !== null) validateModelName(input.model);
    const startedAt = now();
    const id = `${startedAt.replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
    const proc = currentProcess();
    this.write(() => {
      this.db
        .prepare(`INSERT INTO runs (id, kind, model, status, params, backend, started_at, metrics, pid, pid_start, host) VALUES (?, ?, ?, 'running', ?, ?, ?, '{}', ?, ?, ?)`)
        .run(id, input.kind, input.model, JSON.stringify(input.params ?? {}), input.backend ?? null, startedAt, proc.pid, proc.start, proc.host);
    });
    this.emit({ kind: 'runs', ...(input.model ? { model: input.model } : {}) });
    return this.getRun(id);
  }

  appendRunMetrics(runId: string, step: number, metrics: Record<string, number>): void {
    this.write(() => {
      this.requireRun(runId);
      this.db.prepare(`INSERT OR REPLACE INTO run_metrics (run_id, step, metrics, at) VALUES (?, ?, ?, ?)`).run(runId, Math.floor(step), JSON.stringify(finiteMetrics(metrics)), now());
    });
  }

  finishRun(runId: string, outcome: { status: Exclude<RunRecord['status'], 'running'>; error?: string | null; version?: string | null; metrics?: Record<string, number> }): RunRecord {
    const model = this.write(() => {
      const run = this.requireRun(runId);
      const finishedAt = now();
      const duration = Date.parse(finishedAt) - Date.parse(run.started_at);
      this.db
        .prepare(`UPDATE runs SET status = ?, finished_at = ?, duration_ms = ?, error = ?, version = coalesce(?, version), metrics = ? WHERE id = ?`)
        .run(outcome.status, finishedAt, duration, outcome.error ?? null, outcome.version ?? null, JSON.stringify(finiteMetrics(outcome.metrics ?? json(run.metrics, {}))), runId);
      return run.model;
    });
    this.emit({ kind: 'runs', ...(model ? { model } : {}) });
    return this.getRun(runId);
  }

  /**
   * Runs left "running" by a process that is gone (killed, crashed, or its pid reused by
   * another process) are marked failed. Runs started on another host, or before runs recorded
   * their process, are left alone: there is no telling. Runs on open; the sidecar may call it again.
   */
  markInterruptedRuns(): number {
    if (this.readonly || this.lostDatabase || this.closed) return 0;
    const host = currentProcess().host;
    const candidates = this.read(
      () => this.db.prepare(`SELECT id, pid, pid_start, host FROM runs WHERE status = 'running' AND pid IS NOT NULL`).all() as Array<Pick<RunRow, 'id' | 'pid' | 'pid_start' | 'host'>>,
    );
    const gone = candidates.filter((r) => (r.host === null || r.host === undefined || r.host === host) && !processAlive(Number(r.pid), r.pid_start ?? null));
    if (gone.length === 0) return 0;
    let marked = 0;
    const models = this.write(() => {
      const finishedAt = now();
      const touched = new Set<string | null>();
      marked = 0;
      const update = this.db.prepare(
        `UPDATE runs SET status = 'failed', finished_at = ?, duration_ms = ?, error = ? WHERE id = ? AND status = 'running' AND pid = ? AND pid_start IS ?`,
      );
      for (const r of gone) {
        const run = this.db.prepare(`SELECT started_at, model FROM runs WHERE id = ?`).get(r.id) as { started_at: string; model: string | null } | undefined;
        if (!run) continue;
        const info = update.run(finishedAt, Math.max(0, Date.parse(finishedAt) - Date.parse(run.started_at)), `interrupted (process ${r.pid} no longer running)`, r.id, r.pid, r.pid_start ?? null);
        if (info.changes) {
          marked++;
          touched.add(run.model);
        }
      }
      return touched;
    });
    if (models.size) this.emit(...[...models].map((model): ChangeEvent => ({ kind: 'runs', ...(model ? { model } : {}) })));
    return marked;
  }

  private requireRun(runId: string): RunRow {
    const row = this.db.prepare(`SELECT * FROM runs WHERE id = ?`).get(runId) as RunRow | undefined;
    if (!row) throw new ModelOpsError('run-not-found', `No run '${runId}' in the registry.`, 'List runs with: modelops runs list.');
    return row;
  }

  private toRun(r: RunRow): RunRecord {
    return {
      id: r.id,
      kind: r.kind,
      model: r.model,
      status: r.status,
      params: json<Record<string, unknown>>(r.params, {}),
      backend: r.backend,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      durationMs: r.duration_ms,
      error: r.error,
      version: r.version,
      metrics: json<Record<string, number>>(r.metrics, {}),
    };
  }

  getRun(runId: string): RunRecord {
    return this.read(() => this.toRun(this.requireRun(runId)));
  }

  listRuns(query: { model?: string; limit?: number; offset?: number } = {}): RunRecord[] {
    return this.read(() => {
      const limit = Math.max(1, Math.min(1000, Math.floor(query.limit ?? 100)));
      const offset = Math.max(0, Math.floor(query.offset ?? 0));
      const rows = (
        query.model
          ? this.db.prepare(`SELECT * FROM runs WHERE model = ? ORDER BY started_at DESC, rowid DESC LIMIT ? OFFSET ?`).all(query.model, limit, offset)
          : this.db.prepare(`SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ? OFFSET ?`).all(limit, offset)
      ) as RunRow[];
      return rows.map((r) => this.toRun(r));
    });
  }

  runMetrics(runId: string): RunMetricPoint[] {
    return this.read(() => {
      this.requireRun(runId);
      const rows = this.db.prepare(`SELECT step, metrics, at FROM run_metrics WHERE run_id = ? ORDER BY step`).all(runId) as Array<{ step: number; metrics: string; at: string }>;
      return rows.map((r) => ({ step: r.step, metrics: json<Record<string, number>>(r.metrics, {}), at: r.at }));
    });
  }

  // ── datasets, gates, deployments, alerts ────────────────────────────────────

  recordDataset(dataset: Omit<DatasetRecord, 'createdAt'>): DatasetRecord {
    digestHex(dataset.digest);
    this.write(() => {
      this.db
        .prepare(`INSERT INTO datasets (digest, path, rows, columns, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (digest) DO UPDATE SET path = excluded.path, rows = excluded.rows, columns = excluded.columns`)
        .run(dataset.digest, dataset.path, dataset.rows, JSON.stringify(dataset.columns), now());
    });
    this.emit({ kind: 'datasets' });
    return this.read(() => this.toDataset(this.db.prepare(`SELECT * FROM datasets WHERE digest = ?`).get(dataset.digest) as DatasetRow));
  }

  private toDataset(r: DatasetRow): DatasetRecord {
    return { digest: r.digest, path: r.path, rows: r.rows, columns: json<DatasetRecord['columns']>(r.columns, []), createdAt: r.created_at };
  }

  listDatasets(): DatasetRecord[] {
    return this.read(() => (this.db.prepare(`SELECT * FROM datasets ORDER BY created_at DESC, path`).all() as DatasetRow[]).map((r) => this.toDataset(r)));
  }

  recordGates(ref: string, report: GateReport): VersionRecord {
    const r = this.write(() => {
      const row = this.findRow(ref);
      this.db
        .prepare(`INSERT INTO gate_reports (version_id, passed, report, evaluated_at) VALUES (?, ?, ?, ?) ON CONFLICT (version_id) DO UPDATE SET passed = excluded.passed, report = excluded.report, evaluated_at = excluded.evaluated_at`)
        .run(row.id, report.passed ? 1 : 0, JSON.stringify(report), report.evaluatedAt || now());
      const before = json<GateReport | null>(row.gate_report, null);
      const summary = (g: GateReport | null) => (g ? { passed: g.passed, notEvaluated: g.notEvaluated ?? null, override: g.override, failed: g.results.filter((x) => !x.passed).map((x) => x.message) } : null);
      const subject = { subject: `${row.model}@${row.version}`, model: row.model, version: row.version };
      if (report.override && canonicalJson(report.override) !== canonicalJson(before?.override ?? null)) {
        this.record({ action: 'gates.override', ...subject, before: { override: before?.override ?? null }, after: { override: report.override } });
      } else {
        this.record({ action: 'gates.record', ...subject, before: summary(before), after: summary(report) });
      }
      return { model: row.model, version: row.version };
    });
    this.emit({ kind: 'versions', model: r.model });
    return this.getVersion(`${r.model}@${r.version}`);
  }

  recordDeployment(d: Omit<DeploymentRecord, 'id' | 'at'>): DeploymentRecord {
    const id = this.write(() => {
      const row = this.findRow(`${d.model}@${d.version}`);
      // One active deployment per model and target: a new active one supersedes the old.
      if (d.status === 'active') {
        this.db.prepare(`UPDATE deployments SET status = 'superseded' WHERE target = ? AND model = ? AND status = 'active'`).run(d.target, d.model);
      }
      const info = this.db
        .prepare(`INSERT INTO deployments (target, model, version, status, previous_version, at, steps, reason, approval_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(d.target, d.model, d.version, d.status, d.previousVersion, now(), JSON.stringify(d.steps ?? []), d.reason, d.approvalId ?? null);
      const id = Number(info.lastInsertRowid);
      this.record({
        action: d.status === 'active' ? 'deploy' : d.status === 'rolled-back' ? 'deploy.rolled-back' : 'deploy.failed',
        subject: `${d.model}@${d.version} → ${d.target}`,
        model: d.model,
        version: d.version,
        target: d.target,
        before: { version: d.previousVersion },
        after: { deployment: id, status: d.status, artifactDigest: row.artifact_digest, reason: d.reason, approvalId: d.approvalId ?? null, failed: (d.steps ?? []).filter((s) => !s.ok).map((s) => `${s.step}: ${s.detail}`) },
      });
      return id;
    });
    this.emit({ kind: 'deployments', model: d.model }, { kind: 'versions', model: d.model });
    return this.read(() => toDeployment(this.db.prepare(`SELECT * FROM deployments WHERE id = ?`).get(id) as DeploymentRow));
  }

  listDeployments(query: { target?: string; model?: string; limit?: number } = {}): DeploymentRecord[] {
    return this.read(() => {
      const { sql, params } = filters({ 'target = ?': query.target, 'model = ?': query.model });
      const rows = this.db.prepare(`SELECT * FROM deployments ${sql} ORDER BY id DESC LIMIT ?`).all(...params, pageLimit(query.limit)) as DeploymentRow[];
      return rows.map(toDeployment);
    });
  }

  activeDeployment(target: string, model: string): DeploymentRecord | null {
    return this.read(() => {
      const row = this.db.prepare(`SELECT * FROM deployments WHERE target = ? AND model = ? AND status = 'active' ORDER BY id DESC LIMIT 1`).get(target, model) as DeploymentRow | undefined;
      return row ? toDeployment(row) : null;
    });
  }

  recordAlert(a: Omit<AlertRecord, 'id' | 'at' | 'acknowledged'>): AlertRecord {
    const id = this.write(() =>
      Number(
        this.db
          .prepare(`INSERT INTO alerts (target, model, version, rule, metric, message, at, acknowledged) VALUES (?, ?, ?, ?, ?, ?, ?, 0)`)
          .run(a.target, a.model, a.version, a.rule, a.metric, a.message, now()).lastInsertRowid,
      ),
    );
    this.emit({ kind: 'alerts', model: a.model });
    return this.read(() => toAlert(this.db.prepare(`SELECT * FROM alerts WHERE id = ?`).get(id) as AlertRow));
  }

  listAlerts(query: { target?: string; unacknowledgedOnly?: boolean; limit?: number } = {}): AlertRecord[] {
    return this.read(() => {
      const { sql, params } = filters({ 'target = ?': query.target, 'acknowledged = 0': query.unacknowledgedOnly ? true : undefined });
      const rows = this.db.prepare(`SELECT * FROM alerts ${sql} ORDER BY id DESC LIMIT ?`).all(...params, pageLimit(query.limit)) as AlertRow[];
      return rows.map(toAlert);
    });
  }

  acknowledgeAlert(id: number): void {
    const model = this.write(() => {
      const row = this.db.prepare(`SELECT model FROM alerts WHERE id = ?`).pluck().get(id) as string | undefined;
      if (!row) throw new ModelOpsError('alert-not-found', `No alert #${id}.`, 'List alerts to see their numbers.');
      this.db.prepare(`UPDATE alerts SET acknowledged = 1 WHERE id = ?`).run(id);
      return row;
    });
    this.emit({ kind: 'alerts', model });
  }

  // ── governance: approvals and the audit trail ───────────────────────────────

  /**
   * The alias policy in force; inside a write, a policy that differs from the last one recorded
   * is appended to the audit trail first, so lifting a protection leaves a trace with its actor.
   */
  private aliasPolicy(): AliasPolicy {
    const policy = this.fixedPolicy ?? readAliasPolicy(this.configPath);
    const last = this.db.prepare(`SELECT after FROM audit_log WHERE action = 'policy.change' ORDER BY seq DESC LIMIT 1`).pluck().get() as string | undefined;
    const now_ = canonicalJson(policy);
    const empty = policy.protectedAliases.length === 0 && !policy.separationOfDuties;
    if ((last === undefined && !empty) || (last !== undefined && last !== now_)) {
      this.record({ action: 'policy.change', subject: 'registry.protectedAliases', before: last === undefined ? null : json<unknown>(last, null), after: policy });
    }
    return policy;
  }

  /** The newest approval of this exact version and artifact for the alias or target, or a refusal that says what to run. */
  private findApproval(row: VersionRow, req: ApprovalRequirement): ApprovalRecord {
    const label = `${row.model}@${row.version}`;
    const rows = this.db
      .prepare(
        `SELECT a.*, v.artifact_digest AS current_digest FROM approvals a LEFT JOIN versions v ON v.model = a.model AND v.version = a.version
         WHERE a.model = ? AND a.version = ? AND a.scope = ? AND a.name = ? ORDER BY a.id DESC`,
      )
      .all(row.model, row.version, req.scope, req.name) as ApprovalRow[];
    let void_: ApprovalRow | undefined;
    let byAuthor: ApprovalRow | undefined;
    for (const r of rows) {
      if (r.artifact_digest !== row.artifact_digest) {
        void_ ??= r;
        continue;
      }
      if (req.separationOfDuties && sameActor(r.approver, row.registered_by)) {
        byAuthor ??= r;
        continue;
      }
      return toApproval(r);
    }
    const what = req.scope === 'alias' ? `become '${req.name}' of ${row.model}` : `be deployed to target '${req.name}'`;
    const rule = req.scope === 'alias' ? `'${req.name}' is in registry.protectedAliases` : `deploy.targets.${req.name}.requireApproval is true`;
    const author = row.registered_by ?? 'unknown (registered before the audit trail)';
    const run = `modelops approve ${label} --for ${req.name} --comment "…"`;
    const someone = req.separationOfDuties ? `someone other than its author (${author})` : 'a reviewer';
    if (byAuthor) {
      throw new ModelOpsError(
        'approval-by-author',
        `${label} cannot ${what}: its only approval (#${byAuthor.id}) is by its author ${byAuthor.approver}, and separation of duties applies.`,
        `Ask ${someone} to run: ${run}`,
      );
    }
    if (void_) {
      throw new ModelOpsError(
        'approval-void',
        `${label} cannot ${what}: approval #${void_.id} names artifact ${void_.artifact_digest}, but the version's artifact is ${row.artifact_digest}, so it is void.`,
        `Review the version again and ask ${someone} to run: ${run}`,
      );
    }
    throw new ModelOpsError('approval-required', `${label} cannot ${what}: ${rule}, and ${label} (artifact ${row.artifact_digest}) has no approval for it.`, `Ask ${someone} to run: ${run}`);
  }

  approve(ref: string, input: ApproveInput): ApprovalRecord {
    if (input.scope !== 'alias' && input.scope !== 'target') {
      throw new ModelOpsError('invalid-approval', `An approval is for an alias or a target, not '${String(input.scope)}'.`, 'Pass --for <alias|target>.');
    }
    const name = input.scope === 'alias' ? validateAlias(input.name) : (checkTargetName(input.name), input.name);
    const comment = cleanComment(input.comment);
    const approver = this.actor();
    const id = this.write(() => {
      const row = this.findRow(ref);
      const label = `${row.model}@${row.version}`;
      const sod = input.scope === 'alias' ? this.aliasPolicy().separationOfDuties : input.separationOfDuties === true;
      if (sod && sameActor(approver, row.registered_by)) {
        throw new ModelOpsError(
          'approval-by-author',
          `${approver} registered ${label} and cannot approve it for '${name}': separation of duties applies (${input.scope === 'alias' ? 'registry.separationOfDuties' : `deploy.targets.${name}.separationOfDuties`}).`,
          'Ask another person to review and approve it. MODELOPS_ACTOR names who acts for the record; it is not a way around this rule.',
        );
      }
      const at = now();
      const info = this.db
        .prepare(`INSERT INTO approvals (model, version, artifact_digest, scope, name, approver, comment, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(row.model, row.version, row.artifact_digest, input.scope, name, approver, comment, at);
      const id = Number(info.lastInsertRowid);
      this.record({
        action: 'approval.grant',
        subject: `${label} for ${input.scope} ${name}`,
        model: row.model,
        version: row.version,
        ...(input.scope === 'alias' ? { alias: name } : { target: name }),
        after: { approval: id, artifactDigest: row.artifact_digest, comment, author: row.registered_by ?? null, separationOfDuties: sod },
      });
      return { id, model: row.model };
    });
    this.emit({ kind: 'versions', model: id.model });
    return this.listApprovals({ model: id.model, limit: 1000 }).find((a) => a.id === id.id) as ApprovalRecord;
  }

  listApprovals(query: { model?: string; limit?: number } = {}): ApprovalRecord[] {
    return this.read(() => {
      const { sql, params } = filters({ 'a.model = ?': query.model });
      const rows = this.db
        .prepare(`SELECT a.*, v.artifact_digest AS current_digest FROM approvals a LEFT JOIN versions v ON v.model = a.model AND v.version = a.version ${sql} ORDER BY a.id DESC LIMIT ?`)
        .all(...params, pageLimit(query.limit)) as ApprovalRow[];
      return rows.map(toApproval);
    });
  }

  requireApproval(ref: string, requirement: ApprovalRequirement): ApprovalRecord {
    return this.read(() => this.findApproval(this.findRow(ref), requirement));
  }

  audit(event: ExternalAuditEvent): AuditEntry {
    const allowed: ExternalAuditEvent['action'][] = ['token.set', 'token.cleared', 'config.snapshot'];
    if (!allowed.includes(event.action)) {
      throw new ModelOpsError('invalid-audit-event', `'${String(event.action)}' is not an event that can be reported to the audit trail.`, `Report one of: ${allowed.join(', ')}; the engine records its own changes.`);
    }
    if (event.target) checkTargetName(event.target);
    if (event.model) validateModelName(event.model);
    const detail: Record<string, string | number | boolean | null> = {};
    for (const [k, v] of Object.entries(event.detail ?? {})) {
      // The trail must never hold a secret: refuse a field that would carry one.
      if (/^(token|value|password|secret|authorization)$/i.test(k)) {
        throw new ModelOpsError('audit-secret', `The audit detail '${k}' looks like it carries a secret; the audit trail records that a token changed, never the token.`, 'Report the secret\'s name (e.g. tokenSecret) only.');
      }
      if (v !== null && !['string', 'number', 'boolean'].includes(typeof v)) continue;
      detail[k.slice(0, 64)] = typeof v === 'string' ? v.slice(0, 500) : v;
    }
    const row = this.write(() =>
      this.record({
        action: event.action,
        subject: event.target ? `target ${event.target}` : event.model ? event.model : 'workspace',
        model: event.model ?? null,
        target: event.target ?? null,
        after: detail,
      }),
    );
    return toAuditEntry(row);
  }

  auditLog(query: AuditQuery = {}): AuditEntry[] {
    let since: string | undefined;
    if (query.since !== undefined && query.since !== '') {
      const t = Date.parse(query.since);
      if (Number.isNaN(t)) throw new ModelOpsError('invalid-since', `--since '${query.since}' is not a date.`, 'Use an ISO date or date-time, e.g. 2024-05-01 or 2024-05-01T12:00:00Z.');
      since = new Date(t).toISOString();
    }
    const limit = Math.max(1, Math.min(100_000, Math.floor(query.limit ?? 10_000)));
    return this.read(() => {
      const { sql, params } = filters({ 'model = ?': query.model, 'at >= ?': since });
      const rows = this.db.prepare(`SELECT * FROM audit_log ${sql} ORDER BY seq DESC LIMIT ?`).all(...params, limit) as AuditRow[];
      return rows.reverse().map(toAuditEntry);
    });
  }

  verifyAudit(): AuditVerification {
    return this.read(() => {
      const head = readHead(this.storeDir);
      const result = verifyRows(this.db.prepare(`SELECT * FROM audit_log ORDER BY seq`).iterate() as IterableIterator<AuditRow>, head);
      if (!result.ok) return result;
      const rewritten = checkAnchoredEntry(this.db, head);
      if (rewritten && head && head !== 'unreadable') {
        const r = this.db.prepare(`SELECT * FROM audit_log WHERE seq = ?`).get(head.seq) as AuditRow | undefined;
        return { ...result, ok: false, firstBad: { seq: head.seq, problem: rewritten, entry: r ? toAuditEntry(r) : null } };
      }
      return result;
    });
  }
}

function toApproval(r: ApprovalRow): ApprovalRecord {
  return {
    id: r.id,
    model: r.model,
    version: r.version,
    artifactDigest: r.artifact_digest,
    scope: r.scope,
    name: r.name,
    approver: r.approver,
    comment: r.comment,
    at: r.at,
    valid: r.current_digest !== null && r.current_digest === r.artifact_digest,
  };
}

/** A comment is free text shown in terminals and cards: no control characters but newlines, bounded. */
function cleanComment(c: string | null | undefined): string | null {
  const s = (c ?? '').replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, ' ').trim().slice(0, 2000);
  return s || null;
}

interface DatasetRow {
  digest: string;
  path: string;
  rows: number;
  columns: string;
  created_at: string;
}

function toDeployment(r: DeploymentRow): DeploymentRecord {
  return {
    id: r.id,
    target: r.target,
    model: r.model,
    version: r.version,
    status: r.status,
    previousVersion: r.previous_version,
    at: r.at,
    steps: json<DeploymentRecord['steps']>(r.steps, []),
    reason: r.reason,
    approvalId: r.approval_id ?? null,
  };
}

function toAlert(r: AlertRow): AlertRecord {
  return { id: r.id, target: r.target, model: r.model, version: r.version, rule: r.rule, metric: r.metric, message: r.message, at: r.at, acknowledged: r.acknowledged === 1 };
}

function versionTaken(model: string, version: string): ModelOpsError {
  return new ModelOpsError('version-exists', `${model}@${version} already exists; versions are immutable.`, 'Choose another version, or leave it out to get the next one automatically.');
}

function normaliseTags(tags: string[]): string[] {
  const out: string[] = [];
  for (const t of tags) {
    const s = String(t).trim();
    if (!s) continue;
    if (s.length > 64 || /[\u0000-\u001f]/.test(s)) {
      throw new ModelOpsError('invalid-tag', `Invalid tag '${s.slice(0, 70)}'.`, 'Tags are 1–64 printable characters.');
    }
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

function finiteMetrics(m: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m ?? {})) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

function withNotice(format: string): { notice?: string } {
  const notice = formatNotice((FORMATS.includes(format as ArtifactFormat) ? format : 'unknown') as ArtifactFormat);
  return notice ? { notice } : {};
}

/** What is stored for a registration: the path to copy into the store and the signature to record. */
interface PreparedSource {
  path: string;
  signature: Signature | null;
  /** A staging folder to remove afterwards. */
  cleanup: string | null;
}

/**
 * Reads what a source says about itself before it is stored. A bare `.onnx` file becomes an
 * ONNX bundle (writeOnnxBundle: graph checked, ONNX Runtime loads it, columns/labels resolved)
 * in a staging folder; an ONNX bundle is loaded as it would be at deploy time. Both record the
 * graph's inputs and outputs as the signature. A TF.js bundle records its manifest's.
 */
async function prepareSource(source: string, format: ArtifactFormat, input: RegisterVersionInput): Promise<PreparedSource> {
  const given = input.signature ?? null;
  if (format === 'modelops-tfjs') return { path: source, signature: given ?? (await tfjsSignature(source)), cleanup: null };
  if (format !== 'onnx') return { path: source, signature: given, cleanup: null };
  if (statSync(source).isDirectory()) return { path: source, signature: await checkOnnxBundle(source), cleanup: null };
  const stage = await mkdtemp(join(tmpdir(), 'modelops-onnx-'));
  try {
    const manifest = await writeOnnxBundle(stage, source, input.onnx ?? {});
    // The bundle's time is the model file's, so the same file registered twice is the same
    // artifact (a patch bump, not a minor one for a "new" bundle).
    manifest.createdAt = (await stat(source)).mtime.toISOString();
    await writeFile(join(stage, 'modelops.json'), JSON.stringify(manifest, null, 2));
    return { path: stage, signature: graphSignature(manifest), cleanup: stage };
  } catch (e) {
    await rm(stage, { recursive: true, force: true });
    throw e;
  }
}

function graphSignature(m: OnnxManifest): Signature {
  return { inputs: m.graph.inputs, outputs: m.graph.outputs };
}

/** Loads an ONNX bundle folder exactly as deploy will, and checks model.onnx is the file its manifest describes. */
async function checkOnnxBundle(dir: string): Promise<Signature> {
  const path = join(dir, 'modelops.json');
  let manifest: OnnxManifest;
  try {
    manifest = JSON.parse(await readFile(path, 'utf8')) as OnnxManifest;
  } catch (e) {
    throw new ModelOpsError('bundle-corrupt', `${path} cannot be read as JSON (${e instanceof Error ? e.message : String(e)}).`, 'Write the bundle again (writeOnnxBundle), or register the bare .onnx file.');
  }
  if (manifest?.format !== ONNX_MANIFEST_FORMAT || !manifest.graph || !Array.isArray(manifest.graph.inputs) || !Array.isArray(manifest.graph.outputs)) {
    throw new ModelOpsError('bundle-format', `${path} is not an ONNX bundle manifest (format '${String(manifest?.format)}', expected '${ONNX_MANIFEST_FORMAT}' with a graph).`, 'Register the bare .onnx file instead; ModelOps writes the bundle.');
  }
  const onnxPath = join(dir, ONNX_MODEL_FILE);
  const digest = createHash('sha256').update(await readFile(onnxPath)).digest('hex');
  if (digest !== manifest.modelDigest) {
    throw new ModelOpsError('bundle-corrupt', `${onnxPath} is not the model ${path} describes (its SHA-256 differs from modelDigest).`, 'Register the new .onnx file by itself, so its bundle is written afresh.');
  }
  const runtime = await loadOnnxBundle(dir, manifest);
  runtime.dispose();
  return graphSignature(manifest);
}

/** The signature a TF.js bundle's modelops.json records; null when it has none readable. */
async function tfjsSignature(dir: string): Promise<Signature | null> {
  try {
    const m = JSON.parse(await readFile(join(dir, 'modelops.json'), 'utf8')) as { signature?: Signature };
    const s = m.signature;
    return s && Array.isArray(s.inputs) && Array.isArray(s.outputs) ? s : null;
  } catch {
    return null;
  }
}

function mapArtifactError(e: unknown, source: string): unknown {
  if (e instanceof ModelOpsError) return e;
  const code = e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : '';
  if (code === 'EACCES' || code === 'EPERM') {
    return new ModelOpsError('artifact-unreadable', `Cannot read ${source}: permission denied.`, 'Check the file permissions.');
  }
  if (code === 'EROFS') return new ModelOpsError('store-readonly', `The workspace store cannot be written while storing ${source}.`, 'Open the workspace from a writable folder.');
  // EFBIG: a file-size limit (ulimit -f) stops the write just as a full disk does.
  if (code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT') return storeFullError(`the artifact ${source} into the workspace store`, code);
  return e;
}


/**
 * A WHERE clause from conditions that apply when their value is set: a condition with a `?`
 * binds the value, one without (e.g. 'acknowledged = 0') only needs it truthy.
 */
function filters(conditions: Record<string, string | number | boolean | undefined>): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const [condition, value] of Object.entries(conditions)) {
    if (value === undefined || value === '' || value === false) continue;
    where.push(condition);
    if (condition.includes('?')) params.push(value);
  }
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

/** A listing's page size: 100 by default, 1 to 1,000. */
function pageLimit(limit: number | undefined): number {
  return Math.max(1, Math.min(1000, Math.floor(limit ?? 100)));
}
