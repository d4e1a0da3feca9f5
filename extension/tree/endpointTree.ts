/**
 * The Endpoints view: each deploy target with what it serves, its health and an alert badge.
 * Refreshed by `modelops/changed` (deployments, alerts, endpoints) — no polling.
 */
import * as vscode from 'vscode';
import type { ChangedParams } from '../../server/protocol/core';
import type { EndpointItem, TreeSource } from './source';
import { LastGood } from './lastGood';

export type EndpointNode =
  | { kind: 'endpoint'; endpoint: EndpointItem; stale?: string }
  | { kind: 'serving'; target: string; model: string; version: string }
  | { kind: 'message'; text: string; icon: string; detail?: string };

export class EndpointTreeProvider implements vscode.TreeDataProvider<EndpointNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<EndpointNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private view: vscode.TreeView<EndpointNode> | undefined;
  /** The targets of the last config that loaded, shown (stale) while it does not. */
  private readonly lastGood = new LastGood<EndpointItem>();

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
        const item = new vscode.TreeItem(e.target, e.serving.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        item.id = `endpoint:${e.target}`;
        const serving = e.serving.map((s) => `${s.model}@${s.version}`).join(', ');
        const dropped = e.logDropped ? `${e.logDropped.toLocaleString('en-US')} predictions not logged` : '';
        item.description = [node.stale ? 'stale' : '', serving || 'nothing deployed', e.health, e.alerts ? `${e.alerts} alert${e.alerts === 1 ? '' : 's'}` : '', dropped]
          .filter(Boolean)
          .join(' · ');
        const color = e.alerts || e.logDropped
          ? new vscode.ThemeColor('list.warningForeground')
          : e.health === 'ready' || e.health === 'live'
            ? new vscode.ThemeColor('testing.iconPassed')
            : undefined;
        item.iconPath = new vscode.ThemeIcon(e.alerts || e.logDropped ? 'warning' : e.health === 'down' ? 'debug-disconnect' : e.health === 'stopped' ? 'debug-stop' : 'server', color);
        const md = new vscode.MarkdownString();
        md.appendMarkdown(`**${e.target}** (${e.type})${e.requireApproval ? ' — deploys need approval' : ''}\n\n`);
        if (e.url) md.appendMarkdown(`URL: ${e.url}\n\n`);
        md.appendMarkdown(`Health: ${e.health}\n\nServing: ${serving || 'nothing'}\n\nAlerts: ${e.alerts}`);
        if (node.stale) md.appendMarkdown(`\n\n*Stale:* as of the last valid modelops.yaml; it does not load now: ${node.stale}`);
        if (e.logDropped) {
          md.appendMarkdown(`\n\n$(warning) The server could not log ${e.logDropped.toLocaleString('en-US')} predictions${e.logError ? ` (${e.logError})` : ''}: monitoring does not see them. Free disk space on the server.`);
          md.supportThemeIcons = true;
        }
        item.tooltip = md;
        item.contextValue = `endpoint${e.serving.length ? ':serving' : ''}${e.alerts ? ':alerts' : ''}`;
        return item;
      }
      case 'serving': {
        const item = new vscode.TreeItem(`${node.model}@${node.version}`, vscode.TreeItemCollapsibleState.None);
        item.id = `serving:${node.target}:${node.model}`;
        item.iconPath = new vscode.ThemeIcon('package');
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
      return node.endpoint.serving.map((s) => ({ kind: 'serving', target: node.endpoint.target, ...s }));
    }
    if (node) return [];
    let answer;
    try {
      answer = this.lastGood.ok(await this.source.listEndpoints());
    } catch (e) {
      answer = this.lastGood.failed(e instanceof Error ? e.message : String(e));
    }
    if (answer.log) this.log.info(`endpoints view: ${answer.stale ? `keeping the last targets while modelops.yaml does not load: ${answer.log}` : answer.log}`);
    const endpoints = answer.items;
    if (!endpoints) {
      // Never loaded: say so, with the reason in the tooltip.
      return [{ kind: 'message', text: 'Endpoints appear once modelops.yaml is valid', icon: 'warning', detail: answer.stale }];
    }
    const alerts = endpoints.reduce((n, e) => n + e.alerts, 0);
    if (this.view) this.view.badge = alerts ? { value: alerts, tooltip: `${alerts} unacknowledged alert${alerts === 1 ? '' : 's'}` } : undefined;
    if (this.view) this.view.message = answer.stale ? 'modelops.yaml has errors: these targets are from its last valid version.' : undefined;
    return endpoints.map((endpoint) => ({ kind: 'endpoint', endpoint, ...(answer.stale ? { stale: answer.stale } : {}) }));
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
