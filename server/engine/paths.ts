/** Paths as the workspace's records and messages show them, and where an output file is written. */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { ModelOpsError, type ErrorCode } from './errors';

/** `abs` relative to the workspace `root` with '/' separators when it lies inside it, else as given. */
export function workspacePath(root: string, abs: string): string {
  const rel = relative(root, abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split('\\').join('/') : abs;
}

/** A temporary name beside `path` (`.name.<hex>.tmp`): written there, then renamed, a file is replaced whole or not at all. */
export function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Refuses an output file that exists (unless `force`) or whose folder does not, before anything is written. */
export function checkOutputPath(root: string, out: string, force: boolean, existsCode: ErrorCode): void {
  if (existsSync(out) && !force)
    throw new ModelOpsError(
      existsCode,
      `${workspacePath(root, out)} already exists; nothing was written.`,
      'Choose another --out, or pass --force to replace it.',
    );
  if (!existsSync(dirname(out)))
    throw new ModelOpsError(
      'data-not-found',
      `The folder of ${workspacePath(root, out)} does not exist.`,
      'Create it first, or choose another --out.',
    );
}
