/**
 * Dataset identity and storage: each file a run read is stored in the data store (chunked by
 * content, deduplicated, streamed) and recorded in the registry with its shape and profile. Its
 * digest stays the SHA-256 of the whole file, so records made before data versions still match.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { DatasetRef, Digest, Registry } from '../registry/types';
import type { LoadedData } from './splits';
import { profileDataset } from './store/profile';
import { DataStore } from './store/store';

/** "sha256:<hex>" of a file, streamed. */
export async function digestFile(path: string): Promise<Digest> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Stores each file a run read as a data version and records it in the registry with its shape
 * and profile; returns the references a version keeps (role, workspace-relative path, digest).
 */
export async function recordDatasets(registry: Registry, files: LoadedData['files']): Promise<DatasetRef[]> {
  const refs: DatasetRef[] = [];
  const store = new DataStore(registry.storeDir);
  // A file read in two roles (train and evaluation) is stored once.
  const done = new Map<string, Digest>();
  for (const f of files) {
    let digest = done.get(f.dataset.path);
    if (digest === undefined) {
      const { manifest } = await store.putFile(f.dataset.path);
      digest = manifest.digest;
      const columns = f.dataset.columns.map((c) => ({ name: c.name, type: c.type }));
      registry.datasets.record({
        manifest,
        path: f.displayPath,
        rows: f.dataset.rows.length,
        columns,
        profile: profileDataset(f.dataset),
      });
      // Through the registry as well, so its listeners (the editor's tree) hear of it.
      registry.recordDataset({ digest, path: f.displayPath, rows: f.dataset.rows.length, columns });
      done.set(f.dataset.path, digest);
    }
    refs.push({ role: f.role, path: f.displayPath, digest });
  }
  return refs;
}
