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
import type { DataVersions } from '../../registry/datasets';
import type { Digest } from '../../registry/types';
import type { DataStore } from './store';

/** Chunks and data versions younger than this may belong to a run that is still storing or registering them. */
export const DATA_GRACE_MS = 60 * 60 * 1000;

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

/** `d`: the registry's data versions (`registry.datasets`), or a store opened by itself (`openDataDb`). */
export function collectGarbage(
  d: Pick<DataVersions, 'readonly' | 'retention' | 'free' | 'chunksInUse'>,
  store: DataStore,
  options: GcOptions = {},
): GcReport {
  const now = options.now ?? Date.now();
  const graceMs = options.graceMs ?? DATA_GRACE_MS;
  const keepDays = options.keepDays ?? null;
  const dryRun = options.dryRun === true || d.readonly;
  const plan = (): { kept: GcKept[]; freed: GcFreed[] } => {
    const kept: GcKept[] = [];
    const freed: GcFreed[] = [];
    for (const { row, reasons } of d.retention(now, keepDays, graceMs).values()) {
      const path = row.path ?? '(unknown path)';
      if (reasons.length > 0) kept.push({ digest: row.digest, path, reasons });
      else freed.push({ digest: row.digest, path, size: row.size, chunks: row.chunk_count });
    }
    return { kept, freed };
  };

  // Planned and freed under the write lock, so no version registered meanwhile can start referencing a freed row.
  const result = dryRun ? plan() : d.free(plan, new Date(now).toISOString());

  // Chunks still used after this gc: those of every kept row (for a dry run, of every row not planned to go).
  const used = d.chunksInUse(new Set(result.freed.map((f) => f.digest)));
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
