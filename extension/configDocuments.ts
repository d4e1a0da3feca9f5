/**
 * Read-only documents `modelops-config:/<model>@<version>/modelops.yaml`: the config a version
 * was trained with, fetched from the sidecar, so "Compare Versions…" can open VS Code's diff
 * editor on two of them.
 */
import type * as vscode from 'vscode';
import type { Ctx } from './ctx';
import { fetchVersionConfig, refFromConfigUri } from './services/versionConfigs';

export { CONFIG_SCHEME, configUri, refFromConfigUri } from './services/versionConfigs';

export class ConfigContentProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly ctx: Ctx) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const ref = refFromConfigUri(uri);
    try {
      return await fetchVersionConfig(this.ctx, ref);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.ctx.output.warn(`config of ${ref}: ${message}`);
      return `# The config of ${ref} could not be read: ${message}\n`;
    }
  }
}
