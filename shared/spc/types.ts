/**
 * Shapes of the SPC engine's output. `ControlChartData` is what the control-chart webview
 * renders as is (webview/protocol.ts re-exports these types), so it carries every limit and
 * violation already computed: the webview does no statistics. It is columnar and sends shared
 * limits once, so a 100,000-point chart stays a few MB; points.ts expands one point when needed
 * (the same code in the engine and the webview).
 */

/** Western Electric rules 1–4. */
export type WesternElectricRule = 1 | 2 | 3 | 4;

export type Side = 'above' | 'below';

/**
 * How σ of an individuals chart is estimated from the baseline: `movingRange` is MR̄/d₂ with
 * d₂ = 1.128 (the textbook estimator: Montgomery; NIST e-Handbook 6.3.2), `stddev` the sample
 * standard deviation (n − 1). A p-chart's σ is binomial; an explicit baseline gives σ as is.
 */
export type SigmaEstimator = 'movingRange' | 'stddev';

/** What the chart's σ came from, as said on the chart. */
export type SigmaSource = SigmaEstimator | 'binomial' | 'explicit';

/** Which departures the rules report: `lower` only drops, `upper` only rises, `both` either. */
export type RuleSide = 'lower' | 'upper' | 'both';

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

/** The limits that apply to one point (or to every point, when they are constant). */
export interface PointLimits {
  /** σ of the point: the chart's σ on an individuals chart, √(p̄(1−p̄)/n) on a p-chart. */
  std: number;
  ucl: number;
  lcl: number;
  zones: Zones;
}

/**
 * One point with everything that applies to it, expanded from the columnar `ControlChartData`
 * by `controlPoint(data, i)` / `controlPoints(data)` (shared/spc/points.ts). Not sent.
 */
export interface ControlChartPoint extends PointLimits {
  index: number;
  value: number;
  /** Sample size of the window (observations behind the value). */
  n?: number;
  /** Window time range, as given (ISO 8601 strings in monitoring). */
  start?: string;
  end?: string;
  /** (value − centre) / std; ±Infinity when std is 0 and the value differs. */
  z: number;
  /** Whether the point belongs to the baseline period. */
  baseline: boolean;
  violations: Violation[];
}

/**
 * The points of a control chart by column: entry i of every array belongs to point i. Only what
 * varies from point to point is here; what every point shares is in `ControlChartData`. This is
 * also the shape of a live append (the new points only; violation indices continue the series).
 */
export interface ControlChartSeries {
  values: number[];
  /** Window sizes; present when any point has one (null for a point without). */
  n?: Array<number | null>;
  /** Window time ranges as given; present when any point has one (null for a point without). */
  start?: Array<string | null>;
  end?: Array<string | null>;
  /**
   * Per-point σ, UCL and LCL: only when the limits vary (a p-chart with unequal n). The zones of
   * point i are centre ± std[i] and centre ± 2·std[i] (not clipped; UCL/LCL are clipped to [0, 1]).
   */
  varying?: { std: number[]; ucl: number[]; lcl: number[] };
  /** Violations on these points, ordered by index then rule. */
  violations: Violation[];
  /**
   * An estimate of the same metric per point, drawn beside `values` (dashed, "estimated
   * (CBPE)" or "(DLE)" by `estimatedBy`): null where there is none. Present only when some point has one.
   */
  estimated?: Array<number | null>;
}

export interface ControlChartData extends ControlChartSeries {
  /** 'individuals': μ ± Lσ; 'p': p̄ ± L·√(p̄(1−p̄)/n) per point. */
  chart: 'individuals' | 'p';
  /** The metric charted, e.g. "accuracy". */
  metric: string | null;
  centre: number;
  /** σ of the individuals chart; for a p-chart, √(p̄(1−p̄)/n̄) at the mean window size. */
  std: number;
  /** L */
  sigma: number;
  /**
   * The limits of every point when they are the same for all (individuals charts, p-charts with
   * equal n); null when they vary, and then `varying` holds them per point.
   */
  limits: PointLimits | null;
  baseline: BaselineInfo;
  /** Rules that were evaluated. */
  rules: WesternElectricRule[];
  /** Where σ came from (always set by buildControlChart; absent in charts built elsewhere). */
  sigmaEstimator?: SigmaSource;
  /** Which side the rules watch (always set by buildControlChart; absent means both). */
  side?: RuleSide;
  /** The estimator that made `estimated` (set by monitoring with it; absent in charts saved before, or given by hand). */
  estimatedBy?: 'cbpe' | 'dle';
}
