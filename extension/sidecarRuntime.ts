/**
 * Which Node runs the sidecar. better-sqlite3 is a native module compiled for one ABI
 * (NODE_MODULE_VERSION); it is built for the system Node, so the sidecar runs on that Node —
 * not on the editor's Electron runtime, whose ABI differs. Kept free of `vscode` so the
 * packaging test resolves the runtime exactly as the extension does.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

export type RuntimeSource = 'setting' | 'path' | 'extension-host';

export interface SidecarRuntime {
  /** Absolute path of the Node executable. */
  path: string;
  /** Where it came from: the `modelops.sidecar.nodePath` setting, `node` on PATH, or the extension host's own runtime. */
  source: RuntimeSource;
}

export interface RuntimeInputs {
  /** The `modelops.sidecar.nodePath` setting, if set. */
  setting?: string | undefined;
  /** PATH to search (defaults to process.env.PATH). */
  pathEnv?: string | undefined;
  /** The extension host's executable (process.execPath). */
  execPath: string;
  platform?: NodeJS.Platform;
}

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds an executable by name on PATH, like `which`. */
export function findOnPath(
  name: string,
  pathEnv: string | undefined,
  platform: NodeJS.Platform = process.platform,
): string | null {
  if (!pathEnv) return null;
  const names = platform === 'win32' ? [`${name}.exe`, `${name}.cmd`, name] : [name];
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    for (const n of names) {
      const candidate = join(dir, n);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return null;
}

/**
 * The setting wins; it must name an executable file (a wrong setting is an error, not a silent
 * fallback, so the user learns about it). Then `node` on PATH. Then the extension host's own
 * runtime — right in code-server, whose extension host is a plain Node.
 */
export function resolveSidecarRuntime(inputs: RuntimeInputs): SidecarRuntime {
  const setting = inputs.setting?.trim();
  if (setting) {
    if (!isAbsolute(setting) || !isExecutableFile(setting)) {
      throw new Error(
        `modelops.sidecar.nodePath is "${setting}", which is not an executable file — set it to the absolute path of a Node ${process.versions.node.split('.')[0]}+ executable, or clear it to use \`node\` from PATH.`,
      );
    }
    return { path: setting, source: 'setting' };
  }
  const onPath = findOnPath('node', inputs.pathEnv ?? process.env.PATH, inputs.platform);
  if (onPath) return { path: onPath, source: 'path' };
  return { path: inputs.execPath, source: 'extension-host' };
}

/** One line for the log: "node /usr/bin/node (from PATH)". */
export function describeRuntime(r: SidecarRuntime): string {
  const from =
    r.source === 'setting'
      ? 'setting modelops.sidecar.nodePath'
      : r.source === 'path'
        ? 'PATH'
        : 'the extension host (no node on PATH)';
  return `${r.path} (from ${from})`;
}
