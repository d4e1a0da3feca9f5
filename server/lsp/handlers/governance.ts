/** Governance requests on the sidecar: explain (progress, cancellation, trust), approvals, history, model cards. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerContext } from '../context';
import { withWorkDone } from '../workDone';
import { governance as rpc } from '../../protocol';
import type { ExplainSummary, FairnessSummary, ProtectedTarget } from '../../protocol/governance';
import type { GateReport } from '../../engine/registry/types';
import type { FairnessReport } from '../../engine/evaluation/fairness';
import { FAIRNESS_METRICS } from '../../engine/config/types';
import { loadConfig } from '../../engine/config';
import { explainVersion, readStoredImportance } from '../../engine/explain';
import { readStoredFairness } from '../../engine/evaluation/evaluate';
import { approvalScope, buildModelCard, readApprovalPolicy, renderCardMarkdown } from '../../engine/governance';

export function registerGovernance(ctx: ServerContext): void {
  ctx.handle(rpc.explain, async (params, token): Promise<ExplainSummary> => {
    const registry = ctx.registry();
    const r = await withWorkDone(
      ctx,
      {
        title: `ModelOps: explaining ${params.ref}`,
        workDoneToken: params.workDoneToken,
        cancel: token,
        message: 'Shapley values and permutation importance',
        measured: false,
      },
      (work) =>
        explainVersion({
          registry,
          ref: params.ref,
          configPath: ctx.configPath(params.configUri),
          background: params.background,
          signal: work.signal,
        }),
    );
    const features = r.shap.features;
    return {
      ref: `${r.version.model}@${r.version.version}`,
      data: r.data,
      method: r.shap.method,
      features,
      outputs: r.shap.outputs,
      base: r.shap.base,
      background: r.shap.background,
      rows: r.shap.rows.map((row, i) => ({
        id: r.rowIds[i],
        input: features.map((f) => {
          const v = r.inputs[i][f];
          return v === null || v === undefined ? '' : String(v);
        }),
        output: row.output,
        values: row.values,
      })),
      meanAbsShap: r.meanAbsShap,
      permutation: r.permutation,
      stored: r.stored,
    };
  });

  ctx.handle(rpc.storedImportance, (p) => readStoredImportance(ctx.readRegistry(), p.ref));
  ctx.handle(rpc.storedFairness, (p) => readStoredFairness(ctx.readRegistry(), p.ref));

  ctx.handle(rpc.approve, (p) => {
    const { scope, separationOfDuties } = approvalScope(ctx.configPath(), p.for);
    return ctx.registry().approve(p.ref, { scope, name: p.for, comment: p.comment ?? null, separationOfDuties });
  });

  ctx.handle(rpc.versionStatus, async (p) => {
    const path = ctx.configPath();
    const policy = readApprovalPolicy(path);
    const protectedTargets: ProtectedTarget[] = [...policy.targets]
      .filter(([, t]) => t.requireApproval)
      .map(([name, t]) => ({ name, separationOfDuties: t.separationOfDuties }));
    const reg = ctx.readRegistry();
    const fairness: Record<string, FairnessSummary> = {};
    const dir = join(reg.root, '.modelops', 'fairness', p.model);
    // Only versions with a stored report are read (one small file each).
    const stored = existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.json'))
          .map((f) => f.slice(0, -5))
      : [];
    for (const version of stored) {
      try {
        const f = await readStoredFairness(reg, `${p.model}@${version}`);
        if (f) fairness[version] = summarizeFairness(f.report, reg.getVersion(`${p.model}@${version}`).gates);
      } catch {
        /* a deleted version leaves its file behind: skip it */
      }
    }
    return {
      protectedAliases: policy.protectedAliases,
      separationOfDuties: policy.separationOfDuties,
      protectedTargets,
      approvals: reg.listApprovals({ model: p.model, limit: 1000 }),
      actor: reg.actor(),
      fairness,
    };
  });

  ctx.handle(rpc.history, (p) => {
    const reg = ctx.readRegistry();
    const v = reg.getVersion(p.ref);
    const entries = reg.auditLog({ model: v.model }).filter((e) => e.version === v.version);
    return { ref: `${v.model}@${v.version}`, entries, verification: reg.verifyAudit() };
  });

  ctx.handle(rpc.card, async (p) => {
    const path = ctx.configPath();
    let workspaceCard;
    if (existsSync(path)) {
      try {
        workspaceCard = (await loadConfig(path)).config.model.card;
      } catch {
        workspaceCard = undefined; // the card still reports what the registry knows
      }
    }
    const c = await buildModelCard(ctx.readRegistry(), p.ref, { workspaceCard });
    return { ref: `${c.version.model}@${c.version.version}`, markdown: renderCardMarkdown(c) };
  });
}

/** The worst gap of a report (a Fairlearn difference when there is one) and the gates on fairness metrics. */
export function summarizeFairness(report: FairnessReport, gates: GateReport | null): FairnessSummary {
  let worst: FairnessSummary['worst'] = null;
  for (const m of FAIRNESS_METRICS) {
    const v = report.fairness[m];
    if (m.endsWith('_difference') && typeof v === 'number' && (!worst || v > worst.value))
      worst = { name: m, value: v };
  }
  if (!worst) {
    for (const b of report.breakdowns) {
      for (const [metric, gap] of Object.entries(b.gaps)) {
        if (typeof gap.difference === 'number' && (!worst || gap.difference > worst.value))
          worst = { name: `${metric} gap by ${b.by.join(' × ')}`, value: gap.difference };
      }
    }
  }
  const names: readonly string[] = FAIRNESS_METRICS;
  const fg = (gates?.results ?? [])
    .filter((r) => names.includes(r.metric))
    .map((r) => ({ metric: r.metric, expression: r.expression, passed: r.passed }));
  return { worst, gates: fg };
}
