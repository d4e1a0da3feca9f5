/** Workspace requests: init, the sample, and the config a version was registered with (stored copy, then workspace or git by digest). */
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ServerContext } from '../context';
import { workspace as rpc } from '../../protocol';
import type { TargetInfo, VersionConfigResult } from '../../protocol/workspace';
import { loadConfig } from '../../engine/config';
import { ModelOpsError } from '../../engine/errors';
import { initWorkspace } from '../../engine/init';
import { versionConfig } from '../../engine/registry';
import { originOf, secretName } from '../../engine/deploy/tokens';

const CONFIG_NAMES = ['modelops.yaml', 'modelops.yml'];

export function registerWorkspace(ctx: ServerContext): void {
  ctx.handle(rpc.targets, async (p): Promise<TargetInfo[]> => {
    const { config } = await loadConfig(ctx.configPath(p?.configUri));
    return Object.entries(config.deploy?.targets ?? {}).map(([name, t]) => ({
      name,
      type: t.type,
      url: t.url ?? (t.type === 'local' ? `http://${t.host ?? '127.0.0.1'}:${t.port ?? 8765}` : null),
      origin: t.type === 'http' && t.url ? originOf(t.url) : null,
      requireApproval: t.requireApproval === true,
      tokenSecret: t.tokenSecret ?? null,
      secret: secretName(name, t),
    }));
  });

  ctx.handle(rpc.init, (p) => initWorkspace(resolve(p.folder), { force: p.force === true }));

  ctx.handle(rpc.openSample, (p) => {
    const folder = resolve(p.folder);
    if (existsSync(folder) && readdirSync(folder).some((n) => CONFIG_NAMES.includes(n))) {
      throw new ModelOpsError(
        'config-exists',
        `${folder} already has a modelops.yaml.`,
        'Choose an empty folder for the sample.',
      );
    }
    return initWorkspace(folder);
  });

  ctx.handle(rpc.versionConfig, (p): Promise<VersionConfigResult> => versionConfig(ctx.registry(), p.ref));
}
