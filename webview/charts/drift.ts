/** Drift: one bar per feature with its score, against the threshold (a dashed line). */
import type { DriftData } from '../protocol';
import { escapeXml, fmt, toCsv } from '../format';
import { axes, linear, niceTicks, r, svgDocument, text } from '../svg';
import { mountSvg } from './svgView';
import type { ChartFactory } from './types';

export const driftChart: ChartFactory<'drift'> = (root, data, ctx) => {
  const { colors } = ctx;
  const thresholdOf = (f: DriftData['features'][number]) => f.threshold ?? data.threshold;
  const drifted = data.features.filter((f) => f.score > thresholdOf(f)).map((f) => f.feature);
  let thresholdX = 0;

  const svg = () => {
    const W = Math.max(560, ctx.width);
    const rowH = 26;
    const labelW = Math.min(180, 20 + Math.max(6, ...data.features.map((f) => f.feature.length)) * 7);
    const box = { left: labelW + 40, top: 44, width: W - labelW - 70, height: rowH * Math.max(1, data.features.length) };
    const H = box.top + box.height + 70;
    const hi = Math.max(data.threshold, ...data.features.map((f) => Math.max(f.score, thresholdOf(f)))) * 1.1 || 1;
    const x = linear(0, hi, box.left, box.left + box.width);
    thresholdX = x(data.threshold);
    const parts = [text(20, 22, ctx.title, { 'font-size': 15, 'font-weight': 600, fill: colors.fg })];
    parts.push(axes({ box, x, y: (v) => v, xTicks: niceTicks(0, hi, 6), yTicks: [], xLabel: `${data.method.toUpperCase()} score`, yLabel: '', colors }));
    data.features.forEach((f, i) => {
      const y = box.top + i * rowH;
      const over = f.score > thresholdOf(f);
      parts.push(text(box.left - 8, y + rowH / 2 + 4, f.feature, { 'text-anchor': 'end', 'font-size': 11, fill: colors.fg }));
      parts.push(`<rect class="bar${over ? ' drifted' : ''}" data-feature="${escapeXml(f.feature)}" x="${r(box.left)}" y="${r(y + 4)}" width="${r(Math.max(1, x(f.score) - box.left))}" height="${rowH - 8}" fill="${over ? colors.red : colors.blue}"><title>${escapeXml(`${f.feature}: ${fmt(f.score)} (threshold ${fmt(thresholdOf(f))})`)}</title></rect>`);
      parts.push(text(x(f.score) + 4, y + rowH / 2 + 4, `${fmt(f.score, 3)}${over ? ' drifted' : ''}`, { 'font-size': 10, fill: over ? colors.red : colors.muted }));
      if (f.threshold !== undefined) parts.push(`<line x1="${r(x(f.threshold))}" x2="${r(x(f.threshold))}" y1="${r(y + 2)}" y2="${r(y + rowH - 2)}" stroke="${colors.red}" stroke-width="2"/>`);
    });
    parts.push(`<line class="threshold" data-value="${data.threshold}" x1="${r(thresholdX)}" x2="${r(thresholdX)}" y1="${r(box.top)}" y2="${r(box.top + box.height)}" stroke="${colors.red}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
    parts.push(text(thresholdX, box.top - 6, `threshold ${fmt(data.threshold)}`, { 'text-anchor': 'middle', 'font-size': 10, fill: colors.red }));
    return svgDocument(W, H, colors, ctx.title, parts.join(''));
  };

  const summary = document.createElement('p');
  summary.className = 'mo-summary';
  const win = data.window;
  summary.textContent = `${data.method.toUpperCase()} per feature against threshold ${fmt(data.threshold)}; ${drifted.length ? `drifted: ${drifted.join(', ')}` : 'no feature drifted'}${win ? ` · window ${win.start ?? '…'} → ${win.end ?? '…'}${win.size ? ` (${win.size} rows)` : ''}` : ''}.`;
  root.appendChild(summary);
  mountSvg(root, svg(), `Drift scores of ${data.features.length} features`);
  queueMicrotask(() => ctx.rendered());

  const rows = () => data.features.map((f) => [f.feature, f.score, thresholdOf(f), f.score > thresholdOf(f) ? 'yes' : 'no']);
  return {
    svg,
    csv: () => toCsv(['feature', 'score', 'threshold', 'drifted'], rows()),
    table: () => ({ caption: `Drift (${data.method.toUpperCase()}) per feature`, headers: ['feature', 'score', 'threshold', 'drifted'], rows: rows() }),
    data: () => data,
    debug: () => ({ kind: 'drift', features: data.features.length, drifted, thresholdX, axes: { x: `${data.method.toUpperCase()} score` } }),
    destroy: () => undefined,
  };
};
