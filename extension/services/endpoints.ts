/** The Endpoints view's data: each target's health and deployments from the sidecar, its approval rule from the config. */
import { deploy as rpc, workspace } from '../../server/protocol';
import type { EndpointStatus } from '../../server/protocol/deploy';
import type { TargetInfo } from '../../server/protocol/workspace';
import { findConfigUri } from '../configFiles';
import type { Ctx } from '../ctx';
import type { EndpointItem } from '../tree/source';

export function endpointItem(e: EndpointStatus, t: TargetInfo | undefined): EndpointItem {
  return {
    target: e.target,
    type: e.type,
    url: e.url,
    serving: e.deployments.map((d) => ({ model: d.model, version: d.version })),
    health: e.ready ? 'ready' : e.live ? 'live' : e.type === 'local' ? 'stopped' : e.error ? 'down' : 'unknown',
    alerts: e.unacknowledgedAlerts,
    logDropped: e.predictionLogDropped ?? 0,
    logError: e.predictionLogError ?? null,
    requireApproval: t?.requireApproval ?? false,
  };
}

/** Endpoints for the tree: health and deployments from the sidecar, approval from the config. */
export async function listEndpointItems(ctx: Ctx): Promise<EndpointItem[]> {
  const uri = await findConfigUri();
  if (!uri) return [];
  const [status, ts] = await Promise.all([
    ctx.request(rpc.listEndpoints, { configUri: uri }),
    ctx.request(workspace.targets, { configUri: uri }),
  ]);
  return status.map((e) =>
    endpointItem(
      e,
      ts.find((t) => t.name === e.target),
    ),
  );
}
