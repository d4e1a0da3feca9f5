/**
 * Live alerts in the editor. The sidecar follows every running target's monitor stream and sends
 * each alert as `modelops/monitoring/alert` (server/lsp/handlers/monitoring.ts); `AlertNotifier`
 * turns a burst of them — and of alerts another process (the CLI) recorded — into one summarised
 * notification per target with *Show*, *Retrain* and, unless monitor.on already rolled back, *Roll Back*.
 */
import * as vscode from 'vscode';
import { monitoring, registry } from '../../server/protocol';
import type { AlertRecord } from '../../server/engine/registry/types';
import type { Ctx } from '../ctx';
import { burstMessage } from '../text/alerts';
import { AlertBurst, type BurstItem } from './alertBurst';

const notifiers = new Set<AlertNotifier>();

/** Alerts a command already summarised itself (Check Drift): they do not pop up a second time. */
export function alertsShown(ids: readonly number[]): void {
  for (const n of notifiers) n.shown(ids);
}

/** Shows each burst of new alerts once, summarised per target. Live alerts arrive from the sidecar on their own. */
export class AlertNotifier implements vscode.Disposable {
  private readonly seen = new Set<number>();
  private primed = false;
  private readonly burst: AlertBurst;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly ctx: Ctx) {
    this.burst = new AlertBurst((target, items) => void this.show(target, items));
    this.subscriptions.push(
      ctx.onNotification(monitoring.alert, (p) => {
        if (p.outcome.alertId !== null) this.seen.add(p.outcome.alertId);
        const rolledBackTo =
          p.outcome.action === 'rollback' && p.outcome.deployment ? p.outcome.deployment.version : null;
        this.burst.add({
          key:
            p.outcome.alertId !== null
              ? `id:${p.outcome.alertId}`
              : `live:${p.target}:${p.model}:${p.alert.rule}:${p.alert.window}`,
          target: p.target,
          model: p.model,
          version: p.alert.version,
          rule: p.alert.rule,
          message: p.alert.message,
          outcome: { action: p.outcome.action, detail: p.outcome.detail, ok: p.outcome.ok, rolledBackTo },
        });
        ctx.output.info(
          `alert on '${p.target}' [${p.alert.rule}] ${p.alert.message} → ${p.outcome.action}: ${p.outcome.detail}`,
        );
      }),
      // The extension is its owner; extension.ts only constructs it.
      { dispose: () => this.burst.dispose() },
    );
    ctx.extension.subscriptions.push(this);
    notifiers.add(this);
  }

  shown(ids: readonly number[]): void {
    for (const id of ids) {
      this.seen.add(id);
      this.burst.remove(`id:${id}`);
    }
  }

  /** Alerts recorded by anyone (CLI, Check Drift, the sidecar): the new ones join the burst. */
  async check(): Promise<void> {
    let alerts: AlertRecord[];
    try {
      alerts = await this.ctx.request(registry.listAlerts, { unacknowledgedOnly: true, limit: 50 });
    } catch {
      return;
    }
    const fresh = alerts.filter((a) => !this.seen.has(a.id));
    for (const a of alerts) this.seen.add(a.id);
    // Alerts that existed before this session are in the tree's badge; only new ones pop up.
    if (!this.primed) {
      this.primed = true;
      return;
    }
    for (const a of fresh)
      this.burst.add({
        key: `id:${a.id}`,
        target: a.target,
        model: a.model,
        version: a.version,
        rule: a.rule,
        message: a.message,
      });
  }

  private async show(target: string, items: BurstItem[]): Promise<void> {
    const model = items[items.length - 1].model;
    const rolledBack = items.some((i) => i.outcome?.rolledBackTo);
    const actions = ['Show', 'Retrain', ...(rolledBack ? [] : ['Roll Back'])];
    const choice = await vscode.window.showWarningMessage(burstMessage(target, items), ...actions);
    const node = { kind: 'serving', target, model };
    if (choice === 'Show') void vscode.commands.executeCommand('modelops.checkDrift', node);
    if (choice === 'Retrain') void vscode.commands.executeCommand('modelops.retrainFromTraffic', node);
    if (choice === 'Roll Back') void vscode.commands.executeCommand('modelops.rollbackDeployment', node);
  }

  dispose(): void {
    notifiers.delete(this);
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }
}
