/**
 * Chart webview panels: strict CSP with a fresh nonce per render, resources only from dist/ and
 * media/, no retained context (state lives in the webview's setState and is restored by a
 * serializer per chart kind), exports saved through a save dialog, live `append` updates.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { chartPageHtml } from '../../webview/html';
import {
  CHART_KINDS,
  isWebviewToHost,
  viewTypeOf,
  type AppendMessage,
  type ChartDataMap,
  type ChartKind,
  type ChartState,
  type ControlChartSeries,
  type ExportFormat,
  type ExportMessage,
  type HostToWebview,
  type InitMessage,
  type MetricPoint,
  type RunStatus,
} from '../../webview/protocol';

export interface OpenChartOptions<K extends ChartKind = ChartKind> {
  kind: K;
  title: string;
  data: ChartDataMap[K];
  /** Identity of the panel: opening the same key again reveals and refreshes it. */
  key?: string;
  viewColumn?: vscode.ViewColumn;
}

const EXPORT_FILTERS: Record<ExportFormat, Record<string, string[]>> = {
  png: { 'PNG image': ['png'] },
  svg: { 'SVG image': ['svg'] },
  csv: { 'CSV data': ['csv'] },
};

export function newNonce(): string {
  return randomBytes(18).toString('base64');
}

export class ChartPanel {
  private ready = false;
  private queue: HostToWebview[] = [];
  private disposables: vscode.Disposable[] = [];
  /** Runs shown (for live appends of run metrics). */
  readonly runIds = new Set<string>();
  init: InitMessage | null = null;

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly kind: ChartKind,
    readonly key: string,
    private readonly extensionUri: vscode.Uri,
    private readonly onDispose: (p: ChartPanel) => void,
  ) {
    panel.webview.options = ChartPanel.webviewOptions(extensionUri);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      panel.onDidDispose(() => this.dispose()),
    );
    this.render();
  }

  static webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')] };
  }

  /** Sets the page with a fresh nonce; the webview answers `ready` and gets the queued init. */
  render(): void {
    this.ready = false;
    const webview = this.panel.webview;
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview.js')).toString();
    webview.html = chartPageHtml({ title: this.panel.title, nonce: newNonce(), cspSource: webview.cspSource, script: { src: script } });
    if (this.init) this.queue = [this.init];
  }

  /** Shows a full dataset. */
  async show<K extends ChartKind>(o: OpenChartOptions<K>): Promise<void> {
    const init = { type: 'init', kind: o.kind, title: o.title, data: o.data } as InitMessage;
    this.init = init;
    this.panel.title = o.title;
    this.runIds.clear();
    if (init.kind === 'runMetrics') for (const r of init.data.runs) this.runIds.add(r.runId);
    this.queue = this.queue.filter((m) => m.type !== 'init' && m.type !== 'append');
    this.post(init);
  }

  post(message: HostToWebview): void {
    if (!this.ready) {
      this.queue.push(message);
      return;
    }
    void this.panel.webview.postMessage(message);
  }

  /** Live update: only the new points. */
  append(message: AppendMessage): void {
    if (message.kind !== this.kind) return;
    if (message.kind === 'runMetrics') this.runIds.add(message.runId);
    this.post(message);
  }

  requestExport(format: ExportFormat): void {
    this.post({ type: 'export', format });
  }

  private receive(m: unknown): void {
    if (!isWebviewToHost(m)) return;
    if (m.type === 'ready') {
      this.ready = true;
      const queued = this.queue;
      this.queue = [];
      for (const q of queued) void this.panel.webview.postMessage(q);
    } else if (m.type === 'export') void this.save(m);
    else if (m.type === 'error') void vscode.window.showErrorMessage(`ModelOps chart: ${m.message}`);
  }

  private async save(file: ExportMessage): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const uri = await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, file.fileName) : undefined,
      filters: EXPORT_FILTERS[file.format],
      saveLabel: `Save ${file.format.toUpperCase()}`,
    });
    if (!uri) return;
    const bytes = file.encoding === 'base64' ? Buffer.from(file.content, 'base64') : Buffer.from(file.content, 'utf8');
    try {
      await vscode.workspace.fs.writeFile(uri, bytes);
      void vscode.window.showInformationMessage(`Saved ${vscode.workspace.asRelativePath(uri)}.`);
    } catch (e) {
      void vscode.window.showErrorMessage(`Could not save ${uri.fsPath}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.disposables = [];
    this.onDispose(this);
  }
}

export interface ChartPanels extends vscode.Disposable {
  /** Opens (or reveals and refreshes) a chart panel. */
  open<K extends ChartKind>(options: OpenChartOptions<K>): Promise<ChartPanel>;
  /** Sends new epochs of a training run to every run-metrics panel showing it; returns how many. */
  appendRunMetrics(runId: string, points: MetricPoint[], status?: RunStatus, label?: string): number;
  /**
   * Sends new control-chart windows to the panel opened with `key` (build them with
   * `sliceControlChart(chart, from)` of server/engine/spc); returns how many panels got them.
   */
  appendControl(key: string, series: ControlChartSeries): number;
  /** Asks the active chart panel for a PNG/SVG/CSV; it comes back through the save dialog. */
  exportActive(format: ExportFormat): boolean;
  list(): readonly ChartPanel[];
}

/**
 * Registers one WebviewPanelSerializer per chart kind and returns the panel manager.
 */
export function registerChartPanels(context: vscode.ExtensionContext): ChartPanels {
  const panels = new Map<string, ChartPanel>();
  const extensionUri = context.extensionUri;
  const forget = (p: ChartPanel) => {
    if (panels.get(p.key) === p) panels.delete(p.key);
  };
  const adopt = (panel: vscode.WebviewPanel, kind: ChartKind, key: string) => {
    const p = new ChartPanel(panel, kind, key, extensionUri, forget);
    panels.set(key, p);
    return p;
  };

  const disposables: vscode.Disposable[] = CHART_KINDS.map((kind) =>
    vscode.window.registerWebviewPanelSerializer(viewTypeOf(kind), {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        const s = state as Partial<ChartState> | undefined;
        const p = adopt(panel, kind, `${kind}:restored:${Date.now()}:${Math.random()}`);
        if (!s || s.kind !== kind) return;
        if (s.data) await p.show({ kind, title: s.title ?? panel.title, data: s.data as ChartDataMap[typeof kind] });
        else void vscode.window.showWarningMessage(`ModelOps could not restore the chart "${s.title ?? panel.title}": it was saved without its data. Open it again from the command that made it.`);
      },
    }),
  );

  const manager: ChartPanels = {
    async open(o) {
      const key = o.key ?? `${o.kind}:${o.title}`;
      let p = panels.get(key);
      if (p) p.panel.reveal(o.viewColumn, false);
      else {
        const panel = vscode.window.createWebviewPanel(viewTypeOf(o.kind), o.title, o.viewColumn ?? vscode.ViewColumn.Active, {
          ...ChartPanel.webviewOptions(extensionUri),
          retainContextWhenHidden: false,
          enableFindWidget: false,
        });
        panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'modelops.svg');
        p = adopt(panel, o.kind, key);
      }
      await p.show(o);
      return p;
    },
    appendRunMetrics(runId, points, status, label) {
      let n = 0;
      for (const p of panels.values()) {
        if (p.kind !== 'runMetrics' || !p.runIds.has(runId)) continue;
        p.append({ type: 'append', kind: 'runMetrics', runId, points, ...(status ? { status } : {}), ...(label ? { label } : {}) });
        n++;
      }
      return n;
    },
    appendControl(key, series) {
      const p = panels.get(key);
      if (!p || p.kind !== 'control') return 0;
      p.append({ ...series, type: 'append', kind: 'control' });
      return 1;
    },
    exportActive(format) {
      const active = [...panels.values()].find((p) => p.panel.active);
      active?.requestExport(format);
      return Boolean(active);
    },
    list: () => [...panels.values()],
    dispose() {
      for (const p of [...panels.values()]) p.panel.dispose();
      for (const d of disposables) d.dispose();
    },
  };
  context.subscriptions.push(manager);
  return manager;
}
