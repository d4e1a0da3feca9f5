/** Monitoring: windows of the prediction log → control chart, drift, alerts. */
export { sendWebhook, safeUrl, webhookUrl, webhookPathCarriesSecret } from './webhook';
export {
  monitor,
  type MonitorOptions,
  type MonitorResult,
  type MonitorWindow,
  type DriftSummary,
  type MonitoredModel,
} from './monitor';
export { readPredictionLog, Dictionary, type LogColumns, type LogFeature } from './readLog';
export { labelledTraffic, type LabelledTraffic, type LabelledTrafficOptions } from './export';
