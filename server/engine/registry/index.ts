/**
 * The workspace store: `.modelops/registry.db` (SQLite, WAL) and content-addressed
 * `.modelops/artifacts/`. `openRegistry` is the one way in.
 */
export * from './types';
export { openRegistry, type LostDatabase, type OpenRegistryOptions, type WorkspaceRegistry } from './registry';
export { parseRef, validateModelName, validateAlias, formatRef, type ParsedRef } from './refs';
export { compareSemver, parseSemver, isValidSemver } from './semver';
export {
  detectModelFormat,
  formatNotice,
  isModelPath,
  MODEL_FILE_GLOB,
  ONNX_EXPORTS,
  RUNNABLE_FORMATS,
} from './modelFiles';
export { buildLineage, formatBytes, type LineageView } from './lineage';
export { versionConfig, diffVersions, type VersionConfig, type VersionDiff } from './versionConfig';
export { diffLines, splitLines, unifiedDiff, type DiffOp, type UnifiedDiffOptions } from './textDiff';
