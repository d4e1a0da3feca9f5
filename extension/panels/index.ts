/** Chart webview panels (run metrics, compare, confusion matrix, control chart, drift, explanation, fairness). */
export { registerChartPanels, ChartPanel, newNonce, type ChartPanels, type OpenChartOptions } from './ChartPanel';
