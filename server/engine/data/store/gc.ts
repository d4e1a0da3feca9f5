/**
 * Retention for the data store. A data version is kept while any version records it as a
 * dataset (archived ones too), an alias or an active deployment points at such a version, a run
 * still in progress may be about to register it, it is younger than the grace period, or
 * `keepDays` says so. Everything else is freed in this order, so a gc killed at any point leaves
 * a consistent store: first the data_versions rows (one transaction, which also marks the
 * datasets rows as freed), then the chunk files no remaining row uses. A chunk another data
 * version uses is never deleted; a chunk left behind by an interrupted gc is an orphan the next
 * gc removes.
 *
 * Retraining from traffic writes `.modelops/traffic/<time>.csv` and stores it as a data version
 * at once, so the file is a copy. gc deletes such a file when that data version is stored, stays
 * stored after this gc and can be checked out (every chunk on disk, same size), and the file is
 * older than the grace period and `keepDays`. A file whose data version is not stored (or is freed
 * now) is the only copy left and stays.
 */
import { closeSync, lstatSync, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { DataVersions } from '../../registry/datasets';
import type { Digest } from '../../registry/types';
import { missingChunks } from './checkout';
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
  /** Traffic CSVs (`.modelops/traffic/*.csv`) deleted (or that would be): their data version can be checked out. */
  traffic: GcTraffic[];
  /** Traffic CSVs kept, and why. */
  trafficKept: Array<{ path: string; reason: string }>;
}

export interface GcTraffic {
  /** Relative to the workspace, e.g. `.modelops/traffic/2026-01-01T10-00-00Z.csv`. */
  path: string;
  digest: Digest;
  size: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** "sha256:<hex>" of a file, read in 1 MB pieces (gc runs synchronously). */
function digestFileSync(path: string): Digest {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** `d`: the registry's data versions (`registry.datasets`), or a store opened by itself (`openDataDb`). */
export function collectGarbage(
  d: Pick<DataVersions, 'readonly' | 'retention' | 'free' | 'chunksInUse' | 'manifest'>,
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
  const stays = new Set(result.kept.map((k) => k.digest));
  const traffic = collectTraffic(d, store, stays, now, Math.max(graceMs, (keepDays ?? 0) * DAY_MS), dryRun);
  return { dryRun, keepDays, kept: result.kept, freed: result.freed, chunks, bytes, temps, ...traffic };
}

/** Traffic CSVs that are copies of a data version that stays stored and can be checked out. */
function collectTraffic(
  d: Pick<DataVersions, 'manifest'>,
  store: DataStore,
  stays: ReadonlySet<string>,
  now: number,
  minAgeMs: number,
  dryRun: boolean,
): Pick<GcReport, 'traffic' | 'trafficKept'> {
  const dir = join(store.storeDir, 'traffic');
  const out: Pick<GcReport, 'traffic' | 'trafficKept'> = { traffic: [], trafficKept: [] };
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.csv'));
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const file = join(dir, name);
    const path = `.modelops/traffic/${name}`;
    const st = lstatSync(file, { throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    if (now - st.mtimeMs <= minAgeMs) {
      out.trafficKept.push({ path, reason: `written less than ${formatAge(minAgeMs)} ago` });
      continue;
    }
    const digest = digestFileSync(file);
    const m = d.manifest(digest);
    if (!m || !stays.has(digest)) {
      out.trafficKept.push({ path, reason: 'its data version is not stored: this file is the only copy' });
      continue;
    }
    if (m.size !== st.size || missingChunks(store, m).length > 0) {
      out.trafficKept.push({ path, reason: 'its data version cannot be checked out (chunks missing)' });
      continue;
    }
    if (!dryRun) rmSync(file, { force: true });
    out.traffic.push({ path, digest, size: st.size });
  }
  return out;
}

function formatAge(ms: number): string {
  return ms >= DAY_MS ? `${Math.round(ms / DAY_MS)} day(s)` : `${Math.round(ms / 60000)} minutes`;
}
