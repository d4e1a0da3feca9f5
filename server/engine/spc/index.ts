/**
 * Statistical process control: control limits, p-charts and the Western Electric rules.
 * `buildControlChart` returns the `ControlChartData` that the control-chart webview renders
 * as is (columnar; points.ts reads it point by point); monitoring calls it once per update
 * with the windows it has.
 */
import { ModelOpsError } from '../errors';
import { checkEstimator, checkSigma, checkValues, controlLimits, describeBaseline, pChartLimits } from './controlChart';
import type { Baseline, ControlChartData, PointLimits, RuleSide, SigmaEstimator } from '../../../shared/spc/types';
import { checkRules, checkSide, westernElectricZ, zScores } from './westernElectric';

export * from '../../../shared/spc/types';
export {
  zonesAround,
  zOf,
  pointLimits,
  controlPoint,
  controlPoints,
  violationsByIndex,
  sliceControlChart,
  appendControlSeries,
  estimateChartToShow,
} from '../../../shared/spc/points';
export {
  controlLimits,
  pChartLimits,
  mean,
  sampleStd,
  movingRangeStd,
  checkEstimator,
  D2_MR2,
  SIGMA_ESTIMATORS,
  type ControlLimitOptions,
  type ProportionPoint,
  type PChartLimits,
  type PChartPointLimits,
} from './controlChart';
export {
  westernElectric,
  westernElectricZ,
  zScores,
  checkRules,
  checkSide,
  ALL_RULES,
  type WesternElectricOptions,
} from './westernElectric';

export interface ControlChartInputPoint {
  value: number;
  /** Window size; required for a p-chart. */
  n?: number;
  start?: string;
  end?: string;
  /** An estimate of the metric for this point (e.g. CBPE), drawn beside the value. */
  estimated?: number | null;
}

export interface ControlChartOptions {
  /** 'individuals' (default) or 'p' for proportions with a window size n per point. */
  chart?: 'individuals' | 'p';
  /** L; default 3. */
  sigma?: number;
  /** First k points, or an explicit { mean, std }. Default: every point. */
  baseline?: Baseline;
  /** Western Electric rules to evaluate; default [1, 2, 3, 4]. */
  rules?: readonly number[];
  metric?: string | null;
  /** σ of an individuals chart: `movingRange` (MR̄/1.128) or `stddev`. Default `stddev` (monitoring passes the config's). */
  estimator?: SigmaEstimator;
  /** Which side the rules watch; default `both`. */
  side?: RuleSide;
  /**
   * The values the metric can take (accuracy [0, 1], an error [0, ∞)): an individuals chart's
   * limits are drawn no further out, as a p-chart's are kept in [0, 1]. The rules judge σ
   * distances either way, so no point's verdict changes.
   */
  range?: readonly [number, number];
}

/**
 * The points of `buildControlChartColumns` by column (entry i of each belongs to point i); an
 * optional column is absent or null where a point has no such field.
 */
export interface ControlChartInputColumns {
  values: number[];
  n?: Array<number | null>;
  start?: Array<string | null>;
  end?: Array<string | null>;
  estimated?: Array<number | null>;
}

export function buildControlChart(
  input: ReadonlyArray<ControlChartInputPoint>,
  options: ControlChartOptions = {},
): ControlChartData {
  const column = <T>(get: (p: ControlChartInputPoint) => T | undefined | null): Array<T | null> | undefined =>
    input.some((p) => get(p) !== undefined && get(p) !== null) ? input.map((p) => get(p) ?? null) : undefined;
  return buildControlChartColumns(
    {
      values: input.map((p) => p.value),
      n: column((p) => p.n),
      start: column((p) => p.start),
      end: column((p) => p.end),
      estimated: column((p) => p.estimated),
    },
    options,
  );
}

/**
 * `buildControlChart` of points given as columns (no object per point: monitoring charts up to
 * one point per window of a long log). The arrays given are kept in the result as they are.
 */
export function buildControlChartColumns(
  input: ControlChartInputColumns,
  options: ControlChartOptions = {},
): ControlChartData {
  if (input.values.length === 0) {
    throw new ModelOpsError(
      'spc-empty',
      'The control chart has no points.',
      'Give at least as many points as the baseline needs.',
    );
  }
  const chart = options.chart ?? 'individuals';
  const L = checkSigma(options.sigma ?? 3);
  const rules = checkRules(options.rules);
  const estimator = checkEstimator(options.estimator);
  const side = checkSide(options.side);
  const values = input.values;
  const count = values.length;
  // An optional column counts only when some point has a value in it.
  const present = <T>(c: Array<T | null> | undefined): Array<T | null> | undefined =>
    c && c.some((v) => v !== null) ? c : undefined;
  const nColumn = present(input.n);
  checkValues(values);
  const baseline = describeBaseline(options.baseline, count);

  let centre: number;
  let std: number;
  let z: number[];
  let limits: PointLimits | null;
  let varying: ControlChartData['varying'];
  if (chart === 'p') {
    const missing = nColumn ? nColumn.findIndex((v) => v === null) : 0;
    if (missing >= 0) {
      throw new ModelOpsError(
        'spc-n',
        `Point ${missing + 1} has no sample size n.`,
        'Every point of a p-chart needs n, the number of observations in its window.',
      );
    }
    const ns = nColumn as number[];
    const p = pChartLimits(
      values.map((value, i) => ({ value, n: ns[i] })),
      { sigma: L, baseline: options.baseline },
    );
    centre = p.mean;
    const nbar = ns.reduce((s, x) => s + x, 0) / count;
    std = Math.sqrt((centre * (1 - centre)) / nbar);
    const stds = p.points.map((x) => x.std);
    z = zScores(values, centre, stds);
    const first = p.points[0];
    if (p.points.every((x) => x.std === first.std && x.ucl === first.ucl && x.lcl === first.lcl)) limits = first;
    else {
      limits = null;
      varying = { std: stds, ucl: p.points.map((x) => x.ucl), lcl: p.points.map((x) => x.lcl) };
    }
  } else {
    const l = controlLimits(values, { sigma: L, baseline: options.baseline, estimator });
    centre = l.mean;
    std = l.std;
    z = zScores(values, centre, std);
    const [lo, hi] = options.range ?? [-Infinity, Infinity];
    limits = { std: l.std, ucl: Math.min(hi, l.ucl), lcl: Math.max(lo, l.lcl), zones: l.zones };
  }

  const violations = westernElectricZ(z, { rules, sigma: L, side });
  const sigmaEstimator = chart === 'p' ? 'binomial' : typeof options.baseline === 'object' ? 'explicit' : estimator;
  const data: ControlChartData = {
    chart,
    metric: options.metric ?? null,
    centre,
    std,
    sigma: L,
    sigmaEstimator,
    side,
    limits,
    baseline,
    rules,
    values,
    violations,
  };
  if (varying) data.varying = varying;
  // Optional columns only when some point has the field.
  const start = present(input.start);
  const end = present(input.end);
  const estimated = present(input.estimated);
  if (nColumn) data.n = nColumn;
  if (start) data.start = start;
  if (end) data.end = end;
  if (estimated) data.estimated = estimated;
  return data;
}
