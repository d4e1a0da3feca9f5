/**
 * Endpoint tokens in SecretStorage, each bound to the origins the user stored it for. The
 * workspace's modelops.yaml only names a target's URL and secret; a token goes to an origin only
 * after the user set it for that origin or allowed it in a modal. Nothing is sent to the sidecar
 * in Restricted Mode.
 */
import * as vscode from 'vscode';
import { deploy as rpc, workspace } from '../../server/protocol';
import type { TargetInfo } from '../../server/protocol/workspace';
import type { Ctx } from '../ctx';

interface BoundToken {
  token: string;
  origins: string[];
}

/** SecretStorage key of a secret: by its name, so targets can share one. */
export function secretKey(secret: string): string {
  return `modelops.token.${secret}`;
}

/** A stored value: a JSON BoundToken, or a bare token from before binding existed (bound nowhere). */
function decode(value: string | undefined): BoundToken | undefined {
  if (!value) return undefined;
  try {
    const v = JSON.parse(value) as Partial<BoundToken> | null;
    if (v && typeof v.token === 'string' && Array.isArray(v.origins))
      return { token: v.token, origins: v.origins.filter((o): o is string => typeof o === 'string') };
  } catch {
    /* a bare token */
  }
  return { token: value, origins: [] };
}

export async function readToken(ctx: Ctx, secret: string): Promise<BoundToken | undefined> {
  return decode(await ctx.secrets.get(secretKey(secret)));
}

async function send(ctx: Ctx, secret: string, bound: BoundToken | null): Promise<void> {
  if (!vscode.workspace.isTrusted) return;
  await ctx.notify(rpc.setToken, { secret, token: bound?.token ?? null, origins: bound?.origins ?? [] });
}

export async function storeToken(ctx: Ctx, secret: string, bound: BoundToken): Promise<void> {
  const value: BoundToken = { token: bound.token, origins: [...new Set(bound.origins)] };
  await ctx.secrets.store(secretKey(secret), JSON.stringify(value));
  await send(ctx, secret, value);
}

export async function deleteToken(ctx: Ctx, secret: string): Promise<void> {
  await ctx.secrets.delete(secretKey(secret));
  await send(ctx, secret, null);
}

/** Sends the stored tokens of this workspace's targets to the sidecar's memory (trusted workspaces only). */
export async function syncTokens(ctx: Ctx): Promise<void> {
  if (!vscode.workspace.isTrusted) return;
  let ts: TargetInfo[];
  try {
    ts = await ctx.request(workspace.targets, {});
  } catch {
    return; // no or invalid config: nothing to send
  }
  for (const secret of new Set(ts.map((t) => t.secret))) {
    const bound = await readToken(ctx, secret);
    if (bound) await send(ctx, secret, bound);
  }
}

/**
 * Before a call that sends a target's token: when the stored token is not bound to the origin the
 * config now names, ask the user (modal) whether it may go there. False when they decline.
 */
export async function allowTokenFor(ctx: Ctx, t: TargetInfo): Promise<boolean> {
  if (t.type !== 'http' || !t.origin) return true;
  const bound = await readToken(ctx, t.secret);
  if (!bound || bound.origins.includes(t.origin)) return true;
  const allow = `Send It to ${t.origin}`;
  const choice = await vscode.window.showWarningMessage(
    `Send the token '${t.secret}' to ${t.origin}?`,
    {
      modal: true,
      detail: `${bound.origins.length ? `You stored it for ${bound.origins.join(', ')}.` : 'It was stored before tokens were bound to a server.'} modelops.yaml points target '${t.name}' at ${t.origin}. Allow this only if you trust that server: it will be able to use the token.`,
    },
    allow,
  );
  if (choice !== allow) return false;
  await storeToken(ctx, t.secret, { token: bound.token, origins: [...bound.origins, t.origin] });
  return true;
}
