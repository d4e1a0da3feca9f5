/**
 * Opens `.modelops/registry.db`: WAL, busy timeout, foreign keys, migrations. Maps SQLite's
 * failures to errors a user can act on; a database that is not readable is never reset.
 */
import Database from 'better-sqlite3';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelOpsError } from '../errors';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations';

export type Db = Database.Database;

const SQLITE_HEADER = 'SQLite format 3\u0000';
const BUSY_TIMEOUT_MS = 5000;

export interface OpenStoreResult {
  db: Db;
  dbPath: string;
  /** True when the database is an empty in-memory stand-in (read-only open, no store yet). */
  empty: boolean;
  /** A private copy opened because the store's folder cannot be written; removed on close. */
  snapshotDir: string | null;
}

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
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code?.startsWith('SQLITE_CORRUPT')) return corruptError(dbPath, msg);
  if (code?.startsWith('SQLITE_READONLY') || code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return readonlyError(dbPath, msg);
  if (code?.startsWith('SQLITE_CANTOPEN')) return readonlyError(dbPath, msg);
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    return new ModelOpsError('store-full', `The disk holding ${dbPath} is full.`, 'Free some space and try again.');
  }
  return e;
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
  if (size < 100 || buf.toString('latin1') !== SQLITE_HEADER) throw corruptError(dbPath, 'the file is not an SQLite database');
}

export function ensureStoreDir(storeDir: string): void {
  if (existsSync(storeDir)) {
    if (!statSync(storeDir).isDirectory()) {
      throw new ModelOpsError('store-not-directory', `${storeDir} exists but is not a folder.`, 'Move the file named .modelops aside; the workspace store is a folder.');
    }
    return;
  }
  try {
    mkdirSync(storeDir, { recursive: true });
  } catch (e) {
    const code = sqliteCode(e);
    if (code === 'ENOTDIR' || code === 'EEXIST') {
      throw new ModelOpsError('store-not-directory', `${storeDir} cannot be created: a parent is not a folder.`, 'Open a folder as the workspace.');
    }
    throw readonlyError(storeDir, e instanceof Error ? e.message : String(e));
  }
}

export function openStore(storeDir: string, readonly: boolean): OpenStoreResult {
  const dbPath = join(storeDir, 'registry.db');
  if (readonly && !existsSync(dbPath)) {
    // Nothing registered yet: an empty in-memory registry answers every query.
    const db = new Database(':memory:');
    migrate(db, dbPath);
    return { db, dbPath, empty: true, snapshotDir: null };
  }
  if (!readonly) ensureStoreDir(storeDir);
  checkHeader(dbPath);
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
      for (const suffix of ['', '-wal']) if (existsSync(dbPath + suffix)) copyFileSync(dbPath + suffix, join(snapshotDir, 'registry.db' + suffix));
      db = new Database(join(snapshotDir, 'registry.db'), { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    } catch (e2) {
      if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
      throw mapStoreError(e2, dbPath);
    }
  }
  try {
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
        throw new ModelOpsError('registry-outdated', `${dbPath} has schema version ${current} and needs an upgrade, which a read-only open cannot do.`, 'Open the workspace with write access once to upgrade it.');
      }
      migrate(db, dbPath);
    }
  } catch (e) {
    db.close();
    if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
    throw mapStoreError(e, dbPath);
  }
  return { db, dbPath, empty: false, snapshotDir };
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
      if ((code === 'SQLITE_BUSY' || code?.startsWith('SQLITE_BUSY') || code === 'SQLITE_LOCKED') && Date.now() < deadline) {
        Atomics.wait(sleeper, 0, 0, delay + Math.random() * delay);
        delay = Math.min(delay * 2, 500);
        continue;
      }
      throw mapStoreError(e, dbPath);
    }
  }
}
