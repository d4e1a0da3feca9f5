/**
 * Shapes of the SPC engine's output. `ControlChartData` is what the control-chart webview
 * renders as is (webview/protocol.ts re-exports these types), so it carries every line and
 * marker already computed: the webview does no statistics.
 */

/** Western Electric rules 1–4. */
export type WesternElectricRule = 1 | 2 | 3 | 4;

export type Side = 'above' | 'below';

export interface Violation {
  /** Index of the point that completes the pattern (the point the marker is drawn on). */
  index: number;
  rule: WesternElectricRule;
  side: Side;
  /** Indices of every point that forms the pattern, ascending; `index` is the last. */
  points: number[];
}

/** The ±1σ and ±2σ zone boundaries around the centre line. */
export interface Zones {
  upper1: number;
  lower1: number;
  upper2: number;
  lower2: number;
}

export type Baseline =
  /** μ and σ from the first `count` points. */
  | number
  /** μ and σ given, e.g. from the evaluation run. For a p-chart `mean` is p̄ and `std` is ignored. */
  | { mean: number; std: number };

export interface ControlLimits {
  /** Centre line μ. */
  mean: number;
  /** σ: the sample standard deviation (n − 1) of the baseline, or the one given. */
  std: number;
  /** L, the width of the control limits in σ. */
  sigma: number;
  /** μ + Lσ */
  ucl: number;
  /** μ − Lσ */
  lcl: number;
  zones: Zones;
}

/** How μ and σ were obtained. */
export type BaselineInfo = { kind: 'points'; count: number } | { kind: 'explicit' };

export interface ControlChartPoint {
  index: number;
  value: number;
  /** Sample size of the window (observations behind the value). */
  n?: number;
  /** Window time range, as given (ISO 8601 strings in monitoring). */
  start?: string;
  end?: string;
  /** σ that applies to this point (constant on an individuals chart; per-n on a p-chart). */
  std: number;
  /** (value − centre) / std; ±Infinity when std is 0 and the value differs. */
  z: number;
  ucl: number;
  lcl: number;
  zones: Zones;
  /** Whether the point belongs to the baseline period. */
  baseline: boolean;
  violations: Violation[];
}

export interface ControlChartData {
  /** 'individuals': μ ± Lσ; 'p': p̄ ± L·√(p̄(1−p̄)/n) per point. */
  chart: 'individuals' | 'p';
  /** The metric charted, e.g. "accuracy". */
  metric: string | null;
  centre: number;
  /** σ of the individuals chart; for a p-chart, √(p̄(1−p̄)/n̄) at the mean window size. */
  std: number;
  /** L */
  sigma: number;
  /** True when every point has the same limits (individuals charts, p-charts with equal n). */
  constantLimits: boolean;
  baseline: BaselineInfo;
  /** Rules that were evaluated. */
  rules: WesternElectricRule[];
  points: ControlChartPoint[];
  /** Every violation, ordered by index then rule. */
  violations: Violation[];
}
