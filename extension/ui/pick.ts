/** Quick picks shared by the commands: a tree node argument wins, otherwise the user picks. */
import * as vscode from 'vscode';
import { registry } from '../../server/protocol';
import type { ModelRecord, VersionRecord } from '../../server/engine/registry/types';
import { UserError, type Ctx } from '../ctx';
import { versionDescription } from '../tree/format';

/** A version from a tree node (`{ kind: 'version', version }`) or from an `model@version` string. */
export function versionFromArg(arg: unknown): VersionRecord | undefined {
  if (arg && typeof arg === 'object' && 'kind' in arg && arg.kind === 'version' && 'version' in arg) {
    return arg.version as VersionRecord;
  }
  return undefined;
}

export function modelFromArg(arg: unknown): string | undefined {
  if (arg && typeof arg === 'object' && 'kind' in arg) {
    if (arg.kind === 'model' && 'model' in arg) return (arg.model as ModelRecord).name;
    if (arg.kind === 'version' && 'version' in arg) return (arg.version as VersionRecord).model;
  }
  return undefined;
}

export async function pickModel(ctx: Ctx, title: string): Promise<string | undefined> {
  const models = await ctx.request(registry.listModels, {});
  if (!models.length)
    throw new UserError(
      'The registry has no models yet — train one ("ModelOps: Train Model") or register a model file.',
    );
  if (models.length === 1) return models[0].name;
  const picked = await vscode.window.showQuickPick(
    models.map((m) => ({
      label: m.name,
      description: `${m.versionCount} versions${m.latestVersion ? ` · latest ${m.latestVersion}` : ''}`,
      detail:
        Object.entries(m.aliases)
          .map(([a, v]) => `${a} → ${v}`)
          .join(' · ') || undefined,
    })),
    { title, placeHolder: 'Model' },
  );
  return picked?.label;
}

export interface PickVersionOptions {
  title: string;
  /** Leave this version out (e.g. the one already chosen for a comparison). */
  exclude?: string;
  /** Extra text per version, e.g. gate status. */
  detail?: (v: VersionRecord) => string | undefined;
  includeArchived?: boolean;
}

export async function pickVersion(
  ctx: Ctx,
  model: string,
  options: PickVersionOptions,
): Promise<VersionRecord | undefined> {
  const page = await ctx.request(registry.listVersions, {
    model,
    limit: 1000,
    sort: 'version',
    order: 'desc',
    includeArchived: options.includeArchived ?? false,
  });
  const items = page.items
    .filter((v) => v.version !== options.exclude)
    .map((v) => ({ label: v.version, description: versionDescription(v), detail: options.detail?.(v), version: v }));
  if (!items.length) throw new UserError(`${model} has no${options.exclude ? ' other' : ''} versions to choose from.`);
  const picked = await vscode.window.showQuickPick(items, {
    title: options.title,
    placeHolder:
      page.total > page.items.length
        ? `Showing the newest ${page.items.length} of ${page.total} versions`
        : `Version of ${model}`,
    matchOnDescription: true,
  });
  return picked?.version;
}

/** The version a command acts on: the tree node's, or picked (model first, then version). */
export async function resolveVersion(
  ctx: Ctx,
  arg: unknown,
  options: PickVersionOptions,
): Promise<VersionRecord | undefined> {
  const fromNode = versionFromArg(arg);
  if (fromNode) return fromNode;
  if (typeof arg === 'string' && arg.includes('@')) return ctx.request(registry.getVersion, { ref: arg });
  const model = modelFromArg(arg) ?? (await pickModel(ctx, options.title));
  if (!model) return undefined;
  return pickVersion(ctx, model, options);
}
