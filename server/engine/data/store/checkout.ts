/**
 * Restores a data version's exact bytes: every chunk is checked present before anything is
 * written, each is verified as it is copied, and the whole file against its digest; the file is
 * written beside its destination and renamed into place only when it matches, so a failed
 * checkout leaves nothing half-written. An existing file is replaced only with `force`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ModelOpsError } from '../../errors';
import { tempBeside } from '../../paths';
import { manifestProblem, type DataManifest } from './manifest';
import type { DataStore } from './store';

export interface CheckoutOptions {
  /** Replace an existing file at the destination. */
  force?: boolean;
}

/** Chunks of `m` that the store does not hold. */
export function missingChunks(store: DataStore, m: DataManifest): DataManifest['chunks'] {
  return m.chunks.filter((c) => !store.hasChunk(c.digest));
}

export async function checkoutData(
  store: DataStore,
  m: DataManifest,
  outFile: string,
  options: CheckoutOptions = {},
): Promise<{ path: string; size: number }> {
  const problem = manifestProblem(m);
  if (problem)
    throw new ModelOpsError(
      'data-corrupt',
      `The chunk list of data version ${m.digest} is damaged: ${problem}.`,
      'Store the file again with `modelops data add <file>`, or restore .modelops/registry.db from a backup.',
    );
  const missing = missingChunks(store, m);
  if (missing.length > 0) {
    throw new ModelOpsError(
      'data-chunks-missing',
      `Data version ${m.digest} cannot be restored: ${missing.length} of its ${m.chunks.length} chunks are missing from ${store.chunksDir} (first: ${missing[0].digest}).`,
      'The store was probably copied without .modelops/data: copy that folder from the workspace that stored the data, or store the file again with `modelops data add <file>` (its digest must match).',
    );
  }
  if (existsSync(outFile) && !options.force) {
    throw new ModelOpsError(
      'data-out-exists',
      `${outFile} already exists; nothing was written.`,
      'Choose another folder with --out, or pass --force to replace it.',
    );
  }
  mkdirSync(dirname(outFile), { recursive: true });
  const tmp = tempBeside(outFile);
  const whole = createHash('sha256');
  let size = 0;
  try {
    const fh = await open(tmp, 'wx');
    try {
      for (const c of m.chunks) {
        const bytes = await store.readChunk(c.digest, m.digest);
        whole.update(bytes);
        size += bytes.length;
        let off = 0;
        while (off < bytes.length) off += (await fh.write(bytes, off, bytes.length - off, null)).bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    const actual = `sha256:${whole.digest('hex')}`;
    if (actual !== m.digest || size !== m.size) {
      throw new ModelOpsError(
        'data-corrupt',
        `Restoring ${m.digest} produced ${size} bytes with digest ${actual}: the chunk list does not rebuild the file.`,
        'Store the file again with `modelops data add <file>`, or restore .modelops/registry.db from a backup.',
      );
    }
    // Checked again just before the rename: another process may have created it meanwhile.
    if (existsSync(outFile) && !options.force) {
      throw new ModelOpsError(
        'data-out-exists',
        `${outFile} already exists; nothing was written.`,
        'Choose another folder with --out, or pass --force to replace it.',
      );
    }
    await rename(tmp, outFile);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return { path: outFile, size };
}
