/**
 * The words and numbers of a control chart without the drawing: the summary line, a point's
 * tooltip, the violation markers, the data table and the CSV export. Pure (no DOM, no uPlot):
 * ControlChartData in, strings and rows out, so node tests can check them exactly.
 */
import type { ControlChartData, ControlChartPoint, Violation } from '../protocol';
import { controlPoint, violationsByIndex } from '../../shared/spc/points';
import { fmt, toCsv } from '../format';
import type { TableModel } from './types';
import { lowerIsBetter } from './compare';

export const ESTIMATED_LABEL = 'estimated (CBPE)';

/**
 * The dashed series' name, by the method that made it (`estimatedBy`, set by monitoring). Only a
 * chart saved before that field existed (or built by hand without it) falls back to the metric:
 * a regression loss (mae, rmse, mse) was estimated by DLE, anything else by CBPE.
 */
export function estimatedLabel(data: Pick<ControlChartData, 'metric' | 'estimatedBy'>): string {
  const by =
    data.estimatedBy ?? (data.metric === 'mae' || data.metric === 'rmse' || data.metric === 'mse' ? 'dle' : 'cbpe');
  return by === 'dle' ? 'estimated (DLE)' : ESTIMATED_LABEL;
}

/** A violation marker: the point it sits on, its rules (ascending, once each) and its side of the centre. */
export interface MarkerPoint {
  index: number;
  rules: number[];
  side: 'above' | 'below';
}

/** The label drawn beside a marker, e.g. `R1,4`. */
export const ruleLabel = (rules: readonly number[]): string => `R${rules.join(',')}`;

/**
 * The side on which a violation is an improvement of the metric (above the centre for accuracy,
 * below for a loss or latency), and the one-sided setting that would have kept it quiet; none
 * when the metric is unnamed or the rules already watch one side.
 */
export function improvingSide(
  d: Pick<ControlChartData, 'metric' | 'side'>,
): { side: 'above' | 'below'; setting: 'lower' | 'upper' } | null {
  if (!d.metric || (d.side !== undefined && d.side !== 'both')) return null;
  return lowerIsBetter(d.metric) ? { side: 'below', setting: 'upper' } : { side: 'above', setting: 'lower' };
}

/** What a point's violations say: the rules, the side of the centre line, and whether it was an improvement. */
export function violationText(vs: readonly Violation[], d: Pick<ControlChartData, 'metric' | 'side'>): string {
  if (!vs.length) return '';
  const side = vs[0].side;
  const better = improvingSide(d);
  const note =
    better?.side === side
      ? `; an improvement, which one-sided rules (monitor.controlChart.side: ${better.setting}) would not flag`
      : '';
  return `rule ${[...new Set(vs.map((v) => v.rule))].join(', ')} (${side} the centre line${note})`;
}

/** Where σ came from and which side the rules watch, as the subtitle says it. */
export function sigmaText(d: Pick<ControlChartData, 'sigmaEstimator' | 'side' | 'chart'>): string {
  const source = d.sigmaEstimator ?? (d.chart === 'p' ? 'binomial' : undefined);
  const from =
    source === 'movingRange'
      ? 'σ from the average moving range (MR̄/1.128)'
      : source === 'stddev'
        ? 'σ from the sample standard deviation'
        : source === 'binomial'
          ? 'σ binomial per window, √(p̄(1−p̄)/n)'
          : source === 'explicit'
            ? 'σ given'
            : 'σ from the baseline';
  const side = d.side === 'lower' ? '; rules watch drops only' : d.side === 'upper' ? '; rules watch rises only' : '';
  return `${from}${side}`;
}

/** A point's tooltip, one fact a line (the keyboard announcement joins the lines with "; "). */
export function pointText(p: ControlChartPoint, metric: string, d: Pick<ControlChartData, 'metric' | 'side'>): string {
  const lines = [`window ${p.index + 1}`, `${metric}: ${fmt(p.value)}  (z ${fmt(p.z, 2)})`];
  if (p.n !== undefined) lines.push(`size: ${p.n}`);
  if (p.start || p.end) lines.push(`${p.start ?? '…'} → ${p.end ?? '…'}`);
  lines.push(`UCL ${fmt(p.ucl)}  LCL ${fmt(p.lcl)}`);
  if (p.violations.length) lines.push(violationText(p.violations, d));
  if (p.baseline) lines.push('baseline');
  return lines.join('\n');
}

/** The markers of a chart: one per point with violations, in index order. */
export function markerPoints(byIndex: ReadonlyMap<number, readonly Violation[]>): MarkerPoint[] {
  return [...byIndex]
    .sort((a, b) => a[0] - b[0])
    .map(([index, vs]) => ({
      index,
      rules: [...new Set(vs.map((v) => v.rule))].sort((a, b) => a - b),
      side: vs[0].side,
    }));
}

/** The sentence under the chart title (and the screen reader's description of the plot). */
export function controlSummary(data: ControlChartData): string {
  const metric = data.metric ?? 'value';
  const counts = new Map<number, number>();
  for (const v of data.violations) counts.set(v.rule, (counts.get(v.rule) ?? 0) + 1);
  const base =
    data.baseline.kind === 'points' ? `baseline: first ${data.baseline.count} windows` : 'baseline: given μ and σ';
  const limits = data.limits ? `UCL ${fmt(data.limits.ucl)}, LCL ${fmt(data.limits.lcl)}` : 'UCL/LCL per window size';
  const sides = (rule: number): string => {
    const above = data.violations.filter((x) => x.rule === rule && x.side === 'above').length;
    const below = data.violations.filter((x) => x.rule === rule && x.side === 'below').length;
    return [above ? `${above} above` : '', below ? `${below} below` : ''].filter(Boolean).join(', ');
  };
  const better = improvingSide(data);
  const improving = better ? data.violations.filter((x) => x.side === better.side).length : 0;
  const oneSided =
    better && improving
      ? `; ${improving} ${better.side} the centre line ${improving === 1 ? 'is an improvement' : 'are improvements'} that one-sided rules (monitor.controlChart.side: ${better.setting}) would not flag`
      : '';
  const v =
    data.violations.length === 0
      ? 'no rule violations'
      : `${data.violations.length} violation${data.violations.length === 1 ? '' : 's'} (${[...counts.keys()]
          .sort((a, b) => a - b)
          .map((k) => `rule ${k}: ${sides(k)}`)
          .join('; ')})${oneSided}`;
  const est = data.estimated ? `; dashed: ${estimatedLabel(data)}` : '';
  return `${data.chart === 'p' ? 'p-chart' : 'Individuals chart'} of ${metric}, ${data.values.length} windows. Centre μ ${fmt(data.centre)}, σ ${fmt(data.std)}, ${limits} (±${fmt(data.sigma)}σ); ${sigmaText(data)}; ${base}; ${v}${est}.`;
}

/**
 * The data table: the first `maxRows` points expanded (a 100k-window chart is not expanded
 * for a table that shows 1,000), `total` saying how many there are. Numbers stay numbers (the
 * table formats them); a missing value is null.
 */
export function controlTable(
  data: ControlChartData,
  maxRows: number,
  byIndex: Map<number, Violation[]> = violationsByIndex(data.violations),
): TableModel {
  const metric = data.metric ?? 'value';
  const hasEstimate = Boolean(data.estimated);
  const rows = Array.from({ length: Math.max(0, Math.min(maxRows, data.values.length)) }, (_, i) =>
    controlPoint(data, i, byIndex),
  ).map((p) => [
    String(p.index + 1),
    p.value,
    ...(hasEstimate ? [data.estimated?.[p.index] ?? null] : []),
    p.n ?? null,
    p.start ?? null,
    p.end ?? null,
    p.z,
    p.ucl,
    p.lcl,
    p.violations.map((v) => `${v.rule} (${v.side})`).join('; '),
  ]);
  return {
    caption: `Control chart of ${metric}`,
    headers: [
      'window',
      metric,
      ...(hasEstimate ? [estimatedLabel(data)] : []),
      'n',
      'start',
      'end',
      'z',
      'UCL',
      'LCL',
      'rules',
    ],
    total: data.values.length,
    rows,
  };
}

/** Every point as CSV, with its limits and zones; an empty or non-finite number is an empty cell. */
export function controlCsv(
  data: ControlChartData,
  byIndex: Map<number, Violation[]> = violationsByIndex(data.violations),
): string {
  const hasEstimate = Boolean(data.estimated);
  const rows: Array<Array<string | number | boolean | null | undefined>> = [];
  for (let i = 0; i < data.values.length; i++) {
    const p = controlPoint(data, i, byIndex);
    rows.push([
      p.index + 1,
      p.value,
      ...(hasEstimate ? [data.estimated?.[p.index] ?? null] : []),
      p.n,
      p.start,
      p.end,
      data.centre,
      p.std,
      p.z,
      p.ucl,
      p.lcl,
      p.zones.upper2,
      p.zones.upper1,
      p.zones.lower1,
      p.zones.lower2,
      p.baseline,
      p.violations.map((v) => v.rule).join(';'),
    ]);
  }
  return toCsv(
    [
      'window',
      'value',
      ...(hasEstimate ? ['estimated'] : []),
      'n',
      'start',
      'end',
      'centre',
      'std',
      'z',
      'ucl',
      'lcl',
      'upper2',
      'upper1',
      'lower1',
      'lower2',
      'baseline',
      'rules',
    ],
    rows,
  );
}
