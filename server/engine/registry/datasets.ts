/**
 * Data versions in the registry database (migration 7): `data_versions` (one row per stored
 * file, keyed by the same SHA-256 the `datasets` row and every version's dataset references
 * carry), its ordered `data_chunks`, and the column profile on `datasets`. The functions take the
 * database handle; `openDataDb` opens one on the workspace store with the registry's rules.
 */
import { ModelOpsError } from '../errors';
import type { ColumnStats } from '../data/store/profile';
import type { DataManifest } from '../data/store/manifest';
import { lostError, openStore, withWriteTx, type Db } from './store';
import type { DatasetRecord, DatasetRef, Digest, Registry } from './types';

export interface DataDb {
  db: Db;
  dbPath: string;
  /** True for a read-only open (or an in-memory stand-in when no store exists yet). */
  readonly: boolean;
  close(): void;
}

/** Opens the workspace store's database (migrated on a writable open); refuses writes when the database looks lost. */
export function openDataDb(storeDir: string, readonly: boolean): DataDb {
  const r = openStore(storeDir, { readonly });
  if (r.lost && !readonly) {
    r.db.close();
    throw lostError(r.dbPath, r.lost);
  }
  return {
    db: r.db,
    dbPath: r.dbPath,
    readonly,
    close: () => {
      r.db.close();
    },
  };
}

/** Runs `fn` on the registry's store with a short-lived handle of its own. */
export function withDataDb<T>(registry: Pick<Registry, 'storeDir'>, readonly: boolean, fn: (d: DataDb) => T): T {
  const d = openDataDb(registry.storeDir, readonly);
  try {
    return fn(d);
  } finally {
    d.close();
  }
}

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

function parse<T>(s: string | null, fallback: T): T {
  if (s === null) return fallback;
  try {
    return JSON.parse(s) as T;
  } catch {
    return fallback;
  }
}

function toRecord(r: Row): DataVersionRecord {
  return {
    digest: r.digest,
    path: r.path,
    rows: r.rows,
    columns: parse<DatasetRecord['columns']>(r.columns, []),
    createdAt: r.created_at,
    stored: r.size === null ? null : { size: r.size, chunkCount: r.chunk_count ?? 0, storedAt: r.stored_at ?? r.created_at },
    freedAt: r.freed_at,
    profile: parse<ColumnStats[] | null>(r.profile, null),
  };
}

export interface RecordDataInput {
  manifest: DataManifest;
  path: string;
  rows: number;
  columns: DatasetRecord['columns'];
  profile: ColumnStats[] | null;
}

/**
 * Records a stored file in one transaction: its datasets row (with the profile) and its data
 * version with the chunk list. Chunks must be durable in the store before this is called.
 */
export function recordDataVersion(d: DataDb, input: RecordDataInput, at = new Date().toISOString()): void {
  const m = input.manifest;
  withWriteTx(d.db, d.dbPath, () => {
    d.db
      .prepare(
        `INSERT INTO datasets (digest, path, rows, columns, created_at, profile, freed_at) VALUES (?, ?, ?, ?, ?, ?, NULL)
         ON CONFLICT (digest) DO UPDATE SET path = excluded.path, rows = excluded.rows, columns = excluded.columns, profile = COALESCE(excluded.profile, datasets.profile), freed_at = NULL`,
      )
      .run(m.digest, input.path, input.rows, JSON.stringify(input.columns), at, input.profile ? JSON.stringify(input.profile) : null);
    const exists = d.db.prepare(`SELECT 1 FROM data_versions WHERE digest = ?`).get(m.digest);
    if (exists) return;
    d.db.prepare(`INSERT INTO data_versions (digest, size, chunk_count, stored_at) VALUES (?, ?, ?, ?)`).run(m.digest, m.size, m.chunks.length, at);
    const insert = d.db.prepare(`INSERT INTO data_chunks (digest, seq, chunk, size) VALUES (?, ?, ?, ?)`);
    m.chunks.forEach((c, i) => insert.run(m.digest, i, c.digest, c.size));
  });
}

export function getDataVersion(db: Db, digest: Digest): DataVersionRecord | null {
  const r = db.prepare(`${SELECT} WHERE d.digest = ?`).get(digest) as Row | undefined;
  return r ? toRecord(r) : null;
}

/** Every recorded dataset, newest first, with whether its bytes are stored. */
export function listDataVersions(db: Db): DataVersionRecord[] {
  return (db.prepare(`${SELECT} ORDER BY d.created_at DESC, d.path`).all() as Row[]).map(toRecord);
}

/** The stored chunk list of a data version, or null when its bytes are not stored. */
export function dataManifest(db: Db, digest: Digest): DataManifest | null {
  const v = db.prepare(`SELECT size FROM data_versions WHERE digest = ?`).get(digest) as { size: number } | undefined;
  if (!v) return null;
  const chunks = db.prepare(`SELECT chunk AS digest, size FROM data_chunks WHERE digest = ? ORDER BY seq`).all(digest) as DataManifest['chunks'];
  return { digest, size: v.size, chunks };
}

/** Chunks of `digest` that another data version also uses, and the store's totals (logical bytes vs unique chunk bytes). */
export function chunkSharing(db: Db, digest: Digest): { sharedChunks: Set<string>; logicalBytes: number; storedBytes: number } {
  const shared = db
    .prepare(`SELECT DISTINCT c.chunk FROM data_chunks c WHERE c.digest = ? AND EXISTS (SELECT 1 FROM data_chunks o WHERE o.chunk = c.chunk AND o.digest <> c.digest)`)
    .pluck()
    .all(digest) as string[];
  return { sharedChunks: new Set(shared), ...storeTotals(db) };
}

export function storeTotals(db: Db): { logicalBytes: number; storedBytes: number } {
  const logical = (db.prepare(`SELECT COALESCE(SUM(size), 0) FROM data_versions`).pluck().get() as number) ?? 0;
  const stored = (db.prepare(`SELECT COALESCE(SUM(size), 0) FROM (SELECT chunk, MAX(size) AS size FROM data_chunks GROUP BY chunk)`).pluck().get() as number) ?? 0;
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
  const aliasRows = db.prepare(`SELECT version_id, alias FROM aliases ORDER BY alias`).all() as Array<{ version_id: number; alias: string }>;
  const aliases = new Map<number, string[]>();
  for (const a of aliasRows) aliases.set(a.version_id, [...(aliases.get(a.version_id) ?? []), a.alias]);
  const out = new Map<string, DataUse[]>();
  for (const v of db.prepare(`SELECT id, model, version, datasets, archived FROM versions WHERE datasets <> '[]' ORDER BY model, major, minor, patch`).iterate() as IterableIterator<VersionDataRow>) {
    for (const ref of parse<DatasetRef[]>(v.datasets, [])) {
      if (typeof ref?.digest !== 'string') continue;
      const use: DataUse = { model: v.model, version: v.version, role: ref.role, path: ref.path, aliases: aliases.get(v.id) ?? [], archived: v.archived === 1 };
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
    throw new ModelOpsError('data-version-not-found', `'${given}' is neither a data digest (sha256:<hex>, at least 4 hex digits) nor a model@version.`, 'List data versions with `modelops data list`.');
  }
  const matches = db.prepare(`SELECT digest, path FROM datasets WHERE substr(digest, 8, ?) = ? ORDER BY digest LIMIT 11`).all(hex.length, hex) as Array<{ digest: string; path: string }>;
  if (matches.length === 1) return matches[0].digest;
  if (matches.length === 0) {
    throw new ModelOpsError('data-version-not-found', `No dataset with digest sha256:${hex}${hex.length < 64 ? '…' : ''} in the registry.`, 'List data versions with `modelops data list`, or store a file with `modelops data add <file>`.');
  }
  const listed = matches.slice(0, 10).map((m) => `${m.digest.slice(0, 19)}… (${m.path})`).join(', ');
  throw new ModelOpsError('data-ambiguous', `Digest prefix '${given}' matches ${matches.length > 10 ? 'more than 10' : matches.length} datasets: ${listed}.`, 'Give more hex digits of the digest.');
}

/** The error for a dataset the registry knows only by digest. */
export function notStoredError(rec: Pick<DataVersionRecord, 'digest' | 'path' | 'freedAt'>): ModelOpsError {
  if (rec.freedAt) {
    return new ModelOpsError('data-not-stored', `The bytes of ${rec.path} (${rec.digest}) were removed by \`modelops gc\` at ${rec.freedAt}; only its digest and shape are recorded.`, 'Store the file again with `modelops data add <file>` if you still have it (its digest must match), or retrain.');
  }
  return new ModelOpsError(
    'data-not-stored',
    `${rec.path} (${rec.digest}) was recorded by digest only, bytes were not stored (recorded before data versions existed).`,
    'Retrain to store it, or `modelops data add <file>` with the same file (its digest must match).',
  );
}
