/**
 * One status bar item: the sidecar's state, the training backend in use, and the progress of a
 * running training job. Updated from events only.
 */
import * as vscode from 'vscode';
import type { SidecarState } from './client';

export interface TrainingProgress {
  /** What is training, e.g. "run 3f2a…" */
  label: string;
  epoch: number;
  epochs: number;
  loss?: number;
}

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private state: SidecarState = 'starting';
  private backend: string | undefined;
  private training: TrainingProgress | undefined;
  private runtime = '';

  constructor() {
    this.item = vscode.window.createStatusBarItem('modelops.status', vscode.StatusBarAlignment.Left, 10);
    this.item.name = 'ModelOps';
    this.item.command = 'modelops.showLog';
    this.render();
    this.item.show();
  }

  setState(state: SidecarState, runtime?: string): void {
    this.state = state;
    if (runtime) this.runtime = runtime;
    this.render();
  }

  setBackend(backend: string | undefined): void {
    this.backend = backend;
    this.render();
  }

  setTraining(p: TrainingProgress | undefined): void {
    this.training = p;
    this.render();
  }

  private render(): void {
    const icon: Record<SidecarState, string> = {
      starting: '$(sync~spin)',
      restarting: '$(sync~spin)',
      running: '$(pulse)',
      stopped: '$(circle-slash)',
      failed: '$(error)',
    };
    const t = this.training;
    if (t && this.state === 'running') {
      const pct = t.epochs > 0 ? Math.round((100 * t.epoch) / t.epochs) : 0;
      this.item.text = `$(sync~spin) ModelOps: training ${t.epoch}/${t.epochs}${t.loss !== undefined ? ` · loss ${t.loss.toFixed(4)}` : ''}`;
      this.item.tooltip = `Training ${t.label}: epoch ${t.epoch} of ${t.epochs} (${pct}%)${this.backend ? ` on ${this.backend}` : ''}`;
      this.item.backgroundColor = undefined;
      return;
    }
    this.item.text = `${icon[this.state]} ModelOps${this.backend && this.state === 'running' ? ` · ${this.backend}` : ''}`;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**ModelOps sidecar**: ${this.state}\n\n`);
    if (this.runtime) md.appendMarkdown(`Node: ${this.runtime}\n\n`);
    if (this.backend) md.appendMarkdown(`Training backend: ${this.backend}\n\n`);
    md.appendMarkdown('Click to show the log.');
    this.item.tooltip = md;
    this.item.backgroundColor =
      this.state === 'failed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
