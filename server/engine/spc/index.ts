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
}

export function buildControlChart(
  input: ReadonlyArray<ControlChartInputPoint>,
  options: ControlChartOptions = {},
): ControlChartData {
  if (input.length === 0) {
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
  const values = input.map((p) => p.value);
  checkValues(values);
  const baseline = describeBaseline(options.baseline, input.length);

  let centre: number;
  let std: number;
  let z: number[];
  let limits: PointLimits | null;
  let varying: ControlChartData['varying'];
  if (chart === 'p') {
    const missing = input.findIndex((p) => p.n === undefined);
    if (missing >= 0) {
      throw new ModelOpsError(
        'spc-n',
        `Point ${missing + 1} has no sample size n.`,
        'Every point of a p-chart needs n, the number of observations in its window.',
      );
    }
    const p = pChartLimits(
      input.map((x) => ({ value: x.value, n: x.n as number })),
      { sigma: L, baseline: options.baseline },
    );
    centre = p.mean;
    const nbar = input.reduce((s, x) => s + (x.n as number), 0) / input.length;
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
    limits = { std: l.std, ucl: l.ucl, lcl: l.lcl, zones: l.zones };
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
  const column = <T>(get: (p: ControlChartInputPoint) => T | undefined): Array<T | null> | undefined =>
    input.some((p) => get(p) !== undefined) ? input.map((p) => get(p) ?? null) : undefined;
  const n = column((p) => p.n);
  const start = column((p) => p.start);
  const end = column((p) => p.end);
  if (n) data.n = n;
  if (start) data.start = start;
  if (end) data.end = end;
  const estimated = column((p) => (p.estimated === null ? undefined : p.estimated));
  if (estimated) data.estimated = estimated;
  return data;
}
