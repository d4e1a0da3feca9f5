/**
 * The prediction-log reader, split by job under ./log (see log/reader.ts); this module keeps
 * the names the rest of the engine imports.
 */
export {
  Dictionary,
  type FeedbackCounts,
  type LineStats,
  type LogBlock,
  type LogColumns,
  type LogFeature,
  type ReadLogOptions,
} from './log/columns';
export { PredictionLogReader, readPredictionLog } from './log/reader';
