/** Deploy with smoke test and automatic rollback; target clients. */
export * from './deploy';
export { ModelServerClient, type ModelInfo } from './client';
export * from './tokens';
export {
  ensureLocalServer,
  stopLocalServer,
  readServerRecord,
  localToken,
  readLocalToken,
  verifyLocalServer,
  localUrl,
  targetStoreDir,
  recordPath,
  defaultServeCommand,
  type ServeCommand,
} from './localServer';
export { checkTargetName, isValidTargetName, TARGET_NAME_PATTERN } from './names';
export { smokeRows, comparePredictions } from './smoke';
