/** Train Model, Evaluate Version… and Predict on File…: sidecar jobs with progress and cancellation. */
import * as vscode from 'vscode';
import { training } from '../../server/protocol';
import type { TrainSummary } from '../../server/protocol/training';
import type { GateReport } from '../../server/engine/registry/types';
import { pickConfig } from '../configFiles';
import { UserError, type Ctx } from '../ctx';
import { runJob } from '../progress';
import { gateLabel, gateState } from '../../shared/gateState';
import { predictionsFileName, predictionSummaryText, unpredictedText } from '../../shared/format';
import { firstConfigError, formatMetric, keyMetric, modelNameIn } from '../tree/format';
import { backendSetting } from '../services/settings';
import { evaluationMarkdown } from '../text/training';
import { ref } from '../text/version';
import { resolveVersion } from '../ui/pick';
import { showRunCurves } from '../ui/runCurves';
import type { CommandFactory } from './command';

function gatesText(g: GateReport | null): string {
  return gateState(g) === 'passed' && g ? `gates passed (${g.results.length})` : gateLabel(g);
}

/** "modelops.yaml has 2 errors; the first: …" with an action that opens the config at it. */
async function configErrors(config: vscode.Uri, count: number, at: vscode.Position, first: string): Promise<void> {
  const open = `Open ${vscode.workspace.asRelativePath(config)}`;
  const firstLine = first.split('\n')[0];
  const choice = await vscode.window.showErrorMessage(
    `ModelOps: cannot train: ${vscode.workspace.asRelativePath(config)} has ${count} error${count === 1 ? '' : 's'}${count === 1 ? ':' : '; the first:'} ${firstLine}`,
    open,
  );
  if (choice !== open) return;
  const editor = await vscode.window.showTextDocument(config, { selection: new vscode.Range(at, at) });
  editor.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}

export const train: CommandFactory = (ctx) => async (arg?: unknown) => {
  const config = arg instanceof vscode.Uri ? arg : await pickConfig();
  if (!config) throw new UserError('No modelops.yaml in this workspace — run "ModelOps: Create modelops.yaml" first.');
  // Train what the user sees: save the open config first.
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === config.toString());
  if (open?.isDirty) await open.save();
  const errors = vscode.languages
    .getDiagnostics(config)
    .filter((d) => d.severity === vscode.DiagnosticSeverity.Error)
    .sort((a, b) => a.range.start.compareTo(b.range.start));
  if (errors.length) {
    await configErrors(config, errors.length, errors[0].range.start, errors[0].message);
    return;
  }
  const backend = backendSetting();
  const t0 = Date.now();
  const model = modelNameIn(
    open ? open.getText() : Buffer.from(await vscode.workspace.fs.readFile(config)).toString('utf8'),
  );
  ctx.charts.trainingStarted(`${model ?? 'model'} · training`);
  let outcome: Awaited<ReturnType<typeof runJob<TrainSummary>>>;
  try {
    outcome = await runJob(ctx, 'ModelOps: training', (workDoneToken, token) =>
      ctx.request(training.train, { configUri: config.toString(), backend, workDoneToken }, token),
    );
  } catch (e) {
    ctx.charts.runFinished(undefined, 'failed');
    // The sidecar read the file on disk (the editor may not have it open): a short message that
    // leads to the first error, not the engine's list of absolute paths.
    const first = e instanceof UserError && e.code === 'config-invalid' ? firstConfigError(e.message) : undefined;
    if (first) {
      await configErrors(config, first.count, new vscode.Position(first.line, first.character), first.text);
      return;
    }
    throw e;
  } finally {
    ctx.status.setTraining(undefined);
  }
  if (outcome.cancelled || !outcome.result) {
    ctx.charts.runFinished(undefined, 'cancelled');
    void vscode.window.showInformationMessage('ModelOps: training cancelled; the run is recorded as cancelled.');
    return;
  }
  ctx.charts.runFinished(outcome.result.run.id, outcome.result.run.status);
  reportTrained(ctx, outcome.result, Date.now() - t0);
  // The run became a version: the training panel names it (its curves as recorded).
  if (ctx.charts.showsRun(outcome.result.run.id))
    await showRunCurves(ctx, [outcome.result.run], `${ref(outcome.result.version)} · training`);
};

function reportTrained(ctx: Ctx, s: TrainSummary, ms: number): void {
  const v = s.version;
  const km = keyMetric(s.metrics);
  ctx.output.info(
    `trained ${ref(v)} on ${s.backend}: ${s.epochsRun} epochs${s.stoppedEarly ? ' (stopped early)' : ''}, ${Math.round(s.samplesPerSecond)} samples/s, ${gatesText(s.gates)}${s.notes.length ? `; ${s.notes.join('; ')}` : ''}`,
  );
  const summary = `ModelOps: trained ${ref(v)} on ${s.backend} in ${(ms / 1000).toFixed(1)} s${km ? ` — ${formatMetric(km[0], km[1])}` : ''}, ${gatesText(s.gates)}.`;
  const actions = ['Show Details', 'Promote…', 'Deploy…'];
  const show =
    gateState(s.gates) === 'failed' || gateState(s.gates) === 'not-evaluated'
      ? vscode.window.showWarningMessage
      : vscode.window.showInformationMessage;
  void show(summary, ...actions).then((choice) => {
    const node = { kind: 'version', version: v };
    if (choice === 'Show Details') void vscode.commands.executeCommand('modelops.showVersionDetails', node);
    if (choice === 'Promote…') void vscode.commands.executeCommand('modelops.promote', node);
    if (choice === 'Deploy…') void vscode.commands.executeCommand('modelops.deploy', node);
  });
}

export const evaluate: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v = await resolveVersion(ctx, arg, { title: 'Evaluate which version?' });
  if (!v) return;
  const config = await pickConfig();
  const choice = await vscode.window.showQuickPick(
    [
      { label: 'Test split', description: 'from modelops.yaml', data: undefined as string | undefined },
      { label: 'Choose a file…', description: 'CSV or JSONL with the same columns', data: '' },
    ],
    { title: `Evaluate ${ref(v)} on…` },
  );
  if (!choice) return;
  let data = choice.data;
  if (data === '') {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      filters: { Data: ['csv', 'jsonl'] },
      defaultUri: ctx.workspaceFolder()?.uri,
    });
    if (!picked?.[0]) return;
    data = picked[0].fsPath;
  }
  const outcome = await runJob(ctx, `ModelOps: evaluating ${ref(v)}`, (workDoneToken, token) =>
    ctx.request(
      training.evaluate,
      {
        ref: ref(v),
        ...(config ? { configUri: config.toString() } : {}),
        ...(data ? { data } : {}),
        gate: true,
        workDoneToken,
      },
      token,
    ),
  );
  if (outcome.cancelled || !outcome.result) return;
  const s = outcome.result;
  await ctx.docs.show(`evaluation ${ref(s.version)}`, evaluationMarkdown(s));
  if (s.report.task === 'classification') {
    await ctx.charts.open({
      kind: 'confusion',
      title: `${ref(s.version)} · confusion matrix`,
      data: { labels: s.report.labels, matrix: s.report.confusion, perClass: s.report.perClass },
    });
  }
};

/** Scores a CSV/JSONL file with a version; the predictions go beside it (`<name>.predictions.csv`). */
export const predictFile: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v = await resolveVersion(ctx, arg, { title: 'Predict with which version?' });
  if (!v) return;
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    filters: { Data: ['csv', 'jsonl', 'ndjson'] },
    defaultUri: ctx.workspaceFolder()?.uri,
    openLabel: 'Predict',
    title: `Score which file with ${ref(v)}?`,
  });
  const data = picked?.[0];
  if (!data) return;
  const out = vscode.Uri.joinPath(data, '..', predictionsFileName(data.path.slice(data.path.lastIndexOf('/') + 1)));
  let force = false;
  try {
    await vscode.workspace.fs.stat(out);
    const replace = 'Replace';
    const choice = await vscode.window.showWarningMessage(
      `${vscode.workspace.asRelativePath(out)} already exists. Replace it with the predictions of ${ref(v)}?`,
      { modal: true },
      replace,
    );
    if (choice !== replace) return;
    force = true;
  } catch {
    // No such file yet.
  }
  const outcome = await runJob(ctx, `ModelOps: predicting with ${ref(v)}`, (workDoneToken, token) =>
    ctx.request(training.predictFile, { ref: ref(v), data: data.fsPath, out: out.fsPath, force, workDoneToken }, token),
  );
  if (outcome.cancelled || !outcome.result) return;
  const r = outcome.result;
  const shares = predictionSummaryText(r);
  const skipped = r.skipped.rows ? ` ${unpredictedText(r.skipped)}.` : '';
  ctx.output.info(`predict ${r.ref}: ${r.predicted}/${r.rows} rows of ${r.data} → ${r.out ?? ''}`);
  const open = 'Open Predictions';
  const choice = await vscode.window.showInformationMessage(
    `ModelOps: ${r.ref} predicted ${r.predicted} of ${r.rows} rows of ${vscode.workspace.asRelativePath(data)}${shares ? ` (${shares})` : ''}.${skipped}`,
    open,
  );
  if (choice === open) await vscode.window.showTextDocument(out);
};
