/**
 * The contract between the extension and the sidecar: every custom request and notification,
 * one file per domain. Add a domain by adding one export line here.
 */
export * from './rpc';
export * as core from './core';
export * as workspace from './workspace';
export * as registry from './registry';
export * as training from './training';
export * as deploy from './deploy';
export * as governance from './governance';
export * as optimize from './optimize';
export * as monitoring from './monitoring';
export * as endpoint from './endpoint';
