/** Retrain from Traffic, Acknowledge Alerts and Checkout Dataset…; the live alerts that offer Retrain are services/alerts.ts. */
import * as vscode from 'vscode';
import { deploy, monitoring, registry } from '../../server/protocol';
import type { DatasetInfo } from '../../server/protocol/monitoring';
import { findConfigUri } from '../configFiles';
import { UserError } from '../ctx';
import { runJob } from '../progress';
import { backendSetting } from '../services/settings';
import type { CommandFactory } from './command';

function servingArg(arg: unknown): { target: string; model?: string } | undefined {
  if (!arg || typeof arg !== 'object' || !('kind' in arg)) return undefined;
  if (arg.kind === 'serving' && 'target' in arg && typeof arg.target === 'string')
    return { target: arg.target, ...('model' in arg && typeof arg.model === 'string' ? { model: arg.model } : {}) };
  if (
    arg.kind === 'endpoint' &&
    'endpoint' in arg &&
    arg.endpoint &&
    typeof arg.endpoint === 'object' &&
    'target' in arg.endpoint
  )
    return { target: String(arg.endpoint.target) };
  return undefined;
}

/**
 * Acknowledge Alerts: every unacknowledged alert of an endpoint (the one clicked, or picked among
 * those with alerts), after a look at what they are; recorded in the audit trail.
 */
export const acknowledgeAlerts: CommandFactory = (ctx) => async (arg?: unknown) => {
  const open = await ctx.request(registry.listAlerts, { unacknowledgedOnly: true, limit: 1000 });
  let target = servingArg(arg)?.target;
  if (!target) {
    const targets = [...new Set(open.map((a) => a.target))];
    if (!targets.length) {
      void vscode.window.showInformationMessage('ModelOps: no unacknowledged alerts.');
      return;
    }
    target =
      targets.length === 1
        ? targets[0]
        : (
            await vscode.window.showQuickPick(
              targets.map((t) => ({ label: t, description: `${open.filter((a) => a.target === t).length} alerts` })),
              { title: 'Acknowledge the alerts of which endpoint?' },
            )
          )?.label;
    if (!target) return;
  }
  const mine = open.filter((a) => a.target === target);
  if (!mine.length) {
    void vscode.window.showInformationMessage(`ModelOps: '${target}' has no unacknowledged alerts.`);
    return;
  }
  const rules = [...new Set(mine.map((a) => a.rule))];
  const ok = 'Acknowledge';
  const choice = await vscode.window.showWarningMessage(
    `Acknowledge ${mine.length} alert${mine.length === 1 ? '' : 's'} on '${target}'?`,
    {
      modal: true,
      detail: `${rules.slice(0, 6).join(', ')}${rules.length > 6 ? ` and ${rules.length - 6} more rules` : ''}. They stay in the history (modelops alerts --all); the acknowledgement is in the audit trail.`,
    },
    ok,
  );
  if (choice !== ok) return;
  const done = await ctx.request(registry.acknowledgeAlerts, { target });
  void vscode.window.showInformationMessage(
    `ModelOps: acknowledged ${done.length} alert${done.length === 1 ? '' : 's'} on '${target}'.`,
  );
};

/** Retrain from Traffic: the target's labelled predictions (+ nothing of the original data) → a data version → a gated version. */
export const retrainFromTraffic: CommandFactory = (ctx) => async (arg?: unknown) => {
  let target = servingArg(arg)?.target;
  const model = servingArg(arg)?.model;
  if (!target) {
    const endpoints = await ctx.request(deploy.listEndpoints, {});
    const serving = endpoints.filter((e) => e.deployments.length > 0);
    if (!serving.length)
      throw new UserError(
        'Nothing is deployed: retraining from traffic needs a target that served predictions and received feedback.',
      );
    target =
      serving.length === 1
        ? serving[0].target
        : await vscode.window.showQuickPick(
            serving.map((e) => e.target),
            { title: 'Retrain on the traffic of which target?' },
          );
    if (!target) return;
  }
  const cfg = await findConfigUri();
  const backend = backendSetting();
  const outcome = await runJob(ctx, `ModelOps: retraining on the traffic of '${target}'`, (workDoneToken, token) =>
    ctx.request(
      monitoring.retrainFromTraffic,
      { target, workDoneToken, backend, ...(model ? { model } : {}), ...(cfg ? { configUri: cfg } : {}) },
      token,
    ),
  );
  const r = outcome.result;
  if (!r) return;
  const v = `${r.version.model}@${r.version.version}`;
  const data = `${r.dataset.rows} rows (${r.dataset.labelled} labelled predictions${r.dataset.originalRows ? `, ${r.dataset.originalRows} original` : ''}; ${r.dataset.unlabelled} without feedback left out)`;
  if (r.gates && !r.gates.passed) {
    void vscode.window
      .showWarningMessage(
        `ModelOps: ${v} trained on ${data} but fails its gates: ${r.gates.results
          .filter((g) => !g.passed)
          .map((g) => g.metric)
          .join(', ')}.`,
        'Show Details',
      )
      .then((c) => {
        if (c)
          void vscode.commands.executeCommand('modelops.showVersionDetails', { kind: 'version', version: r.version });
      });
    return;
  }
  const choice = await vscode.window.showInformationMessage(
    `ModelOps: ${v} trained on ${data}${r.gates ? ' and passed its gates' : ''}.`,
    'Promote…',
    `Deploy to ${target}…`,
  );
  if (choice === 'Promote…')
    void vscode.commands.executeCommand('modelops.promote', { kind: 'version', version: r.version });
  else if (choice) void vscode.commands.executeCommand('modelops.deploy', { kind: 'version', version: r.version });
};

function datasetArg(arg: unknown): DatasetInfo | undefined {
  if (
    arg &&
    typeof arg === 'object' &&
    'kind' in arg &&
    arg.kind === 'dataset' &&
    'dataset' in arg &&
    arg.dataset &&
    typeof arg.dataset === 'object' &&
    'digest' in arg.dataset
  )
    return arg.dataset as DatasetInfo;
  return undefined;
}

/** Checkout Dataset…: restores a data version's exact bytes (verified against its digest) where the user saves it. */
export const checkoutDataset: CommandFactory = (ctx) => async (arg?: unknown) => {
  let d = datasetArg(arg);
  if (!d) {
    const all = (await ctx.request(monitoring.datasets, {})).filter((x) => x.stored);
    if (!all.length)
      throw new UserError('No data version with stored bytes: train once, or run `modelops data add <file>`.');
    const picked = await vscode.window.showQuickPick(
      all.map((x) => ({
        label: x.path,
        description: `${x.rows} rows · ${x.digest.slice(7, 19)}`,
        detail: x.usedBy.map((u) => `${u.model}@${u.version}`).join(', ') || undefined,
        x,
      })),
      { title: 'Check out which dataset?' },
    );
    if (!picked) return;
    d = picked.x;
  }
  if (!d.stored) {
    throw new UserError(
      `${d.path} (${d.digest.slice(0, 19)}…) is recorded by digest only${d.freedAt ? `; its bytes were removed by gc at ${d.freedAt}` : ''}: there is nothing to restore.`,
    );
  }
  const folder = ctx.workspaceFolder()?.uri;
  const name = d.path.split(/[\\/]/).pop() || `${d.digest.slice(7, 19)}.data`;
  const uri = await vscode.window.showSaveDialog({
    title: `Restore ${d.path} (${d.digest.slice(0, 19)}…)`,
    ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, name) } : {}),
    saveLabel: 'Restore Here',
  });
  if (!uri) return;
  if (uri.scheme !== 'file') throw new UserError('Datasets are restored to local files only.');
  // The save dialog already asked before replacing an existing file.
  const r = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `ModelOps: restoring ${d.path}…` },
    () => ctx.request(monitoring.checkoutDataset, { digest: d.digest, out: uri.fsPath, force: true }),
  );
  const open = 'Open';
  const choice = await vscode.window.showInformationMessage(
    `ModelOps: restored ${d.path} to ${vscode.workspace.asRelativePath(r.path)} (${r.size.toLocaleString('en-US')} bytes, digest verified).`,
    open,
  );
  if (choice === open) await vscode.window.showTextDocument(vscode.Uri.file(r.path));
};
