/** The data-table alternative of a chart: always in the DOM for screen readers, shown on demand. */
import type { TableModel } from './charts/types';
import { fmt } from './format';

/** Rows beyond this are left to "Save CSV": a 100k-row DOM table would stall the page. */
export const MAX_TABLE_ROWS = 1000;

/**
 * Tables up to this many rows are built (visually hidden, for screen readers) right after the
 * chart's first frame; larger ones when "Show data table" is first pressed, because styling and
 * laying out 1,000 hidden rows takes the page's main thread for ~0.2 s.
 */
export const EAGER_TABLE_ROWS = 200;

export function buildTable(model: TableModel, id: string): HTMLTableElement {
  const table = document.createElement('table');
  table.id = id;
  const caption = document.createElement('caption');
  const total = Math.max(model.total ?? 0, model.rows.length);
  const shown = Math.min(model.rows.length, MAX_TABLE_ROWS);
  caption.textContent =
    total > shown ? `${model.caption} (first ${shown} of ${total} rows; Save CSV has all)` : model.caption;
  table.appendChild(caption);
  const thead = table.createTHead().insertRow();
  for (const h of model.headers) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    thead.appendChild(th);
  }
  const body = table.createTBody();
  for (let i = 0; i < shown; i++) {
    const tr = body.insertRow();
    model.rows[i].forEach((c, j) => {
      const cell = j === 0 ? document.createElement('th') : document.createElement('td');
      if (j === 0) (cell as HTMLTableCellElement).scope = 'row';
      cell.textContent = typeof c === 'number' ? fmt(c) : c === null ? '—' : c;
      tr.appendChild(cell);
    });
  }
  return table;
}
