/**
 * Addresses and text of the config a version was trained with (`modelops-config:` documents).
 * Shared by the content provider (configDocuments.ts) and the commands that open them
 * (commands/registry.ts), which would otherwise import each other.
 */
import * as vscode from 'vscode';
import { workspace } from '../../server/protocol';
import type { Ctx } from '../ctx';

export const CONFIG_SCHEME = 'modelops-config';

export function configUri(model: string, version: string): vscode.Uri {
  return vscode.Uri.from({ scheme: CONFIG_SCHEME, path: `/${model}@${version}/modelops.yaml` });
}

/** "weather@1.2.0" from a modelops-config URI. */
export function refFromConfigUri(uri: vscode.Uri): string {
  return decodeURIComponent(uri.path.split('/')[1] ?? '');
}

/** The config text of a version, from the sidecar (a comment saying why when there is none). */
export async function fetchVersionConfig(ctx: Ctx, versionRef: string): Promise<string> {
  const r = await ctx.request(workspace.versionConfig, { ref: versionRef });
  return r.text ?? `# ${r.note}\n`;
}
