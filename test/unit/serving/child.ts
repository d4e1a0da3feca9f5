/** Test helper: `modelops serve` as a real child process (optionally under `ulimit -f`). */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export interface ServeChild {
  url: string;
  pid: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

const CLI = resolve(__dirname, '../../../server/cli/main.ts');
/** The bundled CLI (`npm run build`), what a deployed server runs. */
const BUILT_CLI = resolve(__dirname, '../../../dist/cli.js');

/**
 * Starts `modelops serve --port 0 …args` with `token` in MODELOPS_TEST_TOKEN (passed as
 * --token-env) and resolves once it listens. `fileLimitKiB` runs it under `ulimit -f` with
 * SIGXFSZ ignored, so writes past the limit fail with EFBIG as on a full disk. `nodeFlags` go to
 * node before the script (V8 tracing flags, say); `built` runs dist/cli.js instead of the sources
 * under tsx.
 */
export function startServeChild(
  args: string[],
  options: { token?: string; fileLimitKiB?: number; nodeFlags?: string[]; built?: boolean } = {},
): Promise<ServeChild> {
  if (options.built && !existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: run npm run build first.`);
  const nodeArgs = [
    ...(options.nodeFlags ?? []),
    ...(options.built ? [BUILT_CLI] : ['--import', 'tsx', CLI]),
    'serve',
    '--port',
    '0',
    ...(options.token ? ['--token-env', 'MODELOPS_TEST_TOKEN'] : []),
    ...args,
  ];
  const env = { ...process.env, NO_COLOR: '1', ...(options.token ? { MODELOPS_TEST_TOKEN: options.token } : {}) };
  const child =
    options.fileLimitKiB === undefined
      ? spawn(process.execPath, nodeArgs, { stdio: ['ignore', 'pipe', 'pipe'], env })
      : spawn(
          'bash',
          ['-c', `ulimit -f ${options.fileLimitKiB}; trap '' XFSZ; exec "$0" "$@"`, process.execPath, ...nodeArgs],
          { stdio: ['ignore', 'pipe', 'pipe'], env },
        );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise<ServeChild>((resolveStart, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`modelops serve did not start: ${out} ${err}`));
    }, 60_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolveStart({
        url: m[1],
        pid: child.pid!,
        child,
        stdout: () => out,
        stderr: () => err,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`modelops serve exited with ${code}: ${out} ${err}`));
    });
  });
}

/** Peak resident memory (VmHWM) of a process in bytes, from /proc. */
export async function peakRss(pid: number): Promise<number> {
  const { readFileSync } = await import('node:fs');
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM for ${pid}`);
  return Number(m[1]) * 1024;
}
