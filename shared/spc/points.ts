/**
 * Reading the columnar `ControlChartData` point by point, and slicing it for a live append.
 * Pure and dependency-free: the webview bundle imports it too, so the engine and the renderer
 * expand a point (its limits, zones and z) with the same arithmetic.
 */
import type { ControlChartData, ControlChartPoint, ControlChartSeries, PointLimits, Violation, Zones } from './types';

export function zonesAround(mean: number, std: number): Zones {
  return { upper1: mean + std, lower1: mean - std, upper2: mean + 2 * std, lower2: mean - 2 * std };
}

/** (value − centre) / σ; when σ is 0, any departure is infinitely many σ away. */
export function zOf(value: number, centre: number, std: number): number {
  const d = value - centre;
  if (std > 0) return d / std;
  return d === 0 ? 0 : d > 0 ? Infinity : -Infinity;
}

/** σ, UCL, LCL and zones of point i. */
export function pointLimits(data: Pick<ControlChartData, 'centre' | 'limits' | 'varying'>, i: number): PointLimits {
  if (data.limits) return data.limits;
  const v = data.varying;
  if (!v || i < 0 || i >= v.std.length) throw new RangeError(`Control chart point ${i} has no limits.`);
  return { std: v.std[i], ucl: v.ucl[i], lcl: v.lcl[i], zones: zonesAround(data.centre, v.std[i]) };
}

/** Violations grouped by the index of the point they are drawn on. */
export function violationsByIndex(violations: readonly Violation[]): Map<number, Violation[]> {
  const byIndex = new Map<number, Violation[]>();
  for (const v of violations) {
    const list = byIndex.get(v.index);
    if (list) list.push(v);
    else byIndex.set(v.index, [v]);
  }
  return byIndex;
}

/** Point i with its limits, z, window metadata and violations (pass `byIndex` when reading many). */
export function controlPoint(data: ControlChartData, i: number, byIndex?: Map<number, Violation[]>): ControlChartPoint {
  const lim = pointLimits(data, i);
  const value = data.values[i];
  const p: ControlChartPoint = {
    index: i,
    value,
    std: lim.std,
    z: zOf(value, data.centre, lim.std),
    ucl: lim.ucl,
    lcl: lim.lcl,
    zones: lim.zones,
    baseline: data.baseline.kind === 'points' && i < data.baseline.count,
    violations: byIndex ? (byIndex.get(i) ?? []) : data.violations.filter((v) => v.index === i),
  };
  const n = data.n?.[i];
  const start = data.start?.[i];
  const end = data.end?.[i];
  if (n !== undefined && n !== null) p.n = n;
  if (start !== undefined && start !== null) p.start = start;
  if (end !== undefined && end !== null) p.end = end;
  return p;
}

/** Every point expanded (for small charts: monitoring windows, the demo, tests). */
export function controlPoints(data: ControlChartData): ControlChartPoint[] {
  const byIndex = violationsByIndex(data.violations);
  return data.values.map((_, i) => controlPoint(data, i, byIndex));
}

/**
 * Points [from, to) as a live append (`ControlAppend` carries this): the columns sliced, the
 * per-point limits only when the chart's limits vary, the violations drawn on those points.
 */
export function sliceControlChart(data: ControlChartData, from: number, to = data.values.length): ControlChartSeries {
  const out: ControlChartSeries = {
    values: data.values.slice(from, to),
    violations: data.violations.filter((v) => v.index >= from && v.index < to),
  };
  if (data.n) out.n = data.n.slice(from, to);
  if (data.start) out.start = data.start.slice(from, to);
  if (data.end) out.end = data.end.slice(from, to);
  if (data.varying)
    out.varying = {
      std: data.varying.std.slice(from, to),
      ucl: data.varying.ucl.slice(from, to),
      lcl: data.varying.lcl.slice(from, to),
    };
  if (data.estimated) out.estimated = data.estimated.slice(from, to);
  return out;
}

/**
 * Appends new points (a `sliceControlChart` of the grown chart) to `data` in place. When the
 * new points bring per-point limits that differ from the shared ones (a p-chart whose window
 * size changed), the shared limits become per-point columns.
 */
export function appendControlSeries(data: ControlChartData, add: ControlChartSeries): void {
  const before = data.values.length;
  const count = add.values.length;
  for (const field of [
    add.varying?.std,
    add.varying?.ucl,
    add.varying?.lcl,
    add.n,
    add.start,
    add.end,
    add.estimated,
  ]) {
    if (field && field.length !== count)
      throw new RangeError(`A control-chart append has ${count} values but a column of ${field.length}.`);
  }
  if (!data.limits && !add.varying)
    throw new RangeError(
      'The control chart has per-point limits but the append brings none; send the whole chart again.',
    );
  for (const key of ['n', 'start', 'end', 'estimated'] as const) {
    const mine = data[key] as Array<number | string | null> | undefined;
    const theirs = add[key] as Array<number | string | null> | undefined;
    if (!mine && !theirs) continue;
    const col = mine ?? new Array<null>(before).fill(null);
    for (let i = 0; i < count; i++) col.push(theirs?.[i] ?? null);
    (data as unknown as Record<string, unknown>)[key] = col;
  }
  if (data.limits) {
    const shared = data.limits;
    const v = add.varying;
    if (v && !v.std.every((s, i) => s === shared.std && v.ucl[i] === shared.ucl && v.lcl[i] === shared.lcl)) {
      data.varying = {
        std: new Array<number>(before).fill(shared.std).concat(v.std),
        ucl: new Array<number>(before).fill(shared.ucl).concat(v.ucl),
        lcl: new Array<number>(before).fill(shared.lcl).concat(v.lcl),
      };
      data.limits = null;
    }
  } else {
    const v = add.varying;
    const mine = data.varying;
    if (!v || !mine) throw new RangeError('The control chart has neither shared nor per-point limits.');
    for (let i = 0; i < count; i++) {
      mine.std.push(v.std[i]);
      mine.ucl.push(v.ucl[i]);
      mine.lcl.push(v.lcl[i]);
    }
  }
  for (const x of add.values) data.values.push(x);
  for (const x of add.violations) data.violations.push(x);
}

/**
 * The estimate's own chart (CBPE, DLE) when it shows what the realised chart cannot: there is no
 * realised chart (no label yet), or the estimate has windows the realised chart has not (windows
 * still without labels, where an estimated drop alerts). Null when the realised chart's estimated
 * series already shows every estimated window.
 */
export function estimateChartToShow(
  realised: ControlChartData | null | undefined,
  estimate: ControlChartData | null | undefined,
): ControlChartData | null {
  if (!estimate) return null;
  return !realised || estimate.values.length > realised.values.length ? estimate : null;
}
