/**
 * Retention for the data store. A data version is kept while any version records it as a
 * dataset (archived ones too), an alias or an active deployment points at such a version, a run
 * still in progress may be about to register it, it is younger than the grace period, or
 * `keepDays` says so. Everything else is freed in this order, so a gc killed at any point leaves
 * a consistent store: first the data_versions rows (one transaction, which also marks the
 * datasets rows as freed), then the chunk files no remaining row uses. A chunk another data
 * version uses is never deleted; a chunk left behind by an interrupted gc is an orphan the next
 * gc removes.
 */
import type { Db } from '../../registry/store';
import { withWriteTx } from '../../registry/store';
import type { DataDb } from '../../registry/datasets';
import type { DatasetRef, Digest } from '../../registry/types';
import type { DataStore } from './store';

/** Chunks and data versions younger than this may belong to a run that is still storing or registering them. */
export const DATA_GRACE_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface GcOptions {
  dryRun?: boolean;
  /** Also keep every data version stored within this many days. */
  keepDays?: number;
  now?: number;
  graceMs?: number;
  /** Called before each chunk file is deleted (tests interrupt gc here). */
  beforeDelete?: (chunk: Digest) => void;
}

export interface GcKept {
  digest: Digest;
  path: string;
  reasons: string[];
}

export interface GcFreed {
  digest: Digest;
  path: string;
  size: number;
  chunks: number;
}

export interface GcReport {
  dryRun: boolean;
  keepDays: number | null;
  kept: GcKept[];
  /** Data versions whose bytes are (or would be) freed; their digest, shape and profile stay recorded. */
  freed: GcFreed[];
  /** Chunk files deleted (or that would be), including orphans no data version uses. */
  chunks: number;
  bytes: number;
  /** Temp files of interrupted stores. */
  temps: number;
}

interface StoredRow {
  digest: string;
  path: string | null;
  size: number;
  chunk_count: number;
  stored_at: string;
}

/** Why each stored data version must stay (empty: it may be freed). */
function retentionReasons(db: Db, now: number, keepDays: number | null, graceMs: number): Map<string, { row: StoredRow; reasons: string[] }> {
  const stored = db.prepare(`SELECT v.digest, d.path, v.size, v.chunk_count, v.stored_at FROM data_versions v LEFT JOIN datasets d ON d.digest = v.digest ORDER BY v.stored_at`).all() as StoredRow[];
  const out = new Map(stored.map((row) => [row.digest, { row, reasons: [] as string[] }]));
  const add = (digest: string, reason: string): void => {
    const e = out.get(digest);
    if (e && !e.reasons.includes(reason)) e.reasons.push(reason);
  };
  const digestsOf = (json: string): string[] => {
    try {
      return (JSON.parse(json) as DatasetRef[]).map((r) => r?.digest).filter((d): d is string => typeof d === 'string');
    } catch {
      return [];
    }
  };
  for (const v of db.prepare(`SELECT model, version, datasets, archived FROM versions WHERE datasets <> '[]'`).iterate() as IterableIterator<{ model: string; version: string; datasets: string; archived: number }>) {
    for (const d of digestsOf(v.datasets)) add(d, `version ${v.model}@${v.version}${v.archived ? ' (archived)' : ''}`);
  }
  for (const a of db.prepare(`SELECT a.model, a.alias, v.datasets FROM aliases a JOIN versions v ON v.id = a.version_id`).iterate() as IterableIterator<{ model: string; alias: string; datasets: string }>) {
    for (const d of digestsOf(a.datasets)) add(d, `alias ${a.model}@${a.alias}`);
  }
  const deployed = db
    .prepare(`SELECT d.target, d.model, d.version, v.datasets FROM deployments d JOIN versions v ON v.model = d.model AND v.version = d.version WHERE d.status = 'active'`)
    .iterate() as IterableIterator<{ target: string; model: string; version: string; datasets: string }>;
  for (const dep of deployed) for (const d of digestsOf(dep.datasets)) add(d, `deployment ${dep.model}@${dep.version} on ${dep.target}`);
  // A run in progress records its datasets before it registers its version: keep what was stored since it started.
  const running = db.prepare(`SELECT id, started_at FROM runs WHERE status = 'running'`).all() as Array<{ id: string; started_at: string }>;
  for (const { row } of out.values()) {
    const at = Date.parse(row.stored_at);
    for (const r of running) if (at >= Date.parse(r.started_at)) add(row.digest, `run ${r.id} in progress`);
    if (keepDays !== null && now - at < keepDays * DAY_MS) add(row.digest, `stored within ${keepDays} day${keepDays === 1 ? '' : 's'}`);
    if (now - at < graceMs) add(row.digest, `stored less than ${Math.round(graceMs / 60000)} minutes ago`);
  }
  return out;
}

export function collectGarbage(d: DataDb, store: DataStore, options: GcOptions = {}): GcReport {
  const now = options.now ?? Date.now();
  const graceMs = options.graceMs ?? DATA_GRACE_MS;
  const keepDays = options.keepDays ?? null;
  const dryRun = options.dryRun === true || d.readonly;
  const plan = (): { kept: GcKept[]; freed: GcFreed[] } => {
    const kept: GcKept[] = [];
    const freed: GcFreed[] = [];
    for (const { row, reasons } of retentionReasons(d.db, now, keepDays, graceMs).values()) {
      const path = row.path ?? '(unknown path)';
      if (reasons.length > 0) kept.push({ digest: row.digest, path, reasons });
      else freed.push({ digest: row.digest, path, size: row.size, chunks: row.chunk_count });
    }
    return { kept, freed };
  };

  let result: { kept: GcKept[]; freed: GcFreed[] };
  if (dryRun) {
    result = plan();
  } else {
    // Planned and deleted under the write lock, so no version registered meanwhile can start referencing a freed row.
    result = withWriteTx(d.db, d.dbPath, () => {
      const p = plan();
      const del = d.db.prepare(`DELETE FROM data_versions WHERE digest = ?`);
      const mark = d.db.prepare(`UPDATE datasets SET freed_at = ? WHERE digest = ?`);
      const at = new Date(now).toISOString();
      for (const f of p.freed) {
        del.run(f.digest);
        mark.run(at, f.digest);
      }
      return p;
    });
  }

  // Chunks still used after this gc: those of every kept row (for a dry run, of every row not planned to go).
  const freedSet = new Set(result.freed.map((f) => f.digest));
  const used = new Set<string>();
  for (const r of d.db.prepare(`SELECT digest, chunk FROM data_chunks`).iterate() as IterableIterator<{ digest: string; chunk: string }>) {
    if (!freedSet.has(r.digest)) used.add(r.chunk);
  }
  let chunks = 0;
  let bytes = 0;
  for (const c of store.listChunks()) {
    // A young chunk may have just been written or reused by a store whose rows are not committed yet.
    if (used.has(c.digest) || now - c.mtimeMs <= graceMs) continue;
    if (!dryRun) {
      options.beforeDelete?.(c.digest);
      if (!store.removeChunk(c.digest)) continue;
    }
    chunks++;
    bytes += c.size;
  }
  const temps = store.sweepTemps(now, graceMs, dryRun);
  return { dryRun, keepDays, kept: result.kept, freed: result.freed, chunks, bytes, temps };
}
