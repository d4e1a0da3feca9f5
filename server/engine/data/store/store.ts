/**
 * The data store: chunks of every dataset a run read, content-addressed under
 * `.modelops/data/sha256/ab/cdef…`, beside the artifact store and with its conventions: each
 * chunk is written to a temp file in the store, fsynced, made read-only and renamed into place,
 * so a chunk under its digest is always complete; folders are 0700 and chunks 0400. The artifact
 * sweep never looks here; only `gc` (gc.ts) removes chunks.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, rmSync, unlinkSync, utimesSync } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ModelOpsError } from '../../errors';
import { PRIVATE_BLOB } from '../../registry/store';
import { fsyncDir, makePrivateDir, safeReaddir } from '../../registry/durable';
import type { Digest } from '../../registry/types';
import { chunkFile, DEFAULT_CHUNKING, type ChunkingParams } from './chunker';
import type { DataManifest } from './manifest';

const HEX = /^[0-9a-f]{64}$/;

export interface PutResult {
  manifest: DataManifest;
  /** Chunks (and their bytes) this call wrote; the rest were in the store already. */
  newChunks: number;
  newBytes: number;
}

export interface PutOptions {
  chunking?: ChunkingParams;
  /** Called after each chunk with the bytes done so far. */
  onProgress?: (bytes: number) => void;
}

export function chunkHex(d: Digest): string {
  const hex = d.startsWith('sha256:') ? d.slice(7) : d;
  if (!HEX.test(hex))
    throw new ModelOpsError(
      'data-corrupt',
      `Invalid chunk digest '${d}'.`,
      'Chunk digests look like sha256:<64 hex digits>; the data version rows were edited or damaged.',
    );
  return hex;
}

export class DataStore {
  readonly dataDir: string;
  readonly chunksDir: string;
  readonly tmpDir: string;

  constructor(readonly storeDir: string) {
    this.dataDir = join(storeDir, 'data');
    this.chunksDir = join(this.dataDir, 'sha256');
    this.tmpDir = join(this.dataDir, 'tmp');
  }

  chunkPath(digest: Digest): string {
    const hex = chunkHex(digest);
    return join(this.chunksDir, hex.slice(0, 2), hex.slice(2));
  }

  hasChunk(digest: Digest): boolean {
    return existsSync(this.chunkPath(digest));
  }

  /**
   * Streams a file into the store: chunks it by content, writes the chunks not yet stored, and
   * hashes the whole file on the way. Memory is one read buffer (8 MiB) whatever the file's size.
   */
  async putFile(path: string, options: PutOptions = {}): Promise<PutResult> {
    this.privateDir(this.tmpDir);
    const whole = createHash('sha256');
    const chunks: DataManifest['chunks'] = [];
    const touchedDirs = new Set<string>();
    let size = 0;
    let newChunks = 0;
    let newBytes = 0;
    for await (const bytes of chunkFile(path, options.chunking ?? DEFAULT_CHUNKING)) {
      whole.update(bytes);
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      const dir = await this.putChunk(digest, bytes);
      if (dir) {
        touchedDirs.add(dir);
        newChunks++;
        newBytes += bytes.length;
      }
      chunks.push({ digest, size: bytes.length });
      size += bytes.length;
      options.onProgress?.(size);
    }
    // The renames are durable before any row names these chunks.
    for (const d of touchedDirs) fsyncDir(d);
    return { manifest: { digest: `sha256:${whole.digest('hex')}`, size, chunks }, newChunks, newBytes };
  }

  /** Writes one chunk unless present (then only its mtime is refreshed, so a concurrent gc keeps it); returns the folder it was renamed into, or null. */
  private async putChunk(digest: Digest, bytes: Buffer): Promise<string | null> {
    if (this.touch(digest)) return null;
    const final = this.chunkPath(digest);
    const tmp = join(this.tmpDir, `${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    try {
      const fh = await open(tmp, 'wx', PRIVATE_BLOB);
      try {
        await fh.chmod(PRIVATE_BLOB);
        let off = 0;
        while (off < bytes.length) off += (await fh.write(bytes, off, bytes.length - off, null)).bytesWritten;
        await fh.sync();
      } finally {
        await fh.close();
      }
      this.privateDir(dirname(final));
      await rename(tmp, final);
    } catch (e) {
      // A full disk must not leave a partial temp file behind.
      await rm(tmp, { force: true });
      throw e;
    }
    return dirname(final);
  }

  /** A chunk read whole and verified against its digest. */
  async readChunk(digest: Digest, owner: Digest): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.chunkPath(digest));
    } catch {
      throw new ModelOpsError(
        'data-chunks-missing',
        `Data version ${owner} is missing chunk ${digest} from ${this.chunksDir}.`,
        'Copy .modelops/data from the workspace that stored it, or store the file again with `modelops data add <file>`.',
      );
    }
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== digest) {
      throw new ModelOpsError(
        'data-corrupt',
        `Chunk ${digest} of data version ${owner} is corrupted: its bytes hash to ${actual}.`,
        `Delete ${this.chunkPath(digest)} and store the file again with \`modelops data add <file>\`, or restore .modelops/data from a backup.`,
      );
    }
    return bytes;
  }

  /** Refreshes an existing chunk's mtime; false if absent. */
  touch(digest: Digest): boolean {
    try {
      const now = new Date();
      utimesSync(this.chunkPath(digest), now, now);
      return true;
    } catch {
      return false;
    }
  }

  /** Every chunk file: its digest, size and mtime (for gc). */
  *listChunks(): Generator<{ digest: Digest; path: string; size: number; mtimeMs: number }> {
    for (const prefix of safeReaddir(this.chunksDir)) {
      const sub = join(this.chunksDir, prefix);
      for (const rest of safeReaddir(sub)) {
        const hex = prefix + rest;
        if (!HEX.test(hex)) continue;
        const path = join(sub, rest);
        try {
          const st = lstatSync(path);
          if (st.isFile()) yield { digest: `sha256:${hex}`, path, size: st.size, mtimeMs: st.mtimeMs };
        } catch {
          /* removed meanwhile */
        }
      }
    }
  }

  removeChunk(digest: Digest): boolean {
    try {
      unlinkSync(this.chunkPath(digest));
      return true;
    } catch {
      return false;
    }
  }

  /** Temp files older than `ageMs` (left by a killed store); returns how many were removed. */
  sweepTemps(now: number, ageMs: number, dryRun: boolean): number {
    let n = 0;
    for (const name of safeReaddir(this.tmpDir)) {
      const p = join(this.tmpDir, name);
      try {
        if (now - lstatSync(p).mtimeMs <= ageMs) continue;
      } catch {
        continue;
      }
      if (!dryRun) rmSync(p, { force: true });
      n++;
    }
    return n;
  }

  /** A folder of the store (and its missing parents inside it) with mode 0700. */
  privateDir(dir: string): void {
    makePrivateDir(this.storeDir, dir);
  }
}
