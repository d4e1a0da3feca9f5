/**
 * The chart webview: renders what it is sent (`init`, then `append` for live updates), offers a
 * data-table alternative and PNG/SVG/CSV export. Runs in a VS Code webview or a standalone report.
 */
import uplotCss from 'uplot/dist/uPlot.min.css';
import styles from './styles.css';
import { createHost, type Host } from './host';
import {
  PROTOCOL_VERSION,
  REPORT_DATA_ELEMENT_ID,
  isHostToWebview,
  type ChartDataMap,
  type ChartKind,
  type ChartState,
  type ExportFormat,
  type HostToWebview,
  type InitMessage,
} from './protocol';
import { readPalette } from './theme';
import { unpackNumberColumns } from './packed';
import { EAGER_TABLE_ROWS, buildTable } from './table';
import { slug } from './format';
import type { ChartFactory, ChartView, ViewContext } from './charts/types';
import { runMetricsChart } from './charts/runMetrics';
import { compareChart } from './charts/compare';
import { confusionChart } from './charts/confusion';
import { controlChart } from './charts/control';
import { driftChart } from './charts/drift';
import { explainChart } from './charts/explain';
import { fairnessChart } from './charts/fairness';
import { studyChart } from './charts/study';

const factories: { [K in ChartKind]: ChartFactory<K> } = {
  runMetrics: runMetricsChart,
  compare: compareChart,
  confusion: confusionChart,
  control: controlChart,
  drift: driftChart,
  explain: explainChart,
  fairness: fairnessChart,
  study: studyChart,
};

/** What tests and benchmarks read: the rendered view's description and timing. */
interface ChartDebug {
  kind: ChartKind | null;
  renders: number;
  /** performance.now() when the bundle started running (after the page and the bundle were loaded). */
  scriptStartedAt: number;
  /** performance.now() when the latest init finished drawing (the chart's canvas is drawn). */
  renderedAt: number | null;
  /** performance.now() in the first animation frame after that: the frame that shows it. */
  frameAt: number | null;
  /** Milliseconds from receiving init to the first frame. */
  renderMs: number | null;
  view: () => Record<string, unknown> | null;
  svg: () => string | null;
  csv: () => string | null;
  /** The last export handed to the host (tests). */
  lastExport: { format: ExportFormat; fileName: string; bytes: number } | null;
}

declare global {
  interface Window {
    __chart: ChartDebug;
  }
}

const SCRIPT_STARTED_AT = performance.now();
const scriptNonce = (document.currentScript as HTMLScriptElement | null)?.nonce ?? '';

function injectStyles(): void {
  const style = document.createElement('style');
  style.nonce = scriptNonce;
  style.textContent = `${uplotCss}\n${styles}`;
  document.head.appendChild(style);
}

class App {
  private current: InitMessage | null = null;
  private view: ChartView | null = null;
  private tableVisible = false;
  private tableWrap: HTMLElement | null = null;
  /** Whether the table shows the current data (it is built after the first frame). */
  private tableBuilt = false;
  private live: HTMLElement | null = null;
  readonly debug: ChartDebug;

  constructor(private readonly host: Host) {
    this.debug = {
      kind: null,
      renders: 0,
      scriptStartedAt: SCRIPT_STARTED_AT,
      renderedAt: null,
      frameAt: null,
      renderMs: null,
      view: () => (this.view ? this.view.debug() : null),
      svg: () => (this.view ? this.view.svg() : null),
      csv: () => (this.view ? this.view.csv() : null),
      lastExport: null,
    };
    window.__chart = this.debug;
  }

  handle(message: HostToWebview): void {
    switch (message.type) {
      case 'init':
        this.render(message);
        break;
      case 'append':
        if (!this.current || this.current.kind !== message.kind || !this.view) return;
        try {
          if (!this.view.append?.(message)) this.render({ ...this.current, data: this.view.data() } as InitMessage);
          else if (this.tableBuilt) this.refreshTable();
        } catch (e) {
          this.host.post({
            type: 'error',
            message: `Could not add the new points: ${e instanceof Error ? e.message : String(e)}`,
          });
          return;
        }
        this.saveState();
        break;
      case 'theme':
        this.rerender();
        break;
      case 'export':
        void this.export(message.format);
        break;
    }
  }

  /** Draws again with fresh theme colours and the data as it is now. */
  rerender(): void {
    if (this.current && this.view) this.render({ ...this.current, data: this.view.data() } as InitMessage);
  }

  render(init: InitMessage): void {
    const started = performance.now();
    this.view?.destroy();
    this.view = null;
    this.current = init;
    const state = this.host.getState();
    if (state && state.kind === init.kind && state.tableVisible !== undefined) this.tableVisible = state.tableVisible;
    const app = document.getElementById('app') as HTMLElement;
    app.replaceChildren();
    app.setAttribute('data-kind', init.kind);

    const header = document.createElement('header');
    header.className = 'mo-header';
    const h1 = document.createElement('h1');
    h1.textContent = init.title;
    const toolbar = document.createElement('div');
    toolbar.className = 'mo-toolbar';
    toolbar.setAttribute('role', 'toolbar');
    toolbar.setAttribute('aria-label', 'Chart actions');
    const toggle = this.button(this.tableVisible ? 'Hide data table' : 'Show data table', 'toggle-table', () =>
      this.toggleTable(toggle),
    );
    toggle.setAttribute('aria-controls', 'mo-data-table');
    toggle.setAttribute('aria-expanded', String(this.tableVisible));
    toolbar.append(
      toggle,
      this.button('Save PNG', 'save-png', () => void this.export('png')),
      this.button('Save SVG', 'save-svg', () => void this.export('svg')),
      this.button('Save CSV', 'save-csv', () => void this.export('csv')),
    );
    header.append(h1, toolbar);

    const chart = document.createElement('section');
    chart.className = 'mo-chart';
    chart.setAttribute('aria-label', init.title);
    const tableWrap = document.createElement('div');
    tableWrap.className = 'mo-table-wrap';
    tableWrap.classList.toggle('mo-sr-only', !this.tableVisible);
    this.tableWrap = tableWrap;
    const live = document.createElement('div');
    live.className = 'mo-sr-only';
    live.setAttribute('aria-live', 'polite');
    this.live = live;
    app.append(header, chart, tableWrap, live);

    // Down to a 220 px editor column less the page's padding (VS Code's narrowest editor).
    const width = Math.max(180, Math.floor((app.clientWidth || document.documentElement.clientWidth || 800) - 4));
    let first = true;
    const ctx: ViewContext = {
      title: init.title,
      colors: readPalette(),
      width,
      rendered: () => {
        if (!first) return;
        first = false;
        this.debug.renderedAt = performance.now();
        this.debug.frameAt = null;
        this.debug.renderMs = this.debug.renderedAt - started;
        this.debug.renders++;
        document.dispatchEvent(new CustomEvent('modelops:rendered', { detail: { kind: init.kind } }));
        requestAnimationFrame(() => {
          this.debug.frameAt = performance.now();
        });
      },
      announce: (m) => {
        if (this.live) this.live.textContent = m;
      },
    };
    try {
      this.view = (factories[init.kind] as ChartFactory<typeof init.kind>)(
        chart,
        init.data as ChartDataMap[typeof init.kind],
        ctx,
      );
    } catch (e) {
      const p = document.createElement('p');
      p.className = 'mo-error';
      p.textContent = `Could not draw the chart: ${e instanceof Error ? e.message : String(e)}`;
      chart.replaceChildren(p);
      this.host.post({ type: 'error', message: p.textContent });
      return;
    }
    this.debug.kind = init.kind;
    // A small table is built once the chart's frame is out and stays in the DOM, visually
    // hidden, for screen readers; a large one when it is first shown (see EAGER_TABLE_ROWS).
    this.tableBuilt = false;
    const view = this.view;
    afterNextFrame(() => {
      if (this.view !== view || this.tableBuilt) return;
      if (this.tableVisible) this.refreshTable();
      else {
        const model = view.table();
        if ((model.total ?? model.rows.length) <= EAGER_TABLE_ROWS) this.refreshTable();
      }
    });
    this.saveState();
  }

  private button(label: string, id: string, onClick: () => void): HTMLButtonElement {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.id = `mo-${id}`;
    b.addEventListener('click', onClick);
    return b;
  }

  private toggleTable(button: HTMLButtonElement): void {
    this.tableVisible = !this.tableVisible;
    if (this.tableVisible && !this.tableBuilt) this.refreshTable();
    this.tableWrap?.classList.toggle('mo-sr-only', !this.tableVisible);
    button.textContent = this.tableVisible ? 'Hide data table' : 'Show data table';
    button.setAttribute('aria-expanded', String(this.tableVisible));
    this.saveState();
  }

  private refreshTable(): void {
    if (!this.view || !this.tableWrap) return;
    this.tableWrap.replaceChildren(buildTable(this.view.table(), 'mo-data-table'));
    this.tableBuilt = true;
  }

  private saveState(): void {
    if (!this.current) return;
    const { kind, title, slot } = this.current;
    const state: ChartState = { kind, title, tableVisible: this.tableVisible };
    if (slot) state.slot = slot;
    if (this.view) state.data = this.view.data();
    this.host.setState(state);
  }

  async export(format: ExportFormat): Promise<void> {
    if (!this.view || !this.current) return;
    const base = slug(this.current.title);
    let content: string;
    let encoding: 'utf8' | 'base64' = 'utf8';
    if (format === 'csv') content = this.view.csv();
    else if (format === 'svg') content = this.view.svg();
    else {
      content = await svgToPngBase64(this.view.svg());
      encoding = 'base64';
    }
    const file = { type: 'export' as const, format, fileName: `${base}.${format}`, content, encoding };
    this.debug.lastExport = {
      format,
      fileName: file.fileName,
      bytes: encoding === 'base64' ? Math.floor((content.length * 3) / 4) : content.length,
    };
    this.host.save(file);
  }
}

/** Runs `fn` after the next frame is painted (at once in a hidden page, where frames pause). */
function afterNextFrame(fn: () => void): void {
  if (document.hidden) setTimeout(fn, 0);
  else requestAnimationFrame(() => setTimeout(fn, 0));
}

/** Rasterises the SVG export (same drawing as the SVG file) at 2× for a crisp PNG. */
async function svgToPngBase64(svg: string): Promise<string> {
  const img = new Image();
  img.src = `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(svg)))}`;
  await img.decode();
  const scale = 2;
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth * scale;
  canvas.height = img.naturalHeight * scale;
  const c = canvas.getContext('2d') as CanvasRenderingContext2D;
  c.scale(scale, scale);
  c.drawImage(img, 0, 0);
  return canvas.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
}

function start(): void {
  injectStyles();
  const host = createHost();
  const app = new App(host);
  window.addEventListener('message', (e: MessageEvent) => {
    if (isHostToWebview(e.data)) app.handle(e.data);
  });
  // Follow VS Code theme switches (it changes the body class) even without a 'theme' message.
  new MutationObserver(() => app.rerender()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
  let resize: ReturnType<typeof setTimeout> | undefined;
  let lastWidth = document.documentElement.clientWidth;
  window.addEventListener('resize', () => {
    clearTimeout(resize);
    resize = setTimeout(() => {
      if (document.documentElement.clientWidth === lastWidth) return;
      lastWidth = document.documentElement.clientWidth;
      app.rerender();
    }, 150);
  });

  const inlined = document.getElementById(REPORT_DATA_ELEMENT_ID);
  if (inlined?.textContent) {
    const init = unpackNumberColumns(JSON.parse(inlined.textContent));
    if (isHostToWebview(init) && init.type === 'init') app.render(init);
    return;
  }
  // After a reload, draw what the state kept while the extension fetches fresh data.
  const state = host.getState();
  if (state?.data)
    app.render({
      type: 'init',
      kind: state.kind,
      title: state.title,
      data: state.data,
      ...(state.slot ? { slot: state.slot } : {}),
    } as InitMessage);
  host.post({ type: 'ready', protocol: PROTOCOL_VERSION });
}

start();
