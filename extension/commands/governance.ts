/**
 * Governance in the editor: Explain (a webview), Approve and Request Approval, Show History (the
 * audit trail of a version), Open Model Card and Show Fairness. The engine enforces approvals;
 * promote and deploy call `offerApproval` (ui/approval.ts) when the engine refuses, so the editor
 * refuses exactly as the CLI does.
 */
import * as vscode from 'vscode';
import { governance } from '../../server/protocol';
import type { VersionStatus } from '../../server/protocol/governance';
import { explainData, fairnessData } from '../../server/report/governanceData';
import type { VersionRecord } from '../../server/engine/registry/types';
import { findConfig, findConfigUri } from '../configFiles';
import { UserError, type Ctx } from '../ctx';
import { runJob } from '../progress';
import { historyMarkdown } from '../text/governance';
import { ref } from '../text/version';
import { approveVersion, requestApproval } from '../ui/approval';
import { resolveVersion } from '../ui/pick';
import type { CommandFactory } from './command';

export const explain: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v = await resolveVersion(ctx, arg, { title: 'Explain which version?' });
  if (!v) return;
  const cfg = await findConfigUri();
  const outcome = await runJob(ctx, `ModelOps: explaining ${ref(v)}`, (workDoneToken, token) =>
    ctx.request(governance.explain, { ref: ref(v), workDoneToken, ...(cfg ? { configUri: cfg } : {}) }, token),
  );
  if (outcome.cancelled || !outcome.result) {
    void vscode.window.showInformationMessage(`ModelOps: explaining ${ref(v)} was cancelled; nothing was stored.`);
    return;
  }
  const r = outcome.result;
  await ctx.charts.open({ kind: 'explain', title: `${r.ref} · explanation`, data: explainData(r) });
  ctx.output.info(
    `explained ${r.ref}: ${r.rows.length} rows (${r.method}, ${r.background} background rows)${r.stored ? `; global importance stored at ${r.stored}` : ''}`,
  );
};

/** Protected aliases and targets a version could be approved for. */
function protectedNames(s: VersionStatus): Array<{ name: string; scope: 'alias' | 'target'; sod: boolean }> {
  return [
    ...s.protectedAliases.map((name) => ({ name, scope: 'alias' as const, sod: s.separationOfDuties })),
    ...s.protectedTargets.map((t) => ({ name: t.name, scope: 'target' as const, sod: t.separationOfDuties })),
  ];
}

async function pickProtected(ctx: Ctx, v: VersionRecord, title: string, preset?: string): Promise<string | undefined> {
  if (preset) return preset;
  const s = await ctx.request(governance.versionStatus, { model: v.model });
  const names = protectedNames(s);
  if (!names.length) {
    // An approval nothing asks for protects nothing (the CLI refuses one: approval-unused).
    const open = 'Open modelops.yaml';
    const choice = await vscode.window.showInformationMessage(
      `ModelOps: nothing in modelops.yaml needs an approval, so ${ref(v)} has nothing to be approved for. Protect an alias (registry.protectedAliases) or a target (deploy.targets.<name>.requireApproval: true) first.`,
      open,
    );
    const uri = choice === open ? await findConfig() : undefined;
    if (uri) await vscode.window.showTextDocument(uri);
    return undefined;
  }
  if (names.length === 1) return names[0].name;
  const picked = await vscode.window.showQuickPick(
    names.map((n) => {
      const approved = s.approvals.find((a) => a.version === v.version && a.name === n.name && a.valid);
      return {
        label: n.name,
        description: `${n.scope}${n.sod ? ' · separation of duties' : ''}${approved ? ` · approved by ${approved.approver}` : ''}`,
        name: n.name,
      };
    }),
    { title },
  );
  return picked?.name;
}

export const approve: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v = await resolveVersion(ctx, arg, { title: 'Approve which version?' });
  if (!v) return;
  const name = await pickProtected(ctx, v, `Approve ${ref(v)} for which alias or target?`);
  if (!name) return;
  await approveVersion(ctx, v, name);
};

export const requestApprovalCommand: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v = await resolveVersion(ctx, arg, { title: 'Request approval of which version?' });
  if (!v) return;
  const name = await pickProtected(ctx, v, `Request approval of ${ref(v)} for which alias or target?`);
  if (!name) return;
  await requestApproval(v, name);
};

export const showHistory: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v = await resolveVersion(ctx, arg, { title: 'Show the history of which version?', includeArchived: true });
  if (!v) return;
  const r = await ctx.request(governance.history, { ref: ref(v) });
  await ctx.docs.show(`history-${r.ref}`, historyMarkdown(r));
  if (!r.verification.ok)
    void vscode.window.showWarningMessage(
      `ModelOps: the audit trail is broken at entry #${r.verification.firstBad?.seq}: ${r.verification.firstBad?.problem}`,
    );
};

export const openModelCard: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v = await resolveVersion(ctx, arg, { title: 'Model card of which version?', includeArchived: true });
  if (!v) return;
  const c = await ctx.request(governance.card, { ref: ref(v) });
  await ctx.docs.show(`card-${c.ref}`, c.markdown);
};

export const showFairness: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v = await resolveVersion(ctx, arg, { title: 'Fairness of which version?', includeArchived: true });
  if (!v) return;
  const f = await ctx.request(governance.storedFairness, { ref: ref(v) });
  if (!f)
    throw new UserError(
      `${ref(v)} has no fairness report: set evaluate.fairness in modelops.yaml and evaluate the version ("ModelOps: Evaluate Version").`,
    );
  await ctx.charts.open({
    kind: 'fairness',
    title: `${ref(v)} · fairness`,
    data: fairnessData(f.report, f.data, ref(v), v.gates),
  });
};
