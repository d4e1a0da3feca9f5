/**
 * A hyperparameter study: parallel coordinates of the params → the objective (one line per
 * trial, the best drawn on top, pruned dashed, failed and cancelled faint), the objective per
 * trial with the best-so-far line, the parameter importance (η², computed by the host: see
 * server/report/studyData.ts) and a trials table. One SVG, so what is shown is what is exported.
 * A running study is sent again whole as trials report (it is small).
 */
import { escapeXml, fmt, toCsv } from '../format';
import {
  axes,
  extent,
  fitText,
  linear,
  niceTicks,
  paragraph,
  pathOf,
  r,
  svgDocument,
  text,
  textMeasurer,
  titleText,
  type Scale,
} from '../svg';
import { withAlpha } from '../theme';
import type { StudyData } from '../protocol';
import { metricsTable } from './svgView';
import type { ChartFactory } from './types';

type Trial = StudyData['trials'][number];
type Param = StudyData['params'][number];

const STATUS_MARK: Record<Trial['status'], string> = {
  completed: 'completed',
  running: 'running…',
  pruned: '✂ pruned',
  failed: '✗ failed',
  cancelled: '⊘ cancelled',
};

/** The best completed trial, and the best value so far after each completed trial (in trial order). */
export function bestSoFar(data: StudyData): { best: Trial | null; line: Array<{ number: number; value: number }> } {
  const better = (a: number, b: number) => (data.direction === 'maximize' ? a > b : a < b);
  let best: Trial | null = null;
  const line: Array<{ number: number; value: number }> = [];
  for (const t of [...data.trials].sort((a, b) => a.number - b.number)) {
    if (t.status !== 'completed' || t.value === null || !Number.isFinite(t.value)) continue;
    if (!best || better(t.value, best.value as number)) best = t;
    line.push({ number: t.number, value: best.value as number });
  }
  return { best, line };
}

/** Position of a param value on its axis, 0 (bottom) … 1 (top); null when the trial has none. */
function axisFraction(p: Param, v: string | number | undefined, seen: Array<string | number>): number | null {
  if (v === undefined) return null;
  if (p.type === 'choice') {
    const values = p.values?.length ? p.values : seen;
    const i = values.findIndex((x) => String(x) === String(v));
    if (i < 0) return null;
    return values.length === 1 ? 0.5 : i / (values.length - 1);
  }
  if (typeof v !== 'number') return null;
  const nums = seen.filter((x): x is number => typeof x === 'number');
  const lo = p.low ?? Math.min(...nums);
  const hi = p.high ?? Math.max(...nums);
  if (p.type === 'loguniform' && lo > 0 && hi > lo && v > 0)
    return (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo));
  return hi > lo ? (v - lo) / (hi - lo) : 0.5;
}

export const studyChart: ChartFactory<'study'> = (root, data, ctx) => {
  const { colors } = ctx;
  const { best, line } = bestSoFar(data);
  const drawn = { lines: 0, points: 0, bars: 0 };

  const svg = (): string => {
    drawn.lines = drawn.points = drawn.bars = 0;
    // Drawn at the panel's width: in a narrow column the margins shrink and long text is cut or wraps.
    const W = ctx.width;
    const narrow = W < 480;
    const measure = textMeasurer(colors.font);
    const parts: string[] = [titleText(16, ctx.title, W, colors)];
    const done = data.trials.filter((t) => t.status !== 'running').length;
    const subtitleEnd = paragraph(
      parts,
      16,
      42,
      `${data.sampler} · ${data.metric} (${data.direction}) · ${done}${data.budget !== null ? `/${data.budget}` : ''} trials · ${data.status}${best ? ` · best ${fmt(best.value, 4)} (trial ${best.number})` : ''}`,
      W - 24,
      16,
      { 'font-size': 12, fill: colors.muted },
      measure,
    );

    // 1. Parallel coordinates: one axis per parameter, then the objective.
    const pcTop = subtitleEnd + 48;
    const pcH = 200;
    const axesN = data.params.length + 1;
    const left = narrow ? 44 : 70;
    const right = W - (narrow ? 48 : 70);
    const ax = (i: number) => (axesN === 1 ? (left + right) / 2 : left + (i * (right - left)) / (axesN - 1));
    /** Room for a label centred on an axis, and beside one (ticks: left of the axis for choices, right for numbers). */
    const spacing = axesN === 1 ? right - left : (right - left) / (axesN - 1);
    const side = (i: number, toLeft: boolean): number =>
      Math.max(12, (toLeft ? (i === 0 ? left : spacing) : i === axesN - 1 ? W - right : spacing) - 10);
    const yOf = (f: number) => pcTop + pcH - f * pcH;
    const values = data.trials.map((t) => t.value).filter((v): v is number => v !== null && Number.isFinite(v));
    const [vlo, vhi] = extent(values, 0.05);
    const vf = (v: number) => (vhi > vlo ? (v - vlo) / (vhi - vlo) : 0.5);
    parts.push(
      fitText(
        16,
        pcTop - 30,
        'Parameters → objective',
        W - 24,
        { 'font-size': 13, 'font-weight': 600, fill: colors.fg },
        measure,
      ),
    );
    const seen = (name: string) => [...new Set(data.trials.map((t) => t.params[name]).filter((v) => v !== undefined))];
    data.params.forEach((p, i) => {
      const x = ax(i);
      parts.push(
        `<line class="pc-axis" x1="${r(x)}" x2="${r(x)}" y1="${pcTop}" y2="${pcTop + pcH}" stroke="${colors.grid}" stroke-width="2"/>`,
      );
      parts.push(
        fitText(
          x,
          pcTop - 10,
          p.name,
          Math.min(spacing - 4, 2 * Math.min(x, W - x) - 4),
          { 'text-anchor': 'middle', 'font-size': 11, fill: colors.fg },
          measure,
        ),
      );
      const tick = { 'font-size': 10, fill: colors.muted };
      if (p.type === 'choice') {
        const vs = p.values?.length ? p.values : seen(p.name);
        vs.forEach((v) => {
          const f = axisFraction(p, v, vs);
          if (f !== null)
            parts.push(
              fitText(x - 5, yOf(f) + 4, String(v), side(i, true), { ...tick, 'text-anchor': 'end' }, measure),
            );
        });
      } else {
        const s = seen(p.name);
        const lo = p.low ?? Math.min(...(s.filter((v) => typeof v === 'number') as number[]));
        const hi = p.high ?? Math.max(...(s.filter((v) => typeof v === 'number') as number[]));
        parts.push(fitText(x + 5, yOf(0) + 4, fmt(lo, 4), side(i, false), tick, measure));
        parts.push(
          fitText(
            x + 5,
            yOf(1) + 4,
            fmt(hi, 4) + (p.type === 'loguniform' ? ' (log)' : ''),
            side(i, false),
            tick,
            measure,
          ),
        );
      }
    });
    const ox = ax(axesN - 1);
    parts.push(
      `<line class="pc-axis" x1="${r(ox)}" x2="${r(ox)}" y1="${pcTop}" y2="${pcTop + pcH}" stroke="${colors.fg}" stroke-width="2"/>`,
    );
    parts.push(
      fitText(
        ox,
        pcTop - 10,
        data.metric,
        Math.min(axesN === 1 ? W - 24 : spacing - 4, 2 * (W - ox) - 4),
        { 'text-anchor': 'middle', 'font-size': 11, 'font-weight': 600, fill: colors.fg },
        measure,
      ),
    );
    parts.push(fitText(ox + 5, yOf(0) + 4, fmt(vlo, 4), W - ox - 8, { 'font-size': 10, fill: colors.muted }, measure));
    parts.push(fitText(ox + 5, yOf(1) + 4, fmt(vhi, 4), W - ox - 8, { 'font-size': 10, fill: colors.muted }, measure));
    // The best line last, so it is on top.
    const order = [...data.trials].sort((a, b) => (a === best ? 1 : b === best ? -1 : a.number - b.number));
    for (const t of order) {
      const pts: string[] = [];
      data.params.forEach((p, i) => {
        const f = axisFraction(p, t.params[p.name], seen(p.name));
        if (f !== null) pts.push(`${r(ax(i))} ${r(yOf(f))}`);
      });
      if (t.value !== null && Number.isFinite(t.value)) pts.push(`${r(ox)} ${r(yOf(vf(t.value)))}`);
      if (pts.length < 2 && axesN > 1) continue;
      const isBest = t === best;
      const stroke = isBest
        ? colors.orange
        : t.status === 'completed'
          ? withAlpha(colors.blue, 0.7)
          : t.status === 'running'
            ? colors.green
            : t.status === 'pruned'
              ? withAlpha(colors.muted, 0.8)
              : withAlpha(colors.red, 0.5);
      const dash =
        t.status === 'pruned'
          ? ' stroke-dasharray="5 3"'
          : t.status === 'failed' || t.status === 'cancelled'
            ? ' stroke-dasharray="2 3"'
            : '';
      drawn.lines++;
      parts.push(
        `<path class="pc-line${isBest ? ' best' : ''}" data-trial="${t.number}" data-status="${t.status}" d="M${pts.join('L')}" fill="none" stroke="${stroke}" stroke-width="${isBest ? 3 : 1.5}"${dash}><title>${escapeXml(
          `trial ${t.number} (${t.status}): ${Object.entries(t.params)
            .map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v, 4) : v}`)
            .join(', ')} → ${fmt(t.value, 4)}`,
        )}</title></path>`,
      );
    }

    // 2. The objective per trial with the best-so-far line.
    const boxLeft = narrow ? 56 : 70;
    const box = { left: boxLeft, top: pcTop + pcH + 70, width: W - boxLeft - (narrow ? 16 : 30), height: 190 };
    parts.push(
      fitText(
        16,
        box.top - 22,
        `${data.metric} per trial, best so far`,
        W - 24,
        { 'font-size': 13, 'font-weight': 600, fill: colors.fg },
        measure,
      ),
    );
    const maxN = Math.max(1, ...data.trials.map((t) => t.number), data.budget !== null ? data.budget - 1 : 0);
    const x: Scale = linear(-0.5, maxN + 0.5, box.left, box.left + box.width);
    const y: Scale = linear(vlo, vhi, box.top + box.height, box.top);
    const xTicks = niceTicks(0, maxN, Math.min(Math.max(2, Math.floor(box.width / 40)), maxN)).filter((v) =>
      Number.isInteger(v),
    );
    parts.push(
      axes({ box, x, y, xTicks, yTicks: niceTicks(vlo, vhi, 5), xLabel: 'trial', yLabel: data.metric, colors }),
    );
    if (line.length) {
      // A step line: the best value holds until a better trial.
      const xs: number[] = [];
      const ys: number[] = [];
      line.forEach((p, i) => {
        if (i > 0) {
          xs.push(p.number);
          ys.push(line[i - 1].value);
        }
        xs.push(p.number);
        ys.push(p.value);
      });
      xs.push(maxN + 0.5);
      ys.push(line[line.length - 1].value);
      parts.push(
        `<path class="best-line" d="${pathOf(xs, ys, x, y)}" fill="none" stroke="${colors.orange}" stroke-width="2"/>`,
      );
    }
    for (const t of data.trials) {
      if (t.value === null || !Number.isFinite(t.value)) {
        if (t.status === 'failed' || t.status === 'cancelled') {
          drawn.points++;
          parts.push(
            text(x(t.number), box.top + box.height - 4, '✗', {
              class: `trial-point ${t.status}`,
              'data-trial': t.number,
              'text-anchor': 'middle',
              'font-size': 12,
              fill: colors.red,
            }),
          );
        }
        continue;
      }
      drawn.points++;
      const hollow = t.status !== 'completed';
      const c =
        t === best
          ? colors.orange
          : t.status === 'pruned'
            ? colors.muted
            : t.status === 'running'
              ? colors.green
              : colors.blue;
      parts.push(
        `<circle class="trial-point ${t.status}" data-trial="${t.number}" data-value="${t.value}" cx="${r(x(t.number))}" cy="${r(y(t.value))}" r="${t === best ? 6 : 4.5}" fill="${hollow ? colors.bg : c}" stroke="${c}" stroke-width="2"><title>${escapeXml(`trial ${t.number}: ${fmt(t.value, 4)} (${t.status})`)}</title></circle>`,
      );
    }
    // The legend's items in a row, wrapping to the next line when the panel is too narrow.
    const legend: Array<{ mark: (x: number, y: number) => string; label: string; fill: string; markW: number }> = [
      {
        mark: (x, y) => `<circle cx="${x + 4}" cy="${y - 4}" r="4" fill="${colors.blue}"/>`,
        label: 'completed',
        fill: colors.fg,
        markW: 12,
      },
      {
        mark: (x, y) =>
          `<circle cx="${x + 4}" cy="${y - 4}" r="4" fill="${colors.bg}" stroke="${colors.muted}" stroke-width="2"/>`,
        label: 'pruned (last value)',
        fill: colors.fg,
        markW: 12,
      },
      { mark: () => '', label: '✗ failed or cancelled', fill: colors.red, markW: 0 },
      {
        mark: (x, y) =>
          `<line x1="${x}" x2="${x + 18}" y1="${y - 4}" y2="${y - 4}" stroke="${colors.orange}" stroke-width="2"/>`,
        label: 'best so far',
        fill: colors.fg,
        markW: 22,
      },
    ];
    const lx0 = narrow ? 16 : box.left;
    let lx = lx0;
    let lg = box.top + box.height + 44;
    for (const item of legend) {
      const w = item.markW + measure(item.label, 11) + 20;
      if (lx > lx0 && lx + w > W - 8) {
        lx = lx0;
        lg += 18;
      }
      parts.push(item.mark(lx, lg) + text(lx + item.markW, lg, item.label, { 'font-size': 11, fill: item.fill }));
      lx += w;
    }

    // 3. Parameter importance (η² by binning; see server/report/studyData.ts).
    const impTitleEnd = paragraph(
      parts,
      16,
      lg + 50,
      'Parameter importance (η²: variance of the objective explained by bins of each parameter)',
      W - 24,
      18,
      { 'font-size': 13, 'font-weight': 600, fill: colors.fg },
      measure,
    );
    const impTop = impTitleEnd;
    let end = impTop + 20;
    if (!data.importance) {
      parts.push(text(16, impTop + 24, 'Needs at least 3 completed trials.', { 'font-size': 11, fill: colors.muted }));
      end = impTop + 40;
    } else {
      const rows = [...data.importance].sort((a, b) => b.eta2 - a.eta2);
      // Names take at most 40 % of a narrow panel; the value label needs ~80 px after the bar.
      const bl = Math.min(180, Math.max(60, Math.round(W * 0.4)));
      const bw = Math.max(20, W - bl - 90);
      rows.forEach((row, i) => {
        const yy = impTop + 14 + i * 24;
        drawn.bars++;
        parts.push(
          fitText(
            bl - 8,
            yy + 14,
            row.name,
            bl - 20,
            { 'text-anchor': 'end', 'font-size': 11, fill: colors.fg },
            measure,
          ),
        );
        parts.push(
          `<rect class="imp-bar" data-param="${escapeXml(row.name)}" data-eta2="${row.eta2}" x="${bl}" y="${r(yy)}" width="${r(Math.max(1, row.eta2 * bw))}" height="18" fill="${colors.purple}"><title>${escapeXml(`${row.name}: η² ${fmt(row.eta2, 3)} over ${row.bins} bins`)}</title></rect>`,
        );
        const after = bl + Math.max(1, row.eta2 * bw) + 6;
        parts.push(
          fitText(
            after,
            yy + 14,
            `${fmt(row.eta2, 3)} (${row.bins} bins)`,
            W - after - 4,
            { 'font-size': 10, fill: colors.muted },
            measure,
          ),
        );
      });
      end = impTop + 14 + rows.length * 24 + 10;
    }
    return svgDocument(W, end + 10, colors, ctx.title, parts.join(''));
  };

  const headers = ['trial', 'status', ...data.params.map((p) => p.name), data.metric, 'epochs run'];
  const rows = () =>
    [...data.trials]
      .sort((a, b) => a.number - b.number)
      .map((t) => [
        String(t.number),
        STATUS_MARK[t.status] + (t === best ? ' ★ best' : ''),
        ...data.params.map((p) =>
          t.params[p.name] === undefined
            ? '—'
            : typeof t.params[p.name] === 'number'
              ? fmt(t.params[p.name] as number, 4)
              : String(t.params[p.name]),
        ),
        fmt(t.value, 4),
        String(t.epochs),
      ]);

  const wrap = document.createElement('div');
  wrap.className = 'mo-svg mo-plot';
  wrap.tabIndex = 0;
  wrap.setAttribute('role', 'img');
  wrap.setAttribute('aria-label', `Study ${data.id}: parameters and ${data.metric} of ${data.trials.length} trials`);
  wrap.innerHTML = svg();
  root.appendChild(wrap);
  const table = metricsTable(`Trials of ${data.id}`, headers, rows());
  table.id = 'mo-study-trials';
  table.querySelectorAll('tbody tr').forEach((tr, i) => {
    const t = [...data.trials].sort((a, b) => a.number - b.number)[i];
    tr.setAttribute('data-status', t.status);
    if (t.error) tr.setAttribute('title', t.error);
  });
  root.appendChild(table);
  if (data.registeredVersion) {
    const p = document.createElement('p');
    p.className = 'mo-note';
    p.textContent = `Registered as ${data.registeredVersion}.`;
    root.appendChild(p);
  }
  ctx.announce(
    `${data.trials.length} trials, ${data.status}${best ? `, best ${fmt(best.value, 4)} at trial ${best.number}` : ''}`,
  );
  queueMicrotask(() => ctx.rendered());

  return {
    svg,
    csv: () =>
      toCsv(
        ['trial', 'status', ...data.params.map((p) => p.name), data.metric, 'epochs run', 'error'],
        [...data.trials]
          .sort((a, b) => a.number - b.number)
          .map((t) => [
            t.number,
            t.status,
            ...data.params.map((p) => t.params[p.name] ?? null),
            t.value,
            t.epochs,
            t.error,
          ]),
      ),
    table: () => ({ caption: `Trials of ${data.id}`, headers, rows: rows() }),
    data: () => data,
    debug: () => ({
      kind: 'study',
      id: data.id,
      status: data.status,
      trials: data.trials.length,
      lines: drawn.lines,
      points: drawn.points,
      bars: drawn.bars,
      best: best ? { number: best.number, value: best.value } : null,
      bestSoFar: line.map((p) => ({ ...p })),
      importance: data.importance ? data.importance.map((i) => ({ ...i })) : null,
    }),
    destroy: () => undefined,
  };
};
