/** uPlot settings shared by the line charts (axes in theme colours, sizes). */
import type uPlot from 'uplot';
import type { Palette } from '../theme';

export const PLOT_HEIGHT = 340;

/** Tick steps for an axis of whole numbers (windows, epochs). */
const INTEGER_INCRS = [
  1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
  1_000_000,
];

export function themedAxes(
  colors: Palette,
  xLabel: string,
  yLabel: string,
  opts: { integerX?: boolean } = {},
): uPlot.Axis[] {
  const font = `11px ${colors.font}`;
  const labelFont = `12px ${colors.font}`;
  const base = {
    stroke: colors.fg,
    font,
    labelFont,
    grid: { stroke: colors.grid, width: 1 },
    ticks: { stroke: colors.grid, width: 1 },
  };
  const x: uPlot.Axis = { ...base, label: xLabel };
  if (opts.integerX) x.incrs = INTEGER_INCRS;
  return [x, { ...base, label: yLabel, size: 60 }];
}

/** CSS-pixel geometry of the plotting area, relative to the overlay element. */
export function plotBox(u: uPlot): { left: number; top: number; width: number; height: number } {
  const rect = u.over.getBoundingClientRect();
  return { left: rect.left, top: rect.top, width: rect.width, height: rect.height };
}

/** Moves the cursor with the keyboard (←/→, Home/End, PageUp/PageDown) through a series. */
export function keyboardCursor(el: HTMLElement, u: uPlot, seriesIdx: number, onMove: (idx: number) => void): void {
  el.addEventListener('keydown', (e) => {
    const n = u.data[0].length;
    if (n === 0) return;
    let idx = u.cursor.idx ?? -1;
    const page = Math.max(1, Math.round(n / 10));
    if (e.key === 'ArrowRight') idx = Math.min(n - 1, idx + 1);
    else if (e.key === 'ArrowLeft') idx = idx < 0 ? n - 1 : Math.max(0, idx - 1);
    else if (e.key === 'Home') idx = 0;
    else if (e.key === 'End') idx = n - 1;
    else if (e.key === 'PageDown') idx = Math.min(n - 1, idx + page);
    else if (e.key === 'PageUp') idx = Math.max(0, idx - page);
    else return;
    e.preventDefault();
    const x = u.data[0][idx];
    const yv = u.data[seriesIdx][idx];
    const scaleKey = u.series[seriesIdx].scale ?? 'y';
    u.setCursor({ left: u.valToPos(x, 'x'), top: yv === null || yv === undefined ? 0 : u.valToPos(yv, scaleKey) });
    onMove(idx);
  });
}
