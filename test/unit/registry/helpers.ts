import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openRegistry, type WorkspaceRegistry } from '../../../server/engine/registry';

export interface TempWorkspace {
  root: string;
  /** Writes a file under the workspace and returns its absolute path. */
  file(rel: string, content: string | Buffer): string;
  cleanup(): void;
}

export function tempWorkspace(prefix = 'modelops-reg-'): TempWorkspace {
  const root = mkdtempSync(join(tmpdir(), prefix));
  return {
    root,
    file(rel, content) {
      const p = join(root, rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, content);
      return p;
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export const signatureA = {
  inputs: [{ name: 'features', datatype: 'FP32' as const, shape: [-1, 4] }],
  outputs: [{ name: 'probabilities', datatype: 'FP32' as const, shape: [-1, 5] }],
};

export const signatureB = {
  inputs: [{ name: 'features', datatype: 'FP32' as const, shape: [-1, 6] }],
  outputs: [{ name: 'probabilities', datatype: 'FP32' as const, shape: [-1, 5] }],
};

/** Runs `fn` with a fresh workspace and its registry, closed and removed afterwards whatever happens. */
export async function inWorkspace(
  prefix: string,
  fn: (ws: TempWorkspace, reg: WorkspaceRegistry) => Promise<void>,
): Promise<void> {
  const ws = tempWorkspace(prefix);
  const reg = openRegistry(ws.root);
  try {
    await fn(ws, reg);
  } finally {
    reg.close();
    ws.cleanup();
  }
}
