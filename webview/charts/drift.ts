/**
 * Drift: one bar per feature against its threshold. With one distance test for every feature
 * (PSI, or KS judged on D) the bars are the scores and the threshold is one dashed line. When the
 * tests differ or judge a p-value (KS, chi-square, Z drift when p < threshold), scores on one axis
 * would mislead, so each bar is its distance to its own threshold: score ÷ threshold for a distance,
 * log p ÷ log threshold for a p-value (both 1 at the threshold, above 1 beyond it).
 */
import type { DriftFeature } from '../protocol';
import { escapeXml, fmt, toCsv } from '../format';
import { axes, linear, niceTicks, r, svgDocument, text } from '../svg';
import { mountSvg } from './svgView';
import type { ChartFactory } from './types';

const TESTS: Record<string, string> = { psi: 'PSI', ks: 'KS', wasserstein: 'Wasserstein', jensenshannon: 'Jensen–Shannon', chisquare: 'chi-square', ztest: 'Z-test' };
const testName = (t: string | undefined): string => (t === undefined ? '' : (TESTS[t] ?? t));

export const driftChart: ChartFactory<'drift'> = (root, data, ctx) => {
  const { colors } = ctx;
  const thresholdOf = (f: DriftFeature): number => f.threshold ?? data.threshold ?? 0;
  const isDrifted = (f: DriftFeature): boolean => f.drifted ?? f.score > thresholdOf(f);
  /** Relative mode: tests differ, or any is judged on its p-value. */
  const relative = data.method === 'auto' || data.threshold === null || data.features.some((f) => f.pValue !== undefined && f.pValue !== null);
  const value = (f: DriftFeature): number => {
    if (!relative) return f.score;
    const t = thresholdOf(f);
    if (f.pValue !== undefined && f.pValue !== null) return t > 0 && t < 1 ? Math.log(Math.max(f.pValue, 1e-300)) / Math.log(t) : 0;
    return t > 0 ? f.score / t : 0;
  };
  const label = (f: DriftFeature): string => {
    const stat = `${relative ? `${testName(f.test ?? data.method)} ` : ''}${fmt(f.score, 3)}`;
    const p = f.pValue !== undefined && f.pValue !== null ? `, p ${f.pValue < 1e-4 ? f.pValue.toExponential(1) : fmt(f.pValue, 3)}` : '';
    return `${stat}${p}${isDrifted(f) ? ' drifted' : ''}`;
  };
  const rule = (f: DriftFeature): string => (f.pValue !== undefined && f.pValue !== null ? `p < ${fmt(thresholdOf(f))}` : `> ${fmt(thresholdOf(f))}`);
  const drifted = data.features.filter(isDrifted).map((f) => f.feature);
  const axisLabel = relative ? 'distance to the threshold (1 = threshold; above 1 = drift)' : `${data.method.toUpperCase()} score`;
  const line = relative ? 1 : (data.threshold ?? 0);
  let thresholdX = 0;

  const svg = () => {
    const W = Math.max(560, ctx.width);
    const rowH = 26;
    const labelW = Math.min(180, 20 + Math.max(6, ...data.features.map((f) => f.feature.length)) * 7);
    const box = { left: labelW + 40, top: 44, width: W - labelW - 190, height: rowH * Math.max(1, data.features.length) };
    const H = box.top + box.height + 70;
    const hi = Math.max(line, ...data.features.map((f) => Math.max(value(f), relative ? 1 : thresholdOf(f)))) * 1.1 || 1;
    const x = linear(0, hi, box.left, box.left + box.width);
    thresholdX = x(line);
    const parts = [text(20, 22, ctx.title, { 'font-size': 15, 'font-weight': 600, fill: colors.fg })];
    parts.push(axes({ box, x, y: (v) => v, xTicks: niceTicks(0, hi, 6), yTicks: [], xLabel: axisLabel, yLabel: '', colors }));
    data.features.forEach((f, i) => {
      const y = box.top + i * rowH;
      const over = isDrifted(f);
      const v = Math.min(value(f), hi);
      parts.push(text(box.left - 8, y + rowH / 2 + 4, f.feature, { 'text-anchor': 'end', 'font-size': 11, fill: colors.fg }));
      parts.push(`<rect class="bar${over ? ' drifted' : ''}" data-feature="${escapeXml(f.feature)}" x="${r(box.left)}" y="${r(y + 4)}" width="${r(Math.max(1, x(v) - box.left))}" height="${rowH - 8}" fill="${over ? colors.red : colors.blue}"><title>${escapeXml(`${f.feature}: ${label(f)} (drift when ${rule(f)})`)}</title></rect>`);
      parts.push(text(x(v) + 4, y + rowH / 2 + 4, label(f), { 'font-size': 10, fill: over ? colors.red : colors.muted }));
      if (!relative && f.threshold !== undefined && f.threshold !== null && f.threshold !== data.threshold) parts.push(`<line x1="${r(x(f.threshold))}" x2="${r(x(f.threshold))}" y1="${r(y + 2)}" y2="${r(y + rowH - 2)}" stroke="${colors.red}" stroke-width="2"/>`);
    });
    parts.push(`<line class="threshold" data-value="${line}" x1="${r(thresholdX)}" x2="${r(thresholdX)}" y1="${r(box.top)}" y2="${r(box.top + box.height)}" stroke="${colors.red}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
    parts.push(text(thresholdX, box.top - 6, relative ? 'threshold' : `threshold ${fmt(line)}`, { 'text-anchor': 'middle', 'font-size': 10, fill: colors.red }));
    return svgDocument(W, H, colors, ctx.title, parts.join(''));
  };

  const summary = document.createElement('p');
  summary.className = 'mo-summary';
  const win = data.window;
  const against = relative ? 'each feature against its own test and threshold' : `${data.method.toUpperCase()} per feature against threshold ${fmt(line)}`;
  summary.textContent = `${against[0].toUpperCase()}${against.slice(1)}; ${drifted.length ? `drifted: ${drifted.join(', ')}` : 'no feature drifted'}${win ? ` · window ${win.start ?? '…'} → ${win.end ?? '…'}${win.size ? ` (${win.size} rows)` : ''}` : ''}.`;
  root.appendChild(summary);
  mountSvg(root, svg(), `Drift scores of ${data.features.length} features`);
  queueMicrotask(() => ctx.rendered());

  const headers = ['feature', 'test', 'score', 'p-value', 'threshold', 'drifted'];
  const rows = () => data.features.map((f) => [f.feature, testName(f.test ?? data.method), f.score, f.pValue ?? '', thresholdOf(f), isDrifted(f) ? 'yes' : 'no']);
  return {
    svg,
    csv: () => toCsv(headers, rows()),
    table: () => ({ caption: `Drift per feature`, headers, rows: rows() }),
    data: () => data,
    debug: () => ({ kind: 'drift', features: data.features.length, drifted, thresholdX, relative, axes: { x: axisLabel } }),
    destroy: () => undefined,
  };
};
