/** What every verb does with its command line: parse it strictly, read typed values, find the workspace. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CliIO } from '../command';
import { ModelOpsError } from '../../engine/errors';
import { didYouMean } from '../../engine/config/text';

export type CliOptions = NonNullable<ParseArgsConfig['options']>;

/**
 * Strict parsing: an unknown flag or a missing value is a `cli-usage` error whose hint is the
 * verb's usage. Each verb declares every flag it reads (so `--json` on a verb that cannot print
 * JSON is an error, not silently ignored).
 */
export function parseCli<O extends CliOptions>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    // Node's own text for an unknown option goes on about positionals after '--': say what is wrong.
    const unknown = /^Unknown option '([^']+)'/.exec(text);
    if (unknown) {
      const guess = didYouMean(unknown[1].replace(/^-+/, ''), Object.keys(options));
      throw new ModelOpsError(
        'cli-usage',
        `Unknown option '${unknown[1]}'.${guess ? ` Did you mean '--${guess}'?` : ''}`,
        `Usage:\n${usage}`,
      );
    }
    throw new ModelOpsError('cli-usage', text, `Usage:\n${usage}`);
  }
}

/** A string flag's value, or undefined for absent (and for booleans). */
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A required value: `Missing <what>.` with the usage when it is absent or empty. */
export function need<T>(value: T | undefined, what: string, usage: string): T {
  if (value === undefined || value === '') throw new ModelOpsError('cli-usage', `Missing ${what}.`, `Usage:\n${usage}`);
  return value;
}

/** The one positional argument a verb takes (`model@1.2.0`): missing or a second one is a usage error. */
export function onePositional(positionals: readonly string[], what: string, usage: string): string {
  const [first, second] = positionals;
  if (!first || second !== undefined)
    throw new ModelOpsError('cli-usage', first ? `Unexpected argument '${second}'.` : `Missing ${what}.`, usage);
  return first;
}

/** A whole-number flag ≥ min, or undefined when absent. */
export function intFlag(v: string | undefined, flag: string, min = 0, max = Infinity): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max)
    throw new ModelOpsError(
      'cli-usage',
      `${flag} must be a whole number ${max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`}, not '${v}'.`,
      `e.g. ${flag} ${Math.min(max, Math.max(min, 20))}`,
    );
  return n;
}

/** A finite number flag, or undefined when absent. */
export function numFlag(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n))
    throw new ModelOpsError('cli-usage', `${flag} ${JSON.stringify(v)} is not a number.`, `e.g. ${flag} 0.5`);
  return n;
}

/** The workspace: --root, else the nearest folder up from cwd holding .modelops/ or modelops.yaml, else cwd. */
export function findWorkspaceRoot(cwd: string, explicit?: string): string {
  if (explicit) return resolve(cwd, explicit);
  let d = resolve(cwd);
  for (;;) {
    if (existsSync(join(d, '.modelops')) || existsSync(join(d, 'modelops.yaml'))) return d;
    const up = dirname(d);
    if (up === d) return resolve(cwd);
    d = up;
  }
}

/** The workspace root for a config: --root, else the config's folder or the nearest store above cwd. */
export function rootFor(io: CliIO, root: string | undefined, config: string | undefined): string {
  if (root) return resolve(io.cwd, root);
  if (config) return findWorkspaceRoot(dirname(resolve(io.cwd, config)));
  return findWorkspaceRoot(io.cwd);
}

/** `--json` output: one pretty-printed document, exit code 0. */
export function printJson(io: CliIO, value: unknown): number {
  io.out(JSON.stringify(value, null, 2));
  return 0;
}

/** One subcommand of a verb (`versions list`, `data checkout`): its own argv and the IO. */
export type Subcommand = (argv: string[], io: CliIO) => Promise<number>;

/**
 * Runs `<verb> <sub> …` from a table of subcommands; an unknown one prints the usage and exits 2.
 * With no subcommand (nothing, or options only) `fallback` runs, as `git branch` lists: a verb
 * whose first use is to look (`modelops versions`) lists; one without a fallback prints the usage.
 */
export async function dispatch(
  verb: string,
  usage: string,
  subcommands: Readonly<Record<string, Subcommand>>,
  argv: string[],
  io: CliIO,
  fallback?: string,
): Promise<number> {
  if (fallback !== undefined && (argv.length === 0 || argv[0].startsWith('-'))) argv = [fallback, ...argv];
  const [sub, ...rest] = argv;
  const run = sub !== undefined && Object.hasOwn(subcommands, sub) ? subcommands[sub] : undefined;
  if (!run) {
    io.err(sub ? `modelops ${verb}: unknown subcommand '${sub}'.` : `modelops ${verb}: missing subcommand.`);
    io.err(usage);
    return 2;
  }
  return run(rest, io);
}

/** Runs `use` with a registry and closes it whatever happens. */
export async function withRegistry<R extends { close(): void }, T>(
  registry: R,
  use: (registry: R) => T | Promise<T>,
): Promise<T> {
  try {
    return await use(registry);
  } finally {
    registry.close();
  }
}
