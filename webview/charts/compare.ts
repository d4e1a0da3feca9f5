/**
 * Compare versions: grouped bars (one group per quality metric, one bar per version), a table
 * whose change column is coloured by the metric's direction (a lower log_loss is better), and the
 * cost of an optimised version — size, load time, latency — in its own table, in bytes and ms.
 */
import { escapeXml, fmt, toCsv } from '../format';
import { formatBytes } from '../../shared/format';
import type { CompareData } from '../protocol';
import { axes, ellipsize, legend, linear, niceTicks, r, svgDocument, text, textMeasurer, titleText } from '../svg';
import { metricsTable, mountSvg, type TableCell } from './svgView';
import type { ChartFactory } from './types';

/** Size and speed, measured for optimised versions: not on the quality axis. */
const COST = /^(size_bytes|load_ms|latency_p50_ms_b\d+)$/;
/** Lower is better for errors, losses, gaps between groups, size and time. */
const LOWER_IS_BETTER = /(^|_)(loss|log_loss|mae|mse|rmse|mape|error_rate|difference|bytes|ms(_b\d+)?)$/;

export function lowerIsBetter(metric: string): boolean {
  return LOWER_IS_BETTER.test(metric) || COST.test(metric);
}

/** The change last − first as a cell: `better` or `worse` by the metric's direction. */
function changeCell(metric: string, first: number | null, last: number | null, show: (d: number) => string): TableCell {
  if (first === null || last === null) return '—';
  const d = last - first;
  if (d === 0) return show(0);
  const better = lowerIsBetter(metric) ? d < 0 : d > 0;
  return { text: (d > 0 ? '+' : '') + show(d), className: better ? 'mo-better' : 'mo-worse' };
}

/** The quality metrics and the cost rows; parent_* copies (an optimised version's parent) are dropped. */
function splitMetrics(data: CompareData): { quality: CompareData['metrics']; cost: CompareData['metrics'] } {
  const own = data.metrics.filter((m) => !m.name.startsWith('parent_'));
  return { quality: own.filter((m) => !COST.test(m.name)), cost: own.filter((m) => COST.test(m.name)) };
}

export const compareChart: ChartFactory<'compare'> = (root, data, ctx) => {
  const { colors } = ctx;
  const color = (j: number) => colors.series[j % colors.series.length];
  const bars: Array<{ metric: string; version: string; value: number | null; x: number; y: number; height: number }> =
    [];
  const { quality, cost } = splitMetrics(data);
  const measure = textMeasurer(colors.font);
  /** Versions without any quality metric (registered, never evaluated): no bars, said so. */
  const unmeasured = data.versions.filter((_, j) => !quality.some((m) => m.values[j] != null));

  const svg = () => {
    bars.length = 0;
    // Drawn at the panel's width (text at its size); metric names that do not fit their group are cut.
    const W = ctx.width;
    const H = 380;
    const box = { left: 70, top: 40, width: W - 90, height: H - 130 };
    const values = quality.flatMap((m) => m.values).filter((v): v is number => v !== null && Number.isFinite(v));
    const lo = Math.min(0, ...values);
    const hi = Math.max(0, ...values) * 1.08 || 1;
    const y = linear(lo, hi, box.top + box.height, box.top);
    const groupW = box.width / Math.max(1, quality.length);
    const barW = Math.max(2, Math.min(48, (groupW * 0.8) / Math.max(1, data.versions.length)));
    const parts = [titleText(box.left, ctx.title, W, colors)];
    parts.push(
      axes({
        box,
        x: (v) => v,
        y,
        xTicks: [],
        yTicks: niceTicks(lo, hi, 5),
        xLabel: 'metric',
        yLabel: 'value',
        colors,
      }),
    );
    quality.forEach((m, i) => {
      const gx = box.left + i * groupW + (groupW - barW * data.versions.length) / 2;
      // The bars' titles and the table below give the whole name.
      const name = ellipsize(m.name, groupW - 6, (t) => measure(t, 11));
      parts.push(
        text(box.left + (i + 0.5) * groupW, box.top + box.height + 16, name, {
          'text-anchor': 'middle',
          'font-size': 11,
          fill: colors.fg,
        }),
      );
      m.values.forEach((v, j) => {
        if (v === null || !Number.isFinite(v)) return;
        const y0 = y(Math.max(0, lo));
        const y1 = y(v);
        const top = Math.min(y0, y1);
        const h = Math.abs(y0 - y1);
        const x = gx + j * barW;
        bars.push({ metric: m.name, version: data.versions[j], value: v, x, y: top, height: h });
        parts.push(
          `<rect class="bar" data-metric="${escapeXml(m.name)}" data-version="${escapeXml(data.versions[j])}" x="${r(x + 1)}" y="${r(top)}" width="${r(barW - 2)}" height="${r(h)}" fill="${color(j)}"><title>${escapeXml(`${data.versions[j]} ${m.name}: ${fmt(v)}`)}</title></rect>`,
        );
        if (barW >= 28)
          parts.push(
            text(x + barW / 2, top - 4, fmt(v, 3), { 'text-anchor': 'middle', 'font-size': 10, fill: colors.muted }),
          );
      });
    });
    parts.push(
      legend(
        data.versions.map((v, j) => ({ label: unmeasured.includes(v) ? `${v} (no metrics)` : v, color: color(j) })),
        box.left,
        H - 40,
        box.width,
        colors.fg,
      ).svg,
    );
    return svgDocument(W, H, colors, ctx.title, parts.join(''));
  };

  const headers = ['metric', ...data.versions, ...(data.versions.length >= 2 ? ['Δ last − first'] : [])];
  const rowsOf = (metrics: CompareData['metrics'], show: (m: string, v: number) => string): TableCell[][] =>
    metrics.map((m) => [
      m.name,
      ...m.values.map((v) => (v === null ? '—' : show(m.name, v))),
      ...(data.versions.length >= 2
        ? [changeCell(m.name, m.values[0], m.values[m.values.length - 1], (d) => show(m.name, d))]
        : []),
    ]);
  const rows = () => rowsOf(quality, (_, v) => fmt(v));
  const costOf = (name: string, v: number) => (name === 'size_bytes' ? formatBytes(v) : `${fmt(v, 3)} ms`);
  const plain = (cells: TableCell[][]) => cells.map((r) => r.map((c) => (typeof c === 'string' ? c : c.text)));

  if (data.versions.length === 0 || quality.length + cost.length === 0) {
    const p = document.createElement('p');
    p.className = 'mo-note';
    p.textContent = 'Nothing to compare: choose versions that have metrics.';
    root.appendChild(p);
  } else if (unmeasured.length) {
    const p = document.createElement('p');
    p.className = 'mo-note mo-unmeasured';
    p.textContent = `${unmeasured.join(', ')} ${unmeasured.length === 1 ? 'has' : 'have'} no metrics yet: run ModelOps: Evaluate Version… (or modelops evaluate ${unmeasured[0]}) to compare ${unmeasured.length === 1 ? 'it' : 'them'}.`;
    root.appendChild(p);
  }
  mountSvg(root, svg(), `Metrics of ${data.versions.join(', ')}`);
  root.appendChild(metricsTable('Metrics by version', headers, rows()));
  if (cost.length)
    root.appendChild(
      metricsTable('Size and latency (measured when the version was optimised)', headers, rowsOf(cost, costOf)),
    );
  // Global importance stored with each version, side by side: mean |SHAP| and permutation importance.
  const importance = data.importance ?? [];
  const importanceHeaders = ['feature', ...data.versions.flatMap((v) => [`${v} mean |SHAP|`, `${v} permutation`])];
  const importanceRows = importance.map((f) => [
    f.feature,
    ...data.versions.flatMap((_, j) => [fmt(f.meanAbsShap[j] ?? null), fmt(f.permutation[j] ?? null)]),
  ]);
  const section = document.createElement('section');
  section.className = 'mo-compare-importance';
  const h2 = document.createElement('h2');
  h2.textContent = 'Feature importance';
  section.appendChild(h2);
  if (importance.length)
    section.appendChild(
      metricsTable(
        'Global importance by version (mean |SHAP| over outputs; permutation: score drop)',
        importanceHeaders,
        importanceRows,
      ),
    );
  else {
    const p = document.createElement('p');
    p.className = 'mo-note';
    p.textContent = 'No version has global importance stored yet: run ModelOps: Explain on a version.';
    section.appendChild(p);
  }
  root.appendChild(section);
  if (data.fairness?.length) {
    const fs = document.createElement('section');
    fs.className = 'mo-compare-fairness';
    const fh = document.createElement('h2');
    fh.textContent = 'Fairness';
    fs.append(
      fh,
      metricsTable(
        'Fairness by version (from the stored evaluation)',
        ['metric', ...data.versions],
        data.fairness.map((m) => [m.name, ...m.values.map((v) => fmt(v))]),
      ),
    );
    root.appendChild(fs);
  }
  queueMicrotask(() => ctx.rendered());

  return {
    svg,
    csv: () =>
      toCsv(
        ['metric', ...data.versions],
        data.metrics.map((m) => [m.name, ...m.values]),
      ),
    table: () => ({ caption: 'Metrics by version', headers, rows: plain(rows()) }),
    data: () => data,
    debug: () => ({
      kind: 'compare',
      versions: data.versions,
      unmeasured,
      metrics: quality.map((m) => m.name),
      cost: cost.map((m) => m.name),
      importance: importance.map((f) => f.feature),
      fairness: (data.fairness ?? []).map((m) => m.name),
      bars: bars.map((b) => ({ ...b })),
      axes: { x: 'metric', y: 'value' },
    }),
    destroy: () => undefined,
  };
};
