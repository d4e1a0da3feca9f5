/**
 * A data version: the file's SHA-256 (the digest every record names it by), its size, and the
 * ordered digests of the chunks that rebuild it. The rows live in the registry (data_versions,
 * data_chunks); the chunk bytes in `.modelops/data/`.
 */
import type { Digest } from '../../registry/types';

export interface ChunkRef {
  digest: Digest;
  size: number;
}

export interface DataManifest {
  /** "sha256:<hex>" of the whole file: the same digest `digestFile` gives, so older records match. */
  digest: Digest;
  size: number;
  chunks: ChunkRef[];
}

/** Whether the chunk list adds up to the file: a row set cut short (or edited by hand) does not. */
export function manifestProblem(m: DataManifest): string | null {
  let total = 0;
  for (const [i, c] of m.chunks.entries()) {
    if (!/^sha256:[0-9a-f]{64}$/.test(c.digest)) return `chunk ${i + 1} has an invalid digest '${c.digest}'`;
    if (!Number.isInteger(c.size) || c.size <= 0) return `chunk ${i + 1} has size ${c.size}`;
    total += c.size;
  }
  return total === m.size ? null : `its ${m.chunks.length} chunks add up to ${total} bytes, not ${m.size}`;
}

/** Bytes of `m` held in chunks that some other data version also uses (deduplicated). */
export function sharedBytes(m: DataManifest, usedElsewhere: ReadonlySet<string>): number {
  let shared = 0;
  for (const c of m.chunks) if (usedElsewhere.has(c.digest)) shared += c.size;
  return shared;
}
