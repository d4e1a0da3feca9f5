/**
 * Watches model files in the workspace and offers to register a new version when one is
 * written (setting `modelops.registerOnChange`: ask | auto | off). The watcher is narrow: only
 * model file names, never the store or node_modules.
 */
import * as vscode from 'vscode';
import type { Ctx } from './ctx';
import { registerPath } from './services/register';

export const MODEL_FILE_GLOB =
  '**/{*.onnx,*.keras,*.h5,*.hdf5,*.pt,*.pth,*.safetensors,*.pkl,*.joblib,model.json,saved_model.pb}';
const IGNORED = /(^|[\\/])(\.modelops|node_modules|\.git|\.venv|venv|__pycache__)([\\/]|$)/;
/** Writers often touch a file several times; act once it has been quiet for this long. */
const SETTLE_MS = 1500;

export type RegisterOnChange = 'ask' | 'auto' | 'off';

/** model.onnx beside a modelops.json is an ONNX bundle: the folder is the model, with its run spec. */
async function isOnnxBundle(modelOnnx: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(vscode.Uri.joinPath(modelOnnx, '..', 'modelops.json'));
    return true;
  } catch {
    return false;
  }
}

export class ModelFileWatcher implements vscode.Disposable {
  private readonly watcher: vscode.FileSystemWatcher;
  private readonly pending = new Map<string, NodeJS.Timeout>();
  /** Files the user said not to ask about again in this session. */
  private readonly muted = new Set<string>();
  constructor(private readonly ctx: Ctx) {
    this.watcher = vscode.workspace.createFileSystemWatcher(MODEL_FILE_GLOB, false, false, true);
    this.watcher.onDidCreate((u) => this.changed(u));
    this.watcher.onDidChange((u) => this.changed(u));
  }

  private mode(): RegisterOnChange {
    return vscode.workspace.getConfiguration('modelops').get<RegisterOnChange>('registerOnChange', 'ask');
  }

  private changed(uri: vscode.Uri): void {
    if (uri.scheme !== 'file' || IGNORED.test(vscode.workspace.asRelativePath(uri))) return;
    if (this.mode() === 'off' || this.muted.has(uri.toString())) return;
    const key = uri.toString();
    const t = this.pending.get(key);
    if (t) clearTimeout(t);
    this.pending.set(
      key,
      setTimeout(() => {
        this.pending.delete(key);
        void this.offer(uri);
      }, SETTLE_MS),
    );
  }

  private async offer(uri: vscode.Uri): Promise<void> {
    const mode = this.mode();
    if (mode === 'off') return;
    // A SavedModel or TF.js model is its folder; other formats are the file itself.
    const base = uri.path.split('/').pop() ?? '';
    const target =
      base === 'saved_model.pb' || base === 'model.json' || (base === 'model.onnx' && (await isOnnxBundle(uri)))
        ? vscode.Uri.joinPath(uri, '..')
        : uri;
    const name = vscode.workspace.asRelativePath(target);
    this.ctx.output.info(`model file changed: ${name}`);
    try {
      if (mode === 'auto') {
        await registerPath(this.ctx, target, 'auto');
        return;
      }
      const yes = 'Register Version…';
      const mute = "Don't Ask for This File";
      // Only ONNX (and ModelOps' own bundles) can be evaluated and deployed; say so before asking.
      const runnable = /\.onnx$/i.test(base) || base === 'model.json';
      const what = runnable
        ? 'Register it as a new model version?'
        : 'Register it as a new model version? ModelOps stores this format but cannot run it: export to ONNX to evaluate and deploy it.';
      const choice = await vscode.window.showInformationMessage(`ModelOps: ${name} changed. ${what}`, yes, mute);
      if (choice === yes) await registerPath(this.ctx, target, 'ask');
      else if (choice === mute) this.muted.add(uri.toString());
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.ctx.output.warn(`registering ${name}: ${message}`);
      void vscode.window.showErrorMessage(`ModelOps: ${message}`);
    }
  }

  dispose(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    this.watcher.dispose();
  }
}
