/**
 * Explain: global importance (mean |SHAP| beside permutation importance ± std), a strip of
 * every explained row's value per feature (coloured by the feature's value, low → high), and a
 * waterfall from the base value to f(x) for the row picked in the dropdown. All values come
 * from the engine; the page only chooses which output (class) and which row to show.
 */
import { escapeXml, fmt, toCsv } from '../format';
import {
  ellipsize,
  fitText,
  linear,
  niceTicks,
  paragraph,
  r,
  svgDocument,
  text,
  textMeasurer,
  titleText,
} from '../svg';
import { withAlpha } from '../theme';
import { labelledSelect } from './svgView';
import type { ChartFactory } from './types';

interface Step {
  feature: string;
  value: number;
  from: number;
  to: number;
}

export const explainChart: ChartFactory<'explain'> = (root, data, ctx) => {
  const { colors } = ctx;
  const M = data.features.length;
  const K = data.outputs.length;
  // Classifiers: start on the class the first row predicts, the usual question being "why this class".
  let output = K > 1 && data.rows[0] ? argmax(data.rows[0].output) : 0;
  let rowIndex = 0;
  let steps: Step[] = [];
  let order: number[] = [];

  const meanAbs = (o: number): number[] => {
    if (data.meanAbsShap && data.meanAbsShap.length === M) return data.meanAbsShap.map((v) => v[o] ?? 0);
    return data.features.map(
      (_, i) => data.rows.reduce((s, row) => s + Math.abs(row.values[i][o]), 0) / Math.max(1, data.rows.length),
    );
  };
  const perm = new Map((data.permutation?.features ?? []).map((p) => [p.feature, p]));

  const numeric = data.features.map((_, i) => data.rows.map((row) => Number(row.input[i])));
  const valueColor = (i: number, j: number): string => {
    const col = numeric[i];
    const v = col[j];
    const finite = col.filter((x) => Number.isFinite(x));
    if (!Number.isFinite(v) || finite.length === 0) return colors.muted;
    const lo = Math.min(...finite);
    const hi = Math.max(...finite);
    const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    return t < 0.5 ? withAlpha(colors.blue, 0.35 + (0.5 - t)) : withAlpha(colors.red, 0.35 + (t - 0.5));
  };

  const measure = textMeasurer(colors.font);
  /** Text wrapped to `max`, one line every `lineH` px from `y` at the left margin; returns its last line's y. */
  const wrapped = (
    parts: string[],
    y: number,
    s: string,
    max: number,
    lineH: number,
    attrs: { 'font-size': number; 'font-weight'?: number; fill: string },
  ): number => paragraph(parts, 16, y, s, max, lineH, attrs, measure);
  /** A value label beside a bar end, on the other side of it when beside would leave the chart. */
  const endLabel = (W: number, x: number, y: number, s: string, right: boolean, size: number, fill: string): string => {
    const w = measure(s, size);
    const goRight = right ? x + 4 + w <= W - 4 || x - 4 - w < 0 : x - 4 - w < 0;
    return text(goRight ? x + 4 : x - 4, y, s, { 'text-anchor': goRight ? 'start' : 'end', 'font-size': size, fill });
  };

  const svg = (): string => {
    // Drawn at the panel's width, never wider: a wider SVG is scaled down to fit, text with it.
    const W = ctx.width;
    const rowH = 24;
    const picked = data.rows[rowIndex];
    const stepLabel = (i: number): string =>
      `${data.features[i]} = ${picked?.input[i] === '' ? '(missing)' : (picked?.input[i] ?? '')}`;
    // Wide enough for the names and the waterfall's "feature = value", up to 30% of the chart.
    const labelW = Math.min(
      Math.max(140, W * 0.3),
      8 + Math.max(40, ...data.features.map((f, i) => Math.max(measure(f, 11), measure(stepLabel(i), 11)))),
    );
    const imp = meanAbs(output);
    order = data.features.map((_, i) => i).sort((a, b) => imp[b] - imp[a]);
    const parts: string[] = [titleText(16, ctx.title, W, colors)];
    let top = 44;

    // 1. Global importance: two columns with their own scales (probability vs. score drop), side
    // by side when the panel is wide, one under the other when it is narrow (a panel beside the
    // editor). Room on the right of each column for its value labels.
    const stacked = W < 640;
    const left1 = labelW + 16;
    const colW = stacked ? W - left1 - 90 : (W - labelW - 180) / 2;
    const left2 = stacked ? left1 : left1 + colW + 90;
    const hiShap = Math.max(...imp, 1e-12) * 1.1;
    const permHi = Math.max(1e-12, ...[...perm.values()].map((p) => p.mean + p.std)) * 1.1;
    const x1 = linear(0, hiShap, left1, left1 + colW);
    const x2 = linear(Math.min(0, ...[...perm.values()].map((p) => p.mean - p.std)), permHi, left2, left2 + colW);
    parts.push(
      fitText(
        16,
        top,
        `Global importance${K > 1 ? ` · class ${data.outputs[output]}` : ''}`,
        W - 24,
        { 'font-size': 13, 'font-weight': 600, fill: colors.fg },
        measure,
      ),
    );
    top += 18;
    const shapHeader = `mean |SHAP| over ${data.rows.length} rows`;
    const permHeader = data.permutation
      ? `${data.permutation.metric} drop when shuffled (${data.permutation.repeats}×) ± std`
      : 'permutation importance: not computed';
    const name = (f: string) => ellipsize(f, labelW + 4, (t) => measure(t, 11));
    // Stacked, the permutation column starts below the importance column.
    const shapTop = top + 8;
    const permTop = stacked ? shapTop + M * rowH + 24 : shapTop;
    // Each header over its column, as wide as the column and its value labels.
    parts.push(
      fitText(
        left1,
        top,
        shapHeader,
        stacked ? W - left1 - 8 : colW + 80,
        { 'font-size': 11, fill: colors.muted },
        measure,
      ),
    );
    parts.push(
      fitText(left2, permTop - 8, permHeader, W - left2 - 8, { 'font-size': 11, fill: colors.muted }, measure),
    );
    order.forEach((i, k) => {
      const y = shapTop + k * rowH;
      const f = data.features[i];
      parts.push(
        text(labelW + 8, y + rowH / 2 + 4, name(f), { 'text-anchor': 'end', 'font-size': 11, fill: colors.fg }),
      );
      parts.push(
        `<rect class="imp-bar" data-feature="${escapeXml(f)}" data-value="${imp[i]}" x="${r(left1)}" y="${r(y + 5)}" width="${r(Math.max(1, x1(imp[i]) - left1))}" height="${rowH - 10}" fill="${colors.blue}"><title>${escapeXml(`${f}: mean |SHAP| ${fmt(imp[i])}`)}</title></rect>`,
      );
      parts.push(endLabel(W, x1(imp[i]), y + rowH / 2 + 4, fmt(imp[i], 3), true, 10, colors.muted));
      const p = perm.get(f);
      const py = permTop + k * rowH;
      if (stacked)
        parts.push(
          text(labelW + 8, py + rowH / 2 + 4, name(f), { 'text-anchor': 'end', 'font-size': 11, fill: colors.fg }),
        );
      if (p) {
        const z = x2(0);
        const a = x2(p.mean);
        parts.push(
          `<rect class="perm-bar" data-feature="${escapeXml(f)}" data-value="${p.mean}" data-std="${p.std}" x="${r(Math.min(z, a))}" y="${r(py + 5)}" width="${r(Math.max(1, Math.abs(a - z)))}" height="${rowH - 10}" fill="${colors.orange}"><title>${escapeXml(`${f}: ${fmt(p.mean)} ± ${fmt(p.std)}`)}</title></rect>`,
        );
        parts.push(
          `<line class="perm-std" x1="${r(x2(p.mean - p.std))}" x2="${r(x2(p.mean + p.std))}" y1="${r(py + rowH / 2)}" y2="${r(py + rowH / 2)}" stroke="${colors.fg}" stroke-width="1.5"/>`,
        );
        parts.push(
          endLabel(
            W,
            Math.max(a, x2(p.mean + p.std)),
            py + rowH / 2 + 4,
            `${fmt(p.mean, 3)} ± ${fmt(p.std, 2)}`,
            true,
            10,
            colors.muted,
          ),
        );
      }
    });
    top = permTop + M * rowH + 24;

    // 2. Strip: one dot per explained row per feature at its value.
    const all = data.rows.flatMap((row) => row.values.map((v) => v[output]));
    const span = Math.max(1e-12, ...all.map(Math.abs)) * 1.05;
    const left = labelW + 16;
    const width = W - left - 30;
    const xs = linear(-span, span, left, left + width);
    // Title and legend wrapped to the chart's width (a panel beside the editor is ~500 px).
    top = wrapped(parts, top, 'Shapley value of each explained row', W - 32, 17, {
      'font-size': 13,
      'font-weight': 600,
      fill: colors.fg,
    });
    top += 16;
    top = wrapped(parts, top, "colour: the feature's value (blue low → red high) · ring: the picked row", W - 32, 14, {
      'font-size': 11,
      fill: colors.muted,
    });
    top += 12;
    parts.push(
      `<line x1="${r(xs(0))}" x2="${r(xs(0))}" y1="${r(top)}" y2="${r(top + M * rowH)}" stroke="${colors.grid}"/>`,
    );
    order.forEach((i, k) => {
      const y = top + k * rowH + rowH / 2;
      parts.push(
        text(labelW + 8, y + 4, name(data.features[i]), { 'text-anchor': 'end', 'font-size': 11, fill: colors.fg }),
      );
      const dots: string[] = [];
      data.rows.forEach((row, j) => {
        // A small deterministic jitter keeps equal values apart.
        const jitter = (((j * 2654435761) >>> 0) % 1000) / 1000 - 0.5;
        dots.push(
          `<circle cx="${r(xs(row.values[i][output]))}" cy="${r(y + jitter * (rowH - 8))}" r="2.5" fill="${valueColor(i, j)}"/>`,
        );
      });
      parts.push(
        `<g class="strip" data-feature="${escapeXml(data.features[i])}" data-points="${data.rows.length}">${dots.join('')}</g>`,
      );
      const sel = data.rows[rowIndex];
      if (sel)
        parts.push(
          `<circle class="strip-picked" cx="${r(xs(sel.values[i][output]))}" cy="${r(y)}" r="5" fill="none" stroke="${colors.fg}" stroke-width="1.5"/>`,
        );
    });
    top += M * rowH + 6;
    for (const t of niceTicks(-span, span, 6)) {
      parts.push(
        `<line x1="${r(xs(t))}" x2="${r(xs(t))}" y1="${r(top)}" y2="${r(top + 4)}" stroke="${colors.muted}"/>`,
      );
      parts.push(text(xs(t), top + 16, fmt(t, 3), { 'text-anchor': 'middle', 'font-size': 10, fill: colors.muted }));
    }
    top += 40;

    // 3. Waterfall of the picked row: base value, then each feature by |φ|, to f(x).
    const row = data.rows[rowIndex];
    steps = [];
    if (row) {
      const base = data.base[output];
      const byAbs = data.features
        .map((_, i) => i)
        .sort((a, b) => Math.abs(row.values[b][output]) - Math.abs(row.values[a][output]));
      let acc = base;
      for (const i of byAbs) {
        const v = row.values[i][output];
        steps.push({ feature: data.features[i], value: v, from: acc, to: acc + v });
        acc += v;
      }
      const ends = [base, ...steps.map((s) => s.to)];
      const lo = Math.min(...ends);
      const hi = Math.max(...ends);
      const pad = (hi - lo) * 0.08 || 0.05;
      const xw = linear(lo - pad, hi + pad, left, left + width);
      top = wrapped(
        parts,
        top,
        `Row ${row.id}: from the base value ${fmt(base, 4)} to f(x) = ${fmt(row.output[output], 4)}${K > 1 ? ` (probability of ${data.outputs[output]})` : ''}`,
        W - 32,
        17,
        { 'font-size': 13, 'font-weight': 600, fill: colors.fg },
      );
      top += 12;
      parts.push(
        `<line class="wf-base" x1="${r(xw(base))}" x2="${r(xw(base))}" y1="${r(top)}" y2="${r(top + (M + 1) * rowH)}" stroke="${colors.muted}" stroke-dasharray="4 3"/>`,
      );
      steps.forEach((s, k) => {
        const y = top + k * rowH;
        const a = xw(Math.min(s.from, s.to));
        const b = xw(Math.max(s.from, s.to));
        const up = s.value >= 0;
        parts.push(
          text(labelW + 8, y + rowH / 2 + 4, name(stepLabel(data.features.indexOf(s.feature))), {
            'text-anchor': 'end',
            'font-size': 11,
            fill: colors.fg,
          }),
        );
        parts.push(
          `<rect class="wf-bar ${up ? 'up' : 'down'}" data-feature="${escapeXml(s.feature)}" data-value="${s.value}" x="${r(a)}" y="${r(y + 5)}" width="${r(Math.max(1, b - a))}" height="${rowH - 10}" fill="${up ? colors.red : colors.blue}"><title>${escapeXml(`${s.feature}: ${s.value >= 0 ? '+' : ''}${fmt(s.value)}`)}</title></rect>`,
        );
        parts.push(
          endLabel(
            W,
            up ? b : a,
            y + rowH / 2 + 4,
            `${s.value >= 0 ? '+' : ''}${fmt(s.value, 3)}`,
            up,
            10,
            colors.muted,
          ),
        );
      });
      const y = top + M * rowH;
      parts.push(
        `<line class="wf-end" x1="${r(xw(acc))}" x2="${r(xw(acc))}" y1="${r(top)}" y2="${r(y + rowH)}" stroke="${colors.fg}" stroke-width="1.5"/>`,
      );
      parts.push(endLabel(W, xw(acc), y + rowH / 2 + 4, `f(x) = ${fmt(row.output[output], 4)}`, true, 11, colors.fg));
      top = y + rowH + 20;
    }
    top = wrapped(
      parts,
      top,
      `${data.method === 'exact' ? 'Exact' : 'Permutation-sampled'} interventional Shapley values against ${data.background} background rows; base + Σ values = f(x). Red raises the output, blue lowers it.`,
      W - 32,
      13,
      { 'font-size': 10, fill: colors.muted },
    );
    return svgDocument(W, top + 14, colors, ctx.title, parts.join(''));
  };

  const controls = document.createElement('div');
  controls.className = 'mo-controls';
  const summary = document.createElement('p');
  summary.className = 'mo-summary';
  summary.textContent = `${data.ref}: ${data.rows.length} rows of ${data.data} explained (${data.method}, ${data.background} background rows).`;
  if (K > 1)
    controls.append(
      labelledSelect(
        'mo-explain-output',
        'Class',
        data.outputs.map((o, k) => ({ value: String(k), label: o })),
        String(output),
        (v) => {
          output = Number(v);
          redraw();
        },
      ),
    );
  const rowSelect = labelledSelect(
    'mo-explain-row',
    'Row',
    data.rows.map((row, j) => ({
      value: String(j),
      label: `${row.id}: ${data.features
        .map((f, i) => `${f}=${row.input[i]}`)
        .join(', ')
        .slice(0, 90)}`,
    })),
    '0',
    (v) => {
      rowIndex = Number(v);
      redraw();
      ctx.announce(`Row ${data.rows[rowIndex]?.id ?? ''} picked`);
    },
  );
  controls.append(rowSelect);
  root.append(summary, controls);
  const wrap = document.createElement('div');
  wrap.className = 'mo-svg mo-plot';
  wrap.tabIndex = 0;
  wrap.setAttribute('role', 'img');
  wrap.setAttribute('aria-label', `Explanation of ${data.ref}`);
  root.appendChild(wrap);
  const redraw = () => {
    wrap.innerHTML = svg();
  };
  redraw();
  queueMicrotask(() => ctx.rendered());

  const tableRows = () =>
    order.map((i) => {
      const p = perm.get(data.features[i]);
      const row = data.rows[rowIndex];
      return [
        data.features[i],
        fmt(meanAbs(output)[i]),
        p ? fmt(p.mean) : '—',
        p ? fmt(p.std) : '—',
        row ? fmt(row.values[i][output]) : '—',
      ];
    });
  const headers = () => [
    'feature',
    'mean |SHAP|',
    'permutation importance',
    '± std',
    `SHAP of row ${data.rows[rowIndex]?.id ?? ''}`,
  ];
  return {
    svg,
    csv: () =>
      toCsv(
        ['row', ...data.features.map((f) => `${f} (${data.outputs[output]})`), 'base', 'output'],
        data.rows.map((row) => [row.id, ...row.values.map((v) => v[output]), data.base[output], row.output[output]]),
      ),
    table: () => ({
      caption: `Importance and row ${data.rows[rowIndex]?.id ?? ''} (${data.outputs[output]})`,
      headers: headers(),
      rows: tableRows(),
    }),
    data: () => data,
    debug: () => ({
      kind: 'explain',
      output: data.outputs[output],
      row: data.rows[rowIndex]?.id ?? null,
      order: order.map((i) => data.features[i]),
      importance: order.map((i) => ({
        feature: data.features[i],
        meanAbsShap: meanAbs(output)[i],
        permutation: perm.get(data.features[i])?.mean ?? null,
      })),
      waterfall: {
        base: data.base[output],
        end: steps.length ? steps[steps.length - 1].to : data.base[output],
        output: data.rows[rowIndex]?.output[output] ?? null,
        steps: steps.map((s) => ({ ...s })),
      },
      strip: { features: M, points: data.rows.length },
    }),
    destroy: () => undefined,
  };
};

function argmax(v: number[]): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}
