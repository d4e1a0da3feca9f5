import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedConfig } from '../config/types';
import type { Registry } from '../registry/types';

/**
 * The config as it was when the run started, written next to the run, so the version records
 * what it was trained with even if modelops.yaml is edited while it trains.
 */
export async function snapshotConfig(registry: Registry, runId: string, loaded: LoadedConfig): Promise<string> {
  const dir = join(registry.storeDir, 'runs', runId);
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'modelops.yaml');
  await writeFile(path, loaded.text);
  return path;
}
