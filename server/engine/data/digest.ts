/** Dataset identity: SHA-256 of the file's bytes, recorded in the registry with its shape. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { DatasetRef, Digest, Registry } from '../registry/types';
import type { LoadedData } from './splits';

/** "sha256:<hex>" of a file, streamed. */
export async function digestFile(path: string): Promise<Digest> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Hashes each file a run read and records it in the registry with its shape; returns the
 * references a version keeps (role, workspace-relative path, digest).
 */
export async function recordDatasets(registry: Registry, files: LoadedData['files']): Promise<DatasetRef[]> {
  const refs: DatasetRef[] = [];
  for (const f of files) {
    const digest = await digestFile(f.dataset.path);
    registry.recordDataset({ digest, path: f.displayPath, rows: f.dataset.rows.length, columns: f.dataset.columns.map((c) => ({ name: c.name, type: c.type })) });
    refs.push({ role: f.role, path: f.displayPath, digest });
  }
  return refs;
}
