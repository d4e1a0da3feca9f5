/** What deploy, rollback and monitor share: the workspace and its config, the token source, `serve`. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CliIO } from '../command';
import { ModelOpsError } from '../../engine/errors';
import { loadConfig } from '../../engine/config';
import type { ModelOpsConfig } from '../../engine/config/types';
import { parseOrigin, tokenResolver, type ServeCommand, type TokenFor } from '../../engine/deploy';
import { findWorkspaceRoot } from './args';

/**
 * The CLI's token source: MODELOPS_TOKEN_<tokenSecret or target>, sent to an http target only
 * when its origin is allowed by MODELOPS_TOKEN_<NAME>_ORIGIN (the user's environment) or
 * `--token-origin` (the user's command line): a cloned repository's modelops.yaml alone never
 * decides where a token goes.
 */
export function envTokenFor(env: NodeJS.ProcessEnv, allowOrigins: string[] = []): TokenFor {
  return tokenResolver({
    trusted: () => true,
    env,
    allowOrigins: allowOrigins.map((o) => parseOrigin(o, '--token-origin')),
    consentHint: '',
  });
}

/** `--token-origin` for deploy, rollback and monitor: repeatable. */
export const TOKEN_ORIGIN_OPTION = { 'token-origin': { type: 'string', multiple: true } } as const;

export const TOKEN_USAGE = `Tokens come from MODELOPS_TOKEN_<tokenSecret or TARGET>, never from the config. A token is sent to an
http target only if its origin is allowed: MODELOPS_TOKEN_<NAME>_ORIGIN=https://host[:port] (comma-separated
for several) or --token-origin https://host[:port].`;

/** `modelops serve` the way this CLI process was started (works from dist/ and from source). */
export function selfServeCommand(): ServeCommand {
  return { execPath: process.execPath, args: [...process.execArgv, process.argv[1]] };
}

/** The workspace root, the registry and the parsed config shared by deploy, rollback and monitor. */
export async function openWorkspace(
  io: CliIO,
  rootOpt: string | undefined,
  configOpt: string | undefined,
): Promise<{ root: string; config: ModelOpsConfig; configDir: string }> {
  const root = findWorkspaceRoot(io.cwd, rootOpt);
  const path = configOpt ? join(io.cwd, configOpt) : join(root, 'modelops.yaml');
  if (!existsSync(path))
    throw new ModelOpsError('no-config', `No modelops.yaml at ${path}.`, 'Run `modelops init` or pass --config.');
  const { config } = await loadConfig(path);
  return { root, config, configDir: dirname(path) };
}
