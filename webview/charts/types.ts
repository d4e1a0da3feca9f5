/** What every chart kind provides to the page shell (toolbar, table, exports, debug). */
import type { AppendMessage, ChartDataMap, ChartKind } from '../protocol';
import type { Palette } from '../theme';

export interface TableModel {
  caption: string;
  headers: string[];
  /** The rows to show: all of them, or only the first MAX_TABLE_ROWS when `total` is larger. */
  rows: Array<Array<string | number | null>>;
  /** Number of rows in the data when `rows` holds only the first ones. */
  total?: number;
}

export interface ChartView {
  /** Applies a live update; returns false when the view cannot and must be re-created. */
  append?(message: AppendMessage): boolean;
  /** The chart as a standalone SVG document, built from the data (not from the canvas). */
  svg(): string;
  csv(): string;
  table(): TableModel;
  /** Debug/test description of what is drawn (exposed as window.__chart). */
  debug(): Record<string, unknown>;
  /** The data as it is now (after appends), for setState. */
  data(): ChartDataMap[ChartKind];
  destroy(): void;
}

export interface ViewContext {
  title: string;
  colors: Palette;
  /** Available width in CSS pixels. */
  width: number;
  /** Called once the first frame is on screen. */
  rendered(): void;
  /** Text for the live region (keyboard navigation announcements). */
  announce(message: string): void;
}

export type ChartFactory<K extends ChartKind> = (
  root: HTMLElement,
  data: ChartDataMap[K],
  ctx: ViewContext,
) => ChartView;
