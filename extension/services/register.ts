/** Registering a model file or folder as a version: Register Version… and the model-file watcher (watchers.ts). */
import * as vscode from 'vscode';
import { registry } from '../../server/protocol';
import type { VersionRecord } from '../../server/engine/registry/types';
import type { Ctx } from '../ctx';
import { formatBytes, MODEL_NAME, suggestModelName } from '../tree/format';
import { gateLabel } from '../../shared/gateState';
import { ref } from '../text/version';

async function askModelName(ctx: Ctx, suggestion: string, preset?: string): Promise<string | undefined> {
  if (preset) return preset;
  const models = await ctx.request(registry.listModels, {});
  const newItem = { label: '$(add) New model…', name: '' };
  const items = [
    ...models.map((m) => ({ label: m.name, description: `${m.versionCount} versions`, name: m.name })),
    newItem,
  ];
  const picked = models.length
    ? await vscode.window.showQuickPick(items, { title: 'Register as a version of which model?' })
    : newItem;
  if (!picked) return undefined;
  if (picked.name) return picked.name;
  return vscode.window.showInputBox({
    title: 'New model name',
    value: suggestion,
    validateInput: (v) =>
      MODEL_NAME.test(v)
        ? undefined
        : 'Use lower-case letters, digits, ".", "_" or "-" (up to 64), starting with a letter or digit.',
  });
}

/** Registers a file or folder; `auto` registers without questions under a name from the file. */
export async function registerPath(
  ctx: Ctx,
  source: vscode.Uri,
  mode: 'ask' | 'auto',
  presetModel?: string,
): Promise<VersionRecord | undefined> {
  const suggestion = suggestModelName(source.fsPath);
  const model = mode === 'auto' ? (presetModel ?? suggestion) : await askModelName(ctx, suggestion, presetModel);
  if (!model) return undefined;
  let note: string | undefined;
  let version: string | undefined;
  if (mode === 'ask') {
    note = await vscode.window.showInputBox({
      title: `Changelog note for the new version of ${model} (optional)`,
      placeHolder: 'What changed',
    });
    if (note === undefined) return undefined;
    version = await vscode.window.showInputBox({
      title: 'Version (optional)',
      placeHolder: 'Leave empty to bump automatically: major for a new signature, minor for new weights',
      validateInput: (v) =>
        v === '' || /^\d+\.\d+\.\d+$/.test(v) ? undefined : 'A semantic version: MAJOR.MINOR.PATCH',
    });
    if (version === undefined) return undefined;
  }
  const v = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Registering ${vscode.workspace.asRelativePath(source)} as ${model}…`,
    },
    () =>
      ctx.request(registry.registerVersion, {
        model,
        source: source.fsPath,
        ...(version ? { version } : {}),
        ...(note ? { note } : {}),
      }),
  );
  ctx.output.info(`registered ${ref(v)} from ${source.fsPath} (${v.format}, ${formatBytes(v.sizeBytes)})`);
  if (v.signature) {
    for (const t of v.signature.inputs) ctx.output.info(`  input  ${t.name} ${t.datatype} [${t.shape.join(', ')}]`);
    for (const t of v.signature.outputs) ctx.output.info(`  output ${t.name} ${t.datatype} [${t.shape.join(', ')}]`);
  }
  if (v.notice) {
    // Stored, but nothing here can run it: say what works and give the export call.
    ctx.output.warn(`${ref(v)}: ${v.notice}`);
    const show = 'Show Export Call';
    void vscode.window
      .showWarningMessage(
        `ModelOps: registered ${ref(v)} (${v.format}), but ModelOps cannot run it, so it cannot be evaluated, gated or deployed. Export it to ONNX and register that file.`,
        show,
      )
      .then((c) => {
        if (c === show) ctx.output.show(true);
      });
    return v;
  }
  const gates = gateLabel(v.gates);
  const sig = v.signature
    ? `, ${v.signature.inputs.length} input${v.signature.inputs.length === 1 ? '' : 's'} → ${v.signature.outputs.length} output${v.signature.outputs.length === 1 ? '' : 's'}`
    : '';
  void vscode.window.showInformationMessage(`ModelOps: registered ${ref(v)} (${v.format}${sig}; ${gates}).`);
  return v;
}
