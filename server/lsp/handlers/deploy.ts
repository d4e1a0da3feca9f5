/** Deploy, rollback, endpoints, monitoring and endpoint tokens on the sidecar. */
import { dirname } from 'node:path';
import type { ServerContext } from '../context';
import { withWorkDone } from '../workDone';
import { core, deploy as rpc } from '../../protocol';
import { ModelOpsError } from '../../engine/errors';
import { loadConfig } from '../../engine/config';
import type { ModelOpsConfig } from '../../engine/config/types';
import { deploy, listEndpoints, originOf, rollback, tokenResolver, type BoundToken } from '../../engine/deploy';
import { monitor } from '../../engine/monitoring';

async function config(ctx: ServerContext, uri: string | undefined): Promise<{ config: ModelOpsConfig; dir: string }> {
  const path = ctx.configPath(uri);
  return { config: (await loadConfig(path)).config, dir: dirname(path) };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

export function registerDeploy(ctx: ServerContext): void {
  // Tokens live here, in memory, for the life of the sidecar; never on disk, never logged. Each
  // is bound to the origins the user stored it for (see engine/deploy/tokens.ts).
  const tokens = ctx.tokens;
  const tokenFor = tokenResolver({
    trusted: () => ctx.trusted(),
    stored: (secret) => tokens.get(secret),
    env: process.env,
    consentHint:
      'Run "ModelOps: Set Endpoint Token" for this target (or deploy again and allow it) to send the token to this origin.',
  });
  let deploying: string | null = null;

  /**
   * Records that a token was set or cleared, never the token: the secret's name and the origins.
   * The extension resends every token when the sidecar (re)starts; a resend of what the trail
   * already says is not a change, so it is not recorded again.
   */
  const auditToken = (secret: string, before: BoundToken | undefined, after: BoundToken | undefined): void => {
    if (!ctx.trusted()) return;
    const sameOrigins = (a: BoundToken, b: BoundToken) =>
      [...a.origins].sort().join(' ') === [...b.origins].sort().join(' ');
    if (before && after && before.token === after.token && sameOrigins(before, after)) return;
    if (!before && !after) return; // clearing what was never set (the start-up resend)
    try {
      const registry = ctx.registry();
      if (!before && after) {
        const last = registry
          .auditLog({ limit: 1000 })
          .reverse()
          .find(
            (e) =>
              (e.action === 'token.set' || e.action === 'token.cleared') &&
              isRecord(e.after) &&
              e.after.tokenSecret === secret,
          );
        if (
          last?.action === 'token.set' &&
          isRecord(last.after) &&
          last.after.origins === [...after.origins].sort().join(' ')
        )
          return;
      }
      registry.audit({
        action: after ? 'token.set' : 'token.cleared',
        detail: after ? { tokenSecret: secret, origins: [...after.origins].sort().join(' ') } : { tokenSecret: secret },
      });
    } catch (e) {
      // The token still works; only its trace is missing, and the log says why.
      ctx.log(`audit of token '${secret}': ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  ctx.onNotification(rpc.setToken, (p) => {
    if (typeof p?.secret !== 'string') return;
    const origins = Array.isArray(p.origins)
      ? p.origins.map((o) => (typeof o === 'string' ? originOf(o) : null)).filter((o): o is string => o !== null)
      : [];
    const before = tokens.get(p.secret);
    if (typeof p.token === 'string' && p.token.length > 0) tokens.set(p.secret, { token: p.token, origins });
    else tokens.delete(p.secret);
    auditToken(p.secret, before, tokens.get(p.secret));
    ctx.notify(core.changed, { kind: 'endpoints' });
  });

  ctx.handle(rpc.deploy, async (params) => {
    if (deploying)
      throw new ModelOpsError('deploy-busy', `A deploy is already running (${deploying}).`, 'Wait for it to finish.');
    const { config: cfg, dir } = await config(ctx, params.configUri);
    const registry = ctx.registry();
    deploying = `${params.ref} → ${params.target}`;
    try {
      // A deploy is not cancelled part way: its own failure path is what puts the previous version back.
      const result = await withWorkDone(
        ctx,
        {
          title: `ModelOps: deploying ${params.ref} to ${params.target}`,
          workDoneToken: params.workDoneToken,
          cancel: null,
          message: 'package',
        },
        (work) =>
          deploy({
            registry,
            config: cfg,
            configDir: dir,
            ref: params.ref,
            target: params.target,
            overrideReason: params.overrideReason,
            tokenFor,
            onStep: (event) => {
              const done = event.index + (event.status === 'running' ? 0 : 1);
              work.report(done / event.total, `${event.step}${event.detail ? `: ${event.detail}` : ''}`);
              ctx.notify(rpc.deployStep, { ref: params.ref, target: params.target, event });
            },
          }),
      );
      ctx.notify(core.changed, { kind: 'endpoints' });
      return result;
    } finally {
      deploying = null;
      ctx.notify(core.changed, { kind: 'deployments' });
    }
  });

  ctx.handle(rpc.rollback, async (params) => {
    const { config: cfg, dir } = await config(ctx, params.configUri);
    const record = await rollback({
      registry: ctx.registry(),
      config: cfg,
      configDir: dir,
      target: params.target,
      model: params.model,
      tokenFor,
    });
    ctx.notify(core.changed, { kind: 'deployments' });
    ctx.notify(core.changed, { kind: 'endpoints' });
    return record;
  });

  ctx.handle(rpc.listEndpoints, async (params) => {
    const { config: cfg } = await config(ctx, params?.configUri);
    return listEndpoints({ registry: ctx.registry(), config: cfg, tokenFor, trusted: ctx.trusted() });
  });

  ctx.handle(rpc.monitor, async (params) => {
    const { config: cfg } = await config(ctx, params?.configUri);
    const result = await monitor({
      registry: ctx.registry(),
      config: cfg,
      target: params?.target,
      model: params?.model,
      lastWindows: params?.lastWindows ?? 500,
      // Alerts are written only where the workspace is trusted (the webhook is a workspace setting).
      alert: ctx.trusted(),
      trusted: ctx.trusted(),
      onLog: (m) => ctx.log(`monitor: ${m}`),
      tokenFor,
    });
    if (result.alerts.length > 0) ctx.notify(core.changed, { kind: 'alerts', model: result.model });
    return result;
  });
}
