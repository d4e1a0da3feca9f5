/** Dataset identity: SHA-256 of the file's bytes, recorded in the registry with its shape. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { DatasetRecord, Digest, Registry } from '../registry/types';
import type { Dataset } from './read';

/** "sha256:<hex>" of a file, streamed. */
export async function digestFile(path: string): Promise<Digest> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** Hashes the dataset's file and records it in the registry. `displayPath` is workspace-relative. */
export async function recordDatasetDigest(registry: Registry, dataset: Dataset, displayPath: string): Promise<DatasetRecord> {
  const digest = await digestFile(dataset.path);
  return registry.recordDataset({ digest, path: displayPath, rows: dataset.rows.length, columns: dataset.columns.map((c) => ({ name: c.name, type: c.type })) });
}
