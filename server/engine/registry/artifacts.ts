/**
 * The content-addressed artifact store: `.modelops/artifacts/sha256/ab/cdef…`. A file is
 * hashed while it is copied into a temp file on the same file system, fsynced and renamed into
 * place, so a blob under its digest is always complete. A directory is stored as its files'
 * blobs plus a JSON manifest {path → digest, size}; the manifest's digest names the directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rmSync, unlinkSync, utimesSync, existsSync, lstatSync } from 'node:fs';
import { open, readFile, rename, rm, stat, readdir, lstat } from 'node:fs/promises';
import { join, relative, sep, dirname } from 'node:path';
import { ModelOpsError } from '../errors';
import { fsyncDir, makePrivateDir, safeReaddir } from './durable';
import { PRIVATE_BLOB, PRIVATE_FILE } from './store';
import type { Digest } from './types';

// The store is private to its owner (see store.ts); repeated here so this module stays standalone.

const CHUNK = 4 * 1024 * 1024;
/** Temp files and unreferenced blobs younger than this may belong to a registration in flight. */
export const ORPHAN_AGE_MS = 60_000;

export interface ManifestEntry {
  digest: Digest;
  size: number;
}

export interface DirectoryManifest {
  kind: 'modelops-directory/1';
  files: Record<string, ManifestEntry>;
}

export interface StoredArtifact {
  digest: Digest;
  kind: 'file' | 'directory';
  /** Bytes of the file, or the sum of the directory's files. */
  size: number;
  /** The files of a directory artifact (empty for a file). */
  files: Array<{ path: string; digest: Digest; size: number }>;
}

const HEX = /^[0-9a-f]{64}$/;

export function digestHex(d: Digest): string {
  const hex = d.startsWith('sha256:') ? d.slice(7) : d;
  if (!HEX.test(hex))
    throw new ModelOpsError(
      'invalid-digest',
      `Invalid artifact digest '${d}'.`,
      'Digests look like sha256:<64 hex digits>.',
    );
  return hex;
}

export class ArtifactStore {
  readonly artifactsDir: string;
  readonly tmpDir: string;
  readonly cacheDir: string;
  /** Blobs already verified in this process, keyed by path → "size:mtime:ino". */
  private readonly verified = new Map<string, string>();

  constructor(readonly storeDir: string) {
    this.artifactsDir = join(storeDir, 'artifacts');
    this.tmpDir = join(this.artifactsDir, 'tmp');
    this.cacheDir = join(storeDir, 'cache');
  }

  blobPath(digest: Digest): string {
    const hex = digestHex(digest);
    return join(this.artifactsDir, 'sha256', hex.slice(0, 2), hex.slice(2));
  }

  hasBlob(digest: Digest): boolean {
    return existsSync(this.blobPath(digest));
  }

  /** Stores a file or a directory. */
  async put(source: string): Promise<StoredArtifact> {
    const st = await stat(source);
    if (st.isDirectory()) return this.putDirectory(source);
    if (!st.isFile())
      throw new ModelOpsError(
        'artifact-not-file',
        `${source} is neither a file nor a directory.`,
        'Register a model file or a model folder.',
      );
    const { digest, size } = await this.putFile(source);
    return { digest, kind: 'file', size, files: [] };
  }

  /** Streams a file into the store: hash while copying, fsync, rename; memory stays flat. */
  async putFile(source: string): Promise<{ digest: Digest; size: number }> {
    this.privateDir(this.tmpDir);
    const tmp = join(this.tmpDir, `${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    const hash = createHash('sha256');
    const src = await open(source, 'r');
    let size = 0;
    try {
      const dst = await open(tmp, 'wx', PRIVATE_BLOB);
      try {
        await dst.chmod(PRIVATE_BLOB);
        // Three buffers: read the next chunk and write the previous one while hashing this one.
        const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
        let pendingWrite: Promise<void> = Promise.resolve();
        let i = 0;
        let reading = src.read(bufs[0], 0, CHUNK, null);
        for (;;) {
          const { bytesRead } = await reading;
          if (bytesRead === 0) break;
          const buf = bufs[i % 3];
          reading = src.read(bufs[(i + 1) % 3], 0, CHUNK, null);
          hash.update(buf.subarray(0, bytesRead));
          size += bytesRead;
          await pendingWrite;
          pendingWrite = writeAll(dst, buf, bytesRead);
          i++;
        }
        await pendingWrite;
        await dst.sync();
      } finally {
        await dst.close();
      }
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    } finally {
      await src.close();
    }
    const digest = `sha256:${hash.digest('hex')}`;
    await this.settleOrDrop(tmp, digest);
    return { digest, size };
  }

  /** Stores bytes held in memory (manifests). */
  async putBytes(bytes: Buffer): Promise<Digest> {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (this.touch(digest)) return digest;
    this.privateDir(this.tmpDir);
    const tmp = join(this.tmpDir, `${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    try {
      const fh = await open(tmp, 'wx', PRIVATE_BLOB);
      try {
        await fh.chmod(PRIVATE_BLOB);
        await writeAll(fh, bytes, bytes.length);
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (e) {
      // A full disk must not leave a partial temp file behind.
      await rm(tmp, { force: true });
      throw e;
    }
    await this.settleOrDrop(tmp, digest);
    return digest;
  }

  /** Creates a folder of the store (and its missing parents inside the store) with mode 0700. */
  privateDir(dir: string): void {
    makePrivateDir(this.storeDir, dir);
  }

  private async settleOrDrop(tmp: string, digest: Digest): Promise<void> {
    try {
      await this.settle(tmp, digest);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async putDirectory(dir: string): Promise<StoredArtifact> {
    const paths = await listFiles(dir);
    const files: StoredArtifact['files'] = [];
    const manifest: DirectoryManifest = { kind: 'modelops-directory/1', files: {} };
    let total = 0;
    for (const rel of paths) {
      const { digest, size } = await this.putFile(join(dir, ...rel.split('/')));
      files.push({ path: rel, digest, size });
      manifest.files[rel] = { digest, size };
      total += size;
    }
    const digest = await this.putBytes(Buffer.from(JSON.stringify(manifest)));
    return { digest, kind: 'directory', size: total, files };
  }

  /** Renames a finished temp file into place, or drops it when the blob already exists. */
  private async settle(tmp: string, digest: Digest): Promise<void> {
    const final = this.blobPath(digest);
    if (this.touch(digest)) {
      await rm(tmp, { force: true });
      return;
    }
    this.privateDir(dirname(final));
    await rename(tmp, final);
    fsyncDir(dirname(final));
  }

  /** Refreshes an existing blob's mtime so a concurrent sweep leaves it alone; false if absent. */
  touch(digest: Digest): boolean {
    const p = this.blobPath(digest);
    try {
      const now = new Date();
      utimesSync(p, now, now);
      return true;
    } catch {
      return false;
    }
  }

  /** Reads and verifies a directory manifest. */
  async readManifest(digest: Digest, label: string): Promise<DirectoryManifest> {
    const path = this.blobPath(digest);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch {
      throw missing(label, digest);
    }
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== digest) throw corrupt(label, 'its manifest', digest, actual);
    try {
      const m = JSON.parse(bytes.toString('utf8')) as DirectoryManifest;
      if (m.kind !== 'modelops-directory/1' || typeof m.files !== 'object') throw new Error('shape');
      return m;
    } catch {
      throw corrupt(label, 'its manifest', digest, 'unreadable JSON');
    }
  }

  /**
   * A small blob (a config) read whole, with the digest its bytes actually hash to, so the
   * caller can verify it and name what a mismatch belongs to; null when the store has no such blob.
   */
  async readBlob(digest: Digest): Promise<{ bytes: Buffer; actual: Digest } | null> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.blobPath(digest));
    } catch (e) {
      if (e && typeof e === 'object' && 'code' in e && (e as { code: unknown }).code === 'ENOENT') return null;
      throw e;
    }
    return { bytes, actual: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
  }

  /** The verified blob path of a file artifact. */
  async verifiedFile(digest: Digest, label: string): Promise<string> {
    const path = this.blobPath(digest);
    let st;
    try {
      st = await stat(path);
    } catch {
      throw missing(label, digest);
    }
    const key = `${st.size}:${st.mtimeMs}:${st.ino}`;
    if (this.verified.get(path) === key) return path;
    const actual = await hashFile(path);
    if (actual !== digest) throw corrupt(label, 'the artifact file', digest, actual);
    this.verified.set(path, key);
    return path;
  }

  /**
   * A directory artifact rebuilt from its blobs into `.modelops/cache/<hex>/`, verified file by
   * file; built in a temp folder and renamed into place so readers never see half of it.
   */
  async materializeDirectory(digest: Digest, label: string): Promise<string> {
    const manifest = await this.readManifest(digest, label);
    const target = join(this.cacheDir, digestHex(digest));
    if (existsSync(target) && (await this.cacheMatches(target, manifest))) return target;
    this.privateDir(this.cacheDir);
    const tmp = join(this.cacheDir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      this.privateDir(tmp);
      for (const [rel, entry] of Object.entries(manifest.files)) {
        if (rel.split('/').some((s) => s === '..' || s === '') || rel.startsWith('/'))
          throw corrupt(label, `manifest path '${rel}'`, digest, 'unsafe path');
        const out = join(tmp, ...rel.split('/'));
        this.privateDir(dirname(out));
        const blob = this.blobPath(entry.digest);
        if (!existsSync(blob)) throw missing(label, entry.digest, rel);
        const actual = await copyHashing(blob, out);
        if (actual !== entry.digest) throw corrupt(label, rel, entry.digest, actual);
      }
      if (existsSync(target)) {
        const trash = join(this.cacheDir, `.tmp-trash-${randomBytes(6).toString('hex')}`);
        await rename(target, trash).catch(() => undefined);
        await rm(trash, { recursive: true, force: true });
      }
      try {
        await rename(tmp, target);
      } catch (e) {
        // Another process finished the same folder first: use theirs.
        if (!existsSync(target)) throw e;
        await rm(tmp, { recursive: true, force: true });
      }
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    return target;
  }

  private async cacheMatches(dir: string, manifest: DirectoryManifest): Promise<boolean> {
    try {
      const present = await listFiles(dir);
      const expected = Object.keys(manifest.files).sort();
      if (present.length !== expected.length || present.some((p, i) => p !== expected[i])) return false;
      for (const rel of expected) {
        if ((await hashFile(join(dir, ...rel.split('/')))) !== manifest.files[rel].digest) return false;
      }
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Removes blobs no row references (older than ORPHAN_AGE_MS, so a registration in flight
   * keeps its blobs), stale temp files, and cache folders of artifacts no longer referenced.
   */
  sweep(referenced: Set<string>, now = Date.now()): { blobs: number; temps: number } {
    let blobs = 0;
    let temps = 0;
    const old = (p: string): boolean => {
      try {
        return now - lstatSync(p).mtimeMs > ORPHAN_AGE_MS;
      } catch {
        return false;
      }
    };
    const shaDir = join(this.artifactsDir, 'sha256');
    for (const prefix of safeReaddir(shaDir)) {
      const sub = join(shaDir, prefix);
      for (const rest of safeReaddir(sub)) {
        const p = join(sub, rest);
        if (!referenced.has(prefix + rest) && old(p)) {
          try {
            unlinkSync(p);
            blobs++;
          } catch {
            /* gone already */
          }
        }
      }
    }
    for (const name of safeReaddir(this.tmpDir)) {
      const p = join(this.tmpDir, name);
      if (old(p)) {
        rmSync(p, { force: true });
        temps++;
      }
    }
    for (const name of safeReaddir(this.cacheDir)) {
      const p = join(this.cacheDir, name);
      if ((name.startsWith('.tmp-') && old(p)) || (HEX.test(name) && !referenced.has(name))) {
        rmSync(p, { recursive: true, force: true });
        if (name.startsWith('.tmp-')) temps++;
      }
    }
    return { blobs, temps };
  }
}

async function writeAll(fh: import('node:fs/promises').FileHandle, buf: Buffer, length: number): Promise<void> {
  let off = 0;
  while (off < length) {
    const { bytesWritten } = await fh.write(buf, off, length - off, null);
    off += bytesWritten;
  }
}

export async function hashFile(path: string): Promise<Digest> {
  const hash = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return `sha256:${hash.digest('hex')}`;
}

async function copyHashing(from: string, to: string): Promise<Digest> {
  const hash = createHash('sha256');
  const src = await open(from, 'r');
  try {
    const dst = await open(to, 'wx', PRIVATE_FILE);
    try {
      await dst.chmod(PRIVATE_FILE);
      const buf = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        const { bytesRead } = await src.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        hash.update(buf.subarray(0, bytesRead));
        await writeAll(dst, buf, bytesRead);
      }
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
  return `sha256:${hash.digest('hex')}`;
}

/** Regular files under a folder as sorted '/'-separated relative paths; links are refused. */
async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(relative(root, p).split(sep).join('/'));
      else if ((await lstat(p)).isSymbolicLink()) {
        throw new ModelOpsError(
          'artifact-symlink',
          `${p} is a symbolic link.`,
          'Copy the linked file into the model folder; the store keeps only regular files.',
        );
      }
    }
  };
  await walk(root);
  return out.sort();
}

function corrupt(label: string, what: string, expected: string, actual: string): ModelOpsError {
  return new ModelOpsError(
    'artifact-corrupt',
    `The artifact of ${label} is corrupted: ${what} should have digest ${expected} but has ${actual}.`,
    'Register the version again from its source, or restore .modelops/artifacts from a backup.',
  );
}

function missing(label: string, digest: string, file?: string): ModelOpsError {
  return new ModelOpsError(
    'artifact-missing',
    `The artifact of ${label} is missing from the workspace store${file ? ` (${file})` : ''}: ${digest}.`,
    'Register the version again from its source, or restore .modelops/artifacts from a backup.',
  );
}
