/**
 * The Models view: models → versions (paged), then Datasets and Runs. Children load lazily;
 * a `modelops/changed` notification refreshes only the branch it names. No polling.
 */
import * as vscode from 'vscode';
import type { ChangedParams } from '../../server/protocol/core';
import type { ModelRecord, RunRecord, VersionRecord } from '../../server/engine/registry/types';
import type { DatasetInfo } from '../../server/protocol/monitoring';
import { datasetDescription, datasetTooltip } from './datasets';
import type { VersionStatus } from '../../server/protocol/governance';
import type { StudySummary } from '../../server/protocol/optimize';
import {
  formatMetric,
  gateIcon,
  governanceView,
  keyMetric,
  runDescription,
  runLabel,
  versionContext,
  versionDescription,
  versionTooltip,
} from './format';
import type { TreeSource } from './source';
import { hasStore } from '../configFiles';

export const PAGE_SIZE = 200;
const RUNS_SHOWN = 50;

export type ModelTreeNode =
  | { kind: 'model'; model: ModelRecord }
  | { kind: 'version'; version: VersionRecord }
  | { kind: 'more'; model: string; loaded: number; total: number }
  | { kind: 'group'; group: 'datasets' | 'runs' }
  | { kind: 'dataset'; dataset: DatasetInfo }
  | { kind: 'run'; run: RunRecord }
  | { kind: 'studies'; model: string; studies: StudySummary[] }
  | { kind: 'study'; summary: StudySummary }
  | { kind: 'message'; text: string; detail?: string; icon: string; command?: vscode.Command };

interface VersionPage {
  total: number;
  items: VersionRecord[];
}

export class ModelTreeProvider implements vscode.TreeDataProvider<ModelTreeNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<ModelTreeNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  /** Model nodes by name, so a change to one model refreshes that node only. */
  private modelNodes = new Map<string, { kind: 'model'; model: ModelRecord }>();
  private pages = new Map<string, VersionPage>();
  /** Approvals, protection and fairness per model, read with its versions. */
  private statuses = new Map<string, VersionStatus>();
  private readonly groups = {
    datasets: { kind: 'group', group: 'datasets' } as const satisfies ModelTreeNode,
    runs: { kind: 'group', group: 'runs' } as const satisfies ModelTreeNode,
  };

  constructor(
    private readonly source: TreeSource,
    private readonly hasConfig: () => boolean,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Refreshes what a change notification names. */
  async onChanged(e: ChangedParams): Promise<void> {
    switch (e.kind) {
      case 'versions':
      case 'aliases':
      case 'deployments': {
        if (!e.model) {
          this.refresh();
          return;
        }
        this.pages.delete(e.model);
        const node = this.modelNodes.get(e.model);
        if (!node) {
          // A model the tree has not shown yet: the root list changes.
          this.emitter.fire(undefined);
          return;
        }
        // Update the node in place (its description shows aliases and the version count) and
        // refresh that branch only.
        try {
          const fresh = (await this.source.listModels()).find((m) => m.name === e.model);
          if (fresh) node.model = fresh;
        } catch (err) {
          this.log.warn(`model tree: ${err instanceof Error ? err.message : String(err)}`);
        }
        this.emitter.fire(node);
        return;
      }
      case 'models':
        this.refresh();
        return;
      case 'runs':
        this.emitter.fire(this.groups.runs);
        return;
      case 'datasets':
        this.emitter.fire(this.groups.datasets);
        return;
      default:
        return;
    }
  }

  refresh(): void {
    this.pages.clear();
    this.emitter.fire(undefined);
  }

  /** "Load more…": fetches the next page of a model's versions. */
  async loadMore(model: string): Promise<void> {
    const page = this.pages.get(model);
    if (!page) return;
    const next = await this.source.listVersions(model, page.items.length, PAGE_SIZE);
    this.pages.set(model, { total: next.total, items: page.items.concat(next.items) });
    const node = this.modelNodes.get(model);
    if (node) this.emitter.fire(node);
  }

  getTreeItem(node: ModelTreeNode): vscode.TreeItem {
    switch (node.kind) {
      case 'model': {
        const m = node.model;
        const item = new vscode.TreeItem(m.name, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `model:${m.name}`;
        const aliases = Object.entries(m.aliases).map(([a, v]) => `${a} ${v}`);
        item.description = [`${m.versionCount} version${m.versionCount === 1 ? '' : 's'}`, ...aliases].join(' · ');
        item.iconPath = new vscode.ThemeIcon('package');
        item.contextValue = 'model';
        item.tooltip = `${m.name}: ${m.versionCount} versions, latest ${m.latestVersion ?? '—'}`;
        return item;
      }
      case 'version': {
        const v = node.version;
        const item = new vscode.TreeItem(v.version, vscode.TreeItemCollapsibleState.None);
        item.id = `version:${v.model}@${v.version}`;
        const gov = governanceView(v, this.statuses.get(v.model));
        item.description =
          versionDescription(v) +
          (gov.approval === 'pending' ? ' · awaiting approval' : gov.approval === 'approved' ? ' · approved' : '');
        item.tooltip = new vscode.MarkdownString(
          versionTooltip(v) + (gov.lines.length ? `\n\n**Governance**  \n${gov.lines.join('\n')}` : ''),
        );
        item.contextValue =
          versionContext(v) +
          (gov.approval === 'pending' ? ':approval-pending' : gov.approval === 'approved' ? ':approved' : '');
        const icon = gov.icon ?? gateIcon(v);
        item.iconPath = icon.color
          ? new vscode.ThemeIcon(icon.id, new vscode.ThemeColor(icon.color))
          : new vscode.ThemeIcon(icon.id);
        item.command = { command: 'modelops.showVersionDetails', title: 'Show Version Details', arguments: [node] };
        return item;
      }
      case 'more': {
        const item = new vscode.TreeItem(
          `Load more… (${node.loaded} of ${node.total})`,
          vscode.TreeItemCollapsibleState.None,
        );
        item.id = `more:${node.model}:${node.loaded}`;
        item.iconPath = new vscode.ThemeIcon('ellipsis');
        item.command = { command: 'modelops.loadMoreVersions', title: 'Load more', arguments: [node] };
        return item;
      }
      case 'group': {
        const label = node.group === 'datasets' ? 'Datasets' : 'Runs';
        const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `group:${node.group}`;
        item.iconPath = new vscode.ThemeIcon(node.group === 'datasets' ? 'database' : 'history');
        item.contextValue = `group:${node.group}`;
        return item;
      }
      case 'dataset': {
        const d = node.dataset;
        const item = new vscode.TreeItem(d.path, vscode.TreeItemCollapsibleState.None);
        item.id = `dataset:${d.digest}`;
        item.description = datasetDescription(d);
        item.tooltip = new vscode.MarkdownString(datasetTooltip(d));
        item.iconPath = new vscode.ThemeIcon(
          'table',
          d.stored ? undefined : new vscode.ThemeColor('disabledForeground'),
        );
        // dataset:stored enables Checkout Dataset….
        item.contextValue = d.stored ? 'dataset:stored' : 'dataset';
        return item;
      }
      case 'run': {
        const r = node.run;
        const item = new vscode.TreeItem(runLabel(r), vscode.TreeItemCollapsibleState.None);
        item.id = `run:${r.id}`;
        item.description = runDescription(r, Date.now(), 'absolute');
        const km = keyMetric(r.metrics);
        item.tooltip = `Run ${r.id}\n${r.kind}, ${r.status}${r.backend ? ` on ${r.backend}` : ''}, started ${new Date(r.startedAt).toLocaleString()}${km ? `\n${formatMetric(km[0], km[1])}` : ''}${r.error ? `\n${r.error}` : ''}`;
        const icons: Record<RunRecord['status'], vscode.ThemeIcon> = {
          running: new vscode.ThemeIcon('sync~spin'),
          succeeded: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
          failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
          cancelled: new vscode.ThemeIcon('circle-slash'),
        };
        item.iconPath = icons[r.status];
        item.contextValue = `run:${r.status}`;
        return item;
      }
      case 'studies': {
        const item = new vscode.TreeItem('Studies', vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `studies:${node.model}`;
        item.description = `${node.studies.length} hyperparameter stud${node.studies.length === 1 ? 'y' : 'ies'}`;
        item.iconPath = new vscode.ThemeIcon('beaker');
        item.contextValue = 'studies';
        return item;
      }
      case 'study': {
        const { study, best, counts, trials } = node.summary;
        const item = new vscode.TreeItem(study.id, vscode.TreeItemCollapsibleState.None);
        item.id = `study:${study.id}`;
        item.description = [
          study.status,
          `${trials} trials`,
          best ? `best ${study.metric} ${Number(best.value?.toPrecision(4))}` : 'no completed trial',
          ...(study.registeredVersion ? [`→ ${study.registeredVersion}`] : []),
        ].join(' · ');
        item.tooltip = new vscode.MarkdownString(
          `**${study.id}** (${study.sampler}, ${study.direction} ${study.metric})\n\n${Object.entries(counts)
            .filter(([, n]) => n > 0)
            .map(([k, n]) => `${n} ${k}`)
            .join(', ')}` +
            (best ? `\n\nBest: trial ${best.number}, ${study.metric} ${best.value}` : '') +
            (study.registeredVersion ? `\n\nRegistered as ${study.registeredVersion}` : ''),
        );
        const icons: Record<StudySummary['study']['status'], vscode.ThemeIcon> = {
          running: new vscode.ThemeIcon('sync~spin'),
          completed: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
          failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
          cancelled: new vscode.ThemeIcon('circle-slash'),
        };
        item.iconPath = icons[study.status];
        item.contextValue = `study:${study.status}${best ? ':has-best' : ''}`;
        item.command = { command: 'modelops.showStudy', title: 'Show Study', arguments: [node] };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(node.icon);
        if (node.detail) item.tooltip = node.detail;
        if (node.command) item.command = node.command;
        item.contextValue = 'message';
        return item;
      }
    }
  }

  async getChildren(node?: ModelTreeNode): Promise<ModelTreeNode[]> {
    try {
      if (!node) return await this.roots();
      switch (node.kind) {
        case 'model':
          return await this.versionChildren(node.model.name);
        case 'studies':
          return node.studies.map((summary) => ({ kind: 'study', summary }));
        case 'group':
          if (node.group === 'datasets') {
            const ds = await this.source.listDatasets();
            return ds.length
              ? ds.map((dataset) => ({ kind: 'dataset', dataset }))
              : [message('No datasets recorded yet', 'info')];
          }
          {
            const runs = await this.source.listRuns(RUNS_SHOWN);
            return runs.length ? runs.map((run) => ({ kind: 'run', run })) : [message('No runs yet', 'info')];
          }
        default:
          return [];
      }
    } catch (e) {
      const text = e instanceof Error ? e.message : String(e);
      this.log.warn(`model tree: ${text}`);
      return [
        message('Could not read the workspace store', 'warning', text, {
          command: 'modelops.showLog',
          title: 'Show Log',
        }),
      ];
    }
  }

  private async roots(): Promise<ModelTreeNode[]> {
    // An empty tree shows the welcome view (Create modelops.yaml / Open Sample). Without a
    // config or a store, do not ask the sidecar: opening the registry would create a store.
    if (!vscode.workspace.workspaceFolders?.length) return [];
    if (!this.hasConfig() && !(await hasStore())) return [];
    const models = await this.source.listModels();
    // Keep node objects stable across refreshes so a later change can name them.
    const nodes = new Map<string, { kind: 'model'; model: ModelRecord }>();
    for (const model of models) {
      const existing = this.modelNodes.get(model.name);
      if (existing) existing.model = model;
      nodes.set(model.name, existing ?? { kind: 'model', model });
    }
    this.modelNodes = nodes;
    const out: ModelTreeNode[] = [];
    if (!vscode.workspace.isTrusted) {
      out.push(
        message(
          'Restricted Mode: training and deploys are off',
          'shield',
          'Trust this workspace to train, evaluate and deploy.',
          {
            command: 'workbench.trust.manage',
            title: 'Manage Workspace Trust',
          },
        ),
      );
    }
    if (!models.length) {
      out.push(
        message('No models yet — run ModelOps: Train Model', 'lightbulb', undefined, {
          command: 'modelops.train',
          title: 'Train Model',
        }),
      );
    }
    out.push(...this.modelNodes.values(), this.groups.datasets, this.groups.runs);
    return out;
  }

  private async versionChildren(model: string): Promise<ModelTreeNode[]> {
    let page = this.pages.get(model);
    if (!page) {
      page = await this.source.listVersions(model, 0, PAGE_SIZE);
      this.pages.set(model, page);
      if (this.source.versionStatus) {
        try {
          this.statuses.set(model, await this.source.versionStatus(model));
        } catch (e) {
          // The versions still show; only the approval and fairness lines are missing.
          this.statuses.delete(model);
          this.log.warn(`model tree: approvals of ${model}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
    const out: ModelTreeNode[] = page.items.map((version) => ({ kind: 'version', version }));
    if (page.items.length < page.total) out.push({ kind: 'more', model, loaded: page.items.length, total: page.total });
    if (this.source.listStudies) {
      try {
        const studies = await this.source.listStudies(model);
        if (studies.length) out.push({ kind: 'studies', model, studies });
      } catch (err) {
        // The versions still show; only the studies are missing.
        this.log.warn(`model tree: studies of ${model}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return out;
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

function message(text: string, icon: string, detail?: string, command?: vscode.Command): ModelTreeNode {
  return { kind: 'message', text, icon, ...(detail ? { detail } : {}), ...(command ? { command } : {}) };
}
