/**
 * The Endpoints view: each deploy target with what it serves, its health and an alert badge.
 * Refreshed by `modelops/changed` (deployments, alerts, endpoints) — no polling.
 *
 * Alert counts are of the version serving now, since the deployment that made it serve (a deploy
 * or a rollback, `modelops/monitoring/alertCounts`), so they start over when the version switches
 * and the alerts of other versions stay in the tooltip, per version. The view's badge counts all
 * unacknowledged alerts.
 */
import * as vscode from 'vscode';
import type { ChangedParams } from '../../server/protocol/core';
import type { AlertCount } from '../../server/protocol/monitoring';
import type { EndpointItem, TreeSource } from './source';
import { LastGood } from './lastGood';

export type EndpointNode =
  | { kind: 'endpoint'; endpoint: EndpointItem; stale?: string }
  | { kind: 'serving'; target: string; model: string; version: string; alerts?: AlertCount }
  | { kind: 'message'; text: string; icon: string; detail?: string };

export class EndpointTreeProvider implements vscode.TreeDataProvider<EndpointNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<EndpointNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private view: vscode.TreeView<EndpointNode> | undefined;
  /** The targets of the last config that loaded, shown (stale) while it does not. */
  private readonly lastGood = new LastGood<EndpointItem>();
  /** target → model → counts, from the last listing; empty when the sidecar cannot say. */
  private counts = new Map<string, AlertCount[]>();

  constructor(
    private readonly source: TreeSource,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  attach(view: vscode.TreeView<EndpointNode>): void {
    this.view = view;
  }

  onChanged(e: ChangedParams): void {
    if (e.kind === 'deployments' || e.kind === 'alerts' || e.kind === 'endpoints') this.refresh();
  }

  refresh(): void {
    this.emitter.fire(undefined);
  }

  getTreeItem(node: EndpointNode): vscode.TreeItem {
    switch (node.kind) {
      case 'endpoint': {
        const e = node.endpoint;
        const item = new vscode.TreeItem(
          e.target,
          e.serving.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
        );
        item.id = `endpoint:${e.target}`;
        const serving = e.serving.map((s) => `${s.model}@${s.version}`).join(', ');
        const dropped = e.logDropped ? `${e.logDropped.toLocaleString('en-US')} predictions not logged` : '';
        const counts = this.counts.get(e.target);
        // Of the versions serving now, since their deploy; the target's total when the sidecar cannot say.
        const alerts = counts ? counts.reduce((n, c) => n + c.sinceDeploy, 0) : e.alerts;
        const alertText = alerts ? `${alerts} alert${alerts === 1 ? '' : 's'}${counts ? ' since deploy' : ''}` : '';
        item.description = [node.stale ? 'stale' : '', serving || 'nothing deployed', e.health, alertText, dropped]
          .filter(Boolean)
          .join(' · ');
        const color =
          alerts || e.logDropped
            ? new vscode.ThemeColor('list.warningForeground')
            : e.health === 'ready' || e.health === 'live'
              ? new vscode.ThemeColor('testing.iconPassed')
              : undefined;
        item.iconPath = new vscode.ThemeIcon(
          alerts || e.logDropped
            ? 'warning'
            : e.health === 'down'
              ? 'debug-disconnect'
              : e.health === 'stopped'
                ? 'debug-stop'
                : 'server',
          color,
        );
        const md = new vscode.MarkdownString();
        md.appendMarkdown(`**${e.target}** (${e.type})${e.requireApproval ? ' — deploys need approval' : ''}\n\n`);
        if (e.url) md.appendMarkdown(`URL: ${e.url}\n\n`);
        md.appendMarkdown(
          `Health: ${e.health}\n\nServing: ${serving || 'nothing'}\n\nAlerts: ${e.alerts} unacknowledged`,
        );
        for (const c of counts ?? []) md.appendMarkdown(`\n\n${alertCountText(c)}`);
        if (node.stale)
          md.appendMarkdown(`\n\n*Stale:* as of the last valid modelops.yaml; it does not load now: ${node.stale}`);
        if (e.logDropped) {
          md.appendMarkdown(
            `\n\n$(warning) The server could not log ${e.logDropped.toLocaleString('en-US')} predictions${e.logError ? ` (${e.logError})` : ''}: monitoring does not see them. Free disk space on the server.`,
          );
          md.supportThemeIcons = true;
        }
        item.tooltip = md;
        item.contextValue = `endpoint${e.serving.length ? ':serving' : ''}${e.alerts ? ':alerts' : ''}`;
        return item;
      }
      case 'serving': {
        const item = new vscode.TreeItem(`${node.model}@${node.version}`, vscode.TreeItemCollapsibleState.None);
        item.id = `serving:${node.target}:${node.model}`;
        const a = node.alerts;
        if (a) {
          item.description = a.sinceDeploy
            ? `${a.sinceDeploy} alert${a.sinceDeploy === 1 ? '' : 's'} since deploy`
            : 'no alert since deploy';
          item.tooltip = new vscode.MarkdownString(alertCountText(a));
        }
        item.iconPath = new vscode.ThemeIcon(
          a?.sinceDeploy ? 'warning' : 'package',
          a?.sinceDeploy ? new vscode.ThemeColor('list.warningForeground') : undefined,
        );
        item.contextValue = 'serving';
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(node.icon);
        if (node.detail) item.tooltip = node.detail;
        return item;
      }
    }
  }

  async getChildren(node?: EndpointNode): Promise<EndpointNode[]> {
    if (node?.kind === 'endpoint') {
      const counts = this.counts.get(node.endpoint.target) ?? [];
      return node.endpoint.serving.map((s) => {
        const alerts = counts.find((c) => c.model === s.model && c.version === s.version);
        return { kind: 'serving', target: node.endpoint.target, ...s, ...(alerts ? { alerts } : {}) };
      });
    }
    if (node) return [];
    let answer;
    try {
      const [endpoints, counts] = await Promise.all([
        this.source.listEndpoints(),
        this.source.alertCounts?.().catch(() => null) ?? Promise.resolve(null),
      ]);
      this.counts = new Map();
      for (const c of counts ?? []) this.counts.set(c.target, [...(this.counts.get(c.target) ?? []), c]);
      if (counts) for (const e of endpoints) if (!this.counts.has(e.target)) this.counts.set(e.target, []);
      answer = this.lastGood.ok(endpoints);
    } catch (e) {
      answer = this.lastGood.failed(e instanceof Error ? e.message : String(e));
    }
    if (answer.log)
      this.log.info(
        `endpoints view: ${answer.stale ? `keeping the last targets while modelops.yaml does not load: ${answer.log}` : answer.log}`,
      );
    const endpoints = answer.items;
    if (!endpoints) {
      // Never loaded: say so, with the reason in the tooltip.
      return [
        {
          kind: 'message',
          text: 'Endpoints appear once modelops.yaml is valid',
          icon: 'warning',
          detail: answer.stale,
        },
      ];
    }
    const alerts = endpoints.reduce((n, e) => n + e.alerts, 0);
    if (this.view)
      this.view.badge = alerts
        ? { value: alerts, tooltip: `${alerts} unacknowledged alert${alerts === 1 ? '' : 's'}` }
        : undefined;
    if (this.view)
      this.view.message = answer.stale
        ? 'modelops.yaml has errors: these targets are from its last valid version.'
        : undefined;
    return endpoints.map((endpoint) => ({
      kind: 'endpoint',
      endpoint,
      ...(answer.stale ? { stale: answer.stale } : {}),
    }));
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

/** "weather@1.0.0: 2 alerts since it was deployed 2026-11-27 09:40 UTC · all versions: 1.1.0 3, 1.0.0 2". */
export function alertCountText(c: AlertCount): string {
  const versions = Object.entries(c.byVersion)
    .map(([v, n]) => `${v} ${n}`)
    .join(', ');
  const since = c.since.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
  return `${c.model}@${c.version}: ${c.sinceDeploy} alert${c.sinceDeploy === 1 ? '' : 's'} since it was deployed ${since}${versions ? ` · unacknowledged per version: ${versions}` : ''}`;
}
