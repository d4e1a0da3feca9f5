/**
 * A hyperparameter study: parallel coordinates of the params → the objective (one line per
 * trial, the best drawn on top, pruned dashed, failed and cancelled faint), the objective per
 * trial with the best-so-far line, the parameter importance (η², computed by the host: see
 * server/report/studyData.ts) and a trials table. One SVG, so what is shown is what is exported.
 * A running study is sent again whole as trials report (it is small).
 */
import { escapeXml, fmt, toCsv } from '../format';
import { axes, extent, linear, niceTicks, pathOf, r, svgDocument, text, titleText, type Scale } from '../svg';
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
    const W = Math.max(560, ctx.width);
    const parts: string[] = [titleText(16, ctx.title, W, colors)];
    const done = data.trials.filter((t) => t.status !== 'running').length;
    parts.push(
      text(
        16,
        42,
        `${data.sampler} · ${data.metric} (${data.direction}) · ${done}${data.budget !== null ? `/${data.budget}` : ''} trials · ${data.status}${best ? ` · best ${fmt(best.value, 4)} (trial ${best.number})` : ''}`,
        {
          'font-size': 12,
          fill: colors.muted,
        },
      ),
    );

    // 1. Parallel coordinates: one axis per parameter, then the objective.
    const pcTop = 90;
    const pcH = 200;
    const axesN = data.params.length + 1;
    const left = 70;
    const right = W - 70;
    const ax = (i: number) => (axesN === 1 ? (left + right) / 2 : left + (i * (right - left)) / (axesN - 1));
    const yOf = (f: number) => pcTop + pcH - f * pcH;
    const values = data.trials.map((t) => t.value).filter((v): v is number => v !== null && Number.isFinite(v));
    const [vlo, vhi] = extent(values, 0.05);
    const vf = (v: number) => (vhi > vlo ? (v - vlo) / (vhi - vlo) : 0.5);
    parts.push(
      text(16, pcTop - 30, 'Parameters → objective', { 'font-size': 13, 'font-weight': 600, fill: colors.fg }),
    );
    const seen = (name: string) => [...new Set(data.trials.map((t) => t.params[name]).filter((v) => v !== undefined))];
    data.params.forEach((p, i) => {
      const x = ax(i);
      parts.push(
        `<line class="pc-axis" x1="${r(x)}" x2="${r(x)}" y1="${pcTop}" y2="${pcTop + pcH}" stroke="${colors.grid}" stroke-width="2"/>`,
      );
      parts.push(text(x, pcTop - 10, p.name, { 'text-anchor': 'middle', 'font-size': 11, fill: colors.fg }));
      if (p.type === 'choice') {
        const vs = p.values?.length ? p.values : seen(p.name);
        vs.forEach((v) => {
          const f = axisFraction(p, v, vs);
          if (f !== null)
            parts.push(
              text(x - 5, yOf(f) + 4, String(v), { 'text-anchor': 'end', 'font-size': 10, fill: colors.muted }),
            );
        });
      } else {
        const s = seen(p.name);
        const lo = p.low ?? Math.min(...(s.filter((v) => typeof v === 'number') as number[]));
        const hi = p.high ?? Math.max(...(s.filter((v) => typeof v === 'number') as number[]));
        parts.push(text(x + 5, yOf(0) + 4, fmt(lo, 4), { 'font-size': 10, fill: colors.muted }));
        parts.push(
          text(x + 5, yOf(1) + 4, fmt(hi, 4) + (p.type === 'loguniform' ? ' (log)' : ''), {
            'font-size': 10,
            fill: colors.muted,
          }),
        );
      }
    });
    const ox = ax(axesN - 1);
    parts.push(
      `<line class="pc-axis" x1="${r(ox)}" x2="${r(ox)}" y1="${pcTop}" y2="${pcTop + pcH}" stroke="${colors.fg}" stroke-width="2"/>`,
    );
    parts.push(
      text(ox, pcTop - 10, data.metric, {
        'text-anchor': 'middle',
        'font-size': 11,
        'font-weight': 600,
        fill: colors.fg,
      }),
    );
    parts.push(text(ox + 5, yOf(0) + 4, fmt(vlo, 4), { 'font-size': 10, fill: colors.muted }));
    parts.push(text(ox + 5, yOf(1) + 4, fmt(vhi, 4), { 'font-size': 10, fill: colors.muted }));
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
    const box = { left: 70, top: pcTop + pcH + 70, width: W - 100, height: 190 };
    parts.push(
      text(16, box.top - 22, `${data.metric} per trial, best so far`, {
        'font-size': 13,
        'font-weight': 600,
        fill: colors.fg,
      }),
    );
    const maxN = Math.max(1, ...data.trials.map((t) => t.number), data.budget !== null ? data.budget - 1 : 0);
    const x: Scale = linear(-0.5, maxN + 0.5, box.left, box.left + box.width);
    const y: Scale = linear(vlo, vhi, box.top + box.height, box.top);
    const xTicks = niceTicks(0, maxN, Math.min(10, maxN)).filter((v) => Number.isInteger(v));
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
    const lg = box.top + box.height + 44;
    parts.push(
      `<circle cx="${box.left}" cy="${lg - 4}" r="4" fill="${colors.blue}"/>` +
        text(box.left + 8, lg, 'completed', { 'font-size': 11, fill: colors.fg }),
      `<circle cx="${box.left + 90}" cy="${lg - 4}" r="4" fill="${colors.bg}" stroke="${colors.muted}" stroke-width="2"/>` +
        text(box.left + 98, lg, 'pruned (last value)', { 'font-size': 11, fill: colors.fg }),
      text(box.left + 230, lg, '✗ failed or cancelled', { 'font-size': 11, fill: colors.red }),
      `<line x1="${box.left + 370}" x2="${box.left + 388}" y1="${lg - 4}" y2="${lg - 4}" stroke="${colors.orange}" stroke-width="2"/>` +
        text(box.left + 392, lg, 'best so far', { 'font-size': 11, fill: colors.fg }),
    );

    // 3. Parameter importance (η² by binning; see server/report/studyData.ts).
    const impTop = lg + 50;
    parts.push(
      text(16, impTop, 'Parameter importance (η²: variance of the objective explained by bins of each parameter)', {
        'font-size': 13,
        'font-weight': 600,
        fill: colors.fg,
      }),
    );
    let end = impTop + 20;
    if (!data.importance) {
      parts.push(text(16, impTop + 24, 'Needs at least 3 completed trials.', { 'font-size': 11, fill: colors.muted }));
      end = impTop + 40;
    } else {
      const rows = [...data.importance].sort((a, b) => b.eta2 - a.eta2);
      const bl = 180;
      const bw = W - bl - 90;
      rows.forEach((row, i) => {
        const yy = impTop + 14 + i * 24;
        drawn.bars++;
        parts.push(text(bl - 8, yy + 14, row.name, { 'text-anchor': 'end', 'font-size': 11, fill: colors.fg }));
        parts.push(
          `<rect class="imp-bar" data-param="${escapeXml(row.name)}" data-eta2="${row.eta2}" x="${bl}" y="${r(yy)}" width="${r(Math.max(1, row.eta2 * bw))}" height="18" fill="${colors.purple}"><title>${escapeXml(`${row.name}: η² ${fmt(row.eta2, 3)} over ${row.bins} bins`)}</title></rect>`,
        );
        parts.push(
          text(bl + Math.max(1, row.eta2 * bw) + 6, yy + 14, `${fmt(row.eta2, 3)} (${row.bins} bins)`, {
            'font-size': 10,
            fill: colors.muted,
          }),
        );
      });
      end = impTop + 14 + rows.length * 24 + 10;
    }
    return svgDocument(W, end + 10, colors, ctx.title, parts.join(''));
  };

  const headers = ['trial', 'status', ...data.params.map((p) => p.name), data.metric, 'epochs'];
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
        ['trial', 'status', ...data.params.map((p) => p.name), data.metric, 'epochs', 'error'],
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
