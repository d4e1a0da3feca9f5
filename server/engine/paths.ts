/** Paths as the workspace's records and messages show them. */
import { isAbsolute, relative } from 'node:path';

/** `abs` relative to the workspace `root` with '/' separators when it lies inside it, else as given. */
export function workspacePath(root: string, abs: string): string {
  const rel = relative(root, abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split('\\').join('/') : abs;
}
