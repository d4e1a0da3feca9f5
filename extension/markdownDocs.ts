/**
 * Read-only markdown documents (`modelops-doc:`) for version details, lineage and comparisons,
 * shown in the markdown preview. Content lives in memory for the session.
 */
import * as vscode from 'vscode';

export const DOC_SCHEME = 'modelops-doc';

export class MarkdownDocs implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly docs = new Map<string, string>();
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.docs.get(uri.toString()) ?? '# Gone\n\nThis view is no longer available; run the command again.\n';
  }

  /** Shows markdown in the preview (the source when no preview is available). */
  async show(name: string, markdown: string): Promise<void> {
    const uri = vscode.Uri.from({ scheme: DOC_SCHEME, path: `/${name.replace(/[^\w.@-]+/g, '-')}.md` });
    this.docs.set(uri.toString(), markdown);
    this.emitter.fire(uri);
    try {
      await vscode.commands.executeCommand('markdown.showPreview', uri);
    } catch {
      await vscode.window.showTextDocument(uri, { preview: true });
    }
  }

  dispose(): void {
    this.emitter.dispose();
    this.docs.clear();
  }
}
