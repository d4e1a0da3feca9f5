/**
 * The same end-to-end checks, run inside a desktop VS Code's extension host by
 * scripts/run-vscode-tests.mjs (the @vscode/test-electron protocol: VS Code loads this module
 * with --extensionTestsPath and calls run()). For machines where a VS Code executable exists;
 * this machine uses code-server instead (test/e2e/workbench.test.ts).
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

async function waitForDiagnostics(uri: vscode.Uri, codes: string[], timeoutMs: number): Promise<vscode.Diagnostic[]> {
  const has = (): vscode.Diagnostic[] | undefined => {
    const ds = vscode.languages.getDiagnostics(uri);
    const found = ds.map((d) => (typeof d.code === 'object' ? String(d.code.value) : String(d.code)));
    return codes.every((c) => found.includes(c)) ? ds : undefined;
  };
  return (
    has() ??
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.dispose();
        reject(
          new Error(
            `no diagnostics ${codes.join(', ')} on ${uri.fsPath} within ${timeoutMs} ms; got ${JSON.stringify(vscode.languages.getDiagnostics(uri).map((d) => d.message))}`,
          ),
        );
      }, timeoutMs);
      const sub = vscode.languages.onDidChangeDiagnostics(() => {
        const ds = has();
        if (!ds) return;
        clearTimeout(timer);
        sub.dispose();
        resolve(ds);
      });
    })
  );
}

export async function run(): Promise<void> {
  const ext = vscode.extensions.getExtension('modelops.modelops-vscode');
  assert.ok(ext, 'the extension is installed');
  await ext.activate();
  const commands = await vscode.commands.getCommands(true);
  for (const id of [
    'modelops.init',
    'modelops.train',
    'modelops.deploy',
    'modelops.promote',
    'modelops.restartSidecar',
  ]) {
    assert.ok(commands.includes(id), `${id} is registered`);
  }
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the runner opens a workspace folder');
  const config = vscode.Uri.joinPath(folder.uri, 'modelops.yaml');
  await vscode.window.showTextDocument(config);
  const ds = await waitForDiagnostics(config, ['unknown-key', 'unknown-column'], 30_000);
  assert.ok(ds.some((d) => /Unknown key 'epocs'/.test(d.message)));
  assert.ok(ds.some((d) => /'weathr' is not a column/.test(d.message)));
  // The tree view's command works against the running sidecar.
  await vscode.commands.executeCommand('modelops.refresh');
}
