/** Chart webview panels (run metrics, compare, confusion matrix, control chart, drift). */
export { registerChartPanels, ChartPanel, newNonce, type ChartPanels, type OpenChartOptions } from './ChartPanel';
