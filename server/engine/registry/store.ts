/**
 * Opens `.modelops/registry.db`: WAL, busy timeout, foreign keys, migrations. Maps SQLite's
 * failures to errors a user can act on; a database that is not readable is never reset, and
 * one that is missing or empty beside existing artifacts is not silently replaced (it "looks
 * lost"). The store is private to its owner: folders 0700, files without group/other bits.
 */
import Database from 'better-sqlite3';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelOpsError } from '../errors';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations';

export type Db = Database.Database;

const SQLITE_HEADER = 'SQLite format 3\u0000';
const BUSY_TIMEOUT_MS = 5000;

/** A registry database that is missing or empty while the store holds what a registry wrote. */
export interface LostDatabase {
  /** `missing`: no registry.db; `empty`: 0 bytes or no tables. */
  database: 'missing' | 'empty';
  /** Blobs under .modelops/artifacts/sha256. */
  artifacts: number;
  /** Deployment records under .modelops/serving (`<target>.json`). */
  deployments: number;
}

export interface OpenStoreOptions {
  readonly: boolean;
  /** The user confirmed that a lost-looking database should be replaced by a new, empty one. */
  confirmNewRegistry?: boolean;
}

export interface OpenStoreResult {
  db: Db;
  dbPath: string;
  /** True when the database is an empty in-memory stand-in (read-only open with no store yet, or a lost database). */
  empty: boolean;
  /** A private copy opened because the store's folder cannot be written; removed on close. */
  snapshotDir: string | null;
  /** Set when the database looks lost: `db` is then an empty in-memory stand-in and writes must be refused. */
  lost: LostDatabase | null;
  /** One line each, for the caller to log (permissions tightened, old artifacts set aside). */
  warnings: string[];
}

/** Mode of every folder the store creates; files get PRIVATE_FILE (blobs PRIVATE_BLOB). */
export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;
/** Blobs are immutable: read-only to their owner. */
export const PRIVATE_BLOB = 0o400;

function sqliteCode(e: unknown): string | undefined {
  return e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

function corruptError(dbPath: string, detail: string): ModelOpsError {
  return new ModelOpsError(
    'registry-corrupt',
    `${dbPath} is not a readable registry database (${detail}).`,
    `Nothing was changed. Move it aside (e.g. mv "${dbPath}" "${dbPath}.broken") and run again to start an empty registry; the artifacts in .modelops/artifacts are kept. Restore from a backup if you have one.`,
  );
}

function readonlyError(path: string, detail: string): ModelOpsError {
  return new ModelOpsError(
    'store-readonly',
    `The workspace store ${path} cannot be written (${detail}).`,
    'Open the workspace from a writable folder, or fix the permissions of .modelops/; read-only features (listing, details) still work.',
  );
}

/** Turns an exception from SQLite or the file system into a ModelOpsError, or returns it as is. */
export function mapStoreError(e: unknown, dbPath: string): unknown {
  if (e instanceof ModelOpsError) return e;
  const code = sqliteCode(e);
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code?.startsWith('SQLITE_CORRUPT'))
    return corruptError(dbPath, msg);
  if (code?.startsWith('SQLITE_READONLY') || code === 'EROFS' || code === 'EACCES' || code === 'EPERM')
    return readonlyError(dbPath, msg);
  if (code?.startsWith('SQLITE_CANTOPEN')) return readonlyError(dbPath, msg);
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT') {
    return storeFullError(dbPath, code);
  }
  // SQLite reports only ENOSPC as SQLITE_FULL; a write refused for a quota or a file-size limit
  // (EDQUOT, EFBIG) arrives as an I/O error. The transaction was rolled back either way.
  if (
    code === 'SQLITE_IOERR_WRITE' ||
    code === 'SQLITE_IOERR_FSYNC' ||
    code === 'SQLITE_IOERR_TRUNCATE' ||
    code === 'SQLITE_IOERR_SHMSIZE'
  ) {
    return storeFullError(dbPath, code);
  }
  return e;
}

/** The disk (or a quota or file-size limit) refused a write; nothing half-written was kept. */
export function storeFullError(what: string, code: string): ModelOpsError {
  return new ModelOpsError(
    'store-full',
    `Could not write ${what}: the disk is full or a size limit was reached (${code}).`,
    'Nothing was changed: the write was rolled back. Free some space (or raise the quota / `ulimit -f`) and try again.',
  );
}

/** Checks the first 16 bytes so a foreign file is refused before SQLite touches it. */
function checkHeader(dbPath: string): void {
  let size: number;
  try {
    const st = statSync(dbPath);
    if (!st.isFile()) throw corruptError(dbPath, 'it is not a file');
    size = st.size;
  } catch (e) {
    if (e instanceof ModelOpsError) throw e;
    return;
  }
  if (size === 0) return;
  const buf = Buffer.alloc(16);
  const fd = openSync(dbPath, 'r');
  try {
    readSync(fd, buf, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (size < 100 || buf.toString('latin1') !== SQLITE_HEADER)
    throw corruptError(dbPath, 'the file is not an SQLite database');
}

export function ensureStoreDir(storeDir: string): void {
  if (existsSync(storeDir)) {
    if (!statSync(storeDir).isDirectory()) {
      throw new ModelOpsError(
        'store-not-directory',
        `${storeDir} exists but is not a folder.`,
        'Move the file named .modelops aside; the workspace store is a folder.',
      );
    }
    return;
  }
  try {
    mkdirSync(storeDir, { recursive: true, mode: PRIVATE_DIR });
    chmodSync(storeDir, PRIVATE_DIR);
  } catch (e) {
    const code = sqliteCode(e);
    if (code === 'ENOTDIR' || code === 'EEXIST') {
      throw new ModelOpsError(
        'store-not-directory',
        `${storeDir} cannot be created: a parent is not a folder.`,
        'Open a folder as the workspace.',
      );
    }
    throw readonlyError(storeDir, e instanceof Error ? e.message : String(e));
  }
}

/** An empty registry in memory: answers every read with nothing. */
function standIn(dbPath: string): Db {
  const db = new Database(':memory:');
  migrate(db, dbPath);
  return db;
}

/** 'missing', 'empty' (0 bytes and no WAL that could hold its pages) or 'present'. */
function fileState(dbPath: string): 'missing' | 'empty' | 'present' {
  let size: number;
  try {
    size = statSync(dbPath).size;
  } catch {
    return 'missing';
  }
  if (size > 0) return 'present';
  try {
    return statSync(dbPath + '-wal').size > 0 ? 'present' : 'empty';
  } catch {
    return 'empty';
  }
}

/** What a registry once wrote into the store: blobs, and deployment records of the local server. */
export function storeContents(storeDir: string): { artifacts: number; deployments: number } {
  const shaDir = join(storeDir, 'artifacts', 'sha256');
  let artifacts = 0;
  for (const prefix of safeReaddir(shaDir)) artifacts += safeReaddir(join(shaDir, prefix)).length;
  const deployments = safeReaddir(join(storeDir, 'serving')).filter((n) => n.endsWith('.json')).length;
  return { artifacts, deployments };
}

function lostIf(storeDir: string, database: LostDatabase['database']): LostDatabase | null {
  const c = storeContents(storeDir);
  return c.artifacts > 0 || c.deployments > 0 ? { database, ...c } : null;
}

/** The error every write gets while the database looks lost. */
export function lostError(dbPath: string, lost: LostDatabase): ModelOpsError {
  const held = [
    lost.artifacts ? `${lost.artifacts} artifact file${lost.artifacts === 1 ? '' : 's'}` : '',
    lost.deployments ? `${lost.deployments} deployment record${lost.deployments === 1 ? '' : 's'}` : '',
  ]
    .filter(Boolean)
    .join(' and ');
  return new ModelOpsError(
    'registry-lost',
    `${dbPath} is ${lost.database === 'missing' ? 'missing' : 'empty'} but the workspace store holds ${held}: the registry database looks lost (deleted, truncated by a full disk, or not restored with the rest of .modelops). Nothing was written.`,
    `Restore .modelops/registry.db (with its -wal file, if any) from a backup and try again. If you really want to start a new, empty registry, confirm it with \`modelops store init --confirm\`; the old artifacts are then moved to .modelops/artifacts.lost-<time>/, not deleted.`,
  );
}

/**
 * A confirmed fresh start: the old artifacts are set aside (not swept as orphans of the new,
 * empty registry) so whatever the lost database described can still be recovered.
 */
function setAsideArtifacts(storeDir: string, warnings: string[]): void {
  const from = join(storeDir, 'artifacts');
  if (!existsSync(from)) return;
  const to = join(storeDir, `artifacts.lost-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  renameSync(from, to);
  warnings.push(`Started a new, empty registry as confirmed; the previous artifacts were moved to ${to}.`);
}

export function openStore(storeDir: string, readonlyOrOptions: boolean | OpenStoreOptions): OpenStoreResult {
  const options: OpenStoreOptions =
    typeof readonlyOrOptions === 'boolean' ? { readonly: readonlyOrOptions } : readonlyOrOptions;
  const readonly = options.readonly;
  const dbPath = join(storeDir, 'registry.db');
  const warnings: string[] = [];
  const state = fileState(dbPath);
  if (state !== 'present') {
    const lost = lostIf(storeDir, state);
    if (lost && (readonly || !options.confirmNewRegistry)) {
      // Nothing is created or swept: an empty stand-in answers reads, writes are refused.
      return {
        db: standIn(dbPath),
        dbPath,
        empty: true,
        snapshotDir: null,
        lost,
        warnings: looseWarning(storeDir, false),
      };
    }
    if (readonly) {
      // Nothing registered yet: an empty in-memory registry answers every query.
      return {
        db: standIn(dbPath),
        dbPath,
        empty: true,
        snapshotDir: null,
        lost: null,
        warnings: looseWarning(storeDir, false),
      };
    }
    if (lost) setAsideArtifacts(storeDir, warnings);
  }
  if (!readonly) ensureStoreDir(storeDir);
  checkHeader(dbPath);
  // SQLite creates -wal and -shm with the database file's mode: create it private first.
  if (!readonly) createPrivateFile(dbPath);
  let db: Db;
  let snapshotDir: string | null = null;
  try {
    db = new Database(dbPath, { readonly, fileMustExist: readonly, timeout: BUSY_TIMEOUT_MS });
    // Reading a WAL database needs its -shm file; in a folder that cannot be written, read a copy.
    if (readonly) db.pragma('user_version', { simple: true });
  } catch (e) {
    if (!readonly || !String(sqliteCode(e)).startsWith('SQLITE_CANTOPEN')) throw mapStoreError(e, dbPath);
    try {
      snapshotDir = mkdtempSync(join(tmpdir(), 'modelops-ro-'));
      for (const suffix of ['', '-wal'])
        if (existsSync(dbPath + suffix)) copyFileSync(dbPath + suffix, join(snapshotDir, 'registry.db' + suffix));
      db = new Database(join(snapshotDir, 'registry.db'), {
        readonly: true,
        fileMustExist: true,
        timeout: BUSY_TIMEOUT_MS,
      });
    } catch (e2) {
      if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
      throw mapStoreError(e2, dbPath);
    }
  }
  try {
    if (!options.confirmNewRegistry && hasNoTables(db)) {
      const lost = lostIf(storeDir, 'empty');
      if (lost) {
        db.close();
        if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
        return { db: standIn(dbPath), dbPath, empty: true, snapshotDir: null, lost, warnings };
      }
    } else if (options.confirmNewRegistry && !readonly && hasNoTables(db)) {
      setAsideArtifacts(storeDir, warnings);
    }
    if (!readonly) {
      db.pragma('journal_mode = WAL');
      // WAL + NORMAL survives a killed process; only a power cut may lose the last commits.
      db.pragma('synchronous = NORMAL');
    }
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new ModelOpsError(
        'registry-too-new',
        `${dbPath} has schema version ${current}; this ModelOps knows up to ${SCHEMA_VERSION}.`,
        'Update the ModelOps extension/CLI; the database was written by a newer release.',
      );
    }
    if (current < SCHEMA_VERSION) {
      if (readonly) {
        throw new ModelOpsError(
          'registry-outdated',
          `${dbPath} has schema version ${current} and needs an upgrade, which a read-only open cannot do.`,
          'Open the workspace with write access once to upgrade it.',
        );
      }
      migrate(db, dbPath);
    }
  } catch (e) {
    db.close();
    if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
    throw mapStoreError(e, dbPath);
  }
  // Only a store that opened cleanly is tightened: a refused database file is left exactly as it was.
  warnings.push(...looseWarning(storeDir, !readonly));
  return { db, dbPath, empty: false, snapshotDir, lost: null, warnings };
}

/** A database no registry ever wrote into: schema version 0 and not a single table. */
function hasNoTables(db: Db): boolean {
  if ((db.pragma('user_version', { simple: true }) as number) !== 0) return false;
  return (db.prepare(`SELECT COUNT(*) FROM sqlite_master`).pluck().get() as number) === 0;
}

/** Creates an empty file with mode 0600 (whatever the umask) unless it exists. */
function createPrivateFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', PRIVATE_FILE));
    chmodSync(path, PRIVATE_FILE);
  } catch (e) {
    if (sqliteCode(e) !== 'EEXIST') throw mapStoreError(e, path);
  }
}

/** Store paths this code creates private; a looser mode on any of them means an older store. */
function looseProbe(storeDir: string): string[] {
  return [
    storeDir,
    join(storeDir, 'registry.db'),
    join(storeDir, 'registry.db-wal'),
    join(storeDir, 'registry.db-shm'),
    join(storeDir, 'artifacts'),
    join(storeDir, 'artifacts', 'sha256'),
    join(storeDir, 'cache'),
  ].filter((p) => {
    try {
      return (lstatSync(p).mode & 0o077) !== 0;
    } catch {
      return false;
    }
  });
}

/**
 * Stores written by older releases (or under a loose umask) are readable by other users. A
 * writable open takes group/other bits off everything under .modelops (symbolic links are
 * left alone) and says so once; a read-only open only says so.
 */
function looseWarning(storeDir: string, fix: boolean): string[] {
  if (looseProbe(storeDir).length === 0) return [];
  if (!fix)
    return [
      `The workspace store ${storeDir} is readable by other users; open it with write access once to make it private.`,
    ];
  let changed = 0;
  const walk = (p: string): void => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) return;
    const mode = st.mode & 0o777;
    const want = mode & 0o700;
    if (mode !== want) {
      try {
        chmodSync(p, want);
        changed++;
      } catch {
        /* not ours to change (another owner): reported by the probe next time */
      }
    }
    if (st.isDirectory()) for (const name of safeReaddir(p)) walk(join(p, name));
  };
  walk(storeDir);
  return changed
    ? [
        `Made the workspace store ${storeDir} private: ${changed} file${changed === 1 ? '' : 's'} and folders were readable by other users (now 0700 folders, owner-only files).`,
      ]
    : [];
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Runs every migration above the database's `user_version`, all in one write transaction. */
export function migrate(db: Db, dbPath: string): number {
  let ran = 0;
  withWriteTx(db, dbPath, () => {
    const current = db.pragma('user_version', { simple: true }) as number;
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
      ran++;
    }
  });
  return ran;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `fn` in a BEGIN IMMEDIATE transaction so concurrent writers queue up instead of failing
 * halfway; SQLITE_BUSY beyond the busy timeout is retried with backoff and never reaches the user.
 */
export function withWriteTx<T>(db: Db, dbPath: string, fn: () => T): T {
  const tx = db.transaction(fn);
  let delay = 10;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return tx.immediate();
    } catch (e) {
      const code = sqliteCode(e);
      if (
        (code === 'SQLITE_BUSY' || code?.startsWith('SQLITE_BUSY') || code === 'SQLITE_LOCKED') &&
        Date.now() < deadline
      ) {
        Atomics.wait(sleeper, 0, 0, delay + Math.random() * delay);
        delay = Math.min(delay * 2, 500);
        continue;
      }
      throw mapStoreError(e, dbPath);
    }
  }
}
