/**
 * Chart webview panels: one per kind (training, compare, confusion, control chart, drift,
 * explanation, fairness) — and a second of a kind where a flow shows two side by side (the
 * estimate's control chart beside the realised one: `slot`),
 * reused and retargeted, all in one editor group beside the editor; strict CSP with a fresh nonce
 * per render, resources only from dist/ and media/, no retained context (state lives in the
 * webview's setState and is restored by a serializer per chart kind; a page reloaded when its tab
 * is shown again gets the current dataset, see delivery.ts), exports saved through a save dialog,
 * live `append` updates.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { chartPageHtml } from '../../webview/html';
import { ChartDelivery } from './delivery';
import {
  CHART_KINDS,
  isWebviewToHost,
  viewTypeOf,
  type AppendMessage,
  type ChartDataMap,
  type ChartKind,
  type ChartSlot,
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
  /**
   * Where a new panel goes when no chart panel is open yet (default: beside the active editor).
   * Panels already open stay where the user put them; new kinds join their group.
   */
  viewColumn?: vscode.ViewColumn;
  /** Keep the focus in the editor (live training charts). */
  preserveFocus?: boolean;
  /**
   * A second panel of the kind, kept apart from the first (`estimate`: the estimate's control
   * chart, which must not replace the realised one). Live appends go to the first only.
   */
  slot?: ChartSlot;
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
  private readonly delivery: ChartDelivery;
  private disposables: vscode.Disposable[] = [];
  /** Runs shown (for live appends of run metrics). */
  readonly runIds = new Set<string>();
  /** A training chart opened before its run reported an epoch: the next run to report claims it. */
  waitingForRun = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly kind: ChartKind,
    private readonly extensionUri: vscode.Uri,
    private readonly onDispose: (p: ChartPanel) => void,
  ) {
    panel.webview.options = ChartPanel.webviewOptions(extensionUri);
    this.delivery = new ChartDelivery((m) => void panel.webview.postMessage(m));
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      panel.onDidDispose(() => this.dispose()),
    );
    this.render();
  }

  static webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
    return {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
    };
  }

  /** Sets the page with a fresh nonce; the webview answers `ready` and gets the queued init. */
  render(): void {
    this.delivery.reset();
    const webview = this.panel.webview;
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview.js')).toString();
    webview.html = chartPageHtml({
      title: this.panel.title,
      nonce: newNonce(),
      cspSource: webview.cspSource,
      script: { src: script },
    });
  }

  get init(): InitMessage | null {
    return this.delivery.current;
  }

  /** Shows a full dataset. */
  async show<K extends ChartKind>(o: OpenChartOptions<K>): Promise<void> {
    const init = {
      type: 'init',
      kind: o.kind,
      title: o.title,
      data: o.data,
      ...(o.slot ? { slot: o.slot } : {}),
    } as InitMessage;
    this.panel.title = o.title;
    this.runIds.clear();
    this.waitingForRun = false;
    if (init.kind === 'runMetrics') {
      for (const r of init.data.runs) this.runIds.add(r.runId);
      this.waitingForRun = init.data.runs.length === 0;
    }
    this.post(init);
  }

  post(message: HostToWebview): void {
    this.delivery.post(message);
  }

  /** Live update: only the new points. */
  append(message: AppendMessage): void {
    if (message.kind !== this.kind) return;
    if (message.kind === 'runMetrics') {
      this.runIds.add(message.runId);
      this.waitingForRun = false;
    }
    this.post(message);
  }

  requestExport(format: ExportFormat): void {
    this.post({ type: 'export', format });
  }

  private receive(m: unknown): void {
    if (!isWebviewToHost(m)) return;
    if (m.type === 'ready') this.delivery.ready();
    else if (m.type === 'export') void this.save(m);
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
      void vscode.window.showErrorMessage(
        `Could not save ${uri.fsPath}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.disposables = [];
    this.onDispose(this);
  }
}

export interface ChartPanels extends vscode.Disposable {
  /** Opens the panel of this kind, or reveals it where it is and shows the new data in it. */
  open<K extends ChartKind>(options: OpenChartOptions<K>): Promise<ChartPanel>;
  /**
   * Sends new epochs of a training run to the training panel if it shows that run (or waits for
   * one: see `ChartPanel.waitingForRun`); returns how many panels got them.
   */
  appendRunMetrics(runId: string, points: MetricPoint[], status?: RunStatus, label?: string): number;
  /**
   * Sends new control-chart windows to the control chart panel (build them with
   * `sliceControlChart(chart, from)` of server/engine/spc); returns how many panels got them.
   */
  appendControl(series: ControlChartSeries): number;
  /** The open panel of a kind. */
  get(kind: ChartKind): ChartPanel | undefined;
  /** Asks the active chart panel for a PNG/SVG/CSV; it comes back through the save dialog. */
  exportActive(format: ExportFormat): boolean;
  list(): readonly ChartPanel[];
}

/**
 * Registers one WebviewPanelSerializer per chart kind and returns the panel manager.
 */
export function registerChartPanels(context: vscode.ExtensionContext): ChartPanels {
  /** One panel per kind, and per kind and slot: keyed `kind` or `kind:slot`. */
  const panels = new Map<string, ChartPanel>();
  const keyOf = (kind: ChartKind, slot?: string): string => (slot ? `${kind}:${slot}` : kind);
  const extensionUri = context.extensionUri;
  const forget = (p: ChartPanel) => {
    for (const [key, q] of panels) if (q === p) panels.delete(key);
  };
  const adopt = (panel: vscode.WebviewPanel, kind: ChartKind, slot?: string) => {
    const p = new ChartPanel(panel, kind, extensionUri, forget);
    // A second restored panel of a kind (from an older session) is left as it is, not managed.
    const key = keyOf(kind, slot);
    if (!panels.has(key)) panels.set(key, p);
    return p;
  };

  const disposables: vscode.Disposable[] = CHART_KINDS.map((kind) =>
    vscode.window.registerWebviewPanelSerializer(viewTypeOf(kind), {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        const s = state as Partial<ChartState> | undefined;
        const p = adopt(panel, kind, s?.slot);
        if (!s || s.kind !== kind) return;
        if (s.data)
          await p.show({
            kind,
            title: s.title ?? panel.title,
            data: s.data as ChartDataMap[typeof kind],
            ...(s.slot ? { slot: s.slot } : {}),
          });
        else
          void vscode.window.showWarningMessage(
            `ModelOps could not restore the chart "${s.title ?? panel.title}": it was saved without its data. Open it again from the command that made it.`,
          );
      },
    }),
  );

  /** The group the chart panels live in: that of any open one, else beside the editor. */
  const chartColumn = (fallback: vscode.ViewColumn | undefined): vscode.ViewColumn => {
    for (const p of panels.values()) if (p.panel.viewColumn !== undefined) return p.panel.viewColumn;
    return fallback ?? vscode.ViewColumn.Beside;
  };

  const manager: ChartPanels = {
    async open(o) {
      const preserveFocus = o.preserveFocus ?? false;
      let p = panels.get(keyOf(o.kind, o.slot));
      // Reveal where it is: passing Beside again would move it into yet another group.
      if (p) p.panel.reveal(p.panel.viewColumn, preserveFocus);
      else {
        const panel = vscode.window.createWebviewPanel(
          viewTypeOf(o.kind),
          o.title,
          { viewColumn: chartColumn(o.viewColumn), preserveFocus },
          { ...ChartPanel.webviewOptions(extensionUri), retainContextWhenHidden: false, enableFindWidget: false },
        );
        panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'modelops.svg');
        p = adopt(panel, o.kind, o.slot);
      }
      await p.show(o);
      return p;
    },
    appendRunMetrics(runId, points, status, label) {
      const p = panels.get('runMetrics');
      if (!p || !(p.runIds.has(runId) || (p.waitingForRun && points.length > 0))) return 0;
      p.append({
        type: 'append',
        kind: 'runMetrics',
        runId,
        points,
        ...(status ? { status } : {}),
        ...(label ? { label } : {}),
      });
      return 1;
    },
    appendControl(series) {
      const p = panels.get('control');
      if (!p) return 0;
      p.append({ ...series, type: 'append', kind: 'control' });
      return 1;
    },
    get: (kind) => panels.get(keyOf(kind)),
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
