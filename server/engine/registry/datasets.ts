/**
 * Datasets and data versions in the registry database: `datasets` (one row per file a run read
 * or `modelops data add` stored, keyed by the SHA-256 every version's dataset references carry,
 * with its column profile), `data_versions` (migration 7: the stored bytes of one, freed by gc)
 * and its ordered `data_chunks`. `DataVersions` is the registry's part (`registry.datasets`),
 * on the registry's own connection; the functions below it take a database handle and are what
 * it runs. `openDataDb` opens the store by itself, for when no registry is open (tests, tools).
 */
import { ModelOpsError } from '../errors';
import type { ColumnStats } from '../data/store/profile';
import type { DataManifest } from '../data/store/manifest';
import { json, now, plainAccess, type StoreAccess } from './handle';
import { digestHex } from './artifacts';
import { lostError, openStore, type Db } from './store';
import type {
  ChangeEvent,
  DatasetRecord,
  DatasetRef,
  DataVersionWriter,
  Digest,
  RecordDataInput,
  Registry,
} from './types';

export type { RecordDataInput } from './types';

export interface DataVersionRecord extends DatasetRecord {
  /** Null when only the digest was recorded (before migration 7, or freed by gc). */
  stored: { size: number; chunkCount: number; storedAt: string } | null;
  /** Set when gc removed the bytes. */
  freedAt: string | null;
  profile: ColumnStats[] | null;
}

export interface DataUse {
  model: string;
  version: string;
  role: DatasetRef['role'];
  path: string;
  aliases: string[];
  archived: boolean;
}

interface Row {
  digest: string;
  path: string;
  rows: number;
  columns: string;
  created_at: string;
  profile: string | null;
  freed_at: string | null;
  size: number | null;
  chunk_count: number | null;
  stored_at: string | null;
}

const SELECT = `SELECT d.digest, d.path, d.rows, d.columns, d.created_at, d.profile, d.freed_at, v.size, v.chunk_count, v.stored_at
  FROM datasets d LEFT JOIN data_versions v ON v.digest = d.digest`;

function toRecord(r: Row): DataVersionRecord {
  return {
    digest: r.digest,
    path: r.path,
    rows: r.rows,
    columns: json<DatasetRecord['columns']>(r.columns, []),
    createdAt: r.created_at,
    stored:
      r.size === null ? null : { size: r.size, chunkCount: r.chunk_count ?? 0, storedAt: r.stored_at ?? r.created_at },
    freedAt: r.freed_at,
    profile: json<ColumnStats[] | null>(r.profile, null),
  };
}

export function getDataVersion(db: Db, digest: Digest): DataVersionRecord | null {
  const r = db.prepare<[string], Row>(`${SELECT} WHERE d.digest = ?`).get(digest);
  return r ? toRecord(r) : null;
}

/** Every recorded dataset, newest first, with whether its bytes are stored. */
export function listDataVersions(db: Db): DataVersionRecord[] {
  return db.prepare<[], Row>(`${SELECT} ORDER BY d.created_at DESC, d.path`).all().map(toRecord);
}

/** The stored chunk list of a data version, or null when its bytes are not stored. */
export function dataManifest(db: Db, digest: Digest): DataManifest | null {
  const v = db.prepare<[string], { size: number }>(`SELECT size FROM data_versions WHERE digest = ?`).get(digest);
  if (!v) return null;
  const chunks = db
    .prepare<[string], DataManifest['chunks'][number]>(
      `SELECT chunk AS digest, size FROM data_chunks WHERE digest = ? ORDER BY seq`,
    )
    .all(digest);
  return { digest, size: v.size, chunks };
}

/** Chunks of `digest` that another data version also uses, and the store's totals (logical bytes vs unique chunk bytes). */
export function chunkSharing(
  db: Db,
  digest: Digest,
): { sharedChunks: Set<string>; logicalBytes: number; storedBytes: number } {
  const shared = db
    .prepare<[string], string>(
      `SELECT DISTINCT c.chunk FROM data_chunks c WHERE c.digest = ? AND EXISTS (SELECT 1 FROM data_chunks o WHERE o.chunk = c.chunk AND o.digest <> c.digest)`,
    )
    .pluck()
    .all(digest);
  return { sharedChunks: new Set(shared), ...storeTotals(db) };
}

export function storeTotals(db: Db): { logicalBytes: number; storedBytes: number } {
  const logical = db.prepare<[], number>(`SELECT COALESCE(SUM(size), 0) FROM data_versions`).pluck().get() ?? 0;
  const stored =
    db
      .prepare<[], number>(
        `SELECT COALESCE(SUM(size), 0) FROM (SELECT chunk, MAX(size) AS size FROM data_chunks GROUP BY chunk)`,
      )
      .pluck()
      .get() ?? 0;
  return { logicalBytes: logical, storedBytes: stored };
}

interface VersionDataRow {
  id: number;
  model: string;
  version: string;
  datasets: string;
  archived: number;
}

/** Which versions (with their aliases) reference each data digest. */
export function dataUses(db: Db): Map<string, DataUse[]> {
  const aliasRows = db
    .prepare<[], { version_id: number; alias: string }>(`SELECT version_id, alias FROM aliases ORDER BY alias`)
    .all();
  const aliases = new Map<number, string[]>();
  for (const a of aliasRows) aliases.set(a.version_id, [...(aliases.get(a.version_id) ?? []), a.alias]);
  const out = new Map<string, DataUse[]>();
  for (const v of db
    .prepare<[], VersionDataRow>(
      `SELECT id, model, version, datasets, archived FROM versions WHERE datasets <> '[]' ORDER BY model, major, minor, patch`,
    )
    .iterate()) {
    for (const ref of json<DatasetRef[]>(v.datasets, [])) {
      if (typeof ref?.digest !== 'string') continue;
      const use: DataUse = {
        model: v.model,
        version: v.version,
        role: ref.role,
        path: ref.path,
        aliases: aliases.get(v.id) ?? [],
        archived: v.archived === 1,
      };
      out.set(ref.digest, [...(out.get(ref.digest) ?? []), use]);
    }
  }
  return out;
}

/** For the editor's Datasets node: every dataset, whether its bytes are stored, and the versions that used it. */
export function datasetsWithVersions(db: Db): Array<DataVersionRecord & { usedBy: DataUse[] }> {
  const uses = dataUses(db);
  return listDataVersions(db).map((d) => ({ ...d, usedBy: uses.get(d.digest) ?? [] }));
}

/**
 * A dataset by digest or hex prefix (at least 4 digits). An unknown digest and an ambiguous
 * prefix (with the matches listed) are errors that say what to run.
 */
export function resolveDataDigest(db: Db, given: string): Digest {
  const hex = given.toLowerCase().replace(/^sha256:/, '');
  if (!/^[0-9a-f]{4,64}$/.test(hex)) {
    throw new ModelOpsError(
      'data-version-not-found',
      `'${given}' is neither a data digest (sha256:<hex>, at least 4 hex digits) nor a model@version.`,
      'List data versions with `modelops data list`.',
    );
  }
  const matches = db
    .prepare<[number, string], { digest: string; path: string }>(
      `SELECT digest, path FROM datasets WHERE substr(digest, 8, ?) = ? ORDER BY digest LIMIT 11`,
    )
    .all(hex.length, hex);
  if (matches.length === 1) return matches[0].digest;
  if (matches.length === 0) {
    throw new ModelOpsError(
      'data-version-not-found',
      `No dataset with digest sha256:${hex}${hex.length < 64 ? '…' : ''} in the registry.`,
      'List data versions with `modelops data list`, or store a file with `modelops data add <file>`.',
    );
  }
  const listed = matches
    .slice(0, 10)
    .map((m) => `${m.digest.slice(0, 19)}… (${m.path})`)
    .join(', ');
  throw new ModelOpsError(
    'data-ambiguous',
    `Digest prefix '${given}' matches ${matches.length > 10 ? 'more than 10' : matches.length} datasets: ${listed}.`,
    'Give more hex digits of the digest.',
  );
}

interface DatasetRow {
  digest: string;
  path: string;
  rows: number;
  columns: string;
  created_at: string;
}

/** A stored data version as gc weighs it. */
export interface StoredDataRow {
  digest: string;
  path: string | null;
  size: number;
  chunk_count: number;
  stored_at: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The registry's datasets and data versions (`registry.datasets`). */
export class DataVersions implements DataVersionWriter {
  constructor(
    protected readonly store: StoreAccess,
    /** Tells the registry's listeners (the editor's tree) of a recorded dataset. */
    private readonly emit: (e: ChangeEvent) => void = () => undefined,
  ) {}

  get readonly(): boolean {
    return this.store.readonly;
  }

  /** Records a dataset's digest, path and shape (no bytes stored; `record` stores a data version). */
  recordDataset(dataset: Omit<DatasetRecord, 'createdAt'>): DatasetRecord {
    digestHex(dataset.digest);
    this.store.write(() => {
      this.store
        .stmt<[string, string, number, string, string]>(
          `INSERT INTO datasets (digest, path, rows, columns, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (digest) DO UPDATE SET path = excluded.path, rows = excluded.rows, columns = excluded.columns`,
        )
        .run(dataset.digest, dataset.path, dataset.rows, JSON.stringify(dataset.columns), now());
    });
    this.emit({ kind: 'datasets' });
    return this.store.read(() =>
      toDataset(
        this.store
          .stmt<[string], DatasetRow>(`SELECT * FROM datasets WHERE digest = ?`)
          .get(dataset.digest) as DatasetRow,
      ),
    );
  }

  listDatasets(): DatasetRecord[] {
    return this.store.read(() =>
      this.store.stmt<[], DatasetRow>(`SELECT * FROM datasets ORDER BY created_at DESC, path`).all().map(toDataset),
    );
  }

  /**
   * Records a stored file in one transaction: its datasets row (with the profile) and its data
   * version with the chunk list. Chunks must be durable in the store before this is called.
   */
  record(input: RecordDataInput, at = now()): void {
    const m = input.manifest;
    this.store.write(() => {
      this.store
        .stmt<[string, string, number, string, string, string | null]>(
          `INSERT INTO datasets (digest, path, rows, columns, created_at, profile, freed_at) VALUES (?, ?, ?, ?, ?, ?, NULL)
           ON CONFLICT (digest) DO UPDATE SET path = excluded.path, rows = excluded.rows, columns = excluded.columns, profile = COALESCE(excluded.profile, datasets.profile), freed_at = NULL`,
        )
        .run(
          m.digest,
          input.path,
          input.rows,
          JSON.stringify(input.columns),
          at,
          input.profile ? JSON.stringify(input.profile) : null,
        );
      if (this.store.stmt<[string]>(`SELECT 1 FROM data_versions WHERE digest = ?`).get(m.digest)) return;
      this.store
        .stmt<[string, number, number, string]>(
          `INSERT INTO data_versions (digest, size, chunk_count, stored_at) VALUES (?, ?, ?, ?)`,
        )
        .run(m.digest, m.size, m.chunks.length, at);
      const insert = this.store.stmt<[string, number, string, number]>(
        `INSERT INTO data_chunks (digest, seq, chunk, size) VALUES (?, ?, ?, ?)`,
      );
      m.chunks.forEach((c, i) => insert.run(m.digest, i, c.digest, c.size));
    });
  }

  get(digest: Digest): DataVersionRecord | null {
    return this.store.read(() => getDataVersion(this.store.db, digest));
  }

  list(): DataVersionRecord[] {
    return this.store.read(() => listDataVersions(this.store.db));
  }

  manifest(digest: Digest): DataManifest | null {
    return this.store.read(() => dataManifest(this.store.db, digest));
  }

  chunkSharing(digest: Digest): ReturnType<typeof chunkSharing> {
    return this.store.read(() => chunkSharing(this.store.db, digest));
  }

  totals(): { logicalBytes: number; storedBytes: number } {
    return this.store.read(() => storeTotals(this.store.db));
  }

  withVersions(): Array<DataVersionRecord & { usedBy: DataUse[] }> {
    return this.store.read(() => datasetsWithVersions(this.store.db));
  }

  resolveDigest(given: string): Digest {
    return this.store.read(() => resolveDataDigest(this.store.db, given));
  }

  /**
   * Why each stored data version must stay (empty: it may be freed): a version records it
   * (archived ones too), an alias or an active deployment points at such a version, a run in
   * progress started before it was stored, or it is younger than `keepDays` or `graceMs`.
   */
  retention(
    nowMs: number,
    keepDays: number | null,
    graceMs: number,
  ): Map<string, { row: StoredDataRow; reasons: string[] }> {
    return this.store.read(() => retentionReasons(this.store, nowMs, keepDays, graceMs));
  }

  /**
   * Plans with `plan` and deletes the data_versions rows it frees (marking their datasets rows
   * freed at `at`) in one write transaction, so no version registered meanwhile can start
   * referencing a freed row.
   */
  free<P extends { freed: ReadonlyArray<{ digest: string }> }>(plan: () => P, at: string): P {
    return this.store.write(() => {
      const p = plan();
      const del = this.store.stmt<[string]>(`DELETE FROM data_versions WHERE digest = ?`);
      const mark = this.store.stmt<[string, string]>(`UPDATE datasets SET freed_at = ? WHERE digest = ?`);
      for (const f of p.freed) {
        del.run(f.digest);
        mark.run(at, f.digest);
      }
      return p;
    });
  }

  /** The chunks data versions other than `except` use. */
  chunksInUse(except: ReadonlySet<string>): Set<string> {
    return this.store.read(() => {
      const used = new Set<string>();
      for (const r of this.store.db
        .prepare<[], { digest: string; chunk: string }>(`SELECT digest, chunk FROM data_chunks`)
        .iterate()) {
        if (!except.has(r.digest)) used.add(r.chunk);
      }
      return used;
    });
  }
}

function toDataset(r: DatasetRow): DatasetRecord {
  return {
    digest: r.digest,
    path: r.path,
    rows: r.rows,
    columns: json<DatasetRecord['columns']>(r.columns, []),
    createdAt: r.created_at,
  };
}

function retentionReasons(
  store: StoreAccess,
  nowMs: number,
  keepDays: number | null,
  graceMs: number,
): Map<string, { row: StoredDataRow; reasons: string[] }> {
  const db = store.db;
  const stored = store
    .stmt<[], StoredDataRow>(
      `SELECT v.digest, d.path, v.size, v.chunk_count, v.stored_at FROM data_versions v LEFT JOIN datasets d ON d.digest = v.digest ORDER BY v.stored_at`,
    )
    .all();
  const out = new Map(stored.map((row) => [row.digest, { row, reasons: [] as string[] }]));
  const add = (digest: string, reason: string): void => {
    const e = out.get(digest);
    if (e && !e.reasons.includes(reason)) e.reasons.push(reason);
  };
  const digestsOf = (text: string): string[] =>
    json<DatasetRef[]>(text, [])
      .map((r) => r?.digest)
      .filter((d): d is string => typeof d === 'string');
  for (const v of db
    .prepare<[], { model: string; version: string; datasets: string; archived: number }>(
      `SELECT model, version, datasets, archived FROM versions WHERE datasets <> '[]'`,
    )
    .iterate()) {
    for (const d of digestsOf(v.datasets)) add(d, `version ${v.model}@${v.version}${v.archived ? ' (archived)' : ''}`);
  }
  for (const a of db
    .prepare<[], { model: string; alias: string; datasets: string }>(
      `SELECT a.model, a.alias, v.datasets FROM aliases a JOIN versions v ON v.id = a.version_id`,
    )
    .iterate()) {
    for (const d of digestsOf(a.datasets)) add(d, `alias ${a.model}@${a.alias}`);
  }
  const deployed = db
    .prepare<[], { target: string; model: string; version: string; datasets: string }>(
      `SELECT d.target, d.model, d.version, v.datasets FROM deployments d JOIN versions v ON v.model = d.model AND v.version = d.version WHERE d.status = 'active'`,
    )
    .iterate();
  for (const dep of deployed)
    for (const d of digestsOf(dep.datasets)) add(d, `deployment ${dep.model}@${dep.version} on ${dep.target}`);
  // A run in progress records its datasets before it registers its version: keep what was stored since it started.
  const running = store
    .stmt<[], { id: string; started_at: string }>(`SELECT id, started_at FROM runs WHERE status = 'running'`)
    .all();
  for (const { row } of out.values()) {
    const at = Date.parse(row.stored_at);
    for (const r of running) if (at >= Date.parse(r.started_at)) add(row.digest, `run ${r.id} in progress`);
    if (keepDays !== null && nowMs - at < keepDays * DAY_MS)
      add(row.digest, `stored within ${keepDays} day${keepDays === 1 ? '' : 's'}`);
    if (nowMs - at < graceMs) add(row.digest, `stored less than ${Math.round(graceMs / 60000)} minutes ago`);
  }
  return out;
}

/** The store opened by itself (no registry open): the data versions over a connection of its own. */
export class DataDb extends DataVersions {
  readonly db: Db;
  readonly dbPath: string;
  constructor(db: Db, dbPath: string, readonly: boolean) {
    super(plainAccess(db, dbPath, readonly));
    this.db = db;
    this.dbPath = dbPath;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * Opens the workspace store's database (migrated on a writable open); refuses writes when the
 * database looks lost. Only while no registry is open: an open registry has `registry.datasets`.
 */
export function openDataDb(storeDir: string, readonly: boolean): DataDb {
  const r = openStore(storeDir, { readonly });
  if (r.lost && !readonly) {
    r.db.close();
    throw lostError(r.dbPath, r.lost);
  }
  return new DataDb(r.db, r.dbPath, readonly);
}

/** Runs `fn` on the registry's data versions, on the registry's own connection (kept for callers of the older API). */
export function withDataDb<T>(
  registry: Pick<Registry, 'datasets'>,
  _readonly: boolean,
  fn: (d: DataVersionWriter) => T,
): T {
  return fn(registry.datasets);
}

/** Records a stored file as a data version (same as `registry.datasets.record`). */
export function recordDataVersion(d: DataVersionWriter, input: RecordDataInput, at = now()): void {
  d.record(input, at);
}

/** The error for a dataset the registry knows only by digest. */
export function notStoredError(rec: Pick<DataVersionRecord, 'digest' | 'path' | 'freedAt'>): ModelOpsError {
  if (rec.freedAt) {
    return new ModelOpsError(
      'data-not-stored',
      `The bytes of ${rec.path} (${rec.digest}) were removed by \`modelops gc\` at ${rec.freedAt}; only its digest and shape are recorded.`,
      'Store the file again with `modelops data add <file>` if you still have it (its digest must match), or retrain.',
    );
  }
  return new ModelOpsError(
    'data-not-stored',
    `${rec.path} (${rec.digest}) was recorded by digest only, bytes were not stored (recorded before data versions existed).`,
    'Retrain to store it, or `modelops data add <file>` with the same file (its digest must match).',
  );
}
