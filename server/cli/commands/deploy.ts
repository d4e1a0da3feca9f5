/** `modelops deploy <model>@<version|alias> --target <name>`: deploy with named steps. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CliCommand, CliIO } from '../command';
import { paint } from '../output';
import { ModelOpsError } from '../../engine/errors';
import { loadConfig } from '../../engine/config';
import type { ModelOpsConfig, TargetConfig } from '../../engine/config/types';
import { openRegistry } from '../../engine/registry';
import { deploy, envName, type ServeCommand, type StepEvent } from '../../engine/deploy';
import { findWorkspaceRoot } from './versions';
export { serveCommand } from './serve';
export { rollbackCommand } from './rollback';
export { monitorCommand } from './monitor';

const USAGE = `modelops deploy <model>@<version|alias> --target <name> [--override-reason "…"] [--config modelops.yaml] [--root DIR] [--json]

Deploys a registered version: package → load → ready → smoke test → switch → record.
A failing step rolls back by itself; the previous version keeps serving.
Tokens come from MODELOPS_TOKEN_<TARGET> (or MODELOPS_TOKEN_<tokenSecret>); never from the config.`;

/** The CLI's token source: MODELOPS_TOKEN_<tokenSecret or target>. */
export function envTokenFor(env: NodeJS.ProcessEnv): (target: string, t: TargetConfig) => string | null {
  return (target, t) => env[`MODELOPS_TOKEN_${envName(t.tokenSecret ?? target)}`]?.trim() || env[`MODELOPS_TOKEN_${envName(target)}`]?.trim() || null;
}

/** `modelops serve` the way this CLI process was started (works from dist/ and from source). */
export function selfServeCommand(): ServeCommand {
  return { execPath: process.execPath, args: [...process.execArgv, process.argv[1]] };
}

/** The workspace root, the registry and the parsed config shared by deploy, rollback and monitor. */
export async function openWorkspace(io: CliIO, rootOpt: string | undefined, configOpt: string | undefined): Promise<{ root: string; config: ModelOpsConfig; configDir: string }> {
  const root = findWorkspaceRoot(io.cwd, rootOpt);
  const path = configOpt ? join(io.cwd, configOpt) : join(root, 'modelops.yaml');
  if (!existsSync(path)) throw new ModelOpsError('no-config', `No modelops.yaml at ${path}.`, 'Run `modelops init` or pass --config.');
  const { config } = await loadConfig(path);
  return { root, config, configDir: dirname(path) };
}

export function parseCli<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new ModelOpsError('cli-usage', e instanceof Error ? e.message : String(e), `Usage:\n${usage}`);
  }
}

export const deployCommand: CliCommand = {
  name: 'deploy',
  summary: 'Deploy a version to a target with a smoke test and automatic rollback',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseCli(
      argv,
      { target: { type: 'string' }, 'override-reason': { type: 'string' }, config: { type: 'string' }, root: { type: 'string' }, json: { type: 'boolean' } },
      USAGE,
    );
    const ref = positionals[0];
    const target = values.target as string | undefined;
    if (!ref || !target) throw new ModelOpsError('cli-usage', 'Missing the version reference or --target.', `Usage:\n${USAGE}`);
    const { root, config, configDir } = await openWorkspace(io, values.root as string | undefined, values.config as string | undefined);
    const registry = openRegistry(root);
    const c = paint(io.isTTY);
    const json = values.json === true;
    try {
      const result = await deploy({
        registry,
        config,
        configDir,
        ref,
        target,
        overrideReason: values['override-reason'] as string | undefined,
        tokenFor: envTokenFor(io.env),
        serveCommand: selfServeCommand(),
        onStep: (e: StepEvent) => {
          if (json || e.status === 'running') return;
          const mark = e.status === 'ok' ? c.green('✓') : c.red('✗');
          const n = e.step === 'rollback' ? '   ' : `${e.index + 1}/${e.total}`;
          io.out(`${mark} ${n} ${e.step.padEnd(10)} ${e.detail}${e.ms ? c.dim(` (${e.ms} ms)`) : ''}`);
        },
      });
      if (json) io.out(JSON.stringify({ ok: true, url: result.url, deployment: result.deployment }, null, 2));
      else io.out(`${c.bold(`${result.deployment.model}@${result.deployment.version}`)} serves on target '${target}' at ${result.url}`);
      return 0;
    } catch (e) {
      if (json && e instanceof ModelOpsError) {
        io.out(JSON.stringify({ ok: false, code: e.code, error: e.message, hint: e.hint ?? null }, null, 2));
        return 1;
      }
      throw e;
    } finally {
      registry.close();
    }
  },
};
