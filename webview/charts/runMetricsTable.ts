/**
 * The numbers of the training-curve panel without the drawing: which metrics share a chart,
 * the step-aligned columns a chart plots, the data table and the CSV export. Pure (no DOM, no
 * uPlot): RunMetricsData in, arrays and strings out.
 */
import type { RunMetricsData, RunSeries } from '../protocol';
import { toCsv } from '../format';
import type { TableModel } from './types';

/** One line of a chart: a run's metric. */
export interface RunMetricSeries {
  run: number;
  metric: string;
}

const base = (m: string) => m.replace(/^val_/, '');

/** Metric groups in display order: loss first, then as first seen; `x` before `val_x` in a group. */
export function metricGroups(data: RunMetricsData): Array<{ name: string; metrics: string[] }> {
  const names: string[] = [];
  if (data.metrics?.length) names.push(...data.metrics);
  else
    for (const run of data.runs)
      for (const p of run.points) for (const k of Object.keys(p.metrics)) if (!names.includes(k)) names.push(k);
  const groups = new Map<string, string[]>();
  for (const n of names) {
    const g = groups.get(base(n)) ?? [];
    g.push(n);
    groups.set(base(n), g);
  }
  const order = [...groups.keys()].sort((a, b) => (a === 'loss' ? -1 : b === 'loss' ? 1 : 0));
  return order.map((name) => ({
    name,
    metrics: (groups.get(name) ?? []).sort((a, b) => (a.startsWith('val_') ? 1 : 0) - (b.startsWith('val_') ? 1 : 0)),
  }));
}

/** Every step any run reported, ascending, once each. */
export function allSteps(runs: readonly RunSeries[]): number[] {
  const s = new Set<number>();
  for (const r of runs) for (const p of r.points) s.add(p.step);
  return [...s].sort((a, b) => a - b);
}

/** Each run's every metric in group order. */
export function seriesOf(data: RunMetricsData, metrics: readonly string[]): RunMetricSeries[] {
  const out: RunMetricSeries[] = [];
  data.runs.forEach((_, run) => {
    for (const metric of metrics) out.push({ run, metric });
  });
  return out;
}

/**
 * The steps and, per series, its value at each step: null where the run has no finite value
 * there (not reported yet, or NaN / ±∞ from a diverging run), so the line has a gap.
 */
export function metricColumns(
  data: RunMetricsData,
  series: readonly RunMetricSeries[],
): { steps: number[]; columns: Array<Array<number | null>> } {
  const steps = allSteps(data.runs);
  const pos = new Map(steps.map((s, i) => [s, i]));
  const columns = series.map(() => new Array<number | null>(steps.length).fill(null));
  series.forEach((s, j) => {
    for (const p of data.runs[s.run].points) {
      const v = p.metrics[s.metric];
      if (typeof v === 'number' && Number.isFinite(v)) columns[j][pos.get(p.step) as number] = v;
    }
  });
  return { steps, columns };
}

/** The metric names in the order the charts show them (the table's and the CSV's columns). */
export const metricNames = (data: RunMetricsData): string[] => metricGroups(data).flatMap((g) => g.metrics);

/** One row per run and epoch; a metric the epoch did not report is null. */
export function runMetricsTable(data: RunMetricsData, names: readonly string[] = metricNames(data)): TableModel {
  const rows: TableModel['rows'] = [];
  for (const run of data.runs)
    for (const p of run.points)
      rows.push([`${run.label} · epoch ${p.step}`, ...names.map((n) => p.metrics[n] ?? null)]);
  return { caption: 'Metrics per epoch', headers: ['run · epoch', ...names], rows };
}

/** One line per run and epoch; a metric the epoch did not report, or a non-finite one, is an empty cell. */
export function runMetricsCsv(data: RunMetricsData, names: readonly string[] = metricNames(data)): string {
  const rows: Array<Array<string | number | undefined>> = [];
  for (const run of data.runs)
    for (const p of run.points) rows.push([run.runId, run.label, p.step, ...names.map((n) => p.metrics[n])]);
  return toCsv(['run_id', 'run', 'epoch', ...names], rows);
}
