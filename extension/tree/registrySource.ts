/** The trees' data, read from the sidecar. */
import { registry } from '../../server/protocol';
import type { Ctx } from '../ctx';
import { listEndpointItems } from '../commands/deploy';
import type { TreeSource } from './source';

export function createTreeSource(ctx: Ctx): TreeSource {
  return {
    listModels: () => ctx.request(registry.listModels, {}),
    listVersions: (model, offset, limit) => ctx.request(registry.listVersions, { model, offset, limit, sort: 'version', order: 'desc' }),
    listDatasets: () => ctx.request(registry.listDatasets, {}),
    listRuns: (limit) => ctx.request(registry.listRuns, { limit }),
    listEndpoints: () => listEndpointItems(ctx),
  };
}
