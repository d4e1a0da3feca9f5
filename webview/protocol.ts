/**
 * The message contract between the extension (extension/panels) and the chart webview, and the
 * data shape of every chart kind. Imported by both sides and by the HTML report writer, so a
 * change here is checked by the compiler everywhere. The webview renders what it is sent: all
 * statistics (control limits, rule violations, per-class metrics) are computed in the engine.
 */
import type { ControlChartData, ControlChartSeries } from '../shared/spc/types';

export type { ControlChartData, ControlChartPoint, ControlChartSeries, PointLimits, Violation, Zones, WesternElectricRule, Side, BaselineInfo } from '../shared/spc/types';

export const PROTOCOL_VERSION = 1;

export type ChartKind = 'runMetrics' | 'compare' | 'confusion' | 'control' | 'drift';
export const CHART_KINDS: readonly ChartKind[] = ['runMetrics', 'compare', 'confusion', 'control', 'drift'];

/** One epoch (or step) of a run: metric name → value, e.g. { loss: 0.41, val_loss: 0.47, accuracy: 0.83 }. */
export interface MetricPoint {
  step: number;
  metrics: Record<string, number>;
}

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface RunSeries {
  runId: string;
  /** Legend label, e.g. "run 3f2a · weather-classifier". */
  label: string;
  status?: RunStatus;
  points: MetricPoint[];
}

/** Loss and metrics per epoch; several runs overlaid. One chart per metric, `val_x` drawn dashed with `x`. */
export interface RunMetricsData {
  runs: RunSeries[];
  /** Metrics to chart, in order; default every metric found (grouped: `val_x` with `x`). */
  metrics?: string[];
}

/** Metrics of versions side by side. `metrics[i].values[j]` belongs to `versions[j]`. */
export interface CompareData {
  /** References such as "weather-classifier@1.2.0". */
  versions: string[];
  metrics: Array<{ name: string; values: Array<number | null> }>;
}

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** Rows are actual classes, columns predicted classes, in `labels` order. */
export interface ConfusionData {
  labels: string[];
  matrix: number[][];
  /** Per-class precision/recall/F1 from the evaluation; derived from the matrix when absent. */
  perClass?: ClassMetrics[];
}

export interface DriftData {
  method: 'psi' | 'ks';
  /** Default threshold (line drawn across the bars). */
  threshold: number;
  features: Array<{ feature: string; score: number; threshold?: number }>;
  /** Window the scores were computed on. */
  window?: { start?: string; end?: string; size?: number };
}

export interface ChartDataMap {
  runMetrics: RunMetricsData;
  compare: CompareData;
  confusion: ConfusionData;
  control: ControlChartData;
  drift: DriftData;
}

type InitOf<K extends ChartKind> = { type: 'init'; kind: K; title: string; data: ChartDataMap[K] };

/** host → webview: the full dataset of a chart; replaces whatever is shown. */
export type InitMessage = { [K in ChartKind]: InitOf<K> }[ChartKind];

/** host → webview: new epochs of one run while it trains (only the new points). */
export interface RunMetricsAppend {
  type: 'append';
  kind: 'runMetrics';
  runId: string;
  /** Needed only when the run is not on the chart yet. */
  label?: string;
  points: MetricPoint[];
  status?: RunStatus;
}

/**
 * host → webview: new windows of a control chart, by column like the chart itself (build it with
 * `sliceControlChart(chart, from)` of server/engine/spc), with per-point limits and violations
 * computed against the same baseline (violation indices continue the series). When the centre
 * line or σ change, send `init`.
 */
export interface ControlAppend extends ControlChartSeries {
  type: 'append';
  kind: 'control';
}

export type AppendMessage = RunMetricsAppend | ControlAppend;

export type ThemeKind = 'light' | 'dark' | 'highContrast' | 'highContrastLight';

/** host → webview: the colour theme changed; colours are re-read from the CSS variables. */
export interface ThemeMessage {
  type: 'theme';
  theme: ThemeKind;
}

export type ExportFormat = 'png' | 'svg' | 'csv';

/** host → webview: produce an export (e.g. from a command); the webview answers with `ExportMessage`. */
export interface ExportRequest {
  type: 'export';
  format: ExportFormat;
}

export type HostToWebview = InitMessage | AppendMessage | ThemeMessage | ExportRequest;

/** webview → host: loaded and listening; `state` is what `setState` held before a reload. */
export interface ReadyMessage {
  type: 'ready';
  protocol: number;
}

/** webview → host: a file to save (the host shows a save dialog and writes it). */
export interface ExportMessage {
  type: 'export';
  format: ExportFormat;
  /** Suggested file name, e.g. "control-accuracy.png". */
  fileName: string;
  /** UTF-8 text (svg, csv) or base64 (png). */
  content: string;
  encoding: 'utf8' | 'base64';
}

export interface ErrorMessage {
  type: 'error';
  message: string;
}

export type WebviewToHost = ReadyMessage | ExportMessage | ErrorMessage;

/**
 * What the webview keeps with `vscode.setState` and the panel serializer receives after a
 * reload: the data as shown (with appended points), so a restored panel draws without the sidecar.
 */
export interface ChartState {
  kind: ChartKind;
  title: string;
  data?: ChartDataMap[ChartKind];
  /** Whether the data table was shown. */
  tableVisible?: boolean;
}

/** The view type of the panel of each kind (and of its serializer). */
export function viewTypeOf(kind: ChartKind): string {
  return `modelops.chart.${kind}`;
}

export function isChartKind(x: unknown): x is ChartKind {
  return typeof x === 'string' && (CHART_KINDS as readonly string[]).includes(x);
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const isFormat = (x: unknown): x is ExportFormat => x === 'png' || x === 'svg' || x === 'csv';

/** Shape check of a message arriving in the webview. */
export function isHostToWebview(x: unknown): x is HostToWebview {
  if (!isObject(x)) return false;
  switch (x.type) {
    case 'init':
      return isChartKind(x.kind) && typeof x.title === 'string' && isObject(x.data);
    case 'append':
      return (x.kind === 'runMetrics' && typeof x.runId === 'string' && Array.isArray(x.points)) || (x.kind === 'control' && Array.isArray(x.values) && Array.isArray(x.violations));
    case 'theme':
      return typeof x.theme === 'string';
    case 'export':
      return isFormat(x.format);
    default:
      return false;
  }
}

/** Shape check of a message arriving in the extension host. */
export function isWebviewToHost(x: unknown): x is WebviewToHost {
  if (!isObject(x)) return false;
  switch (x.type) {
    case 'ready':
      return true;
    case 'export':
      return isFormat(x.format) && typeof x.fileName === 'string' && typeof x.content === 'string' && (x.encoding === 'utf8' || x.encoding === 'base64');
    case 'error':
      return typeof x.message === 'string';
    default:
      return false;
  }
}

/** Where a standalone report keeps its inlined init message (a `<script type="application/json">`). */
export const REPORT_DATA_ELEMENT_ID = 'modelops-chart-data';
