/**
 * Control chart: points, centre line, UCL/LCL, shaded ±1σ/±2σ/±3σ zones and a marker on every
 * point where a Western Electric rule fired, labelled with the rule. Everything drawn comes
 * from ControlChartData as the engine computed it.
 */
import uPlot from 'uplot';
import type { ControlAppend, ControlChartData, ControlChartPoint } from '../protocol';
import { fmt, toCsv } from '../format';
import { axes, extent, legend, linear, niceTicks, pathOf, r, svgDocument, text } from '../svg';
import { withAlpha, type Palette } from '../theme';
import { PLOT_HEIGHT, keyboardCursor, plotBox, themedAxes } from './uplotCommon';
import type { ChartFactory, TableModel } from './types';

interface Marker {
  index: number;
  rules: number[];
  side: 'above' | 'below';
  x: number;
  y: number;
}

const ruleLabel = (rules: number[]) => `R${rules.join(',')}`;

function pointText(p: ControlChartPoint, metric: string): string {
  const lines = [`window ${p.index + 1}`, `${metric}: ${fmt(p.value)}  (z ${fmt(p.z, 2)})`];
  if (p.n !== undefined) lines.push(`size: ${p.n}`);
  if (p.start || p.end) lines.push(`${p.start ?? '…'} → ${p.end ?? '…'}`);
  lines.push(`UCL ${fmt(p.ucl)}  LCL ${fmt(p.lcl)}`);
  if (p.violations.length) lines.push(`rule ${p.violations.map((v) => v.rule).join(', ')} (${p.violations[0].side})`);
  if (p.baseline) lines.push('baseline');
  return lines.join('\n');
}

function zoneBands(colors: Palette) {
  return [
    { lo: (p: ControlChartPoint) => p.zones.lower1, hi: (p: ControlChartPoint) => p.zones.upper1, color: withAlpha(colors.green, 0.1), name: 'zone C' },
    { lo: (p: ControlChartPoint) => p.zones.upper1, hi: (p: ControlChartPoint) => p.zones.upper2, color: withAlpha(colors.yellow, 0.12), name: 'zone B' },
    { lo: (p: ControlChartPoint) => p.zones.lower2, hi: (p: ControlChartPoint) => p.zones.lower1, color: withAlpha(colors.yellow, 0.12), name: 'zone B' },
    { lo: (p: ControlChartPoint) => p.zones.upper2, hi: (p: ControlChartPoint) => Math.max(p.ucl, p.zones.upper2), color: withAlpha(colors.red, 0.1), name: 'zone A' },
    { lo: (p: ControlChartPoint) => Math.min(p.lcl, p.zones.lower2), hi: (p: ControlChartPoint) => p.zones.lower2, color: withAlpha(colors.red, 0.1), name: 'zone A' },
  ];
}

export const controlChart: ChartFactory<'control'> = (root, initial, ctx) => {
  const data: ControlChartData = { ...initial, points: [...initial.points], violations: [...initial.violations] };
  const { colors } = ctx;
  const metric = data.metric ?? 'value';
  const pChart = data.chart === 'p';

  const summary = document.createElement('p');
  summary.className = 'mo-summary';
  summary.id = 'mo-control-summary';
  root.appendChild(summary);
  const plot = document.createElement('div');
  plot.className = 'mo-plot';
  plot.tabIndex = 0;
  plot.setAttribute('role', 'img');
  plot.setAttribute('aria-describedby', summary.id);
  root.appendChild(plot);
  const tooltip = document.createElement('div');
  tooltip.className = 'mo-tooltip';
  tooltip.hidden = true;

  const refreshSummary = () => {
    const counts = new Map<number, number>();
    for (const v of data.violations) counts.set(v.rule, (counts.get(v.rule) ?? 0) + 1);
    const base = data.baseline.kind === 'points' ? `baseline: first ${data.baseline.count} windows` : 'baseline: given μ and σ';
    const limits = data.constantLimits ? `UCL ${fmt(data.points[0]?.ucl)}, LCL ${fmt(data.points[0]?.lcl)}` : 'UCL/LCL per window size';
    const v = data.violations.length === 0 ? 'no rule violations' : `${data.violations.length} violation${data.violations.length === 1 ? '' : 's'} (${[...counts].sort((a, b) => a[0] - b[0]).map(([k, n]) => `rule ${k}: ${n}`).join(', ')})`;
    summary.textContent = `${pChart ? 'p-chart' : 'Individuals chart'} of ${metric}, ${data.points.length} windows. Centre μ ${fmt(data.centre)}, σ ${fmt(data.std)}, ${limits} (±${fmt(data.sigma)}σ); ${base}; ${v}.`;
    plot.setAttribute('aria-label', `Control chart of ${metric}`);
  };

  const columns = (): uPlot.AlignedData => {
    const n = data.points.length;
    const xs = new Array<number>(n);
    const ys = new Array<number>(n);
    const c = new Array<number>(n);
    const u = new Array<number>(n);
    const l = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const p = data.points[i];
      xs[i] = p.index + 1;
      ys[i] = p.value;
      c[i] = data.centre;
      u[i] = p.ucl;
      l[i] = p.lcl;
    }
    return [xs, ys, c, u, l];
  };

  let markers: Marker[] = [];
  const bands = zoneBands(colors);

  const shadeZones = (u: uPlot) => {
    const pts = data.points;
    if (pts.length === 0) return;
    const c = u.ctx;
    const { left, top, width, height } = u.bbox;
    c.save();
    c.beginPath();
    c.rect(left, top, width, height);
    c.clip();
    for (const band of bands) {
      c.fillStyle = band.color;
      c.beginPath();
      if (data.constantLimits || pts.length === 1) {
        const y1 = u.valToPos(band.hi(pts[0]), 'y', true);
        const y0 = u.valToPos(band.lo(pts[0]), 'y', true);
        c.rect(left, y1, width, y0 - y1);
      } else {
        const x = (p: ControlChartPoint) => u.valToPos(p.index + 1, 'x', true);
        c.moveTo(x(pts[0]), u.valToPos(band.hi(pts[0]), 'y', true));
        for (let i = 1; i < pts.length; i++) c.lineTo(x(pts[i]), u.valToPos(band.hi(pts[i]), 'y', true));
        for (let i = pts.length - 1; i >= 0; i--) c.lineTo(x(pts[i]), u.valToPos(band.lo(pts[i]), 'y', true));
        c.closePath();
      }
      c.fill();
    }
    c.restore();
  };

  const drawMarkers = (u: uPlot) => {
    const c = u.ctx;
    const dpr = uPlot.pxRatio;
    markers = [];
    c.save();
    c.strokeStyle = colors.red;
    c.fillStyle = colors.red;
    c.lineWidth = 2 * dpr;
    c.setLineDash([]);
    c.font = `bold ${Math.round(11 * dpr)}px ${colors.font}`;
    c.textAlign = 'center';
    for (const p of data.points) {
      if (p.violations.length === 0) continue;
      const rules = [...new Set(p.violations.map((v) => v.rule))].sort();
      const side = p.violations[0].side;
      const x = u.valToPos(p.index + 1, 'x');
      const y = u.valToPos(p.value, 'y');
      markers.push({ index: p.index, rules, side, x, y });
      const cx = x * dpr + u.bbox.left;
      const cy = y * dpr + u.bbox.top;
      c.beginPath();
      c.arc(cx, cy, 6 * dpr, 0, 2 * Math.PI);
      c.stroke();
      c.fillText(ruleLabel(rules), cx, side === 'above' ? cy - 10 * dpr : cy + 18 * dpr);
    }
    c.restore();
  };

  const showTooltip = (u: uPlot) => {
    const idx = u.cursor.idx;
    if (idx === null || idx === undefined || !data.points[idx]) {
      tooltip.hidden = true;
      return;
    }
    tooltip.textContent = pointText(data.points[idx], metric);
    tooltip.hidden = false;
    const left = u.cursor.left ?? 0;
    const top = u.cursor.top ?? 0;
    const w = tooltip.offsetWidth;
    tooltip.style.left = `${left + 14 + w > u.over.clientWidth ? left - w - 14 : left + 14}px`;
    tooltip.style.top = `${Math.max(0, top - 10)}px`;
  };

  const yRange = (): [number, number] => {
    const vals: number[] = [];
    for (const p of data.points) vals.push(p.value, p.ucl, p.lcl);
    return extent(vals, 0.08);
  };

  const limitPaths = pChart ? uPlot.paths.stepped?.({ align: 1 }) : undefined;
  const opts: uPlot.Options = {
    width: ctx.width,
    height: PLOT_HEIGHT,
    scales: { x: { time: false }, y: { range: () => yRange() } },
    axes: themedAxes(colors, 'window', metric, { integerX: true }),
    cursor: { points: { size: 8 } },
    legend: { show: true },
    series: [
      { label: 'window' },
      { label: metric, stroke: colors.fg, width: 1.5, points: { show: data.points.length <= 2000, size: 5, fill: colors.fg, stroke: colors.fg } },
      { label: 'centre μ', stroke: colors.green, width: 1.5, points: { show: false } },
      { label: 'UCL', stroke: colors.red, width: 1.5, dash: [6, 4], points: { show: false }, ...(limitPaths ? { paths: limitPaths } : {}) },
      { label: 'LCL', stroke: colors.red, width: 1.5, dash: [6, 4], points: { show: false }, ...(limitPaths ? { paths: limitPaths } : {}) },
    ],
    hooks: {
      drawClear: [shadeZones],
      draw: [drawMarkers, () => ctx.rendered()],
      setCursor: [showTooltip],
    },
  };
  refreshSummary();
  const u = new uPlot(opts, columns(), plot);
  u.over.appendChild(tooltip);
  u.over.addEventListener('mouseleave', () => (tooltip.hidden = true));
  keyboardCursor(plot, u, 1, (i) => ctx.announce(pointText(data.points[i], metric).replace(/\n/g, '; ')));
  plot.addEventListener('blur', () => (tooltip.hidden = true));

  const table = (): TableModel => ({
    caption: `Control chart of ${metric}`,
    headers: ['window', metric, 'n', 'start', 'end', 'z', 'UCL', 'LCL', 'rules'],
    rows: data.points.map((p) => [
      String(p.index + 1),
      p.value,
      p.n ?? null,
      p.start ?? null,
      p.end ?? null,
      p.z,
      p.ucl,
      p.lcl,
      p.violations.length ? p.violations.map((v) => `${v.rule} (${v.side})`).join('; ') : '',
    ]),
  });

  const svg = (): string => {
    const W = Math.max(640, ctx.width);
    const H = 420;
    const box = { left: 70, top: 40, width: W - 90, height: H - 130 };
    const pts = data.points;
    const xr: [number, number] = [1, Math.max(2, pts.length)];
    const yr = yRange();
    const x = linear(xr[0], xr[1], box.left, box.left + box.width);
    const y = linear(yr[0], yr[1], box.top + box.height, box.top);
    const parts: string[] = [text(box.left, 22, ctx.title, { 'font-size': 15, 'font-weight': 600, fill: colors.fg })];
    parts.push(`<defs><clipPath id="plot"><rect x="${r(box.left)}" y="${r(box.top)}" width="${r(box.width)}" height="${r(box.height)}"/></clipPath></defs>`);
    parts.push('<g clip-path="url(#plot)" class="zones">');
    for (const band of bands) {
      if (pts.length === 0) break;
      const top = pts.map((p) => `${r(x(p.index + 1))} ${r(y(band.hi(p)))}`);
      const bottom = pts.map((p) => `${r(x(p.index + 1))} ${r(y(band.lo(p)))}`).reverse();
      const d = data.constantLimits
        ? `M${r(box.left)} ${r(y(band.hi(pts[0])))}H${r(box.left + box.width)}V${r(y(band.lo(pts[0])))}H${r(box.left)}Z`
        : `M${top.join('L')}L${bottom.join('L')}Z`;
      parts.push(`<path d="${d}" fill="${band.color}" class="${band.name.replace(' ', '-')}"/>`);
    }
    parts.push('</g>');
    parts.push(axes({ box, x, y, xTicks: niceTicks(xr[0], xr[1], 8).filter((t) => Number.isInteger(t)), yTicks: niceTicks(yr[0], yr[1], 6), xLabel: 'window', yLabel: metric, colors }));
    const xs = pts.map((p) => p.index + 1);
    const line = (cls: string, ys: number[], stroke: string, dash: boolean) =>
      `<path class="${cls}" d="${pathOf(xs, ys, x, y)}" fill="none" stroke="${stroke}" stroke-width="1.5"${dash ? ' stroke-dasharray="6 4"' : ''} data-value="${cls === 'centre' ? data.centre : ''}"/>`;
    parts.push('<g clip-path="url(#plot)">');
    parts.push(line('centre', pts.map(() => data.centre), colors.green, false));
    parts.push(line('ucl', pts.map((p) => p.ucl), colors.red, true));
    parts.push(line('lcl', pts.map((p) => p.lcl), colors.red, true));
    parts.push(line('values', pts.map((p) => p.value), colors.fg, false));
    if (pts.length <= 2000) for (const p of pts) parts.push(`<circle cx="${r(x(p.index + 1))}" cy="${r(y(p.value))}" r="2.5" fill="${colors.fg}"/>`);
    parts.push('</g>');
    for (const p of pts) {
      if (!p.violations.length) continue;
      const rules = [...new Set(p.violations.map((v) => v.rule))].sort();
      const above = p.violations[0].side === 'above';
      const cx = x(p.index + 1);
      const cy = y(p.value);
      parts.push(
        `<g class="violation" data-index="${p.index}" data-rules="${rules.join(',')}"><circle cx="${r(cx)}" cy="${r(cy)}" r="6" fill="none" stroke="${colors.red}" stroke-width="2"/>` +
          text(cx, above ? cy - 10 : cy + 18, ruleLabel(rules), { 'text-anchor': 'middle', 'font-size': 11, 'font-weight': 700, fill: colors.red }) +
          '</g>',
      );
    }
    const lg = legend(
      [
        { label: metric, color: colors.fg },
        { label: `centre μ = ${fmt(data.centre)}`, color: colors.green },
        { label: data.constantLimits ? `UCL = ${fmt(pts[0]?.ucl)} / LCL = ${fmt(pts[0]?.lcl)}` : 'UCL / LCL', color: colors.red, dash: true },
      ],
      box.left,
      H - 40,
      box.width,
      colors.fg,
    );
    parts.push(lg.svg);
    parts.push(text(box.left, H - 12, summary.textContent ?? '', { 'font-size': 10, fill: colors.muted }));
    return svgDocument(W, H, colors, ctx.title, parts.join(''));
  };

  const csv = () =>
    toCsv(
      ['window', 'value', 'n', 'start', 'end', 'centre', 'std', 'z', 'ucl', 'lcl', 'upper2', 'upper1', 'lower1', 'lower2', 'baseline', 'rules'],
      data.points.map((p) => [
        p.index + 1,
        p.value,
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
      ]),
    );

  return {
    append(message) {
      if (message.kind !== 'control') return false;
      const m = message as ControlAppend;
      for (const p of m.points) {
        data.points.push(p);
        data.violations.push(...p.violations);
      }
      data.constantLimits = data.constantLimits && data.points.every((p) => p.ucl === data.points[0].ucl && p.lcl === data.points[0].lcl);
      refreshSummary();
      u.setData(columns());
      return true;
    },
    svg,
    csv,
    table,
    data: () => data,
    debug() {
      const first = data.points[0];
      const line = (value: number) => ({ value, y: u.valToPos(value, 'y') });
      const box = plotBox(u);
      return {
        kind: 'control',
        chart: data.chart,
        points: data.points.length,
        centre: data.centre,
        std: data.std,
        sigma: data.sigma,
        lines: first ? { centre: line(data.centre), ucl: line(first.ucl), lcl: line(first.lcl), upper2: line(first.zones.upper2), lower2: line(first.zones.lower2) } : {},
        plot: box,
        dpr: uPlot.pxRatio,
        yRange: [u.scales.y.min, u.scales.y.max],
        xRange: [u.scales.x.min, u.scales.x.max],
        markers: markers.map((m) => ({ ...m })),
        axes: { x: 'window', y: metric },
        legend: u.series.map((s) => String(s.label ?? '')),
        summary: summary.textContent,
      };
    },
    destroy() {
      u.destroy();
    },
  };
};
