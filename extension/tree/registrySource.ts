/** The trees' data, read from the sidecar. */
import { governance, monitoring, optimize, registry } from '../../server/protocol';
import type { Ctx } from '../ctx';
import { listEndpointItems } from '../services/endpoints';
import type { TreeSource } from './source';

export function createTreeSource(ctx: Ctx): TreeSource {
  return {
    listModels: () => ctx.request(registry.listModels, {}),
    listVersions: (model, offset, limit) =>
      ctx.request(registry.listVersions, { model, offset, limit, sort: 'version', order: 'desc' }),
    listDatasets: () => ctx.request(monitoring.datasets, {}),
    listRuns: (limit) => ctx.request(registry.listRuns, { limit }),
    listEndpoints: () => listEndpointItems(ctx),
    alertCounts: () => ctx.request(monitoring.alertCounts, {}),
    versionStatus: (model) => ctx.request(governance.versionStatus, { model }),
    listStudies: (model) => ctx.request(optimize.listStudies, { model }),
  };
}
