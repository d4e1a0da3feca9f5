/**
 * Optimisation in the editor (issue 14): Tune Hyperparameters… (the config's `tune:` block, with
 * progress "trial n/N · best so far", cancel, and the study panel updated live), the studies in
 * the tree (Show Study, Register Best Trial), and Quantize… / Prune… on a version, each ending
 * with Compare with Parent (size, load time, latency and metrics side by side) and Show Version.
 */
import * as vscode from 'vscode';
import { optimize } from '../../server/protocol';
import type { OptimizeSummary, StudyProgressParams, StudyView, TrialRecord } from '../../server/protocol/optimize';
import type { VersionRecord } from '../../server/engine/registry/types';
import { studyChartData } from '../../server/report/studyData';
import { findConfig, findConfigUri, pickConfig } from '../configFiles';
import { UserError, type Ctx } from '../ctx';
import { runJob } from '../progress';
import { gateLabel, gateState } from '../../shared/gateState';
import { formatBytes } from '../../shared/format';
import { backendSetting } from '../services/settings';
import { epochsProblem, isQualityMetric, num, optimizeMarkdown, sparsityProblem } from '../text/optimize';
import { ref } from '../text/version';
import { resolveVersion } from '../ui/pick';
import type { CommandFactory } from './command';

/** A study node of the tree (`{ kind: 'study', study }`), a study id, or undefined. */
function studyIdFromArg(arg: unknown): string | undefined {
  if (typeof arg === 'string' && arg.startsWith('study-')) return arg;
  if (arg && typeof arg === 'object' && 'kind' in arg && arg.kind === 'study' && 'summary' in arg) {
    const s = arg.summary as { study?: { id?: unknown } };
    if (typeof s.study?.id === 'string') return s.study.id;
  }
  return undefined;
}

async function pickStudy(ctx: Ctx, title: string): Promise<string | undefined> {
  const list = await ctx.request(optimize.listStudies, {});
  if (!list.length) throw new UserError('No studies yet — run "ModelOps: Tune Hyperparameters…" first.');
  const picked = await vscode.window.showQuickPick(
    list.map((s) => ({
      label: s.study.id,
      description: `${s.study.model ?? ''} · ${s.study.status} · ${s.trials} trials${s.best ? ` · best ${s.study.metric} ${num(s.best.value)}` : ''}`,
      id: s.study.id,
    })),
    { title },
  );
  return picked?.id;
}

function studyTitle(view: Pick<StudyView, 'study'>): string {
  return `${view.study.model ?? 'study'} · ${view.study.id}`;
}

/** Opens (or retargets) the study panel. */
async function showStudyPanel(
  ctx: Ctx,
  view: Pick<StudyView, 'study' | 'trials'>,
  budget?: number | null,
  preserveFocus = false,
): Promise<void> {
  await ctx.charts.open({ kind: 'study', title: studyTitle(view), data: studyChartData(view, budget), preserveFocus });
}

export const showStudy: CommandFactory = (ctx) => async (arg?: unknown) => {
  const id = studyIdFromArg(arg) ?? (await pickStudy(ctx, 'Show which study?'));
  if (!id) return;
  await showStudyPanel(ctx, await ctx.request(optimize.getStudy, { id }));
};

/** Live study panel: trials as they report, redrawn at most every `intervalMs` (and at each trial's start and end). */
class LiveStudy {
  private readonly trials = new Map<number, TrialRecord>();
  private study: StudyProgressParams['study'] | null = null;
  private budget: number | null = null;
  private last = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private onFinished: (() => void) | undefined;
  /** Resolves on the study's `study-finished` event (a cancelled request returns before the study has stopped). */
  readonly finished = new Promise<void>((resolve) => (this.onFinished = resolve));

  constructor(
    private readonly ctx: Ctx,
    private readonly intervalMs = 750,
  ) {}

  get id(): string | null {
    return this.study?.id ?? null;
  }

  event(e: StudyProgressParams): void {
    // Another study's events (a CLI run does not notify; a second sidecar request is refused) are ignored.
    if (this.study && e.study.id !== this.study.id) return;
    if (!this.study) {
      this.study = e.study;
      // A resumed study: its earlier trials first.
      void this.ctx.request(optimize.getStudy, { id: e.study.id }).then(
        (v) => {
          for (const t of v.trials) if (!this.trials.has(t.number)) this.trials.set(t.number, t);
          this.draw();
        },
        () => undefined,
      );
    }
    this.study = e.study;
    this.budget = e.budget;
    if (e.trial) this.trials.set(e.trial.number, e.trial);
    if (e.kind === 'study-finished') this.onFinished?.();
    if (e.kind === 'epoch' && Date.now() - this.last < this.intervalMs) {
      this.timer ??= setTimeout(() => this.draw(), this.intervalMs);
      return;
    }
    this.draw();
  }

  draw(view?: StudyView): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.last = Date.now();
    if (view) {
      this.study = view.study;
      for (const t of view.trials) this.trials.set(t.number, t);
    }
    if (!this.study) return;
    void showStudyPanel(this.ctx, { study: this.study, trials: [...this.trials.values()] }, this.budget, true).catch(
      (e: unknown) => this.ctx.output.warn(`study panel: ${e instanceof Error ? e.message : String(e)}`),
    );
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

export const tuneHyperparameters =
  (refreshTree: () => void): CommandFactory =>
  (ctx) =>
  async (arg?: unknown) => {
    const config = arg instanceof vscode.Uri ? arg : await pickConfig();
    if (!config)
      throw new UserError('No modelops.yaml in this workspace — run "ModelOps: Create modelops.yaml" first.');
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === config.toString());
    if (open?.isDirty) await open.save();
    const errors = vscode.languages
      .getDiagnostics(config)
      .filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
    if (errors.length)
      throw new UserError(
        `cannot tune: ${vscode.workspace.asRelativePath(config)} has ${errors.length} error${errors.length === 1 ? '' : 's'}; the first (line ${errors[0].range.start.line + 1}): ${errors[0].message.split('\n')[0]}`,
        'config-invalid',
      );
    const live = new LiveStudy(ctx);
    const sub = ctx.onNotification(optimize.studyProgress, (e) => live.event(e));
    let outcome: Awaited<ReturnType<typeof runJob<StudyView>>>;
    try {
      outcome = await runJob(ctx, 'ModelOps: tuning', (workDoneToken, token) =>
        ctx.request(optimize.tune, { configUri: config.toString(), backend: backendSetting(), workDoneToken }, token),
      );
      // Cancelled: the running trial stops within a batch; wait (bounded) for the study to record it.
      if (outcome.cancelled && live.id)
        await Promise.race([live.finished, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    } finally {
      sub.dispose();
      live.dispose();
      refreshTree();
    }
    // A cancelled request does not return the study: read it as the sidecar left it.
    const id = outcome.result?.study.id ?? live.id;
    const view =
      outcome.result ?? (id ? await ctx.request(optimize.getStudy, { id }).catch(() => undefined) : undefined);
    if (!view) {
      if (outcome.cancelled)
        void vscode.window.showInformationMessage('ModelOps: tuning cancelled before the first trial started.');
      return;
    }
    live.draw(view);
    const counts = view.trials.reduce<Record<string, number>>(
      (a, t) => ({ ...a, [t.status]: (a[t.status] ?? 0) + 1 }),
      {},
    );
    const tally = Object.entries(counts)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ');
    const best = view.best
      ? `best ${view.study.metric} ${num(view.best.value)} (trial ${view.best.number})`
      : 'no completed trial';
    const actions = view.best ? ['Register Best Trial', 'Show Study'] : ['Show Study'];
    const message =
      view.study.status === 'cancelled'
        ? `ModelOps: study ${view.study.id} cancelled (${tally}); ${best}. Resume it with: modelops tune --resume ${view.study.id}.`
        : `ModelOps: study ${view.study.id} ${view.study.status}: ${tally}; ${best}.`;
    ctx.output.info(message.replace(/^ModelOps: /, ''));
    void vscode.window.showInformationMessage(message, ...actions).then((choice) => {
      if (choice === 'Register Best Trial')
        void vscode.commands.executeCommand('modelops.registerBestTrial', view.study.id);
      if (choice === 'Show Study') void vscode.commands.executeCommand('modelops.showStudy', view.study.id);
    });
  };

export const registerBestTrial: CommandFactory = (ctx) => async (arg?: unknown) => {
  const id = studyIdFromArg(arg) ?? (await pickStudy(ctx, 'Register the best trial of which study?'));
  if (!id) return;
  const view = await ctx.request(optimize.getStudy, { id });
  if (!view.best) throw new UserError(`Study ${id} has no completed trial to register.`);
  const config = view.study.configPath ? vscode.Uri.file(view.study.configPath) : await findConfig();
  const outcome = await runJob(
    ctx,
    `ModelOps: registering trial ${view.best.number} of ${id}`,
    (workDoneToken, token) =>
      ctx.request(
        optimize.registerBest,
        { study: id, ...(config ? { configUri: config.toString() } : {}), backend: backendSetting(), workDoneToken },
        token,
      ),
  );
  if (outcome.cancelled || !outcome.result) return;
  const r = outcome.result;
  const gates = gateState(r.gates) === 'passed' ? 'gates passed' : gateLabel(r.gates);
  ctx.output.info(
    `registered ${ref(r.version)} from study ${r.studyId}, trial ${r.trial.number}${r.notes.length ? `; ${r.notes.join('; ')}` : ''}`,
  );
  const show =
    gateState(r.gates) === 'failed' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
  void show(
    `ModelOps: registered ${ref(r.version)} from trial ${r.trial.number} of ${r.studyId}, ${gates}.`,
    'Show Version',
  ).then((c) => {
    if (c === 'Show Version')
      void vscode.commands.executeCommand('modelops.showVersionDetails', { kind: 'version', version: r.version });
  });
};

/** Compare with Parent: the measurements and metrics as markdown, the metrics in the compare chart. */
export async function compareWithParent(ctx: Ctx, s: OptimizeSummary): Promise<void> {
  await ctx.docs.show(`compare ${s.child.ref} with ${s.parent.ref}`, optimizeMarkdown(s));
  // The chart shares one axis: the quality metrics only (sizes and milliseconds are in the table above).
  const names = [...new Set([...Object.keys(s.parent.metrics), ...Object.keys(s.child.metrics)])]
    .filter(isQualityMetric)
    .sort();
  await ctx.charts.open({
    kind: 'compare',
    title: `${s.parent.ref} vs ${s.child.ref} · compare`,
    data: {
      versions: [s.parent.ref, s.child.ref],
      metrics: names.map((name) => ({ name, values: [s.parent.metrics[name] ?? null, s.child.metrics[name] ?? null] })),
    },
    viewColumn: vscode.ViewColumn.Beside,
  });
}

function reportOptimized(ctx: Ctx, s: OptimizeSummary): void {
  const p = s.parent.measurement;
  const c = s.child.measurement;
  const metric = ['accuracy', 'r2'].find((m) => s.child.metrics[m] !== undefined);
  const what =
    s.details.method === 'quantize'
      ? `${s.details.dtype} quantisation`
      : `pruning (${(s.details.rate.rate * 100).toFixed(1)} % zero)`;
  const gates = s.gates.passed ? 'gates passed' : 'gates failed';
  const text =
    `ModelOps: ${ref(s.version)} from ${what} of ${s.version.parentVersion}: ${formatBytes(p.size_bytes)} → ${formatBytes(c.size_bytes)}, ` +
    `p50 ${p.latency_p50_ms_b1.toFixed(2)} → ${c.latency_p50_ms_b1.toFixed(2)} ms` +
    (metric ? `, ${metric} ${num(s.parent.metrics[metric])} → ${num(s.child.metrics[metric])}` : '') +
    `; ${gates}.`;
  ctx.output.info(text.replace(/^ModelOps: /, ''));
  const show = s.gates.passed ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
  void show(text, 'Compare with Parent', 'Show Version').then((choice) => {
    if (choice === 'Compare with Parent')
      void compareWithParent(ctx, s).catch(
        (e: unknown) => void vscode.window.showErrorMessage(`ModelOps: ${e instanceof Error ? e.message : String(e)}`),
      );
    if (choice === 'Show Version')
      void vscode.commands.executeCommand('modelops.showVersionDetails', { kind: 'version', version: s.version });
  });
}

export const quantize: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v: VersionRecord | undefined = await resolveVersion(ctx, arg, { title: 'Quantise which version?' });
  if (!v) return;
  const items = [
    {
      label: 'float16',
      description: 'half precision: 2× smaller weights, error ≤ half an ulp',
      dtype: 'float16' as const,
    },
    {
      label: 'uint8',
      description:
        v.format === 'onnx'
          ? 'dynamic: MatMul/Gemm weights 4× smaller, inputs quantised at run time (MatMulInteger)'
          : 'affine per tensor: 4× smaller weights, error ≤ scale / 2',
      dtype: 'uint8' as const,
    },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: `Quantise ${ref(v)} to…` });
  if (!picked) return;
  const configUri = await findConfigUri();
  const outcome = await runJob(ctx, `ModelOps: quantising ${ref(v)} to ${picked.dtype}`, (workDoneToken, token) =>
    ctx.request(
      optimize.quantize,
      { ref: ref(v), dtype: picked.dtype, ...(configUri ? { configUri } : {}), workDoneToken },
      token,
    ),
  );
  if (outcome.cancelled)
    void vscode.window.showInformationMessage('ModelOps: quantisation cancelled; nothing was registered.');
  if (outcome.result) reportOptimized(ctx, outcome.result);
};

export const prune: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v = await resolveVersion(ctx, arg, { title: 'Prune which version?' });
  if (!v) return;
  if (v.format === 'onnx')
    throw new UserError(`${ref(v)} is an ONNX version; pruning is TensorFlow.js-only for now.`, 'optimize-unsupported');
  const sparsity = await vscode.window.showInputBox({
    title: `Prune ${ref(v)}: target sparsity`,
    prompt: "Fraction of each dense layer's kernel weights set to zero, strictly between 0 and 1",
    value: '0.5',
    validateInput: sparsityProblem,
  });
  if (sparsity === undefined) return;
  const epochs = await vscode.window.showInputBox({
    title: `Prune ${ref(v)}: fine-tuning epochs`,
    prompt: 'Epochs of fine-tuning while the sparsity ramps up (polynomial decay); 0 prunes in one shot',
    value: '2',
    validateInput: epochsProblem,
  });
  if (epochs === undefined) return;
  const configUri = await findConfigUri();
  const outcome = await runJob(
    ctx,
    `ModelOps: pruning ${ref(v)} to sparsity ${Number(sparsity)}`,
    (workDoneToken, token) =>
      ctx.request(
        optimize.prune,
        {
          ref: ref(v),
          sparsity: Number(sparsity),
          epochs: Number(epochs),
          ...(configUri ? { configUri } : {}),
          workDoneToken,
        },
        token,
      ),
  );
  if (outcome.cancelled)
    void vscode.window.showInformationMessage('ModelOps: pruning cancelled; nothing was registered.');
  if (outcome.result) reportOptimized(ctx, outcome.result);
};
