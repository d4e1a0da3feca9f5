/** Show Charts…: training curves, version comparison, confusion matrix (via evaluation), monitoring. */
import * as vscode from 'vscode';
import { governance, registry } from '../../server/protocol';
import { compareSections } from '../../server/report/governanceData';
import type { RunRecord, VersionRecord } from '../../server/engine/registry/types';
import { UserError, type Ctx } from '../ctx';
import { runDescription, runLabel, shortRunId, versionDescription } from '../tree/format';
import { ref } from '../text/version';
import { modelFromArg, pickModel, versionFromArg } from '../ui/pick';
import { showRunCurves } from '../ui/runCurves';
import type { CommandFactory } from './command';

function runFromArg(arg: unknown): RunRecord | undefined {
  if (arg && typeof arg === 'object' && 'kind' in arg && arg.kind === 'run' && 'run' in arg)
    return arg.run as RunRecord;
  return undefined;
}

export async function showComparison(ctx: Ctx, versions: VersionRecord[]): Promise<void> {
  const names = [...new Set(versions.flatMap((v) => Object.keys(v.metrics)))].sort();
  // What governance stored with each version: global importance (Explain) and fairness (evaluate).
  const [importance, fairness] = await Promise.all([
    Promise.all(versions.map((v) => ctx.request(governance.storedImportance, { ref: ref(v) }).catch(() => null))),
    Promise.all(versions.map((v) => ctx.request(governance.storedFairness, { ref: ref(v) }).catch(() => null))),
  ]);
  await ctx.charts.open({
    kind: 'compare',
    title: `${versions.map((v) => ref(v)).join(' vs ')} · compare`,
    data: {
      versions: versions.map(ref),
      metrics: names.map((name) => ({ name, values: versions.map((v) => v.metrics[name] ?? null) })),
      ...compareSections(versions.length, importance, fairness),
    },
  });
}

async function pickRuns(ctx: Ctx): Promise<RunRecord[] | undefined> {
  const runs = (await ctx.request(registry.listRuns, { limit: 200 })).filter(
    // Training curves: training runs, and pruning runs (they fine-tune epoch by epoch).
    (r) => r.kind === 'train' || (r.kind === 'optimize' && r.params.method === 'prune'),
  );
  if (!runs.length) throw new UserError('No training runs yet — run "ModelOps: Train Model".');
  const picked = await vscode.window.showQuickPick(
    runs.map((r) => ({ label: `${runLabel(r)} · ${shortRunId(r.id)}`, description: runDescription(r), run: r })),
    { title: 'Training curves of which runs? (several are overlaid)', canPickMany: true },
  );
  return picked?.map((p) => p.run);
}

async function pickVersions(ctx: Ctx, model: string, preselect?: string): Promise<VersionRecord[] | undefined> {
  const page = await ctx.request(registry.listVersions, { model, limit: 200, sort: 'version', order: 'desc' });
  const picked = await vscode.window.showQuickPick(
    page.items.map((v) => ({
      label: v.version,
      description: versionDescription(v),
      picked: v.version === preselect,
      version: v,
    })),
    { title: `Compare which versions of ${model}?`, canPickMany: true },
  );
  return picked?.map((p) => p.version);
}

export const showCharts: CommandFactory = (ctx) => async (arg?: unknown) => {
  const run = runFromArg(arg);
  if (run) return showRunCurves(ctx, [run]);
  const fromVersion = versionFromArg(arg);
  const fromModel = modelFromArg(arg);
  if (fromModel) {
    const versions = await pickVersions(ctx, fromModel, fromVersion?.version);
    if (versions?.length) await showComparison(ctx, versions);
    return;
  }
  const kind = await vscode.window.showQuickPick(
    [
      {
        label: '$(graph-line) Training curves',
        description: 'loss and metrics per epoch of one or more runs',
        id: 'runs',
      },
      { label: '$(graph) Compare versions', description: 'metrics of versions side by side', id: 'compare' },
      { label: '$(symbol-array) Confusion matrix', description: 'evaluates a version first', id: 'confusion' },
      { label: '$(pulse) Control chart and drift', description: 'production windows of an endpoint', id: 'monitor' },
    ],
    { title: 'ModelOps: Show Charts' },
  );
  if (!kind) return;
  if (kind.id === 'runs') {
    const runs = await pickRuns(ctx);
    if (runs?.length) await showRunCurves(ctx, runs);
  } else if (kind.id === 'compare') {
    const model = await pickModel(ctx, 'Compare versions of which model?');
    if (!model) return;
    const versions = await pickVersions(ctx, model);
    if (versions?.length) await showComparison(ctx, versions);
  } else if (kind.id === 'confusion') {
    await vscode.commands.executeCommand('modelops.evaluate');
  } else {
    await vscode.commands.executeCommand('modelops.checkDrift');
  }
};
