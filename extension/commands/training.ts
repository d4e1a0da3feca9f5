/** Train Model and Evaluate Version…: sidecar jobs with progress and cancellation. */
import * as vscode from 'vscode';
import { training } from '../../server/protocol';
import type { EvaluateSummary, TrainSummary } from '../../server/protocol/training';
import type { GateReport } from '../../server/engine/registry/types';
import { pickConfig } from '../configFiles';
import { UserError, type Ctx } from '../ctx';
import { runJob } from '../progress';
import { formatMetric, keyMetric } from '../tree/format';
import type { CommandFactory } from './command';
import { ref, resolveVersion } from './pick';

export function backendSetting(): string {
  return vscode.workspace.getConfiguration('modelops').get<string>('training.backend', 'auto');
}

function gatesText(g: GateReport | null): string {
  if (!g) return 'no gates';
  if (g.passed) return `gates passed (${g.results.length})`;
  return `${g.results.filter((r) => !r.passed).length} gate(s) failed`;
}

export const train: CommandFactory = (ctx) => async (arg?: unknown) => {
  const config = arg instanceof vscode.Uri ? arg : await pickConfig();
  if (!config) throw new UserError('No modelops.yaml in this workspace — run "ModelOps: Create modelops.yaml" first.');
  // Train what the user sees: save the open config first.
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === config.toString());
  if (open?.isDirty) await open.save();
  const errors = vscode.languages.getDiagnostics(config).filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
  if (errors.length) {
    const show = 'Show Problems';
    const choice = await vscode.window.showErrorMessage(
      `ModelOps: ${vscode.workspace.asRelativePath(config)} has ${errors.length} error${errors.length === 1 ? '' : 's'}; fix ${errors.length === 1 ? 'it' : 'them'} before training.`,
      show,
    );
    if (choice) await vscode.commands.executeCommand('workbench.actions.view.problems');
    return;
  }
  const backend = backendSetting();
  const t0 = Date.now();
  let outcome: Awaited<ReturnType<typeof runJob<TrainSummary>>>;
  try {
    outcome = await runJob(ctx, 'ModelOps: training', (workDoneToken, token) =>
      ctx.request(training.train, { configUri: config.toString(), backend, workDoneToken }, token),
    );
  } catch (e) {
    ctx.charts.runFinished(undefined, 'failed');
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
};

function reportTrained(ctx: Ctx, s: TrainSummary, ms: number): void {
  const v = s.version;
  const km = keyMetric(s.metrics);
  ctx.output.info(
    `trained ${ref(v)} on ${s.backend}: ${s.epochsRun} epochs${s.stoppedEarly ? ' (stopped early)' : ''}, ${Math.round(s.samplesPerSecond)} samples/s, ${gatesText(s.gates)}${s.notes.length ? `; ${s.notes.join('; ')}` : ''}`,
  );
  const summary = `ModelOps: trained ${ref(v)} on ${s.backend} in ${(ms / 1000).toFixed(1)} s${km ? ` — ${formatMetric(km[0], km[1])}` : ''}, ${gatesText(s.gates)}.`;
  const actions = ['Show Details', 'Promote…', 'Deploy…'];
  const show = s.gates && !s.gates.passed ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
  void show(summary, ...actions).then((choice) => {
    const node = { kind: 'version', version: v };
    if (choice === 'Show Details') void vscode.commands.executeCommand('modelops.showVersionDetails', node);
    if (choice === 'Promote…') void vscode.commands.executeCommand('modelops.promote', node);
    if (choice === 'Deploy…') void vscode.commands.executeCommand('modelops.deploy', node);
  });
}

/** Markdown of an evaluation: metrics, per-class scores and gates. */
export function evaluationMarkdown(s: EvaluateSummary): string {
  const lines = [`# Evaluation of ${ref(s.version)}`, '', `${s.rows} rows from \`${s.data}\`, run \`${s.run.id}\`.`, '', '| metric | value |', '| --- | ---: |'];
  for (const [k, x] of Object.entries(s.metrics)) lines.push(`| ${k} | ${x.toFixed(6)} |`);
  const r = s.report;
  if (r.task === 'classification') {
    lines.push('', '## Per class', '', '| class | precision | recall | F1 | support |', '| --- | ---: | ---: | ---: | ---: |');
    for (const c of r.perClass) lines.push(`| ${c.label} | ${c.precision.toFixed(4)} | ${c.recall.toFixed(4)} | ${c.f1.toFixed(4)} | ${c.support} |`);
  }
  if (s.gates) {
    lines.push('', '## Gates', '');
    for (const g of s.gates.results) lines.push(`- ${g.passed ? '✔' : '✘'} ${g.message}`);
  }
  if (r.notes.length) lines.push('', '## Notes', '', ...r.notes.map((n) => `- ${n}`));
  return lines.join('\n') + '\n';
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
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { Data: ['csv', 'jsonl'] }, defaultUri: ctx.workspaceFolder()?.uri });
    if (!picked?.[0]) return;
    data = picked[0].fsPath;
  }
  const outcome = await runJob(ctx, `ModelOps: evaluating ${ref(v)}`, (workDoneToken, token) =>
    ctx.request(
      training.evaluate,
      { ref: ref(v), ...(config ? { configUri: config.toString() } : {}), ...(data ? { data } : {}), gate: true, workDoneToken },
      token,
    ),
  );
  if (outcome.cancelled || !outcome.result) return;
  const s = outcome.result;
  await ctx.docs.show(`evaluation ${ref(s.version)}`, evaluationMarkdown(s));
  if (s.report.task === 'classification') {
    await ctx.charts.open({
      kind: 'confusion',
      title: `Confusion matrix · ${ref(s.version)}`,
      key: `confusion:${ref(s.version)}`,
      data: { labels: s.report.labels, matrix: s.report.confusion, perClass: s.report.perClass },
      viewColumn: vscode.ViewColumn.Beside,
    });
  }
};
