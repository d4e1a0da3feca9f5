/**
 * The one connection to `.modelops/registry.db` an opened registry holds, shared by every part
 * of it (versions, runs, deployments, approvals, audit, datasets, studies). `StoreAccess` is the
 * narrow view a part gets: typed, cached statements, and reads and writes that go through the
 * registry's checks once (closed, read-only, lost database, the write lock with its busy retry,
 * SQLite errors mapped). `StoreHandle` adds what only the registry's own tables need: the audit
 * trail's head anchor and change events. Nothing outside server/engine/registry sees the handle.
 */
import type { Statement } from 'better-sqlite3';
import { ModelOpsError } from '../errors';
import { appendAudit, writeHead, type AuditHead, type AuditInput, type AuditRow } from './audit';
import { lostError, mapStoreError, withWriteTx, type Db, type LostDatabase } from './store';
import type { ChangeEvent } from './types';

export interface StoreAccess {
  readonly db: Db;
  readonly dbPath: string;
  /** True for a read-only open (or an in-memory stand-in when no store exists yet). */
  readonly readonly: boolean;
  /** A statement prepared once per connection (cached by its SQL). */
  stmt<P extends unknown[], R = unknown>(sql: string): Statement<P, R>;
  /** The same for a statement that returns its first column only (`.pluck()`). */
  pluck<P extends unknown[], R = unknown>(sql: string): Statement<P, R>;
  /** Runs `fn` as a read: refuses on a closed store, maps SQLite's errors. */
  read<T>(fn: () => T): T;
  /** Runs `fn` in a BEGIN IMMEDIATE transaction, after checking that the store may be written. */
  write<T>(fn: () => T): T;
}

/** Statement caches keyed by SQL, one per connection; a plucking statement is cached apart. */
class Statements {
  private readonly plain = new Map<string, Statement<unknown[], unknown>>();
  private readonly plucked = new Map<string, Statement<unknown[], unknown>>();
  constructor(private readonly db: Db) {}

  get<P extends unknown[], R>(sql: string, pluck: boolean): Statement<P, R> {
    const cache = pluck ? this.plucked : this.plain;
    let s = cache.get(sql);
    if (!s) {
      s = this.db.prepare<unknown[], unknown>(sql);
      if (pluck) s.pluck();
      cache.set(sql, s);
    }
    return s as unknown as Statement<P, R>;
  }
}

export const now = (): string => new Date().toISOString();

/** A JSON column, or `fallback` when it is null or does not parse. */
export function json<T>(s: string | null, fallback: T): T {
  if (s === null) return fallback;
  try {
    return JSON.parse(s) as T;
  } catch {
    return fallback;
  }
}

/**
 * A WHERE clause from conditions that apply when their value is set: a condition with a `?`
 * binds the value, one without (e.g. 'acknowledged = 0') only needs it truthy.
 */
export function filters(conditions: Record<string, string | number | boolean | undefined>): {
  sql: string;
  params: Array<string | number>;
} {
  const where: string[] = [];
  const params: Array<string | number> = [];
  for (const [condition, value] of Object.entries(conditions)) {
    if (value === undefined || value === '' || value === false) continue;
    where.push(condition);
    if (condition.includes('?')) params.push(typeof value === 'boolean' ? Number(value) : value);
  }
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

/** A listing's page size: 100 by default, 1 to 1,000. */
export function pageLimit(limit: number | undefined): number {
  return Math.max(1, Math.min(1000, Math.floor(limit ?? 100)));
}

export function finiteMetrics(m: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m ?? {})) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

/** The registry's handle: the connection, its state, the audit head of the current write and the change listeners. */
export class StoreHandle implements StoreAccess {
  private readonly statements: Statements;
  private readonly listeners = new Set<(e: ChangeEvent) => void>();
  private lastDataVersion = 0;
  private closed = false;
  /** The newest audit entry appended in the current write, for the head anchor. */
  private pendingHead: AuditHead | null = null;

  constructor(
    readonly db: Db,
    readonly dbPath: string,
    readonly storeDir: string,
    readonly readonly: boolean,
    readonly lostDatabase: LostDatabase | null,
    /** Who acts (resolved lazily by the registry). */
    private readonly actor: () => string,
  ) {
    this.statements = new Statements(db);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  stmt<P extends unknown[], R = unknown>(sql: string): Statement<P, R> {
    return this.statements.get<P, R>(sql, false);
  }

  pluck<P extends unknown[], R = unknown>(sql: string): Statement<P, R> {
    return this.statements.get<P, R>(sql, true);
  }

  assertWritable(): void {
    if (this.closed) throw new ModelOpsError('registry-closed', 'The registry is closed.', 'Open it again.');
    if (this.lostDatabase) throw lostError(this.dbPath, this.lostDatabase);
    if (this.readonly) {
      throw new ModelOpsError(
        'registry-readonly',
        `The registry at ${this.storeDir} was opened read-only.`,
        'Open the workspace with write access (and trust it) to change the registry.',
      );
    }
  }

  write<T>(fn: () => T): T {
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

  read<T>(fn: () => T): T {
    if (this.closed) throw new ModelOpsError('registry-closed', 'The registry is closed.', 'Open it again.');
    try {
      return fn();
    } catch (e) {
      throw mapStoreError(e, this.dbPath);
    }
  }

  /** Appends an audit entry; only inside `write`, so it commits or rolls back with the change. */
  record(input: AuditInput): AuditRow {
    const row = appendAudit(this.db, this.actor(), input, now());
    this.pendingHead = { seq: row.seq, hash: row.hash };
    return row;
  }

  emit(...events: ChangeEvent[]): void {
    this.lastDataVersion = this.dataVersion();
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

  /** Remembers the current data_version, so only later commits by others count as changes. */
  markSeen(): void {
    this.lastDataVersion = this.dataVersion();
  }

  /** True (once) when another connection committed to the store since the last call or change here. */
  changedElsewhere(): boolean {
    if (this.closed) return false;
    const dv = this.dataVersion();
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
  }

  private dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }
}

/**
 * Access over a connection of its own, for code that works on the store while no registry is
 * open (tests, tools). Writes are refused on a read-only open; nothing is audited.
 */
export function plainAccess(db: Db, dbPath: string, readonly: boolean): StoreAccess {
  const statements = new Statements(db);
  return {
    db,
    dbPath,
    readonly,
    stmt: <P extends unknown[], R>(sql: string) => statements.get<P, R>(sql, false),
    pluck: <P extends unknown[], R>(sql: string) => statements.get<P, R>(sql, true),
    read<T>(fn: () => T): T {
      if (!db.open) throw new ModelOpsError('registry-closed', 'The registry is closed.', 'Open it again.');
      try {
        return fn();
      } catch (e) {
        throw mapStoreError(e, dbPath);
      }
    },
    write<T>(fn: () => T): T {
      if (!db.open) throw new ModelOpsError('registry-closed', 'The registry is closed.', 'Open it again.');
      if (readonly)
        throw new ModelOpsError(
          'registry-readonly',
          `${dbPath} was opened read-only.`,
          'Open the workspace with write access (and trust it) to change the registry.',
        );
      return withWriteTx(db, dbPath, fn);
    },
  };
}
