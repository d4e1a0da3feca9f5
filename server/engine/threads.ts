/**
 * Where a worker thread's code is: the bundled `dist/<bundle>` next to the running bundle, or from
 * source the `.ts` file next to the caller, loaded through tsx's CommonJS hook (Node 20 does not
 * apply `--import tsx` from a worker's execArgv to the worker's entry file).
 */
import { dirname, join } from 'node:path';

export interface WorkerEntry {
  file: string;
  /** Code to run with `eval: true` instead of `file` (from source); null from dist/. */
  bootstrap: string | null;
}

/** `callerFile`: the caller's `__filename`; `bundle`: e.g. trainWorker.js; `source`: e.g. worker.ts beside the caller. */
export function workerEntry(callerFile: string, bundle: string, source: string): WorkerEntry {
  const dir = dirname(callerFile);
  if (!callerFile.endsWith('.ts')) return { file: join(dir, bundle), bootstrap: null };
  const file = join(dir, source);
  return {
    file,
    bootstrap: `require(${JSON.stringify(require.resolve(['tsx', 'cjs'].join('/')))}); require(${JSON.stringify(file)});`,
  };
}
