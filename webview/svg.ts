/** Small SVG building blocks: scales, nice ticks, axes, documents. Colours are resolved values. */
import { escapeXml, fmt } from './format';
import type { Palette } from './theme';

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

export type Scale = (v: number) => number;

export function linear(d0: number, d1: number, r0: number, r1: number): Scale {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** About `count` round tick values covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Padded [min, max] of some values (and any extra values that must be visible). */
export function extent(values: Iterable<number | null | undefined>, pad = 0.05): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - (Math.abs(lo) || 1) * 0.1, hi + (Math.abs(hi) || 1) * 0.1];
  const d = (hi - lo) * pad;
  return [lo - d, hi + d];
}

export function text(x: number, y: number, s: string, attrs: Record<string, string | number> = {}): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
  return `<text x="${r(x)}" y="${r(y)}"${a}>${escapeXml(s)}</text>`;
}

export const r = (v: number): string => String(Math.round(v * 100) / 100);

export interface AxesOptions {
  box: Box;
  x: Scale;
  y: Scale;
  xTicks: number[];
  yTicks: number[];
  xLabel: string;
  yLabel: string;
  colors: Palette;
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
}

/** Grid, tick labels and axis titles. */
export function axes(o: AxesOptions): string {
  const { box, colors } = o;
  const xf = o.xFormat ?? ((v: number) => fmt(v));
  const yf = o.yFormat ?? ((v: number) => fmt(v));
  const parts: string[] = [];
  for (const t of o.yTicks) {
    const y = o.y(t);
    parts.push(
      `<line x1="${r(box.left)}" x2="${r(box.left + box.width)}" y1="${r(y)}" y2="${r(y)}" stroke="${colors.grid}" stroke-width="1"/>`,
    );
    parts.push(text(box.left - 6, y + 4, yf(t), { 'text-anchor': 'end', fill: colors.muted, 'font-size': 11 }));
  }
  for (const t of o.xTicks) {
    const x = o.x(t);
    parts.push(
      `<line x1="${r(x)}" x2="${r(x)}" y1="${r(box.top + box.height)}" y2="${r(box.top + box.height + 4)}" stroke="${colors.muted}"/>`,
    );
    parts.push(
      text(x, box.top + box.height + 16, xf(t), { 'text-anchor': 'middle', fill: colors.muted, 'font-size': 11 }),
    );
  }
  parts.push(
    `<rect x="${r(box.left)}" y="${r(box.top)}" width="${r(box.width)}" height="${r(box.height)}" fill="none" stroke="${colors.grid}"/>`,
  );
  parts.push(
    text(box.left + box.width / 2, box.top + box.height + 34, o.xLabel, {
      'text-anchor': 'middle',
      fill: colors.fg,
      'font-size': 12,
      class: 'axis-label x',
    }),
  );
  const cy = box.top + box.height / 2;
  parts.push(
    text(14, cy, o.yLabel, {
      'text-anchor': 'middle',
      fill: colors.fg,
      'font-size': 12,
      transform: `rotate(-90 14 ${r(cy)})`,
      class: 'axis-label y',
    }),
  );
  return parts.join('');
}

/** A polyline path through points, broken at missing values. */
export function pathOf(xs: number[], ys: Array<number | null>, x: Scale, y: Scale): string {
  let d = '';
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const v = ys[i];
    if (v === null || v === undefined || !Number.isFinite(v)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${r(x(xs[i]))} ${r(y(v))}`;
    pen = true;
  }
  return d;
}

export function svgDocument(width: number, height: number, colors: Palette, title: string, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${escapeXml(colors.font)}">` +
    `<title>${escapeXml(title)}</title>` +
    `<rect width="100%" height="100%" fill="${colors.bg}"/>` +
    body +
    `</svg>`
  );
}

/** Legend entries laid out in a row; returns the markup and the height used. */
export function legend(
  items: Array<{ label: string; color: string; dash?: boolean }>,
  left: number,
  top: number,
  width: number,
  fg: string,
): { svg: string; height: number } {
  const parts: string[] = [];
  let x = left;
  let y = top;
  for (const it of items) {
    const w = 28 + it.label.length * 6.5;
    if (x + w > left + width && x > left) {
      x = left;
      y += 16;
    }
    parts.push(
      `<line x1="${r(x)}" x2="${r(x + 18)}" y1="${r(y - 4)}" y2="${r(y - 4)}" stroke="${it.color}" stroke-width="2"${it.dash ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
    parts.push(text(x + 22, y, it.label, { 'font-size': 11, fill: fg }));
    x += w + 12;
  }
  return { svg: parts.join(''), height: y - top + 16 };
}

/** Measures text in `font` as the page draws it (a canvas); an estimate where there is no canvas. */
export function textMeasurer(font: string): (s: string, size: number, weight?: number) => number {
  const g = typeof document === 'undefined' ? null : document.createElement('canvas').getContext('2d');
  return (s, size, weight = 400) => {
    if (!g) return s.length * size * 0.6;
    g.font = `${weight} ${size}px ${font}`;
    return g.measureText(s).width;
  };
}

/** Greedy word wrap of `s` into lines no wider than `max` (a single word wider than `max` keeps its line). */
export function wrapLines(s: string, max: number, width: (line: string) => number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of s.split(/\s+/).filter(Boolean)) {
    const next = line ? `${line} ${word}` : word;
    if (line && width(next) > max) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * One line of text no wider than `max` px from `x` (left-aligned), cut with an ellipsis when it
 * is wider: titles and headers in a panel narrower than they are.
 */
export function fitText(
  x: number,
  y: number,
  s: string,
  max: number,
  attrs: Record<string, string | number> & { 'font-size': number; 'font-weight'?: number },
  measure: (s: string, size: number, weight?: number) => number,
): string {
  return text(
    x,
    y,
    ellipsize(s, max, (t) => measure(t, attrs['font-size'], attrs['font-weight'])),
    attrs,
  );
}

/**
 * `s` wrapped to lines no wider than `max` px, pushed onto `parts` from (`x`, `y`), `lineH` apart;
 * returns the last line's y.
 */
export function paragraph(
  parts: string[],
  x: number,
  y: number,
  s: string,
  max: number,
  lineH: number,
  attrs: Record<string, string | number> & { 'font-size': number; 'font-weight'?: number },
  measure: (s: string, size: number, weight?: number) => number,
): number {
  const lines = wrapLines(s, max, (t) => measure(t, attrs['font-size'], attrs['font-weight']));
  lines.forEach((line, k) => parts.push(text(x, y + k * lineH, line, attrs)));
  return y + (lines.length - 1) * lineH;
}

/** A chart's title at the top of an SVG `width` px wide, from `x`, cut to fit. */
export function titleText(x: number, title: string, width: number, colors: Palette): string {
  const attrs = { 'font-size': 15, 'font-weight': 600, fill: colors.fg };
  return fitText(x, 22, title, width - x - 8, attrs, textMeasurer(colors.font));
}

/** `s`, cut with an ellipsis so it is no wider than `max`. */
export function ellipsize(s: string, max: number, width: (t: string) => number): string {
  if (width(s) <= max) return s;
  let n = s.length;
  while (n > 1 && width(`${s.slice(0, n - 1)}…`) > max) n--;
  return `${s.slice(0, n - 1)}…`;
}
