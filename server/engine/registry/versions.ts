/**
 * Models, versions, aliases and gate reports: tables `models`, `versions`, `artifact_files`,
 * `aliases`, `alias_moves`, `gate_reports`, and the content-addressed artifacts (and configs)
 * the versions point at. Registration, archive/delete, tags, promotion and rollback of an
 * alias (a protected alias asks `approvalFor`, which the approvals part answers), and the
 * orphan sweep of artifacts nothing references.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelOpsError } from '../errors';
import { gateProblem, isNotEvaluated } from '../../../shared/gateState';
import { ArtifactStore, digestHex, type DirectoryManifest, type StoredArtifact } from './artifacts';
import { finiteMetrics, json, now, type StoreHandle } from './handle';
import { gitState } from './lineage';
import { detectModelFormat, formatNotice } from './modelFiles';
import { parseRef, validateAlias, validateModelName } from './refs';
import type { RunStore } from './runs';
import { canonicalJson, nextVersion, parseSemver, requireSemver } from './semver';
import { mapArtifactError, prepareSource, type PreparedSource } from './sources';
import { storeFullError } from './store';
import type {
  Digest,
  AliasMove,
  ApprovalRecord,
  ArtifactFormat,
  ChangeEvent,
  DatasetRef,
  GateReport,
  ListVersionsQuery,
  ModelRecord,
  RegisterVersionInput,
  SetAliasOptions,
  Signature,
  VersionComparison,
  VersionOrigin,
  VersionRecord,
} from './types';

export interface VersionRow {
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
  origin?: string | null;
  gate_report: string | null;
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

/** What the other parts need of a version: its row by reference, inside their own read or write. */
export interface VersionLookup {
  findRow(ref: string): VersionRow;
}

export interface VersionStoreOptions {
  root: string;
  artifacts: ArtifactStore;
  runs: RunStore;
  /** Who registers (recorded as `registered_by`). */
  actor: () => string;
  /** The approval a protected alias needs, or null when `alias` is not protected; throws when it is and there is none. */
  approvalFor: (row: VersionRow, alias: string) => ApprovalRecord | null;
}

const VERSION_COLUMNS = `v.*, g.report AS gate_report`;
const VERSION_FROM = `versions v LEFT JOIN gate_reports g ON g.version_id = v.id`;
/** A config is a few KiB; anything this large was passed as --config by mistake. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
const FORMATS: ArtifactFormat[] = [
  'modelops-tfjs',
  'tfjs-layers',
  'onnx',
  'keras',
  'h5',
  'torch',
  'safetensors',
  'pickle',
  'savedmodel',
  'unknown',
];

type VersionInsert = [
  string,
  string,
  number,
  number,
  number,
  string,
  StoredArtifact['kind'],
  string,
  number,
  string | null,
  string,
  string | null,
  string | null,
  string,
  string | null,
  number | null,
  string | null,
  string | null,
  string,
  string,
  string,
  string | null,
];

export class VersionStore implements VersionLookup {
  private readonly root: string;
  private readonly artifacts: ArtifactStore;

  constructor(
    private readonly h: StoreHandle,
    private readonly options: VersionStoreOptions,
  ) {
    this.root = options.root;
    this.artifacts = options.artifacts;
  }

  // ── store upkeep ────────────────────────────────────────────────────────────

  /** Directory artifacts from a schema-1 store have no artifact_files rows yet: read their manifests. */
  backfillArtifactFiles(): void {
    const missing = this.h
      .pluck<[], string>(
        `SELECT DISTINCT artifact_digest FROM versions WHERE artifact_kind = 'directory' AND artifact_digest NOT IN (SELECT artifact_digest FROM artifact_files)`,
      )
      .all();
    if (missing.length === 0) return;
    const insert = this.h.stmt<[string, string, string, number]>(
      `INSERT OR IGNORE INTO artifact_files (artifact_digest, path, blob_digest, size) VALUES (?, ?, ?, ?)`,
    );
    this.h.write(() => {
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
    return this.h.write(() => {
      const referenced = new Set<string>();
      // Config blobs are addressed by the config digest each version already records.
      const rows = this.h
        .pluck<[], string>(
          `SELECT artifact_digest AS d FROM versions UNION SELECT blob_digest AS d FROM artifact_files UNION SELECT config_digest AS d FROM versions WHERE config_digest IS NOT NULL`,
        )
        .all();
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
    return this.h.read(() => {
      const rows = this.h
        .stmt<[], { name: string; created_at: string; cnt: number; latest: string | null }>(
          `SELECT m.name, m.created_at,
             (SELECT COUNT(*) FROM versions v WHERE v.model = m.name) AS cnt,
             (SELECT version FROM versions v WHERE v.model = m.name AND v.archived = 0 ORDER BY major DESC, minor DESC, patch DESC LIMIT 1) AS latest
           FROM models m ORDER BY m.name`,
        )
        .all();
      const aliasRows = this.h
        .stmt<[], { model: string; alias: string; version: string }>(
          `SELECT a.model, a.alias, v.version FROM aliases a JOIN versions v ON v.id = a.version_id ORDER BY a.alias`,
        )
        .all();
      const aliases = new Map<string, Record<string, string>>();
      for (const a of aliasRows) {
        const m = aliases.get(a.model) ?? {};
        m[a.alias] = a.version;
        aliases.set(a.model, m);
      }
      return rows.map((r) => ({
        name: r.name,
        createdAt: r.created_at,
        versionCount: r.cnt,
        latestVersion: r.latest,
        aliases: aliases.get(r.name) ?? {},
      }));
    });
  }

  requireModel(model: string): void {
    validateModelName(model);
    const row = this.h.stmt<[string]>(`SELECT 1 FROM models WHERE name = ?`).get(model);
    if (!row) {
      throw new ModelOpsError(
        'model-not-found',
        `No model named '${model}' in the registry.`,
        'List models with `modelops versions list`, or register one with `modelops versions register <path> --model <name>`.',
      );
    }
  }

  private decorate(rows: VersionRow[], model: string): VersionRecord[] {
    if (rows.length === 0) return [];
    const aliasRows = this.h
      .stmt<[string], { alias: string; version_id: number }>(
        `SELECT alias, version_id FROM aliases WHERE model = ? ORDER BY alias`,
      )
      .all(model);
    const aliases = new Map<number, string[]>();
    for (const a of aliasRows) aliases.set(a.version_id, [...(aliases.get(a.version_id) ?? []), a.alias]);
    const depRows = this.h
      .stmt<[string], { target: string; version: string }>(
        `SELECT target, version FROM deployments WHERE model = ? AND status = 'active' ORDER BY target`,
      )
      .all(model);
    const deployed = new Map<string, string[]>();
    for (const d of depRows) deployed.set(d.version, [...(deployed.get(d.version) ?? []), d.target]);
    return rows.map((r) => toVersion(r, aliases.get(r.id) ?? [], deployed.get(r.version) ?? []));
  }

  listVersions(query: ListVersionsQuery): { total: number; items: VersionRecord[] } {
    return this.h.read(() => {
      this.requireModel(query.model);
      const where: string[] = ['v.model = ?'];
      const params: string[] = [query.model];
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
      const orderParams: string[] = [];
      if (sort === 'version') orderBy = semverOrder;
      else if (sort === 'created') orderBy = `v.created_at ${dir}, v.id ${dir}`;
      else {
        // A metric: versions without it go last whichever the direction.
        orderBy = `(json_extract(v.metrics, ?) IS NULL), json_extract(v.metrics, ?) ${dir}, ${semverOrder}`;
        const path = `$."${sort.replace(/"/g, '')}"`;
        orderParams.push(path, path);
      }
      const whereSql = where.join(' AND ');
      const total =
        this.h.pluck<string[], number>(`SELECT COUNT(*) FROM versions v WHERE ${whereSql}`).get(...params) ?? 0;
      const limit = Math.max(1, Math.min(1000, Math.floor(query.limit ?? 100)));
      const offset = Math.max(0, Math.floor(query.offset ?? 0));
      const rows = this.h
        .stmt<Array<string | number>, VersionRow>(
          `SELECT ${VERSION_COLUMNS} FROM ${VERSION_FROM} WHERE ${whereSql} ORDER BY ${orderBy} LIMIT ? OFFSET ?`,
        )
        .all(...params, ...orderParams, limit, offset);
      return { total, items: this.decorate(rows, query.model) };
    });
  }

  findRow(ref: string): VersionRow {
    const p = parseRef(ref);
    this.requireModel(p.model);
    let row: VersionRow | undefined;
    if (p.version) {
      row = this.h
        .stmt<[string, string], VersionRow>(
          `SELECT ${VERSION_COLUMNS} FROM ${VERSION_FROM} WHERE v.model = ? AND v.version = ?`,
        )
        .get(p.model, p.version);
    } else if (p.alias) {
      row = this.h
        .stmt<[string, string], VersionRow>(
          `SELECT ${VERSION_COLUMNS} FROM aliases a JOIN versions v ON v.id = a.version_id LEFT JOIN gate_reports g ON g.version_id = v.id WHERE a.model = ? AND a.alias = ?`,
        )
        .get(p.model, p.alias);
      if (!row) {
        throw new ModelOpsError(
          'alias-not-found',
          `Model '${p.model}' has no alias '${p.alias}'.`,
          `Promote a version first: modelops versions promote ${p.model}@<version> --alias ${p.alias}.`,
        );
      }
    } else {
      row = this.h
        .stmt<[string], VersionRow>(
          `SELECT ${VERSION_COLUMNS} FROM ${VERSION_FROM} WHERE v.model = ? ORDER BY v.archived ASC, v.major DESC, v.minor DESC, v.patch DESC LIMIT 1`,
        )
        .get(p.model);
    }
    if (!row) {
      throw new ModelOpsError(
        'version-not-found',
        `No version ${ref} in the registry.`,
        `List the versions with: modelops versions list ${p.model}.`,
      );
    }
    return row;
  }

  getVersion(ref: string): VersionRecord {
    return this.h.read(() => {
      const row = this.findRow(ref);
      return this.decorate([row], row.model)[0];
    });
  }

  async registerVersion(input: RegisterVersionInput): Promise<VersionRecord> {
    this.h.assertWritable();
    const model = validateModelName(input.model);
    const explicit =
      input.version !== undefined && input.version !== null && input.version !== ''
        ? requireSemver(input.version).join('.')
        : null;
    if (input.format !== undefined && !FORMATS.includes(input.format)) {
      throw new ModelOpsError(
        'invalid-format',
        `Unknown artifact format '${String(input.format)}'.`,
        `Use one of: ${FORMATS.join(', ')}.`,
      );
    }
    const source = resolve(this.root, input.source);
    if (!existsSync(source)) {
      throw new ModelOpsError(
        'artifact-not-found',
        `Cannot register ${input.source}: no such file or folder.`,
        'Pass the path of a model file or model folder.',
      );
    }
    const tags = normaliseTags(input.tags ?? []);
    const format = input.format ?? detectModelFormat(source);
    const configSource = input.configPath ? resolve(this.root, input.configPath) : null;
    if (explicit) {
      // Fail early, before copying a large artifact; checked again inside the transaction.
      const taken = this.h
        .stmt<[string, string]>(`SELECT 1 FROM versions WHERE model = ? AND version = ?`)
        .get(model, explicit);
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
    const git = input.imported
      ? { commit: input.imported.gitCommit, dirty: input.imported.gitDirty }
      : await gitState(this.root);
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
      const result: { row: VersionRow; newModel: boolean } | 'blob-swept' = this.h.write(() => {
        // A sweep in another process may have removed a deduplicated blob before we committed.
        const needed = [stored.digest, ...stored.files.map((f) => f.digest), ...(cfgDigest ? [cfgDigest] : [])];
        if (needed.some((d) => !this.artifacts.hasBlob(d))) return 'blob-swept' as const;
        const newModel = !this.h.stmt<[string]>(`SELECT 1 FROM models WHERE name = ?`).get(model);
        if (newModel)
          this.h.stmt<[string, string]>(`INSERT INTO models (name, created_at) VALUES (?, ?)`).run(model, now());
        const latest = this.h
          .stmt<[string], { version: string; signature: string | null; artifact_digest: string }>(
            `SELECT version, signature, artifact_digest FROM versions WHERE model = ? ORDER BY major DESC, minor DESC, patch DESC LIMIT 1`,
          )
          .get(model);
        let version: string;
        if (explicit) {
          if (
            this.h.stmt<[string, string]>(`SELECT 1 FROM versions WHERE model = ? AND version = ?`).get(model, explicit)
          )
            throw versionTaken(model, explicit);
          version = explicit;
        } else {
          version = nextVersion(
            latest
              ? { version: latest.version, signature: latest.signature, artifactDigest: latest.artifact_digest }
              : null,
            {
              signature,
              artifactDigest: stored.digest,
            },
          );
        }
        const parent = input.parentVersion !== undefined ? input.parentVersion : (latest?.version ?? null);
        if (parent !== null && parent !== undefined) requireSemver(parent, 'parent version');
        const [major, minor, patch] = parseSemver(version) as [number, number, number];
        const info = this.h
          .stmt<VersionInsert>(
            `INSERT INTO versions (model, version, major, minor, patch, artifact_digest, artifact_kind, format, size_bytes, signature, metrics,
               run_id, config_digest, datasets, git_commit, git_dirty, parent_version, note, tags, created_at, archived, registered_by, origin)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
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
            this.options.actor(),
            input.imported ? JSON.stringify(input.imported.origin) : null,
          );
        const files = this.h.stmt<[string, string, string, number]>(
          `INSERT OR IGNORE INTO artifact_files (artifact_digest, path, blob_digest, size) VALUES (?, ?, ?, ?)`,
        );
        for (const f of stored.files) files.run(stored.digest, f.path, f.digest, f.size);
        if (input.runId) this.options.runs.linkVersion(input.runId, version);
        const subject = { subject: `${model}@${version}`, model, version };
        this.h.record({
          action: 'version.register',
          ...subject,
          after: {
            artifactDigest: stored.digest,
            format,
            parentVersion: parent ?? null,
            runId: input.runId ?? null,
            datasets: input.datasets ?? [],
            gitCommit: git.commit,
            note: input.note ?? null,
            ...(input.imported ? { importedFrom: input.imported.origin } : {}),
          },
        });
        if (cfgDigest)
          this.h.record({
            action: 'config.snapshot',
            ...subject,
            // An imported config's path was a staging folder: the archive is the record.
            after: { configDigest: cfgDigest, path: input.imported ? null : (input.configPath ?? null) },
          });
        const row = this.h
          .stmt<[number | bigint], VersionRow>(`SELECT ${VERSION_COLUMNS} FROM ${VERSION_FROM} WHERE v.id = ?`)
          .get(info.lastInsertRowid) as VersionRow;
        return { row, newModel };
      });
      if (result === 'blob-swept') {
        if (attempt < 3) continue;
        throw new ModelOpsError(
          'artifact-race',
          `The artifact of ${input.source} was removed while registering.`,
          'Try again.',
        );
      }
      const events: ChangeEvent[] = [];
      if (result.newModel) events.push({ kind: 'models' });
      events.push({ kind: 'versions', model });
      if (input.runId) events.push({ kind: 'runs', model });
      this.h.emit(...events);
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
      throw new ModelOpsError(
        'config-not-found',
        `Cannot read the config ${shown} to record it with the version.`,
        'Pass an existing modelops.yaml or leave the config out.',
      );
    }
    if (st.size > MAX_CONFIG_BYTES) {
      throw new ModelOpsError(
        'config-too-large',
        `The config ${shown} is ${(st.size / 1024 / 1024).toFixed(1)} MiB; a modelops.yaml is a few KiB.`,
        'Pass the modelops.yaml the model was trained with.',
      );
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
      throw new ModelOpsError(
        'config-unreadable',
        `Cannot read the stored config of ${label} (${code}).`,
        'Check the permissions of .modelops/artifacts.',
      );
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
      sameData: trainData(a) && trainData(b) ? trainData(a)!.digest === trainData(b)!.digest : null,
    };
  }

  private heldAliases(versionId: number): string[] {
    return this.h.pluck<[number], string>(`SELECT alias FROM aliases WHERE version_id = ?`).all(versionId);
  }

  archiveVersion(ref: string, archived = true): VersionRecord {
    const model = this.h.write(() => {
      const row = this.findRow(ref);
      if (archived) {
        const held = this.heldAliases(row.id);
        if (held.length) {
          throw new ModelOpsError(
            'version-in-use',
            `${row.model}@${row.version} holds the alias${held.length > 1 ? 'es' : ''} ${held.join(', ')} and cannot be archived.`,
            `Move the alias to another version first (modelops versions promote ${row.model}@<version> --alias ${held[0]}).`,
          );
        }
      }
      this.h.stmt<[number, number]>(`UPDATE versions SET archived = ? WHERE id = ?`).run(archived ? 1 : 0, row.id);
      if ((row.archived === 1) !== archived) {
        this.h.record({
          action: archived ? 'version.archive' : 'version.unarchive',
          subject: `${row.model}@${row.version}`,
          model: row.model,
          version: row.version,
          before: { archived: row.archived === 1 },
          after: { archived },
        });
      }
      return { model: row.model, version: row.version };
    });
    this.h.emit({ kind: 'versions', model: model.model }, { kind: 'models' });
    return this.getVersion(`${model.model}@${model.version}`);
  }

  deleteVersion(ref: string): void {
    const model = this.h.write(() => {
      const row = this.findRow(ref);
      const label = `${row.model}@${row.version}`;
      const held = this.heldAliases(row.id);
      if (held.length) {
        throw new ModelOpsError(
          'version-in-use',
          `${label} cannot be deleted: it holds the alias ${held.join(', ')}.`,
          `Move the alias to another version first, or archive ${label} instead.`,
        );
      }
      const deployed = this.h
        .pluck<[string, string, string], string>(
          `SELECT target FROM deployments WHERE model = ? AND status = 'active' AND (version = ? OR previous_version = ?)`,
        )
        .all(row.model, row.version, row.version);
      if (deployed.length) {
        throw new ModelOpsError(
          'version-in-use',
          `${label} cannot be deleted: it is deployed to ${[...new Set(deployed)].join(', ')} (or is the rollback target there).`,
          `Deploy another version first, or archive ${label} instead.`,
        );
      }
      this.h.stmt<[number]>(`DELETE FROM versions WHERE id = ?`).run(row.id);
      this.h.record({
        action: 'version.delete',
        subject: label,
        model: row.model,
        version: row.version,
        before: {
          artifactDigest: row.artifact_digest,
          format: row.format,
          registeredBy: row.registered_by ?? null,
          archived: row.archived === 1,
        },
      });
      // Its artifact stays until the sweep on a later open finds nothing referencing it.
      return row.model;
    });
    this.h.emit({ kind: 'versions', model }, { kind: 'models' });
  }

  setTags(ref: string, tags: string[]): VersionRecord {
    const clean = normaliseTags(tags);
    const r = this.h.write(() => {
      const row = this.findRow(ref);
      this.h.stmt<[string, number]>(`UPDATE versions SET tags = ? WHERE id = ?`).run(JSON.stringify(clean), row.id);
      const before = json<string[]>(row.tags, []);
      if (canonicalJson(before) !== canonicalJson(clean))
        this.h.record({
          action: 'version.tags',
          subject: `${row.model}@${row.version}`,
          model: row.model,
          version: row.version,
          before: { tags: before },
          after: { tags: clean },
        });
      return { model: row.model, version: row.version };
    });
    this.h.emit({ kind: 'versions', model: r.model });
    return this.getVersion(`${r.model}@${r.version}`);
  }

  recordGates(ref: string, report: GateReport): VersionRecord {
    const r = this.h.write(() => {
      const row = this.findRow(ref);
      this.h
        .stmt<[number, number, string, string]>(
          `INSERT INTO gate_reports (version_id, passed, report, evaluated_at) VALUES (?, ?, ?, ?) ON CONFLICT (version_id) DO UPDATE SET passed = excluded.passed, report = excluded.report, evaluated_at = excluded.evaluated_at`,
        )
        .run(row.id, report.passed ? 1 : 0, JSON.stringify(report), report.evaluatedAt || now());
      const before = json<GateReport | null>(row.gate_report, null);
      const summary = (g: GateReport | null) =>
        g
          ? {
              passed: g.passed,
              notEvaluated: g.notEvaluated ?? null,
              override: g.override,
              failed: g.results.filter((x) => !x.passed).map((x) => x.message),
            }
          : null;
      const subject = { subject: `${row.model}@${row.version}`, model: row.model, version: row.version };
      if (report.override && canonicalJson(report.override) !== canonicalJson(before?.override ?? null)) {
        this.h.record({
          action: 'gates.override',
          ...subject,
          before: { override: before?.override ?? null },
          after: { override: report.override },
        });
      } else {
        this.h.record({ action: 'gates.record', ...subject, before: summary(before), after: summary(report) });
      }
      return { model: row.model, version: row.version };
    });
    this.h.emit({ kind: 'versions', model: r.model });
    return this.getVersion(`${r.model}@${r.version}`);
  }

  // ── aliases ─────────────────────────────────────────────────────────────────

  setAlias(
    model: string,
    alias: string,
    version: string,
    reason?: string | null,
    options: SetAliasOptions = {},
  ): AliasMove {
    validateAlias(alias);
    const v = requireSemver(version).join('.');
    const forceReason = options.forceReason?.trim() || null;
    const move = this.h.write((): AliasMove => {
      const row = this.findRow(`${model}@${v}`);
      const label = `${model}@${v}`;
      if (row.archived) {
        throw new ModelOpsError(
          'version-archived',
          `${label} is archived and cannot take the alias '${alias}'.`,
          `Unarchive it first: modelops versions archive ${label} --undo.`,
        );
      }
      const gates = json<GateReport | null>(row.gate_report, null);
      // A report whose gates could not be evaluated counts as failed: it needs a reason too.
      if (gates && (!gates.passed || isNotEvaluated(gates))) {
        if (!forceReason) {
          const why = isNotEvaluated(gates)
            ? `its quality gates were not evaluated (${gates.notEvaluated})`
            : `its quality gates failed (${gateProblem(gates) || 'see the gate report'})`;
          throw new ModelOpsError(
            'gates-failed',
            `${label} cannot become '${alias}': ${why}.`,
            isNotEvaluated(gates)
              ? `Evaluate it (modelops evaluate ${label}), or promote anyway with a written reason (--force-reason "…"), which is kept in the alias history.`
              : 'Train a version that passes the gates, or promote anyway with a written reason (--force-reason "…"), which is kept in the alias history.',
          );
        }
        const override = { reason: forceReason, at: now() };
        this.h
          .stmt<[string, number]>(`UPDATE gate_reports SET report = ? WHERE version_id = ?`)
          .run(JSON.stringify({ ...gates, override }), row.id);
        this.h.record({
          action: 'gates.override',
          subject: label,
          model,
          version: v,
          alias,
          before: { passed: gates.passed, override: gates.override, notEvaluated: gates.notEvaluated ?? null },
          after: { override },
        });
      }
      // Protected aliases (registry.protectedAliases) move only with a valid approval.
      const approval = this.options.approvalFor(row, alias);
      const current = this.h
        .stmt<[string, string], { version: string; version_id: number }>(
          `SELECT v.version, a.version_id FROM aliases a JOIN versions v ON v.id = a.version_id WHERE a.model = ? AND a.alias = ?`,
        )
        .get(model, alias);
      const at = now();
      const result: AliasMove = {
        model,
        alias,
        fromVersion: current?.version ?? null,
        toVersion: v,
        reason: reason?.trim() || null,
        forceReason,
        at,
      };
      if (current?.version_id === row.id) return result;
      this.h
        .stmt<[string, string, number, string]>(
          `INSERT INTO aliases (model, alias, version_id, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (model, alias) DO UPDATE SET version_id = excluded.version_id, updated_at = excluded.updated_at`,
        )
        .run(model, alias, row.id, at);
      this.insertMove(result, 'set');
      this.h.record({
        action: 'alias.set',
        subject: `${model}@${alias}`,
        model,
        version: v,
        alias,
        before: { version: result.fromVersion },
        after: {
          version: v,
          artifactDigest: row.artifact_digest,
          reason: result.reason,
          forceReason,
          approvalId: approval?.id ?? null,
        },
      });
      return result;
    });
    this.h.emit({ kind: 'aliases', model }, { kind: 'versions', model }, { kind: 'models' });
    return move;
  }

  private insertMove(m: AliasMove, kind: 'set' | 'rollback'): void {
    this.h
      .stmt<[string, string, string | null, string | null, string | null, string, string, string | null]>(
        `INSERT INTO alias_moves (model, alias, from_version, to_version, reason, at, kind, force_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(m.model, m.alias, m.fromVersion, m.toVersion, m.reason, m.at, kind, m.forceReason);
  }

  /**
   * The alias's history replayed as a stack (a move pushes, a rollback pops), skipping versions
   * deleted since; rollback pops once more, so repeated rollbacks walk further back.
   */
  rollbackAlias(model: string, alias: string, reason?: string | null): AliasMove {
    validateAlias(alias);
    const move = this.h.write((): AliasMove => {
      this.requireModel(model);
      const current = this.h
        .pluck<[string, string], string>(
          `SELECT v.version FROM aliases a JOIN versions v ON v.id = a.version_id WHERE a.model = ? AND a.alias = ?`,
        )
        .get(model, alias);
      if (!current) {
        throw new ModelOpsError(
          'alias-not-found',
          `Model '${model}' has no alias '${alias}' to roll back.`,
          `Promote a version first: modelops versions promote ${model}@<version> --alias ${alias}.`,
        );
      }
      const exists = this.h.pluck<[string, string], number>(`SELECT id FROM versions WHERE model = ? AND version = ?`);
      const moves = this.h
        .stmt<[string, string], { to_version: string | null; kind: string }>(
          `SELECT to_version, kind FROM alias_moves WHERE model = ? AND alias = ? ORDER BY id`,
        )
        .all(model, alias);
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
        throw new ModelOpsError(
          'nothing-to-roll-back',
          `'${alias}' of ${model} has no earlier version to roll back to (it is at ${current}).`,
          `Promote the version you want instead: modelops versions promote ${model}@<version> --alias ${alias}.`,
        );
      }
      const id = exists.get(model, target) as number;
      const at = now();
      this.h
        .stmt<[number, string, string, string]>(
          `UPDATE aliases SET version_id = ?, updated_at = ? WHERE model = ? AND alias = ?`,
        )
        .run(id, at, model, alias);
      const m: AliasMove = {
        model,
        alias,
        fromVersion: current,
        toVersion: target,
        reason: reason?.trim() || 'rollback',
        forceReason: null,
        at,
      };
      this.insertMove(m, 'rollback');
      // A rollback returns to a version that held the alias before; it needs no new approval.
      this.h.record({
        action: 'alias.rollback',
        subject: `${model}@${alias}`,
        model,
        version: target,
        alias,
        before: { version: current },
        after: { version: target, reason: m.reason },
      });
      return m;
    });
    this.h.emit({ kind: 'aliases', model }, { kind: 'versions', model }, { kind: 'models' });
    return move;
  }

  aliasHistory(model: string, alias?: string): AliasMove[] {
    return this.h.read(() => {
      this.requireModel(model);
      const rows = alias
        ? this.h
            .stmt<[string, string], MoveRow>(`SELECT * FROM alias_moves WHERE model = ? AND alias = ? ORDER BY id DESC`)
            .all(model, validateAlias(alias))
        : this.h.stmt<[string], MoveRow>(`SELECT * FROM alias_moves WHERE model = ? ORDER BY id DESC`).all(model);
      return rows.map((r) => ({
        model: r.model,
        alias: r.alias,
        fromVersion: r.from_version,
        toVersion: r.to_version,
        reason: r.reason,
        forceReason: r.force_reason,
        at: r.at,
      }));
    });
  }

  // ── artifacts ───────────────────────────────────────────────────────────────

  /** The files of a version's artifact and their digests (a single-file artifact: '' → its digest). */
  async artifactFiles(ref: string): Promise<Record<string, Digest>> {
    const v = this.getVersion(ref);
    if (v.artifactKind === 'file') return { '': v.artifactDigest };
    const m = await this.artifacts.readManifest(v.artifactDigest, `${v.model}@${v.version}`);
    return Object.fromEntries(Object.entries(m.files).map(([path, e]) => [path, e.digest]));
  }

  async artifactPath(ref: string): Promise<string> {
    const v = this.getVersion(ref);
    const label = `${v.model}@${v.version}`;
    if (v.artifactKind === 'file') return this.artifacts.verifiedFile(v.artifactDigest, label);
    if (this.h.readonly) {
      // Rebuilding the cache writes; a read-only open only verifies that the manifest is intact.
      await this.artifacts.readManifest(v.artifactDigest, label);
      const cached = join(this.artifacts.cacheDir, digestHex(v.artifactDigest));
      if (existsSync(cached) && statSync(cached).isDirectory()) return cached;
      throw new ModelOpsError(
        'registry-readonly',
        `${label} is a folder artifact that must be unpacked into .modelops/cache, which a read-only registry cannot do.`,
        'Open the workspace with write access.',
      );
    }
    try {
      return await this.artifacts.materializeDirectory(v.artifactDigest, label);
    } catch (e) {
      const code = e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : '';
      if (code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT')
        throw storeFullError(`the unpacked copy of ${label} in .modelops/cache`, code);
      throw e;
    }
  }
}

function toVersion(r: VersionRow, aliases: string[], deployedTo: string[]): VersionRecord {
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
    origin: json<VersionOrigin | null>(r.origin ?? null, null),
    ...withNotice(r.format),
  };
}

function versionTaken(model: string, version: string): ModelOpsError {
  return new ModelOpsError(
    'version-exists',
    `${model}@${version} already exists; versions are immutable.`,
    'Choose another version, or leave it out to get the next one automatically.',
  );
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

function withNotice(format: string): { notice?: string } {
  const notice = formatNotice((FORMATS.includes(format as ArtifactFormat) ? format : 'unknown') as ArtifactFormat);
  return notice ? { notice } : {};
}

/** The data a version was trained on (its metrics come from that data's test split), if recorded. */
export function trainData(v: Pick<VersionRecord, 'datasets'>): DatasetRef | undefined {
  return v.datasets.find((d) => d.role === 'train');
}
