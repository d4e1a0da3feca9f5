/** The local model server (Open Inference Protocol / KServe V2), batching, prediction log, metrics. */
export { startModelServer, isLoopbackHost, type ModelServerOptions, type RunningModelServer } from './main';
export { PredictionLog, logFiles, LOG_FILE, type PredictionLogOptions } from './predictionLog';
export {
  rowsToInferRequest,
  predictionsFromResponse,
  decodeInferRequest,
  encodeInferResponse,
  featureDatatype,
  HttpError,
} from './v2';
export { predictorOf, loadPredictor } from './predictor';
export { isValidName, checkName } from './names';
export type * from './types';
export { identityProof } from './identity';
export { bundleDigest } from './digest';
