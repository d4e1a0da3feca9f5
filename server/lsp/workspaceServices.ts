/**
 * The workspace state the sidecar's handlers share, owned by the ServerContext (server/lsp/main.ts
 * creates it): one registry instance per workspace root, config path resolution and the alias
 * lookup of gate diagnostics. Handler modules reach it only through ctx, never a module global.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { core, type NotificationType, type ParamsOf } from '../protocol';
import { ModelOpsError } from '../engine/errors';
import { openRegistry, type LostDatabase } from '../engine/registry';
import type { WorkspaceRegistry } from '../engine/registry/registry';

/** Another process (the CLI, a second window) may write the store: check for its commits this often. */
const EXTERNAL_POLL_MS = 1000;

/** What the services need from the server. */
export interface ServicesHost {
  workspaceRoot(): string | null;
  log(message: string): void;
  notify<T extends NotificationType<unknown>>(type: T, params: ParamsOf<T>): void;
}

/** The ServerContext members these services provide. */
export interface WorkspaceServices {
  /**
   * The workspace registry, opened for writing on first use at the workspace root (creating the
   * workspace store). A workspace that cannot be written gets a read-only registry; a failed open
   * is retried on the next call.
   */
  registry(): WorkspaceRegistry;
  /** For reads: the shared registry once a store exists; an empty read-only stand-in before that. */
  readRegistry(): WorkspaceRegistry;
  /** Closes the registry instances (the next call reopens them), e.g. after confirming a new registry. */
  closeRegistry(): void;
  /** The workspace root, or a `no-workspace` error naming what to open. */
  requireRoot(): string;
  /**
   * The config a request names: a file: URI, an absolute path, a path relative to the workspace
   * root, or (none) the root's modelops.yaml.
   */
  configPath(uri?: string): string;
  /** Whether a version of `model` holds `alias` (gate diagnostics); true when the registry cannot answer, so nothing is warned wrongly. */
  aliasExists(model: string, alias: string): boolean;
}

export function createWorkspaceServices(host: ServicesHost): WorkspaceServices {
  let registry: WorkspaceRegistry | null = null;
  /** Stand-in while the workspace has no store yet, so listing does not create `.modelops/`. */
  let empty: WorkspaceRegistry | null = null;
  let openRoot: string | null = null;
  let timer: NodeJS.Timeout | null = null;
  let unsubscribe: (() => void) | null = null;

  const close = (): void => {
    if (timer) clearInterval(timer);
    unsubscribe?.();
    registry?.close();
    empty?.close();
    registry = null;
    empty = null;
    openRoot = null;
    timer = null;
    unsubscribe = null;
  };

  const registryRoot = (): string => {
    const root = host.workspaceRoot();
    if (!root) {
      throw new ModelOpsError(
        'no-workspace',
        'No workspace folder is open, so there is no model registry.',
        'Open a folder (File › Open Folder…) to use the registry.',
      );
    }
    return resolve(root);
  };

  /** Prepares the state for the workspace root, dropping an instance opened for another root; starts the change poll. */
  const prepare = (): string => {
    const root = registryRoot();
    if (openRoot !== root) {
      close();
      openRoot = root;
    }
    if (!timer) {
      timer = setInterval(() => {
        try {
          if (registry) {
            if (registry.changedElsewhere()) host.notify(core.changed, { kind: 'models' });
          } else if (empty && openRoot && existsSync(join(openRoot, '.modelops', 'registry.db'))) {
            // Another process created the store: the next request opens it.
            empty.close();
            empty = null;
            host.notify(core.changed, { kind: 'models' });
          }
        } catch {
          /* the next request reports a broken store */
        }
      }, EXTERNAL_POLL_MS);
      timer.unref();
    }
    return root;
  };

  const shared = (): WorkspaceRegistry => {
    const root = prepare();
    if (registry) return registry;
    let reg: WorkspaceRegistry;
    try {
      reg = openRegistry(root);
    } catch (e) {
      if (!(e instanceof ModelOpsError && e.code === 'store-readonly')) throw e;
      host.log(`registry: ${e.describe()} Opening read-only.`);
      reg = openRegistry(root, { readonly: true });
    }
    for (const w of reg.warnings) host.log(`registry: ${w}`);
    if (reg.lostDatabase)
      host.log(
        `registry: ${lostText(reg.lostDatabase)}; writes are refused until it is restored or a new registry is confirmed.`,
      );
    empty?.close();
    empty = null;
    registry = reg;
    unsubscribe = reg.onChange((e) =>
      host.notify(core.changed, e.model ? { kind: e.kind, model: e.model } : { kind: e.kind }),
    );
    return reg;
  };

  const read = (): WorkspaceRegistry => {
    const root = prepare();
    if (registry) return registry;
    if (existsSync(join(root, '.modelops', 'registry.db'))) return shared();
    empty ??= openRegistry(root, { readonly: true });
    return empty;
  };

  const requireRoot = (): string => {
    const root = host.workspaceRoot();
    if (!root)
      throw new ModelOpsError(
        'no-workspace',
        'No workspace folder is open.',
        'Open the folder that holds modelops.yaml.',
      );
    return root;
  };

  return {
    registry: shared,
    readRegistry: read,
    closeRegistry: close,
    requireRoot,
    configPath: (uri) => {
      const root = requireRoot();
      if (!uri) return resolve(root, 'modelops.yaml');
      if (uri.startsWith('file:')) return fileURLToPath(uri);
      return isAbsolute(uri) ? uri : resolve(root, uri);
    },
    aliasExists: (model, alias) => {
      try {
        return read()
          .listModels()
          .some((m) => m.name === model && alias in m.aliases);
      } catch {
        return true; // no registry answer: do not warn
      }
    },
  };
}

function lostText(l: LostDatabase): string {
  return `registry.db is ${l.database === 'missing' ? 'missing' : 'empty'} while the store holds ${l.artifacts} artifact file(s) and ${l.deployments} deployment record(s)`;
}
