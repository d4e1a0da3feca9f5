/** Workspace requests: init, the sample, and the config a version was registered with. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerContext } from '../context';
import { workspace as rpc } from '../../protocol';
import type { TargetInfo, VersionConfigResult } from '../../protocol/workspace';
import { loadConfig } from '../../engine/config';
import { ModelOpsError } from '../../engine/errors';
import { initWorkspace } from '../../engine/init';
import { sharedRegistry } from './registry';

const CONFIG_NAMES = ['modelops.yaml', 'modelops.yml'];

function sha256(text: string | Buffer): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

function gitShow(root: string, commit: string, path: string): Promise<string | null> {
  return new Promise((done) => {
    execFile('git', ['show', `${commit}:${path}`], { cwd: root, timeout: 3000, maxBuffer: 16 * 1024 * 1024, windowsHide: true }, (err, stdout) =>
      done(err ? null : stdout),
    );
  });
}

function configFile(ctx: ServerContext, uri: string | undefined): string {
  const root = ctx.workspaceRoot();
  if (!root) throw new ModelOpsError('no-workspace', 'No workspace folder is open.', 'Open the folder that holds modelops.yaml.');
  if (!uri) return resolve(root, 'modelops.yaml');
  if (uri.startsWith('file:')) return fileURLToPath(uri);
  return isAbsolute(uri) ? uri : resolve(root, uri);
}

export function registerWorkspace(ctx: ServerContext): void {
  ctx.handle(rpc.targets, async (p): Promise<TargetInfo[]> => {
    const { config } = await loadConfig(configFile(ctx, p?.configUri));
    return Object.entries(config.deploy?.targets ?? {}).map(([name, t]) => ({
      name,
      type: t.type,
      url: t.url ?? (t.type === 'local' ? `http://${t.host ?? '127.0.0.1'}:${t.port ?? 8765}` : null),
      requireApproval: t.requireApproval === true,
      tokenSecret: t.tokenSecret ?? null,
    }));
  });

  ctx.handle(rpc.init, (p) => initWorkspace(resolve(p.folder), { force: p.force === true }));

  ctx.handle(rpc.openSample, (p) => {
    const folder = resolve(p.folder);
    if (existsSync(folder) && readdirSync(folder).some((n) => CONFIG_NAMES.includes(n))) {
      throw new ModelOpsError('config-exists', `${folder} already has a modelops.yaml.`, 'Choose an empty folder for the sample.');
    }
    return initWorkspace(folder);
  });

  ctx.handle(rpc.versionConfig, async (p): Promise<VersionConfigResult> => {
    const v = sharedRegistry(ctx).getVersion(p.ref);
    const root = ctx.workspaceRoot();
    if (!v.configDigest || !root) {
      return { text: null, source: 'none', note: `${p.ref} was registered without a config.` };
    }
    for (const name of CONFIG_NAMES) {
      const file = join(root, name);
      if (!existsSync(file)) continue;
      const bytes = readFileSync(file);
      if (sha256(bytes) === v.configDigest) return { text: bytes.toString('utf8'), source: 'workspace', note: `${name} in the workspace (unchanged since ${p.ref})` };
    }
    if (v.gitCommit) {
      for (const name of CONFIG_NAMES) {
        const text = await gitShow(root, v.gitCommit, name);
        if (text !== null && sha256(text) === v.configDigest) {
          return { text, source: 'git', note: `${name} at commit ${v.gitCommit.slice(0, 10)}` };
        }
      }
    }
    return {
      text: null,
      source: 'none',
      note: `The config of ${p.ref} (digest ${v.configDigest.slice(7, 19)}) is neither the current modelops.yaml nor committed in git.`,
    };
  });
}
