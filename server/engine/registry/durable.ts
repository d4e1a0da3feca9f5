/**
 * The file rules every content-addressed store in `.modelops/` follows (artifacts, data chunks):
 * private folders made inside the store, a folder fsynced after a rename into it, listings that
 * treat a missing folder as empty.
 */
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { dirname, sep } from 'node:path';
import { PRIVATE_DIR } from './store';

/** Creates `dir` (and its missing parents inside `storeDir`) with mode 0700; a race with another process is fine. */
export function makePrivateDir(storeDir: string, dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent.startsWith(storeDir + sep)) makePrivateDir(storeDir, parent);
  try {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
    chmodSync(dir, PRIVATE_DIR);
  } catch (e) {
    // Another process made it first.
    if (!existsSync(dir)) throw e;
  }
}

/** The names in `dir`, or none when it cannot be read. */
export function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Makes a rename into `dir` durable. */
export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* not supported on every platform; the rename itself is atomic */
  }
}
