/**
 * The bridge to the chart panels (extension/panels/): opens charts for commands and feeds a
 * running training's epochs to its live training-curve panel (only the new points).
 */
import * as vscode from 'vscode';
import { registerChartPanels, type ChartPanels, type OpenChartOptions } from './panels';
import type { ChartKind, RunStatus } from '../webview/protocol';
import type { TrainProgressParams } from '../server/protocol/training';

export interface Charts extends vscode.Disposable {
  open<K extends ChartKind>(options: OpenChartOptions<K>): Promise<void>;
  /**
   * A training is starting: the training panel opens (or is retargeted) now, empty, so its page
   * has loaded by the first epoch and draws from it; the first run to report claims it.
   */
  trainingStarted(title: string): void;
  /** A training epoch: appended to the training panel when it shows (or waits for) the run. */
  trainProgress(p: TrainProgressParams, label: string): void;
  /** Marks a run (or, without an id, every run still live) as finished on its curve. */
  runFinished(runId: string | undefined, status: RunStatus): void;
  /** Whether the training panel is open on this run (to retitle it once it became a version). */
  showsRun(runId: string): boolean;
}

export function createCharts(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): Charts {
  let panels: ChartPanels | undefined;
  try {
    panels = registerChartPanels(context);
  } catch (e) {
    log.error(`chart panels unavailable: ${e instanceof Error ? e.message : String(e)}`);
  }
  /** Runs whose curve panel was opened in this session. */
  const opened = new Set<string>();
  /** Runs that reported epochs and have not finished. */
  const live = new Set<string>();
  return {
    async open(options) {
      if (!panels) throw new Error('Chart panels are not available in this editor.');
      await panels.open(options);
    },
    trainingStarted(title) {
      void panels?.open({ kind: 'runMetrics', title, data: { runs: [] }, preserveFocus: true });
    },
    trainProgress(p, label) {
      if (!panels) return;
      live.add(p.runId);
      const point = { step: p.epoch, metrics: p.metrics };
      if (panels.appendRunMetrics(p.runId, [point], 'running', label) > 0) {
        opened.add(p.runId);
        return;
      }
      if (opened.has(p.runId)) return; // the user closed it: do not reopen on every epoch
      opened.add(p.runId);
      void panels.open({
        kind: 'runMetrics',
        title: `training · ${label}`,
        data: { runs: [{ runId: p.runId, label, status: 'running', points: [point] }] },
        preserveFocus: true,
      });
    },
    runFinished(runId, status) {
      for (const id of runId ? [runId] : [...live]) {
        live.delete(id);
        panels?.appendRunMetrics(id, [], status);
      }
    },
    showsRun(runId) {
      return Boolean(panels?.get('runMetrics')?.runIds.has(runId));
    },
    dispose() {
      panels?.dispose();
    },
  };
}
