/**
 * Statistical process control: control limits, p-charts and the Western Electric rules.
 * `buildControlChart` returns the `ControlChartData` that the control-chart webview renders
 * as is; monitoring calls it once per update with the windows it has.
 */
import { ModelOpsError } from '../errors';
import { checkSigma, checkValues, controlLimits, describeBaseline, pChartLimits } from './controlChart';
import type { Baseline, ControlChartData, ControlChartPoint } from './types';
import { checkRules, westernElectricZ, zScores } from './westernElectric';

export * from './types';
export { controlLimits, pChartLimits, zonesAround, mean, sampleStd, type ControlLimitOptions, type ProportionPoint, type PChartLimits, type PChartPointLimits } from './controlChart';
export { westernElectric, westernElectricZ, zScores, checkRules, ALL_RULES, type WesternElectricOptions } from './westernElectric';

export interface ControlChartInputPoint {
  value: number;
  /** Window size; required for a p-chart. */
  n?: number;
  start?: string;
  end?: string;
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
}

export function buildControlChart(input: ReadonlyArray<ControlChartInputPoint>, options: ControlChartOptions = {}): ControlChartData {
  if (input.length === 0) {
    throw new ModelOpsError('spc.empty', 'The control chart has no points.', 'Give at least as many points as the baseline needs.');
  }
  const chart = options.chart ?? 'individuals';
  const L = checkSigma(options.sigma ?? 3);
  const rules = checkRules(options.rules);
  const values = input.map((p) => p.value);
  checkValues(values);
  const baseline = describeBaseline(options.baseline, input.length);
  const inBaseline = (i: number) => baseline.kind === 'points' && i < baseline.count;

  let centre: number;
  let std: number;
  let stds: number[];
  let perPoint: Array<Pick<ControlChartPoint, 'ucl' | 'lcl' | 'zones'>>;
  if (chart === 'p') {
    const missing = input.findIndex((p) => p.n === undefined);
    if (missing >= 0) {
      throw new ModelOpsError('spc.n', `Point ${missing + 1} has no sample size n.`, 'Every point of a p-chart needs n, the number of observations in its window.');
    }
    const p = pChartLimits(input.map((x) => ({ value: x.value, n: x.n as number })), { sigma: L, baseline: options.baseline });
    centre = p.mean;
    stds = p.points.map((x) => x.std);
    const nbar = input.reduce((s, x) => s + (x.n as number), 0) / input.length;
    std = Math.sqrt((centre * (1 - centre)) / nbar);
    perPoint = p.points;
  } else {
    const limits = controlLimits(values, { sigma: L, baseline: options.baseline });
    centre = limits.mean;
    std = limits.std;
    stds = values.map(() => limits.std);
    perPoint = values.map(() => ({ ucl: limits.ucl, lcl: limits.lcl, zones: limits.zones }));
  }

  const z = zScores(values, centre, stds);
  const violations = westernElectricZ(z, { rules, sigma: L });
  const byIndex = new Map<number, ControlChartData['violations']>();
  for (const v of violations) {
    const list = byIndex.get(v.index) ?? [];
    list.push(v);
    byIndex.set(v.index, list);
  }
  const points: ControlChartPoint[] = input.map((p, i) => {
    const pt: ControlChartPoint = {
      index: i,
      value: p.value,
      std: stds[i],
      z: z[i],
      ucl: perPoint[i].ucl,
      lcl: perPoint[i].lcl,
      zones: perPoint[i].zones,
      baseline: inBaseline(i),
      violations: byIndex.get(i) ?? [],
    };
    if (p.n !== undefined) pt.n = p.n;
    if (p.start !== undefined) pt.start = p.start;
    if (p.end !== undefined) pt.end = p.end;
    return pt;
  });
  const constantLimits = points.every((p) => p.ucl === points[0].ucl && p.lcl === points[0].lcl);
  return { chart, metric: options.metric ?? null, centre, std, sigma: L, constantLimits, baseline, rules, points, violations };
}
