import type { ServerContext } from '../context';
import { registerDeploy } from './deploy';
import { registerLanguage } from './language';
import { registerRegistry } from './registry';
import { registerWorkspace } from './workspace';
import { registerTraining } from './training';
import { registerGovernance } from './governance';
import { registerOptimize } from './optimize';
import { registerMonitoring } from './monitoring';
import { registerEndpoint } from './endpoint';

/**
 * Every handler module of the sidecar. Each registers its requests on the context.
 * Add a domain by adding one line to this list.
 */
export const handlerModules: Array<(ctx: ServerContext) => void> = [
  registerLanguage,
  registerRegistry,
  registerWorkspace,
  registerTraining,
  registerDeploy,
  registerGovernance,
  registerOptimize,
  registerMonitoring,
  registerEndpoint,
];
