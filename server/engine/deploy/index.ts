/** Deploy with smoke test and automatic rollback; target clients. */
export * from './deploy';
export { ModelServerClient, envName, type ModelInfo } from './client';
export { ensureLocalServer, stopLocalServer, readServerRecord, localToken, targetStoreDir, recordPath, defaultServeCommand, type ServeCommand } from './localServer';
export { smokeRows, comparePredictions } from './smoke';
