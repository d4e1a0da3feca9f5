/** Confusion matrix heatmap (rows actual, columns predicted) with per-class precision/recall/F1. */
import type { ClassMetrics } from '../protocol';
import { escapeXml, fmt, toCsv } from '../format';
import { r, svgDocument, text, titleText } from '../svg';
import { withAlpha } from '../theme';
import { metricsTable, mountSvg } from './svgView';
import type { ChartFactory } from './types';

/** Per-class metrics from the matrix, used when the engine did not send them. */
export function perClassFromMatrix(labels: string[], m: number[][]): ClassMetrics[] {
  return labels.map((label, k) => {
    const tp = m[k]?.[k] ?? 0;
    const support = (m[k] ?? []).reduce((s, v) => s + v, 0);
    const predicted = m.reduce((s, row) => s + (row[k] ?? 0), 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, precision, recall, f1, support };
  });
}

export const confusionChart: ChartFactory<'confusion'> = (root, data, ctx) => {
  const { colors } = ctx;
  const k = data.labels.length;
  const perClass = data.perClass ?? perClassFromMatrix(data.labels, data.matrix);

  const svg = () => {
    const labelW = Math.min(140, 20 + Math.max(4, ...data.labels.map((l) => l.length)) * 7);
    // Cells fill the panel's width (28–72 px each): wider than the panel only past 28 px a cell.
    const cell = Math.max(28, Math.min(72, (ctx.width - labelW - 60) / Math.max(1, k)));
    const left = labelW + 30;
    const top = 70;
    // The panel's width (the title has room), or the matrix's when it needs more.
    const W = Math.max(left + cell * k + 20, ctx.width);
    const H = top + cell * k + labelW + 20;
    const parts = [titleText(20, ctx.title, W, colors)];
    parts.push(
      text(left + (cell * k) / 2, 48, 'predicted', {
        'text-anchor': 'middle',
        'font-size': 12,
        fill: colors.fg,
        class: 'axis-label x',
      }),
    );
    parts.push(
      text(14, top + (cell * k) / 2, 'actual', {
        'text-anchor': 'middle',
        'font-size': 12,
        fill: colors.fg,
        transform: `rotate(-90 14 ${r(top + (cell * k) / 2)})`,
        class: 'axis-label y',
      }),
    );
    for (let i = 0; i < k; i++) {
      const row = data.matrix[i] ?? [];
      const total = row.reduce((s, v) => s + v, 0);
      parts.push(
        text(left - 6, top + i * cell + cell / 2 + 4, data.labels[i], {
          'text-anchor': 'end',
          'font-size': 11,
          fill: colors.fg,
        }),
      );
      for (let j = 0; j < k; j++) {
        const v = row[j] ?? 0;
        const share = total ? v / total : 0;
        const fill = withAlpha(i === j ? colors.blue : colors.red, 0.08 + 0.85 * share);
        parts.push(
          `<rect class="cell" data-actual="${i}" data-predicted="${j}" data-count="${v}" x="${r(left + j * cell)}" y="${r(top + i * cell)}" width="${r(cell - 1)}" height="${r(cell - 1)}" fill="${fill}"><title>${escapeXml(`actual ${data.labels[i]}, predicted ${data.labels[j]}: ${v} (${fmt(share * 100, 1)}% of the row)`)}</title></rect>`,
        );
        parts.push(
          text(left + j * cell + cell / 2, top + i * cell + cell / 2 + 4, String(v), {
            'text-anchor': 'middle',
            'font-size': 12,
            'font-weight': share > 0.5 ? 700 : 400,
            fill: colors.fg,
          }),
        );
      }
    }
    for (let j = 0; j < k; j++) {
      const x = left + j * cell + cell / 2;
      const y = top + k * cell + 8;
      parts.push(
        text(x, y, data.labels[j], {
          'text-anchor': 'end',
          'font-size': 11,
          fill: colors.fg,
          transform: `rotate(-45 ${r(x)} ${r(y)})`,
        }),
      );
    }
    return svgDocument(W, H, colors, ctx.title, parts.join(''));
  };

  const headers = ['class', 'precision', 'recall', 'F1', 'support'];
  const rows = () => perClass.map((c) => [c.label, fmt(c.precision), fmt(c.recall), fmt(c.f1), String(c.support)]);
  mountSvg(root, svg(), `Confusion matrix of ${k} classes`);
  root.appendChild(metricsTable('Per-class precision, recall and F1', headers, rows()));
  queueMicrotask(() => ctx.rendered());

  return {
    svg,
    csv: () =>
      toCsv(
        ['actual \\ predicted', ...data.labels],
        data.labels.map((l, i) => [l, ...(data.matrix[i] ?? [])]),
      ),
    table: () => ({
      caption: 'Confusion matrix (rows: actual, columns: predicted)',
      headers: ['actual \\ predicted', ...data.labels],
      rows: data.labels.map((l, i) => [l, ...(data.matrix[i] ?? [])]),
    }),
    data: () => data,
    debug: () => ({
      kind: 'confusion',
      labels: data.labels,
      cells: k * k,
      perClass,
      axes: { x: 'predicted', y: 'actual' },
    }),
    destroy: () => undefined,
  };
};
