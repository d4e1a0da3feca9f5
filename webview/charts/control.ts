/**
 * Control chart: points, centre line, UCL/LCL, shaded ±1σ/±2σ/±3σ zones and a marker on every
 * point where a Western Electric rule fired, labelled with the rule; an estimate of the metric
 * (CBPE, or DLE for a regression loss), when the data has one, dashed beside the realised values. Everything drawn comes
 * from ControlChartData as the engine computed it. The data is columnar: the value column goes
 * to uPlot as is, and a point is expanded (limits, z, violations) only when a tooltip, the
 * table or an export needs it. Its text, table rows and CSV come from controlExport.ts (pure).
 */
import uPlot from 'uplot';
import type { ControlAppend, ControlChartData, ControlChartPoint, PointLimits } from '../protocol';
import { appendControlSeries, controlPoint, pointLimits, violationsByIndex } from '../../shared/spc/points';
import { fmt } from '../format';
import { axes, extent, legend, linear, niceTicks, pathOf, r, svgDocument, text, titleText } from '../svg';
import { MAX_TABLE_ROWS } from '../table';
import { withAlpha, type Palette } from '../theme';
import { PLOT_HEIGHT, keyboardCursor, plotBox, themedAxes } from './uplotCommon';
import type { ChartFactory } from './types';
import {
  estimatedLabel,
  controlCsv,
  controlSummary,
  controlTable,
  markerPoints,
  pointText,
  ruleLabel,
  type MarkerPoint,
} from './controlExport';

interface Marker extends MarkerPoint {
  x: number;
  y: number;
}

/** The plot's height (axes included) below which a low panel scrolls rather than squash it. */
const MIN_PLOT_HEIGHT = 260;

/** Above this many violation markers, rule labels that would overprint another are skipped. */
const DENSE_MARKERS = 100;

/**
 * A constant line (centre, or limits shared by every point) as one segment, instead of a path
 * through every point: O(1) however long the series. Rounded like uPlot's own line paths.
 */
const flatLine: uPlot.Series.PathBuilder = (u, seriesIdx, idx0, idx1) => {
  const y = Math.round(u.valToPos(u.data[seriesIdx][idx0] as number, 'y', true));
  const path = new Path2D();
  path.moveTo(Math.round(u.valToPos(u.data[0][idx0], 'x', true)), y);
  path.lineTo(Math.round(u.valToPos(u.data[0][idx1], 'x', true)), y);
  return { stroke: path, fill: null, clip: null, band: null, flags: 0 };
};

/** A marker ring (radius 6, line 2 CSS px) drawn once, centred on a pixel corner like an arc at integer coordinates. */
function ringSprite(color: string, dpr: number): { canvas: HTMLCanvasElement; half: number } {
  const radius = 6 * dpr;
  const half = Math.ceil(radius + 2 * dpr);
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 2 * half;
  const g = canvas.getContext('2d') as CanvasRenderingContext2D;
  g.strokeStyle = color;
  g.lineWidth = 2 * dpr;
  g.beginPath();
  g.arc(half, half, radius, 0, 2 * Math.PI);
  g.stroke();
  return { canvas, half };
}

function zoneBands(colors: Palette) {
  return [
    {
      lo: (p: PointLimits) => p.zones.lower1,
      hi: (p: PointLimits) => p.zones.upper1,
      color: withAlpha(colors.green, 0.1),
      name: 'zone C',
    },
    {
      lo: (p: PointLimits) => p.zones.upper1,
      hi: (p: PointLimits) => p.zones.upper2,
      color: withAlpha(colors.yellow, 0.12),
      name: 'zone B',
    },
    {
      lo: (p: PointLimits) => p.zones.lower2,
      hi: (p: PointLimits) => p.zones.lower1,
      color: withAlpha(colors.yellow, 0.12),
      name: 'zone B',
    },
    {
      lo: (p: PointLimits) => p.zones.upper2,
      hi: (p: PointLimits) => Math.max(p.ucl, p.zones.upper2),
      color: withAlpha(colors.red, 0.1),
      name: 'zone A',
    },
    {
      lo: (p: PointLimits) => Math.min(p.lcl, p.zones.lower2),
      hi: (p: PointLimits) => p.zones.lower2,
      color: withAlpha(colors.red, 0.1),
      name: 'zone A',
    },
  ];
}

/** A copy that appends can grow without touching the sender's arrays. */
function ownCopy(d: ControlChartData): ControlChartData {
  // A panel state saved before the columnar form has `points` instead: say so rather than crash.
  if (!Array.isArray(d.values))
    throw new Error('the control-chart data has no values column (saved by an older ModelOps?); open the chart again');
  const copy: ControlChartData = { ...d, values: d.values.slice(), violations: d.violations.slice() };
  if (d.n) copy.n = d.n.slice();
  if (d.start) copy.start = d.start.slice();
  if (d.end) copy.end = d.end.slice();
  if (d.varying) copy.varying = { std: d.varying.std.slice(), ucl: d.varying.ucl.slice(), lcl: d.varying.lcl.slice() };
  if (d.estimated) copy.estimated = d.estimated.slice();
  return copy;
}

export const controlChart: ChartFactory<'control'> = (root, initial, ctx) => {
  const data = ownCopy(initial);
  let byIndex = violationsByIndex(data.violations);
  let markerList = markerPoints(byIndex);
  const point = (i: number): ControlChartPoint => controlPoint(data, i, byIndex);
  const { colors } = ctx;
  const metric = data.metric ?? 'value';
  const hasEstimate = Boolean(data.estimated);

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
    summary.textContent = controlSummary(data);
    plot.setAttribute('aria-label', `Control chart of ${metric}`);
  };

  // uPlot takes the value column as it came; x and the line columns are typed arrays.
  const columns = (): uPlot.AlignedData => {
    const n = data.values.length;
    const xs = new Float64Array(n);
    for (let i = 0; i < n; i++) xs[i] = i + 1;
    const c = new Float64Array(n).fill(data.centre);
    const u = data.limits ? new Float64Array(n).fill(data.limits.ucl) : (data.varying?.ucl ?? []);
    const l = data.limits ? new Float64Array(n).fill(data.limits.lcl) : (data.varying?.lcl ?? []);
    // The estimate is a series of its own only when the chart came with one (uPlot's series are fixed at creation).
    return hasEstimate
      ? [xs, data.values, c, u, l, data.estimated ?? new Array<null>(n).fill(null)]
      : [xs, data.values, c, u, l];
  };

  let markers: Marker[] = [];
  const bands = zoneBands(colors);

  const shadeZones = (u: uPlot) => {
    const count = data.values.length;
    if (count === 0) return;
    const c = u.ctx;
    const { left, top, width, height } = u.bbox;
    c.save();
    c.beginPath();
    c.rect(left, top, width, height);
    c.clip();
    for (const band of bands) {
      c.fillStyle = band.color;
      c.beginPath();
      if (data.limits || count === 1) {
        const lim = pointLimits(data, 0);
        const y1 = u.valToPos(band.hi(lim), 'y', true);
        const y0 = u.valToPos(band.lo(lim), 'y', true);
        c.rect(left, y1, width, y0 - y1);
      } else {
        const x = (i: number) => u.valToPos(i + 1, 'x', true);
        c.moveTo(x(0), u.valToPos(band.hi(pointLimits(data, 0)), 'y', true));
        for (let i = 1; i < count; i++) c.lineTo(x(i), u.valToPos(band.hi(pointLimits(data, i)), 'y', true));
        for (let i = count - 1; i >= 0; i--) c.lineTo(x(i), u.valToPos(band.lo(pointLimits(data, i)), 'y', true));
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
    // Every violating point gets a ring, stamped from one pre-drawn ring (stroking hundreds of
    // overlapping arcs is slow in software rendering; a ring on the same device pixel as one
    // already drawn is the same ink and is skipped). With more than DENSE_MARKERS markers, a
    // label that would overprint another is skipped, lower rule numbers first: on a dense series
    // (long runs of rule 4) hundreds of labels would smear into one. The markers list keeps all.
    const ring = ringSprite(colors.red, dpr);
    const ringAt = new Set<number>();
    const labels: Array<{ text: string; x: number; y: number; rule: number }> = [];
    for (const { index, rules, side } of markerList) {
      const x = u.valToPos(index + 1, 'x');
      const y = u.valToPos(data.values[index], 'y');
      markers.push({ index, rules, side, x, y });
      const cx = Math.round(x * dpr + u.bbox.left);
      const cy = Math.round(y * dpr + u.bbox.top);
      const key = cx * 65536 + cy;
      if (!ringAt.has(key)) {
        ringAt.add(key);
        c.drawImage(ring.canvas, cx - ring.half, cy - ring.half);
      }
      labels.push({
        text: ruleLabel(rules),
        x: cx,
        y: side === 'above' ? cy - 10 * dpr : cy + 18 * dpr,
        rule: rules[0],
      });
    }
    // Occupied cells of a coarse grid (half a label wide, one line high).
    const lineHeight = 12 * dpr;
    const widths = new Map<string, number>();
    const taken = new Set<number>();
    const cellW = 8 * dpr;
    const dense = labels.length > DENSE_MARKERS;
    if (dense) labels.sort((a, b) => a.rule - b.rule);
    for (const l of labels) {
      if (!dense) {
        c.fillText(l.text, l.x, l.y);
        continue;
      }
      let w = widths.get(l.text);
      if (w === undefined) widths.set(l.text, (w = c.measureText(l.text).width));
      const c0 = Math.floor((l.x - w / 2) / cellW);
      const c1 = Math.floor((l.x + w / 2) / cellW);
      const r0 = Math.floor((l.y - lineHeight) / lineHeight);
      const r1 = Math.floor(l.y / lineHeight);
      let free = true;
      for (let r = r0; r <= r1 && free; r++)
        for (let col = c0; col <= c1; col++) if (taken.has(r * 65536 + col)) free = false;
      if (!free) continue;
      for (let r = r0; r <= r1; r++) for (let col = c0; col <= c1; col++) taken.add(r * 65536 + col);
      c.fillText(l.text, l.x, l.y);
    }
    c.restore();
  };

  const showTooltip = (u: uPlot) => {
    const idx = u.cursor.idx;
    if (idx === null || idx === undefined || idx < 0 || idx >= data.values.length) {
      tooltip.hidden = true;
      return;
    }
    tooltip.textContent = pointText(point(idx), metric, data);
    tooltip.hidden = false;
    const left = u.cursor.left ?? 0;
    const top = u.cursor.top ?? 0;
    const w = tooltip.offsetWidth;
    tooltip.style.left = `${left + 14 + w > u.over.clientWidth ? left - w - 14 : left + 14}px`;
    tooltip.style.top = `${Math.max(0, top - 10)}px`;
  };

  const yRange = (): [number, number] => {
    let lo = Infinity;
    let hi = -Infinity;
    const columns: Array<ArrayLike<number | null>> = data.limits
      ? [data.values, [data.limits.ucl, data.limits.lcl]]
      : [data.values, data.varying?.ucl ?? [], data.varying?.lcl ?? []];
    if (data.estimated) columns.push(data.estimated);
    for (const col of columns) {
      for (let i = 0; i < col.length; i++) {
        const v = col[i];
        if (v === null) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    return extent(Number.isFinite(lo) && Number.isFinite(hi) ? [lo, hi] : [], 0.08);
  };

  // Limits that vary (p-chart with unequal n) step at each window; shared limits are one segment.
  const stepped = uPlot.paths.stepped?.({ align: 1 });
  const limitPaths: uPlot.Series.PathBuilder = (u, si, i0, i1) =>
    data.limits || !stepped ? flatLine(u, si, i0, i1) : stepped(u, si, i0, i1);
  const opts: uPlot.Options = {
    width: ctx.width,
    height: PLOT_HEIGHT,
    // yRange already covers every series: uPlot need not scan them (auto: false below).
    scales: { x: { time: false }, y: { range: () => yRange() } },
    axes: themedAxes(colors, 'window', metric, { integerX: true }),
    cursor: { points: { size: 8 } },
    legend: { show: true },
    series: [
      { label: 'window' },
      {
        label: metric,
        auto: false,
        stroke: colors.fg,
        width: 1.5,
        points: { show: data.values.length <= 2000, size: 5, fill: colors.fg, stroke: colors.fg },
      },
      { label: 'centre μ', auto: false, stroke: colors.green, width: 1.5, points: { show: false }, paths: flatLine },
      {
        label: 'UCL',
        auto: false,
        stroke: colors.red,
        width: 1.5,
        dash: [6, 4],
        points: { show: false },
        paths: limitPaths,
      },
      {
        label: 'LCL',
        auto: false,
        stroke: colors.red,
        width: 1.5,
        dash: [6, 4],
        points: { show: false },
        paths: limitPaths,
      },
      ...(hasEstimate
        ? [
            {
              label: estimatedLabel(data),
              auto: false,
              stroke: colors.blue,
              width: 1.5,
              dash: [3, 3],
              spanGaps: false,
              points: { show: false },
            },
          ]
        : []),
    ],
    hooks: {
      drawClear: [shadeZones],
      draw: [drawMarkers, () => ctx.rendered()],
      setCursor: [showTooltip],
    },
  };
  refreshSummary();
  const u = new uPlot(opts, columns(), plot);
  // The plot and its legend fill the visible panel's height (a panel under the editor, or with
  // the bottom panel open, is low): at least MIN_PLOT_HEIGHT, at most as tall as it is wide.
  // uPlot draws in a microtask, so the first fit sizes the first frame.
  const fitHeight = (): number => {
    const viewport = document.documentElement.clientHeight;
    if (!viewport) return u.height;
    const top = plot.getBoundingClientRect().top + window.scrollY;
    // Before its first draw uPlot's root is as narrow as its content: measure the legend as it
    // wraps at the plot's width.
    u.root.style.width = `${u.width}px`;
    const legendHeight = u.root.querySelector<HTMLElement>('.u-legend')?.offsetHeight ?? 0;
    u.root.style.width = '';
    const below =
      legendHeight +
      (parseFloat(getComputedStyle(plot).marginBottom) || 0) +
      (parseFloat(getComputedStyle(document.body).paddingBottom) || 0);
    const fit = Math.floor(viewport - top - below);
    return Math.max(MIN_PLOT_HEIGHT, Math.min(fit, Math.max(MIN_PLOT_HEIGHT, ctx.width)));
  };
  const refit = () => {
    const height = fitHeight();
    if (height !== u.height) u.setSize({ width: u.width, height });
  };
  refit();
  // A height change (the bottom panel opened or dragged) re-fits; a width change re-creates the view.
  let refitFrame = 0;
  const onResize = () => {
    cancelAnimationFrame(refitFrame);
    refitFrame = requestAnimationFrame(refit);
  };
  window.addEventListener('resize', onResize);
  u.over.appendChild(tooltip);
  u.over.addEventListener('mouseleave', () => (tooltip.hidden = true));
  keyboardCursor(plot, u, 1, (i) => ctx.announce(pointText(point(i), metric, data).replace(/\n/g, '; ')));
  plot.addEventListener('blur', () => (tooltip.hidden = true));

  // Only the rows the table shows are expanded; "Save CSV" has all.
  const table = () => controlTable(data, MAX_TABLE_ROWS, byIndex);

  const svg = (): string => {
    const W = Math.max(640, ctx.width);
    const H = 420;
    const box = { left: 70, top: 40, width: W - 90, height: H - 130 };
    const count = data.values.length;
    const lims = Array.from({ length: data.limits ? Math.min(1, count) : count }, (_, i) => pointLimits(data, i));
    const xr: [number, number] = [1, Math.max(2, count)];
    const yr = yRange();
    const x = linear(xr[0], xr[1], box.left, box.left + box.width);
    const y = linear(yr[0], yr[1], box.top + box.height, box.top);
    const parts: string[] = [titleText(box.left, ctx.title, W, colors)];
    parts.push(
      `<defs><clipPath id="plot"><rect x="${r(box.left)}" y="${r(box.top)}" width="${r(box.width)}" height="${r(box.height)}"/></clipPath></defs>`,
    );
    parts.push('<g clip-path="url(#plot)" class="zones">');
    for (const band of bands) {
      if (count === 0) break;
      const d =
        data.limits || count === 1
          ? `M${r(box.left)} ${r(y(band.hi(lims[0])))}H${r(box.left + box.width)}V${r(y(band.lo(lims[0])))}H${r(box.left)}Z`
          : `M${lims.map((p, i) => `${r(x(i + 1))} ${r(y(band.hi(p)))}`).join('L')}L${lims
              .map((p, i) => `${r(x(i + 1))} ${r(y(band.lo(p)))}`)
              .reverse()
              .join('L')}Z`;
      parts.push(`<path d="${d}" fill="${band.color}" class="${band.name.replace(' ', '-')}"/>`);
    }
    parts.push('</g>');
    parts.push(
      axes({
        box,
        x,
        y,
        xTicks: niceTicks(xr[0], xr[1], 8).filter((t) => Number.isInteger(t)),
        yTicks: niceTicks(yr[0], yr[1], 6),
        xLabel: 'window',
        yLabel: metric,
        colors,
      }),
    );
    const xs = Array.from({ length: count }, (_, i) => i + 1);
    const limitAt = (i: number) => (data.limits ? data.limits : lims[i]);
    const line = (cls: string, ys: number[], stroke: string, dash: boolean) =>
      `<path class="${cls}" d="${pathOf(xs, ys, x, y)}" fill="none" stroke="${stroke}" stroke-width="1.5"${dash ? ' stroke-dasharray="6 4"' : ''} data-value="${cls === 'centre' ? data.centre : ''}"/>`;
    parts.push('<g clip-path="url(#plot)">');
    parts.push(
      line(
        'centre',
        xs.map(() => data.centre),
        colors.green,
        false,
      ),
    );
    parts.push(
      line(
        'ucl',
        xs.map((_, i) => limitAt(i).ucl),
        colors.red,
        true,
      ),
    );
    parts.push(
      line(
        'lcl',
        xs.map((_, i) => limitAt(i).lcl),
        colors.red,
        true,
      ),
    );
    parts.push(line('values', data.values, colors.fg, false));
    if (data.estimated) {
      // Dashed, broken where a window has no estimate.
      let d = '';
      let pen = false;
      data.estimated.forEach((v, i) => {
        if (v === null) {
          pen = false;
          return;
        }
        d += `${pen ? 'L' : 'M'}${r(x(i + 1))} ${r(y(v))}`;
        pen = true;
      });
      parts.push(
        `<path class="estimated" d="${d}" fill="none" stroke="${colors.blue}" stroke-width="1.5" stroke-dasharray="3 3"/>`,
      );
    }
    if (count <= 2000)
      data.values.forEach((v, i) =>
        parts.push(`<circle cx="${r(x(i + 1))}" cy="${r(y(v))}" r="2.5" fill="${colors.fg}"/>`),
      );
    parts.push('</g>');
    for (const { index, rules, side } of markerList) {
      const above = side === 'above';
      const cx = x(index + 1);
      const cy = y(data.values[index]);
      parts.push(
        `<g class="violation" data-index="${index}" data-rules="${rules.join(',')}"><circle cx="${r(cx)}" cy="${r(cy)}" r="6" fill="none" stroke="${colors.red}" stroke-width="2"/>` +
          text(cx, above ? cy - 10 : cy + 18, ruleLabel(rules), {
            'text-anchor': 'middle',
            'font-size': 11,
            'font-weight': 700,
            fill: colors.red,
          }) +
          '</g>',
      );
    }
    const lg = legend(
      [
        { label: metric, color: colors.fg },
        { label: `centre μ = ${fmt(data.centre)}`, color: colors.green },
        {
          label: data.limits ? `UCL = ${fmt(data.limits.ucl)} / LCL = ${fmt(data.limits.lcl)}` : 'UCL / LCL',
          color: colors.red,
          dash: true,
        },
        ...(data.estimated ? [{ label: estimatedLabel(data), color: colors.blue, dash: true }] : []),
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

  const csv = () => controlCsv(data, byIndex);

  return {
    append(message) {
      if (message.kind !== 'control') return false;
      const { type: _type, kind: _kind, ...series } = message as ControlAppend;
      appendControlSeries(data, series);
      byIndex = violationsByIndex(data.violations);
      markerList = markerPoints(byIndex);
      refreshSummary();
      u.setData(columns());
      // The summary may have gained a line and pushed the plot down.
      refit();
      return true;
    },
    svg,
    csv,
    table,
    data: () => data,
    debug() {
      const first = data.values.length ? pointLimits(data, 0) : null;
      const line = (value: number) => ({ value, y: u.valToPos(value, 'y') });
      const box = plotBox(u);
      return {
        kind: 'control',
        chart: data.chart,
        points: data.values.length,
        centre: data.centre,
        std: data.std,
        sigma: data.sigma,
        lines: first
          ? {
              centre: line(data.centre),
              ucl: line(first.ucl),
              lcl: line(first.lcl),
              upper2: line(first.zones.upper2),
              lower2: line(first.zones.lower2),
            }
          : {},
        plot: box,
        height: u.height,
        dpr: uPlot.pxRatio,
        yRange: [u.scales.y.min, u.scales.y.max],
        xRange: [u.scales.x.min, u.scales.x.max],
        markers: markers.map((m) => ({ ...m })),
        axes: { x: 'window', y: metric },
        legend: u.series.map((s) => String(s.label ?? '')),
        estimated: data.estimated
          ? { points: data.estimated.filter((v) => v !== null).length, dash: u.series[5]?.dash ?? null }
          : null,
        sigmaEstimator: data.sigmaEstimator ?? null,
        side: data.side ?? null,
        summary: summary.textContent,
      };
    },
    destroy() {
      window.removeEventListener('resize', onResize);
      cancelAnimationFrame(refitFrame);
      u.destroy();
    },
  };
};
