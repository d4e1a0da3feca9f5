/**
 * Drift: one bar per feature against its threshold. With one distance test for every feature
 * (PSI, or KS judged on D) the bars are the scores and the threshold is one dashed line. When the
 * tests differ or judge a p-value (KS, chi-square, Z drift when p < threshold), scores on one axis
 * would mislead, so each bar is its distance to its own threshold: score ÷ threshold for a distance,
 * log p ÷ log threshold for a p-value (both 1 at the threshold, above 1 beyond it).
 */
import type { DriftData, DriftFeature } from '../protocol';
import { escapeXml, fmt, toCsv } from '../format';
import { axes, ellipsize, linear, niceTicks, r, svgDocument, text, textMeasurer, titleText } from '../svg';
import { mountSvg } from './svgView';
import type { ChartFactory } from './types';

const TESTS: Record<string, string> = {
  psi: 'PSI',
  ks: 'KS',
  wasserstein: 'Wasserstein',
  jensenshannon: 'Jensen–Shannon',
  chisquare: 'chi-square',
  ztest: 'Z-test',
};
/** Font sizes (CSS px) of the feature names and the bar labels, drawn unscaled. */
const NAME_SIZE = 12;
const LABEL_SIZE = 11;

const testName = (t: string | undefined): string => (t === undefined ? '' : (TESTS[t] ?? t));

/** The window as far as it is known: times only when there are times, the size alone otherwise. */
export function windowText(win: DriftData['window']): string {
  if (!win) return '';
  const rows = win.size ? `${win.size} rows` : '';
  const start = win.start || undefined;
  const end = win.end || undefined;
  const span = start && end ? `${start} → ${end}` : start ? `from ${start}` : end ? `until ${end}` : '';
  if (span) return ` · window ${span}${rows ? ` (${rows})` : ''}`;
  return rows ? ` · window of ${rows}` : '';
}

export const driftChart: ChartFactory<'drift'> = (root, data, ctx) => {
  const { colors } = ctx;
  const thresholdOf = (f: DriftFeature): number => f.threshold ?? data.threshold ?? 0;
  const isDrifted = (f: DriftFeature): boolean => f.drifted ?? f.score > thresholdOf(f);
  /** Relative mode: tests differ, or any is judged on its p-value. */
  const relative =
    data.method === 'auto' ||
    data.threshold === null ||
    data.features.some((f) => f.pValue !== undefined && f.pValue !== null);
  const value = (f: DriftFeature): number => {
    if (!relative) return f.score;
    const t = thresholdOf(f);
    if (f.pValue !== undefined && f.pValue !== null)
      return t > 0 && t < 1 ? Math.log(Math.max(f.pValue, 1e-300)) / Math.log(t) : 0;
    return t > 0 ? f.score / t : 0;
  };
  const label = (f: DriftFeature): string => {
    const stat = `${relative ? `${testName(f.test ?? data.method)} ` : ''}${fmt(f.score, 3)}`;
    const p =
      f.pValue !== undefined && f.pValue !== null
        ? `, p ${f.pValue < 1e-4 ? f.pValue.toExponential(1) : fmt(f.pValue, 3)}`
        : '';
    return `${stat}${p}${isDrifted(f) ? ' drifted' : ''}`;
  };
  const rule = (f: DriftFeature): string =>
    f.pValue !== undefined && f.pValue !== null ? `p < ${fmt(thresholdOf(f))}` : `> ${fmt(thresholdOf(f))}`;
  const drifted = data.features.filter(isDrifted).map((f) => f.feature);
  const axisLabel = relative
    ? 'distance to the threshold (1 = threshold; above 1 = drift)'
    : `${data.method.toUpperCase()} score`;
  const line = relative ? 1 : (data.threshold ?? 0);
  let thresholdX = 0;
  /** Where each bar's label went: beside the bar, or inside it when beside would leave the chart. */
  let labels: Array<{ feature: string; inside: boolean; right: number }> = [];
  let width = 0;
  // Labels are measured in the font they are drawn in.
  const measure = textMeasurer(colors.font);

  const svg = () => {
    // Drawn at the panel's width, never wider: a wider SVG is scaled down to fit, text with it.
    const W = ctx.width;
    // Few features get tall rows (the bars and their labels read at a glance); many stay compact.
    const rowH = data.features.length <= 12 ? 34 : 26;
    // At most 40% of a narrow panel: longer names are cut with an ellipsis.
    const labelW = Math.min(
      Math.max(180, W * 0.3),
      W * 0.4,
      Math.max(60, ...data.features.map((f) => measure(f.feature, NAME_SIZE))),
    );
    // Room on the right for the longest bar label (bars end at most at 1/1.1 of the axis), within reason.
    const longest = Math.max(0, ...data.features.map((f) => measure(label(f), LABEL_SIZE)));
    const room = Math.min(Math.max(60, longest + 16), W * 0.3);
    const box = {
      left: labelW + 28,
      top: 44,
      width: Math.max(80, W - labelW - 28 - room),
      height: rowH * Math.max(1, data.features.length),
    };
    const H = box.top + box.height + 70;
    labels = [];
    width = W;
    const hi =
      Math.max(line, ...data.features.map((f) => Math.max(value(f), relative ? 1 : thresholdOf(f)))) * 1.1 || 1;
    const x = linear(0, hi, box.left, box.left + box.width);
    thresholdX = x(line);
    const parts = [titleText(20, ctx.title, W, colors)];
    parts.push(
      axes({ box, x, y: (v) => v, xTicks: niceTicks(0, hi, 6), yTicks: [], xLabel: axisLabel, yLabel: '', colors }),
    );
    data.features.forEach((f, i) => {
      const y = box.top + i * rowH;
      const over = isDrifted(f);
      const v = Math.min(value(f), hi);
      parts.push(
        text(
          box.left - 8,
          y + rowH / 2 + 4,
          ellipsize(f.feature, labelW + 16, (t) => measure(t, NAME_SIZE)),
          {
            'text-anchor': 'end',
            'font-size': NAME_SIZE,
            fill: colors.fg,
          },
        ),
      );
      parts.push(
        `<rect class="bar${over ? ' drifted' : ''}" data-feature="${escapeXml(f.feature)}" x="${r(box.left)}" y="${r(y + 6)}" width="${r(Math.max(1, x(v) - box.left))}" height="${rowH - 12}" fill="${over ? colors.red : colors.blue}"><title>${escapeXml(`${f.feature}: ${label(f)} (drift when ${rule(f)})`)}</title></rect>`,
      );
      const barW = x(v) - box.left;
      // Beside the bar unless that would cross the right edge; then inside it, if it fits there;
      // in a panel too narrow for either, the score alone (the bar's colour says drifted).
      const fits = (t: string) => x(v) + 4 + measure(t, LABEL_SIZE) <= W - 6 || barW >= measure(t, LABEL_SIZE) + 8;
      const shown = fits(label(f)) ? label(f) : fmt(f.score, 3);
      const lw = measure(shown, LABEL_SIZE);
      const inside = x(v) + 4 + lw > W - 6 && barW >= lw + 8;
      const lx = inside ? x(v) - 4 : x(v) + 4;
      parts.push(
        text(
          lx,
          y + rowH / 2 + 4,
          shown,
          inside
            ? { 'text-anchor': 'end', 'font-size': LABEL_SIZE, fill: colors.bg }
            : { 'font-size': LABEL_SIZE, fill: over ? colors.red : colors.muted },
        ),
      );
      labels.push({ feature: f.feature, inside, right: inside ? x(v) - 4 : lx + lw });
      if (!relative && f.threshold !== undefined && f.threshold !== null && f.threshold !== data.threshold)
        parts.push(
          `<line x1="${r(x(f.threshold))}" x2="${r(x(f.threshold))}" y1="${r(y + 2)}" y2="${r(y + rowH - 2)}" stroke="${colors.red}" stroke-width="2"/>`,
        );
    });
    parts.push(
      `<line class="threshold" data-value="${line}" x1="${r(thresholdX)}" x2="${r(thresholdX)}" y1="${r(box.top)}" y2="${r(box.top + box.height)}" stroke="${colors.red}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    );
    // Centred over its line, or ending at the right edge when centred would cross it.
    const thresholdLabel = relative ? 'threshold' : `threshold ${fmt(line)}`;
    const atEdge = thresholdX + measure(thresholdLabel, LABEL_SIZE) / 2 > W - 4;
    parts.push(
      text(atEdge ? W - 4 : thresholdX, box.top - 6, thresholdLabel, {
        'text-anchor': atEdge ? 'end' : 'middle',
        'font-size': LABEL_SIZE,
        fill: colors.red,
      }),
    );
    return svgDocument(W, H, colors, ctx.title, parts.join(''));
  };

  const summary = document.createElement('p');
  summary.className = 'mo-summary';
  const win = data.window;
  const against = relative
    ? 'each feature against its own test and threshold'
    : `${data.method.toUpperCase()} per feature against threshold ${fmt(line)}`;
  summary.textContent = `${against[0].toUpperCase()}${against.slice(1)}; ${drifted.length ? `drifted: ${drifted.join(', ')}` : 'no feature drifted'}${windowText(win)}.`;
  root.appendChild(summary);
  mountSvg(root, svg(), `Drift scores of ${data.features.length} features`);
  queueMicrotask(() => ctx.rendered());

  const headers = ['feature', 'test', 'score', 'p-value', 'threshold', 'drifted'];
  const rows = () =>
    data.features.map((f) => [
      f.feature,
      testName(f.test ?? data.method),
      f.score,
      f.pValue ?? '',
      thresholdOf(f),
      isDrifted(f) ? 'yes' : 'no',
    ]);
  return {
    svg,
    csv: () => toCsv(headers, rows()),
    table: () => ({ caption: `Drift per feature`, headers, rows: rows() }),
    data: () => data,
    debug: () => ({
      kind: 'drift',
      features: data.features.length,
      drifted,
      thresholdX,
      relative,
      axes: { x: axisLabel },
      labels,
      width,
    }),
    destroy: () => undefined,
  };
};
