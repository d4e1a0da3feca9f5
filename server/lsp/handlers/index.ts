import type { ServerContext } from '../context';

/**
 * Every handler module of the sidecar. Each registers its requests on the context.
 * Add a domain by adding one line to this list.
 */
export const handlerModules: Array<(ctx: ServerContext) => void> = [];
