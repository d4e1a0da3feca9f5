/** The registry's requests on the sidecar, and the one registry instance other handlers share. */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ServerContext } from '../context';
import { core, registry as rpc } from '../../protocol';
import { ModelOpsError } from '../../engine/errors';
import { buildLineage, detectModelFormat, openRegistry, type LostDatabase } from '../../engine/registry';
import { registerModel } from '../../engine/registry/registerModel';
import { loadConfig } from '../../engine/config';
import type { WorkspaceRegistry } from '../../engine/registry/registry';
import { setAliasLookup } from './language';

/** Another process (the CLI, a second window) may write the store: check for its commits this often. */
const EXTERNAL_POLL_MS = 1000;

interface State {
  registry: WorkspaceRegistry | null;
  /** Stand-in while the workspace has no store yet, so listing does not create `.modelops/`. */
  empty: WorkspaceRegistry | null;
  root: string | null;
  timer: NodeJS.Timeout | null;
  unsubscribe: (() => void) | null;
}

const states = new WeakMap<ServerContext, State>();

function state(ctx: ServerContext): State {
  let s = states.get(ctx);
  if (!s) {
    s = { registry: null, empty: null, root: null, timer: null, unsubscribe: null };
    states.set(ctx, s);
  }
  return s;
}

function closeState(s: State): void {
  if (s.timer) clearInterval(s.timer);
  s.unsubscribe?.();
  s.registry?.close();
  s.empty?.close();
  s.registry = null;
  s.empty = null;
  s.root = null;
  s.timer = null;
  s.unsubscribe = null;
}

function workspaceRoot(ctx: ServerContext): string {
  const root = ctx.workspaceRoot();
  if (!root) {
    throw new ModelOpsError('no-workspace', 'No workspace folder is open, so there is no model registry.', 'Open a folder (File › Open Folder…) to use the registry.');
  }
  return resolve(root);
}

/** Prepares the state for `root`, dropping an instance opened for another root; starts the change poll. */
function stateFor(ctx: ServerContext, root: string): State {
  const s = state(ctx);
  if (s.root !== root) {
    closeState(s);
    s.root = root;
  }
  if (!s.timer) {
    s.timer = setInterval(() => {
      try {
        if (s.registry) {
          if (s.registry.changedElsewhere()) ctx.notify(core.changed, { kind: 'models' });
        } else if (s.empty && s.root && existsSync(join(s.root, '.modelops', 'registry.db'))) {
          // Another process created the store: the next request opens it.
          s.empty.close();
          s.empty = null;
          ctx.notify(core.changed, { kind: 'models' });
        }
      } catch {
        /* the next request reports a broken store */
      }
    }, EXTERNAL_POLL_MS);
    s.timer.unref();
  }
  return s;
}

/**
 * The sidecar's registry, opened for writing on first use at the workspace root (creating the
 * workspace store). A workspace that cannot be written gets a read-only registry; a failed open
 * is retried on the next call.
 */
export function sharedRegistry(ctx: ServerContext): WorkspaceRegistry {
  const s = stateFor(ctx, workspaceRoot(ctx));
  if (s.registry) return s.registry;
  const root = s.root as string;
  let reg: WorkspaceRegistry;
  try {
    reg = openRegistry(root);
  } catch (e) {
    if (!(e instanceof ModelOpsError && e.code === 'store-readonly')) throw e;
    ctx.log(`registry: ${e.describe()} Opening read-only.`);
    reg = openRegistry(root, { readonly: true });
  }
  for (const w of reg.warnings) ctx.log(`registry: ${w}`);
  if (reg.lostDatabase) ctx.log(`registry: ${lostText(reg.lostDatabase)}; writes are refused until it is restored or a new registry is confirmed.`);
  s.empty?.close();
  s.empty = null;
  s.registry = reg;
  s.unsubscribe = reg.onChange((e) => ctx.notify(core.changed, e.model ? { kind: e.kind, model: e.model } : { kind: e.kind }));
  return reg;
}

/** For reads: the shared registry once a store exists; an empty read-only stand-in before that. */
export function readRegistry(ctx: ServerContext): WorkspaceRegistry {
  const s = stateFor(ctx, workspaceRoot(ctx));
  if (s.registry) return s.registry;
  if (existsSync(join(s.root as string, '.modelops', 'registry.db'))) return sharedRegistry(ctx);
  s.empty ??= openRegistry(s.root as string, { readonly: true });
  return s.empty;
}

export function registerRegistry(ctx: ServerContext): void {
  const w = (): WorkspaceRegistry => sharedRegistry(ctx);
  const r = (): WorkspaceRegistry => readRegistry(ctx);
  ctx.onShutdown(() => closeState(state(ctx)));
  // Gate warnings in modelops.yaml ("no version holds alias production yet") ask the registry.
  setAliasLookup((model, alias) => r().listModels().some((m) => m.name === model && alias in m.aliases));

  ctx.handle(rpc.storeState, () => {
    const reg = r();
    return { lost: reg.lostDatabase, warnings: reg.warnings };
  });
  ctx.handle(rpc.confirmNewRegistry, () => {
    const root = workspaceRoot(ctx);
    closeState(stateFor(ctx, root));
    const reg = openRegistry(root, { confirmNewRegistry: true });
    reg.close();
    ctx.notify(core.changed, { kind: 'models' });
    const fresh = sharedRegistry(ctx);
    return { lost: fresh.lostDatabase, warnings: [...reg.warnings, ...fresh.warnings] };
  });
  ctx.handle(rpc.listModels, () => r().listModels());
  ctx.handle(rpc.listVersions, (p) => r().listVersions(p));
  ctx.handle(rpc.getVersion, (p) => r().getVersion(p.ref));
  ctx.handle(rpc.registerVersion, async (p) => {
    // A bare .onnx file in a trusted workspace with a modelops.yaml: the config says how to run
    // it, and it is evaluated and gated at once, as `modelops versions register --config` does.
    const root = workspaceRoot(ctx);
    const source = resolve(root, p.source);
    const config = join(root, 'modelops.yaml');
    // A config with errors does not block registering the file: it is registered from its metadata_props.
    const usable = async () => existsSync(config) && (await loadConfig(config).then(() => true, () => false));
    if (ctx.trusted() && p.onnx === undefined && p.format === undefined && detectModelFormat(source) === 'onnx' && statSync(source).isFile() && (await usable())) {
      const r = await registerModel({ registry: w(), configPath: config, source, model: p.model, version: p.version, note: p.note ?? null, tags: p.tags ?? [], cwd: root });
      return r.version;
    }
    return w().registerVersion(p);
  });
  ctx.handle(rpc.setAlias, (p) => w().setAlias(p.model, p.alias, p.version, p.reason ?? null, { forceReason: p.forceReason ?? null }));
  ctx.handle(rpc.rollbackAlias, (p) => w().rollbackAlias(p.model, p.alias, p.reason ?? null));
  ctx.handle(rpc.aliasHistory, (p) => r().aliasHistory(p.model, p.alias));
  ctx.handle(rpc.compareVersions, (p) => r().compareVersions(p.a, p.b));
  ctx.handle(rpc.archiveVersion, (p) => w().archiveVersion(p.ref, p.archived ?? true));
  ctx.handle(rpc.deleteVersion, (p) => {
    w().deleteVersion(p.ref);
    return { deleted: p.ref };
  });
  ctx.handle(rpc.setTags, (p) => w().setTags(p.ref, p.tags));
  ctx.handle(rpc.artifactPath, async (p) => ({ path: await w().artifactPath(p.ref) }));
  ctx.handle(rpc.listRuns, (p) => r().listRuns(p ?? {}));
  ctx.handle(rpc.getRun, (p) => r().getRun(p.id));
  ctx.handle(rpc.runMetrics, (p) => r().runMetrics(p.id));
  ctx.handle(rpc.listDatasets, () => r().listDatasets());
  ctx.handle(rpc.listDeployments, (p) => r().listDeployments(p ?? {}));
  ctx.handle(rpc.listAlerts, (p) => r().listAlerts(p ?? {}));
  ctx.handle(rpc.lineage, (p) => buildLineage(r(), p.ref));
  ctx.handle(rpc.configText, async (p) => {
    const reg = r();
    const v = reg.getVersion(p.ref);
    const ref = `${v.model}@${v.version}`;
    return { ref, configDigest: v.configDigest, text: await reg.configText(ref) };
  });
}

function lostText(l: LostDatabase): string {
  return `registry.db is ${l.database === 'missing' ? 'missing' : 'empty'} while the store holds ${l.artifacts} artifact file(s) and ${l.deployments} deployment record(s)`;
}
