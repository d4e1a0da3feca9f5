/**
 * Knows whether the workspace has a modelops.yaml (drives the welcome view through the
 * `modelops.hasConfig` context key) and finds it for commands.
 */
import * as vscode from 'vscode';

export const CONFIG_GLOB = '**/modelops.{yaml,yml}';
const EXCLUDE = '{**/node_modules/**,**/.modelops/**,**/.git/**}';

export class ConfigFiles implements vscode.Disposable {
  private readonly watcher: vscode.FileSystemWatcher;
  private readonly emitter = new vscode.EventEmitter<boolean>();
  /** A config appeared or went away. */
  readonly onDidChange = this.emitter.event;
  private readonly contentEmitter = new vscode.EventEmitter<vscode.Uri>();
  /** A config's content changed on disk. */
  readonly onDidChangeContent = this.contentEmitter.event;
  private has = false;
  private calls = 0;

  constructor() {
    this.watcher = vscode.workspace.createFileSystemWatcher(CONFIG_GLOB);
    this.watcher.onDidCreate(() => void this.refresh());
    this.watcher.onDidChange((uri) => this.contentEmitter.fire(uri));
    this.watcher.onDidDelete(() => void this.refresh());
    void this.refresh();
  }

  get hasConfig(): boolean {
    return this.has;
  }

  async refresh(): Promise<void> {
    // Searches overlap (create, delete, open); a slow older one must not overwrite a newer answer.
    const call = ++this.calls;
    const found = (await vscode.workspace.findFiles(CONFIG_GLOB, EXCLUDE, 1)).length > 0;
    if (call !== this.calls) return;
    this.has = found;
    await vscode.commands.executeCommand('setContext', 'modelops.hasConfig', found);
    this.emitter.fire(found);
  }

  dispose(): void {
    this.watcher.dispose();
    this.emitter.dispose();
    this.contentEmitter.dispose();
  }
}

/**
 * The config a command works on: the active editor's if it is one, else the only one in the
 * workspace, else the user picks. Undefined when there is none.
 */
export async function pickConfig(): Promise<vscode.Uri | undefined> {
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && active.scheme === 'file' && /(^|\/)modelops\.ya?ml$/.test(active.path)) return active;
  const found = await vscode.workspace.findFiles(CONFIG_GLOB, EXCLUDE, 50);
  if (found.length <= 1) return found[0];
  const picked = await vscode.window.showQuickPick(
    found.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri })),
    { title: 'ModelOps: which modelops.yaml?' },
  );
  return picked?.uri;
}

/**
 * The config to use without asking (trees, token sync): the active editor's, else the root
 * modelops.yaml, else the first one found. Undefined when there is none.
 */
export async function findConfig(): Promise<vscode.Uri | undefined> {
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && active.scheme === 'file' && /(^|\/)modelops\.ya?ml$/.test(active.path)) return active;
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (folder) {
    for (const name of ['modelops.yaml', 'modelops.yml']) {
      const uri = vscode.Uri.joinPath(folder.uri, name);
      try {
        await vscode.workspace.fs.stat(uri);
        return uri;
      } catch {
        // Not at the root; look further below.
      }
    }
  }
  return (await vscode.workspace.findFiles(CONFIG_GLOB, EXCLUDE, 1))[0];
}

/** The config's URI as the sidecar's requests name it (`configUri`), or undefined without one. */
export async function findConfigUri(): Promise<string | undefined> {
  return (await findConfig())?.toString();
}

/** Whether the workspace already has a store (.modelops/registry.db); reading never creates one. */
export async function hasStore(): Promise<boolean> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) return false;
  try {
    await vscode.workspace.fs.stat(vscode.Uri.joinPath(folder.uri, '.modelops', 'registry.db'));
    return true;
  } catch {
    return false;
  }
}
