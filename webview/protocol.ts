/**
 * The message contract between the extension (extension/panels) and the chart webview, and the
 * data shape of every chart kind. Imported by both sides and by the HTML report writer, so a
 * change here is checked by the compiler everywhere. The webview renders what it is sent: all
 * statistics (control limits, rule violations, per-class metrics) are computed in the engine.
 */
import type { ControlChartData, ControlChartSeries } from '../shared/spc/types';

export type {
  ControlChartData,
  ControlChartPoint,
  ControlChartSeries,
  PointLimits,
  Violation,
  Zones,
  WesternElectricRule,
  Side,
  BaselineInfo,
} from '../shared/spc/types';

export const PROTOCOL_VERSION = 1;

export type ChartKind = 'runMetrics' | 'compare' | 'confusion' | 'control' | 'drift' | 'explain' | 'fairness' | 'study';
export const CHART_KINDS: readonly ChartKind[] = [
  'runMetrics',
  'compare',
  'confusion',
  'control',
  'drift',
  'explain',
  'fairness',
  'study',
];

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
  /**
   * Global importance stored with each version (mean |SHAP| over outputs, and permutation
   * importance), shown side by side in a "Feature importance" section; null where a version has none.
   */
  importance?: Array<{ feature: string; meanAbsShap: Array<number | null>; permutation: Array<number | null> }>;
  /** Fairness metrics and the worst per-group gap of each version (null where not computed). */
  fairness?: Array<{ name: string; values: Array<number | null> }>;
}

/**
 * Shapley values of explained rows (interventional, against a background sample) and global
 * importance: bars of mean |SHAP| beside permutation importance ± std, a strip of per-row values
 * per feature, and a waterfall from the base value to f(x) for the picked row.
 */
export interface ExplainData {
  ref: string;
  /** Where the rows came from. */
  data: string;
  method: 'exact' | 'permutation';
  features: string[];
  /** Class labels (one set of values per class) or ['value']. */
  outputs: string[];
  /** v(∅) per output. */
  base: number[];
  background: number;
  rows: Array<{ id: string; input: string[]; output: number[]; values: number[][] }>;
  /** mean |SHAP| [feature][output] over the explained rows (computed from `rows` when absent). */
  meanAbsShap?: number[][] | null;
  permutation?: {
    metric: string;
    baseline: number;
    repeats: number;
    features: Array<{ feature: string; mean: number; std: number }>;
  } | null;
}

/** Per-group values of one metric by one breakdown, with the between-group difference; the Fairlearn metrics beside. */
export interface FairnessData {
  ref: string;
  /** e.g. "test split of data/adult.csv". */
  data: string;
  minGroupSize: number;
  breakdowns: Array<{
    by: string[];
    groups: Array<{ name: string; count: number; small: boolean; values: Record<string, number | null> }>;
    gaps: Record<string, { difference: number | null; ratio: number | null }>;
  }>;
  metrics: string[];
  /** demographic_parity_difference etc. with the gate on it, when there is one. */
  fairness: Array<{ name: string; value: number | null; gate?: string; passed?: boolean }>;
  notes?: string[];
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

export interface DriftFeature {
  feature: string;
  /** The test's statistic (PSI, KS D, chi-square, Z, normed Wasserstein, Jensen–Shannon). */
  score: number;
  /** This feature's threshold when it differs from the chart's (always set under `auto`). */
  threshold?: number | null;
  /** This feature's test when the chart's `method` is `auto`. */
  test?: string;
  /** The p-value of a p-value test (KS, chi-square, Z): drift when p < threshold. */
  pValue?: number | null;
  /** Whether the test found drift; absent in older data, where it is score > threshold. */
  drifted?: boolean;
}

export interface DriftData {
  /** The test every feature shares (`psi`, `ks`, …), or `auto` when each feature names its own. */
  method: string;
  /** The threshold every feature shares, or null when each has its own. */
  threshold: number | null;
  features: DriftFeature[];
  /** Window the scores were computed on. */
  window?: { start?: string; end?: string; size?: number };
}

/**
 * A hyperparameter study: the space, every trial and the parameter importance (computed by the
 * host, server/report/studyData.ts). Sent again whole (init) as the study runs: it is small.
 */
export interface StudyData {
  id: string;
  model: string | null;
  status: 'running' | 'completed' | 'cancelled' | 'failed';
  sampler: string;
  metric: string;
  direction: 'maximize' | 'minimize';
  /** The trial budget (null with a time budget only). */
  budget: number | null;
  registeredVersion: string | null;
  /** The search space in key order: ranges (log scale for loguniform) or the choices. */
  params: Array<{
    name: string;
    type: 'uniform' | 'loguniform' | 'int' | 'choice';
    low?: number;
    high?: number;
    values?: Array<string | number>;
  }>;
  trials: Array<{
    number: number;
    status: 'running' | 'completed' | 'pruned' | 'failed' | 'cancelled';
    params: Record<string, string | number>;
    value: number | null;
    epochs: number;
    /** The objective per epoch. */
    intermediate: Array<number | null>;
    error: string | null;
  }>;
  /**
   * Share of the objective's variance explained per parameter (η² of a one-way grouping of the
   * completed trials into bins of the parameter), null with fewer than 3 completed trials.
   */
  importance: Array<{ name: string; eta2: number; bins: number }> | null;
}

export interface ChartDataMap {
  runMetrics: RunMetricsData;
  compare: CompareData;
  confusion: ConfusionData;
  control: ControlChartData;
  drift: DriftData;
  explain: ExplainData;
  fairness: FairnessData;
  study: StudyData;
}

/** A second panel of a kind beside the first (the estimate's control chart): kept through a reload. */
export type ChartSlot = 'estimate';

type InitOf<K extends ChartKind> = { type: 'init'; kind: K; title: string; data: ChartDataMap[K]; slot?: ChartSlot };

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
  slot?: ChartSlot;
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
      return (
        isChartKind(x.kind) &&
        typeof x.title === 'string' &&
        isObject(x.data) &&
        (x.slot === undefined || x.slot === 'estimate')
      );
    case 'append':
      return (
        (x.kind === 'runMetrics' && typeof x.runId === 'string' && Array.isArray(x.points)) ||
        (x.kind === 'control' && Array.isArray(x.values) && Array.isArray(x.violations))
      );
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
      return (
        isFormat(x.format) &&
        typeof x.fileName === 'string' &&
        typeof x.content === 'string' &&
        (x.encoding === 'utf8' || x.encoding === 'base64')
      );
    case 'error':
      return typeof x.message === 'string';
    default:
      return false;
  }
}

/** Where a standalone report keeps its inlined init message (a `<script type="application/json">`). */
export const REPORT_DATA_ELEMENT_ID = 'modelops-chart-data';
