/** Chart webview panels (run metrics, compare, confusion matrix, control chart, drift). */
export { registerChartPanels, ChartPanel, newNonce, type ChartPanels, type ChartPanelDeps, type OpenChartOptions } from './ChartPanel';
