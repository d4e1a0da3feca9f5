/** Helpers for the chart kinds drawn as SVG (bars, heatmap): the same markup is shown and exported. */
export function mountSvg(root: HTMLElement, svg: string, label: string): HTMLElement {
  const wrap = document.createElement('div');
  wrap.className = 'mo-svg mo-plot';
  wrap.tabIndex = 0;
  wrap.setAttribute('role', 'img');
  wrap.setAttribute('aria-label', label);
  wrap.innerHTML = svg;
  root.appendChild(wrap);
  return wrap;
}

/** A cell with a class (e.g. `better` / `worse` on a change), or plain text. */
export type TableCell = string | { text: string; className: string };

/**
 * A captioned table of metrics, in a box that scrolls sideways when the table is wider than the
 * panel (many versions beside a narrow editor), so the page itself never does.
 */
export function metricsTable(caption: string, headers: string[], rows: TableCell[][]): HTMLDivElement {
  const box = document.createElement('div');
  box.className = 'mo-table-scroll';
  const t = document.createElement('table');
  t.className = 'mo-metrics-table';
  t.createCaption().textContent = caption;
  const head = t.createTHead().insertRow();
  for (const h of headers) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    head.appendChild(th);
  }
  const body = t.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    r.forEach((c, i) => {
      const cell = document.createElement(i === 0 ? 'th' : 'td');
      if (i === 0) (cell as HTMLTableCellElement).scope = 'row';
      if (typeof c === 'string') cell.textContent = c;
      else {
        cell.textContent = c.text;
        cell.className = c.className;
      }
      tr.appendChild(cell);
    });
  }
  box.appendChild(t);
  return box;
}

/** A `<select>` with its label, for a chart's controls (row, class, breakdown, metric). */
export function labelledSelect(
  id: string,
  label: string,
  options: Array<{ value: string; label: string }>,
  value: string,
  onChange: (v: string) => void,
): HTMLLabelElement {
  const l = document.createElement('label');
  l.className = 'mo-select';
  l.textContent = `${label} `;
  const s = document.createElement('select');
  s.id = id;
  for (const o of options) {
    const opt = document.createElement('option');
    opt.value = o.value;
    opt.textContent = o.label;
    s.appendChild(opt);
  }
  s.value = value;
  s.addEventListener('change', () => onChange(s.value));
  l.appendChild(s);
  return l;
}
