/**
 * Training curves: one chart per metric (`val_x` dashed next to `x`), every run overlaid in its
 * own colour. Live runs receive only their new epochs through `append`. The grouping, columns,
 * table and CSV come from runMetricsTable.ts (pure).
 */
import uPlot from 'uplot';
import type { MetricPoint, RunMetricsAppend, RunMetricsData } from '../protocol';
import { fmt } from '../format';
import { axes, extent, legend, linear, niceTicks, pathOf, svgDocument, text, titleText } from '../svg';
import { PLOT_HEIGHT, keyboardCursor, plotBox, themedAxes } from './uplotCommon';
import type { ChartFactory } from './types';
import {
  allSteps,
  metricColumns,
  metricGroups,
  runMetricsCsv,
  runMetricsTable,
  seriesOf as seriesOfData,
  type RunMetricSeries,
} from './runMetricsTable';

export const runMetricsChart: ChartFactory<'runMetrics'> = (root, initial, ctx) => {
  const data: RunMetricsData = { ...initial, runs: initial.runs.map((r) => ({ ...r, points: [...r.points] })) };
  const { colors } = ctx;
  let groups = metricGroups(data);
  const runColor = (i: number) => colors.series[i % colors.series.length];
  let plots: Array<{ group: string; series: RunMetricSeries[]; u: uPlot }> = [];
  let drawn = 0;

  const columns = (series: RunMetricSeries[]): uPlot.AlignedData => {
    const { steps, columns: cols } = metricColumns(data, series);
    return [steps, ...cols] as uPlot.AlignedData;
  };

  const seriesOf = (metrics: string[]) => seriesOfData(data, metrics);

  const build = () => {
    for (const p of plots) p.u.destroy();
    root.replaceChildren();
    plots = [];
    drawn = 0;
    if (groups.length === 0) {
      const p = document.createElement('p');
      p.className = 'mo-note';
      p.textContent = 'No metrics recorded yet.';
      root.appendChild(p);
      ctx.rendered();
      return;
    }
    for (const g of groups) {
      const wrap = document.createElement('div');
      wrap.className = 'mo-plot';
      wrap.tabIndex = 0;
      wrap.setAttribute('role', 'img');
      wrap.setAttribute(
        'aria-label',
        `${g.name} per epoch for ${data.runs.length} run${data.runs.length === 1 ? '' : 's'}`,
      );
      const h = document.createElement('h2');
      h.textContent = g.name;
      wrap.appendChild(h);
      root.appendChild(wrap);
      const series = seriesOf(g.metrics);
      const opts: uPlot.Options = {
        width: ctx.width,
        height: groups.length > 1 ? Math.round(PLOT_HEIGHT * 0.75) : PLOT_HEIGHT,
        scales: { x: { time: false } },
        axes: themedAxes(colors, 'epoch', g.name, { integerX: true }),
        series: [
          { label: 'epoch' },
          ...series.map((s) => ({
            label: `${data.runs[s.run].label} · ${s.metric}`,
            stroke: runColor(s.run),
            width: 1.5,
            dash: s.metric.startsWith('val_') ? [6, 4] : undefined,
            spanGaps: true,
            points: { show: false },
          })),
        ],
        hooks: {
          draw: [
            () => {
              drawn++;
              if (drawn === groups.length) ctx.rendered();
            },
          ],
        },
      };
      const u = new uPlot(opts, columns(series), wrap);
      keyboardCursor(wrap, u, 1, (i) => {
        const step = u.data[0][i];
        const vals = series.map((s, j) => `${data.runs[s.run].label} ${s.metric} ${fmt(u.data[j + 1][i])}`);
        ctx.announce(`epoch ${step}: ${vals.join('; ')}`);
      });
      plots.push({ group: g.name, series, u });
    }
  };
  build();

  const metricNames = () => groups.flatMap((g) => g.metrics);

  const table = () => runMetricsTable(data, metricNames());

  const csv = () => runMetricsCsv(data, metricNames());

  const svg = () => {
    const W = Math.max(640, ctx.width);
    const panelH = 300;
    const parts: string[] = [titleText(70, ctx.title, W, colors)];
    let top = 40;
    const steps = allSteps(data.runs);
    const xr = extent(steps, 0);
    for (const g of groups) {
      const box = { left: 70, top: top + 20, width: W - 90, height: panelH - 90 };
      parts.push(text(box.left, top + 12, g.name, { 'font-size': 13, 'font-weight': 600, fill: colors.fg }));
      const series = seriesOf(g.metrics);
      const cols = columns(series);
      const yr = extent(
        cols.slice(1).flatMap((c) => [...(c as Array<number | null>)]),
        0.05,
      );
      const x = linear(xr[0], xr[1], box.left, box.left + box.width);
      const y = linear(yr[0], yr[1], box.top + box.height, box.top);
      parts.push(
        axes({
          box,
          x,
          y,
          xTicks: niceTicks(xr[0], xr[1], 8),
          yTicks: niceTicks(yr[0], yr[1], 5),
          xLabel: 'epoch',
          yLabel: g.name,
          colors,
        }),
      );
      series.forEach((s, j) => {
        parts.push(
          `<path class="series" d="${pathOf(cols[0] as number[], cols[j + 1] as Array<number | null>, x, y)}" fill="none" stroke="${runColor(s.run)}" stroke-width="1.5"${s.metric.startsWith('val_') ? ' stroke-dasharray="6 4"' : ''}/>`,
        );
      });
      const lg = legend(
        series.map((s) => ({
          label: `${data.runs[s.run].label} · ${s.metric}`,
          color: runColor(s.run),
          dash: s.metric.startsWith('val_'),
        })),
        box.left,
        box.top + box.height + 50,
        box.width,
        colors.fg,
      );
      parts.push(lg.svg);
      top += panelH + lg.height;
    }
    return svgDocument(W, top + 10, colors, ctx.title, parts.join(''));
  };

  return {
    append(message) {
      if (message.kind !== 'runMetrics') return false;
      const m = message as RunMetricsAppend;
      let run = data.runs.find((r) => r.runId === m.runId);
      const known = new Set(metricNames());
      const added = !run;
      if (!run) {
        run = { runId: m.runId, label: m.label ?? m.runId, points: [] };
        data.runs.push(run);
      }
      if (m.status) run.status = m.status;
      const byStep = new Map(run.points.map((p, i) => [p.step, i]));
      for (const p of m.points as MetricPoint[]) {
        const i = byStep.get(p.step);
        if (i === undefined) run.points.push(p);
        else run.points[i] = { step: p.step, metrics: { ...run.points[i].metrics, ...p.metrics } };
      }
      const newGroups = metricGroups(data);
      if (added || newGroups.flatMap((g) => g.metrics).some((n) => !known.has(n)) || plots.length === 0) {
        groups = newGroups;
        build();
      } else {
        for (const p of plots) p.u.setData(columns(p.series));
      }
      return true;
    },
    svg,
    csv,
    table,
    data: () => data,
    debug: () => ({
      kind: 'runMetrics',
      runs: data.runs.map((r) => ({ runId: r.runId, label: r.label, points: r.points.length, status: r.status })),
      charts: plots.map((p) => ({
        group: p.group,
        axes: { x: 'epoch', y: p.group },
        series: p.u.series.slice(1).map((s) => String(s.label ?? '')),
        steps: p.u.data[0].length,
        yRange: [p.u.scales.y.min, p.u.scales.y.max],
        plot: plotBox(p.u),
      })),
    }),
    destroy() {
      for (const p of plots) p.u.destroy();
    },
  };
};
