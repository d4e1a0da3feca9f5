import * as vscode from 'vscode';
import { core, workspace } from '../../server/protocol';
import { pickConfig } from '../configFiles';
import { UserError } from '../ctx';
import type { CommandFactory } from './command';

export const init: CommandFactory = (ctx) => async () => {
  const folder = ctx.workspaceFolder();
  if (!folder)
    throw new UserError('Open a folder first: modelops.yaml is written at the root of the workspace folder.');
  const target = vscode.Uri.joinPath(folder.uri, 'modelops.yaml');
  let force = false;
  try {
    await vscode.workspace.fs.stat(target);
    const replace = 'Replace';
    const choice = await vscode.window.showWarningMessage(
      `${vscode.workspace.asRelativePath(target)} already exists. Replace it with the starter config?`,
      { modal: true },
      replace,
    );
    if (choice !== replace) {
      await vscode.window.showTextDocument(target);
      return;
    }
    force = true;
  } catch {
    // No config yet: write it.
  }
  const result = await ctx.request(workspace.init, { folder: folder.uri.fsPath, force });
  ctx.output.info(`init wrote ${result.written.join(', ')}`);
  const config = vscode.Uri.file(result.configPath);
  try {
    await vscode.window.showTextDocument(config);
  } catch {
    // The walkthrough, opened on a first activation, can cancel an editor opening at the same
    // moment ("Could NOT open editor"): the file is written, so open it again once.
    await new Promise((r) => setTimeout(r, 500));
    await vscode.window.showTextDocument(config);
  }
};

export const openSample: CommandFactory = (ctx) => async () => {
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
    openLabel: 'Create sample here',
    title: 'ModelOps: choose an empty folder for the sample workspace',
  });
  const folder = picked?.[0];
  if (!folder) return;
  const entries = await vscode.workspace.fs.readDirectory(folder);
  if (entries.some(([name]) => name === 'modelops.yaml' || name === 'modelops.yml')) {
    throw new UserError(`${folder.fsPath} already has a modelops.yaml — choose an empty folder for the sample.`);
  }
  const result = await ctx.request(workspace.openSample, { folder: folder.fsPath });
  ctx.output.info(`sample written: ${result.written.join(', ')}`);
  await vscode.commands.executeCommand('vscode.openFolder', folder, {
    forceNewWindow: vscode.workspace.workspaceFolders !== undefined,
  });
};

/**
 * Opens the config (which makes the sidecar analyse it), waits for its diagnostics and says how
 * many problems there are; the Problems panel has the detail.
 */
export const validate: CommandFactory = (ctx) => async (arg?: unknown) => {
  const uri = arg instanceof vscode.Uri ? arg : await pickConfig();
  if (!uri) throw new UserError('No modelops.yaml in this workspace — run "ModelOps: Create modelops.yaml" first.');
  const key = uri.toString();
  const open = vscode.workspace.textDocuments.some((d) => d.uri.toString() === key);
  let count: number;
  if (open) {
    // An open document is analysed on every change: its diagnostics are current.
    await vscode.window.showTextDocument(uri, { preview: false });
    count = vscode.languages.getDiagnostics(uri).length;
  } else {
    const done = new Promise<number>((resolve) => {
      const timer = setTimeout(() => {
        sub.dispose();
        resolve(-1);
      }, 15_000);
      const sub = ctx.onNotification(core.validated, (p) => {
        if (p.uri !== key) return;
        clearTimeout(timer);
        sub.dispose();
        resolve(p.diagnostics);
      });
    });
    await vscode.window.showTextDocument(uri, { preview: false });
    count = await done;
  }
  const name = vscode.workspace.asRelativePath(uri);
  if (count < 0) {
    void vscode.window.showInformationMessage(`ModelOps: ${name} is open; its problems appear in the Problems panel.`);
  } else if (count === 0) {
    void vscode.window.showInformationMessage(`ModelOps: ${name} is valid.`);
  } else {
    await vscode.commands.executeCommand('workbench.actions.view.problems');
    void vscode.window.showWarningMessage(
      `ModelOps: ${name} has ${count} problem${count === 1 ? '' : 's'} — see the Problems panel.`,
    );
  }
};
