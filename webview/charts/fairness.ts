/**
 * Fairness: per-group bars of one metric for one breakdown (a sensitive column or their
 * intersection), the between-group difference drawn as a band from the lowest to the highest
 * group that counts, small groups hatched and left out; the Fairlearn metrics with their gates
 * in a table below. All numbers come from the engine's report.
 */
import { escapeXml, fmt, toCsv } from '../format';
import { ellipsize, linear, niceTicks, paragraph, r, svgDocument, text, textMeasurer, titleText } from '../svg';
import { withAlpha } from '../theme';
import { labelledSelect, metricsTable } from './svgView';
import type { ChartFactory } from './types';

export const fairnessChart: ChartFactory<'fairness'> = (root, data, ctx) => {
  const { colors } = ctx;
  let b = 0;
  let metric = data.metrics[0] ?? '';
  let drawn: {
    groups: Array<{ name: string; value: number | null; small: boolean; count: number }>;
    difference: number | null;
    ratio: number | null;
  } = { groups: [], difference: null, ratio: null };

  const measure = textMeasurer(colors.font);
  /** Lines of `s` wrapped to the chart's width, from `y`, `lineH` apart; returns the y after them. */
  const lines = (parts: string[], y: number, s: string, W: number, size: number, lineH: number): number =>
    paragraph(parts, 16, y, s, W - 32, lineH, { 'font-size': size, fill: colors.muted }, measure) + lineH;

  const svg = (): string => {
    // Drawn at the panel's width, never wider: a wider SVG is scaled down to fit, text with it.
    const W = ctx.width;
    const bd = data.breakdowns[b];
    const groups = bd
      ? bd.groups.map((g) => ({ name: g.name, value: g.values[metric] ?? null, small: g.small, count: g.count }))
      : [];
    const gap = bd?.gaps[metric] ?? { difference: null, ratio: null };
    drawn = { groups, difference: gap.difference, ratio: gap.ratio };
    const rowH = 26;
    const groupLabel = (g: (typeof groups)[number]) => `${g.name}${g.small ? ' *' : ''} (n=${g.count})`;
    // Group names take at most 40% of a narrow panel (cut with an ellipsis); value labels need ~50 px.
    const labelW = Math.min(220, W * 0.4, 8 + Math.max(40, ...groups.map((g) => measure(groupLabel(g), 11))));
    const parts = [titleText(16, ctx.title, W, colors)];
    const top =
      lines(
        parts,
        42,
        `${metric} by ${bd ? bd.by.join(' × ') : '—'} · difference ${fmt(gap.difference, 4)} · ratio ${fmt(gap.ratio, 4)}`,
        W,
        12,
        15,
      ) + 3;
    const box = {
      left: labelW + 16,
      top,
      width: Math.max(60, W - labelW - 16 - 56),
      height: rowH * Math.max(1, groups.length),
    };
    const vals = groups.map((g) => g.value).filter((v): v is number => v !== null && Number.isFinite(v));
    const lo = Math.min(0, ...vals);
    const hi = Math.max(1e-12, ...vals) * 1.1;
    const x = linear(lo, hi, box.left, box.left + box.width);
    const counted = groups.filter((g) => !g.small && g.value !== null) as Array<{ value: number }>;
    if (counted.length >= 2) {
      const a = x(Math.min(...counted.map((g) => g.value)));
      const c = x(Math.max(...counted.map((g) => g.value)));
      parts.push(
        `<rect class="gap-band" data-difference="${gap.difference ?? ''}" x="${r(a)}" y="${r(box.top - 4)}" width="${r(Math.max(1, c - a))}" height="${r(box.height + 8)}" fill="${withAlpha(colors.yellow, 0.18)}" stroke="${colors.yellow}" stroke-dasharray="4 3"><title>${escapeXml(`between-group difference ${fmt(gap.difference)}`)}</title></rect>`,
      );
    }
    groups.forEach((g, i) => {
      const y = box.top + i * rowH;
      parts.push(
        text(
          box.left - 8,
          y + rowH / 2 + 4,
          ellipsize(groupLabel(g), labelW, (t) => measure(t, 11)),
          {
            'text-anchor': 'end',
            'font-size': 11,
            fill: colors.fg,
          },
        ),
      );
      if (g.value === null) {
        parts.push(text(box.left + 4, y + rowH / 2 + 4, 'not defined', { 'font-size': 10, fill: colors.muted }));
        return;
      }
      const z = x(Math.max(0, lo));
      const a = x(g.value);
      parts.push(
        `<rect class="group-bar${g.small ? ' small' : ''}" data-group="${escapeXml(g.name)}" data-value="${g.value}" x="${r(Math.min(z, a))}" y="${r(y + 4)}" width="${r(Math.max(1, Math.abs(a - z)))}" height="${rowH - 8}" fill="${g.small ? withAlpha(colors.muted, 0.4) : colors.blue}"><title>${escapeXml(`${g.name}: ${fmt(g.value)} (${g.count} rows${g.small ? `, below ${data.minGroupSize}: not counted` : ''})`)}</title></rect>`,
      );
      parts.push(text(Math.max(z, a) + 4, y + rowH / 2 + 4, fmt(g.value, 3), { 'font-size': 10, fill: colors.muted }));
    });
    const axisY = box.top + box.height + 8;
    // About one tick per 50 px, so narrow panels do not crowd them.
    for (const t of niceTicks(lo, hi, Math.max(2, Math.min(6, Math.floor(box.width / 50)))))
      parts.push(text(x(t), axisY + 12, fmt(t, 3), { 'text-anchor': 'middle', 'font-size': 10, fill: colors.muted }));
    const end = lines(
      parts,
      axisY + 34,
      `* fewer than ${data.minGroupSize} rows: shown, left out of the difference and ratio.`,
      W,
      10,
      13,
    );
    return svgDocument(W, end, colors, ctx.title, parts.join(''));
  };

  const summary = document.createElement('p');
  summary.className = 'mo-summary';
  summary.textContent = `${data.ref} on ${data.data}; groups below ${data.minGroupSize} rows are left out of the gaps.`;
  const controls = document.createElement('div');
  controls.className = 'mo-controls';
  controls.append(
    labelledSelect(
      'mo-fairness-breakdown',
      'Groups',
      data.breakdowns.map((x, i) => ({ value: String(i), label: x.by.join(' × ') })),
      '0',
      (v) => {
        b = Number(v);
        redraw();
      },
    ),
    labelledSelect(
      'mo-fairness-metric',
      'Metric',
      data.metrics.map((m) => ({ value: m, label: m })),
      metric,
      (v) => {
        metric = v;
        redraw();
      },
    ),
  );
  root.append(summary, controls);
  const wrap = document.createElement('div');
  wrap.className = 'mo-svg mo-plot';
  wrap.tabIndex = 0;
  wrap.setAttribute('role', 'img');
  wrap.setAttribute('aria-label', 'Per-group metric');
  root.appendChild(wrap);
  const redraw = () => {
    wrap.innerHTML = svg();
  };
  redraw();
  const gateRows = data.fairness.map((f) => [
    f.name,
    fmt(f.value),
    f.gate ?? 'no gate',
    f.gate === undefined ? '' : f.passed ? 'passed' : 'failed',
  ]);
  root.appendChild(
    metricsTable('Fairness metrics (Fairlearn definitions)', ['metric', 'value', 'gate', 'state'], gateRows),
  );
  if (data.notes?.length) {
    const ul = document.createElement('ul');
    ul.className = 'mo-note';
    for (const n of data.notes) {
      const li = document.createElement('li');
      li.textContent = n;
      ul.appendChild(li);
    }
    root.appendChild(ul);
  }
  queueMicrotask(() => ctx.rendered());

  const rows = () => drawn.groups.map((g) => [g.name, g.count, g.small ? 'yes' : 'no', g.value]);
  return {
    svg,
    csv: () => toCsv(['group', 'rows', 'small', metric], rows()),
    table: () => ({
      caption: `${metric} by ${data.breakdowns[b]?.by.join(' × ') ?? ''}`,
      headers: ['group', 'rows', 'small', metric],
      rows: rows().map((x) => x.map((v) => (typeof v === 'number' ? fmt(v) : v))),
    }),
    data: () => data,
    debug: () => ({
      kind: 'fairness',
      breakdown: data.breakdowns[b]?.by ?? [],
      metric,
      groups: drawn.groups.map((g) => ({ ...g })),
      difference: drawn.difference,
      ratio: drawn.ratio,
      fairness: data.fairness.map((f) => ({ ...f })),
    }),
    destroy: () => undefined,
  };
};
