import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

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
