/** The data-table alternative of a chart: always in the DOM for screen readers, shown on demand. */
import type { TableModel } from './charts/types';
import { fmt } from './format';

/** Rows beyond this are left to "Save CSV": a 100k-row DOM table would stall the page. */
export const MAX_TABLE_ROWS = 1000;

export function buildTable(model: TableModel, id: string): HTMLTableElement {
  const table = document.createElement('table');
  table.id = id;
  const caption = document.createElement('caption');
  const shown = Math.min(model.rows.length, MAX_TABLE_ROWS);
  caption.textContent = model.rows.length > shown ? `${model.caption} (first ${shown} of ${model.rows.length} rows; Save CSV has all)` : model.caption;
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
