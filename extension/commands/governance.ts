/**
 * Governance in the editor: Explain (a webview), Approve and Request Approval, Show History (the
 * audit trail of a version) and Open Model Card. The engine enforces approvals; promote and deploy
 * call `ensureApproval` when the engine refuses, so the editor refuses exactly as the CLI does.
 */
import * as vscode from 'vscode';
import { governance } from '../../server/protocol';
import type { HistoryResult, VersionStatus } from '../../server/protocol/governance';
import { explainData, fairnessData } from '../../server/report/governanceData';
import type { AuditEntry, VersionRecord } from '../../server/engine/registry/types';
import { findConfig } from '../configFiles';
import { UserError, type Ctx } from '../ctx';
import { runJob } from '../progress';
import { md } from '../tree/format';
import type { CommandFactory } from './command';
import { ref, resolveVersion } from './pick';

async function configUri(): Promise<string | undefined> {
  return (await findConfig())?.toString();
}

export const explain: CommandFactory = (ctx) => async (arg?: unknown) => {
  const v = await resolveVersion(ctx, arg, { title: 'Explain which version?' });
  if (!v) return;
  const cfg = await configUri();
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

/** The exact CLI command that approves `v` for `name` (what Request Approval shows). */
export function approveCommandLine(v: Pick<VersionRecord, 'model' | 'version'>, name: string): string {
  return `modelops approve ${ref(v)} --for ${name} --comment "<what you reviewed>"`;
}

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
    return vscode.window.showInputBox({
      title,
      prompt:
        'No alias or target is protected in modelops.yaml (registry.protectedAliases, deploy.targets.<name>.requireApproval); name one anyway.',
    });
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

/** Approves as the workspace identity; the engine refuses an author under separation of duties, with its message. */
export async function approveVersion(ctx: Ctx, v: VersionRecord, name: string): Promise<boolean> {
  const comment = await vscode.window.showInputBox({
    title: `Approve ${ref(v)} for '${name}': what did you review? (kept with the approval)`,
    placeHolder: 'e.g. evaluation report and fairness reviewed',
    ignoreFocusOut: true,
  });
  if (comment === undefined) return false;
  const a = await ctx.request(governance.approve, { ref: ref(v), for: name, comment: comment || null });
  void vscode.window.showInformationMessage(
    `ModelOps: approved ${a.model}@${a.version} for ${a.scope} '${a.name}' as ${a.approver} (approval #${a.id}).`,
  );
  return true;
}

/** Shows the command a reviewer runs; records nothing (the engine has no pending-request record). */
export async function requestApproval(v: Pick<VersionRecord, 'model' | 'version'>, name: string): Promise<void> {
  const line = approveCommandLine(v, name);
  const copy = 'Copy Command';
  const choice = await vscode.window.showInformationMessage(
    `Ask a reviewer to run: ${line}`,
    {
      modal: true,
      detail:
        'Nothing is recorded until they approve. Send them this command; it records who approved which artifact, and when.',
    },
    copy,
  );
  if (choice === copy) {
    await vscode.env.clipboard.writeText(line);
    void vscode.window.showInformationMessage('ModelOps: approval command copied.');
  }
}

const APPROVAL_CODES = new Set(['approval-required', 'approval-void', 'approval-by-author']);

/**
 * After the engine refused a move for want of an approval: offers Approve and Request Approval.
 * Resolves true when an approval was recorded (the caller tries again, and the engine checks again).
 */
export async function offerApproval(ctx: Ctx, e: unknown, v: VersionRecord, name: string): Promise<boolean> {
  if (!(e instanceof UserError) || !e.code || !APPROVAL_CODES.has(e.code)) throw e;
  const approve = 'Approve…';
  const request = 'Request Approval';
  const choice = await vscode.window.showWarningMessage(e.message, { modal: true }, approve, request);
  if (choice === request) await requestApproval(v, name);
  if (choice !== approve) return false;
  return approveVersion(ctx, v, name);
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

function changeText(x: unknown): string {
  if (x === null || x === undefined) return '—';
  const s = typeof x === 'string' ? x : JSON.stringify(x);
  return s.length > 160 ? `${s.slice(0, 157)}…` : s;
}

function reasonOf(e: AuditEntry): string {
  const after = e.after && typeof e.after === 'object' ? (e.after as Record<string, unknown>) : {};
  return ['reason', 'forceReason', 'overrideReason', 'comment']
    .map((k) => after[k])
    .filter((x): x is string => typeof x === 'string' && x !== '')
    .join('; ');
}

/** A version's history as markdown: the verify status first, then one row per audit entry. */
export function historyMarkdown(r: HistoryResult): string {
  const cell = (s: string) => md(s).replace(/\n/g, ' ');
  const v = r.verification;
  const status = v.ok
    ? `**Audit trail verified**: ${v.entries} entries intact, head #${v.head?.seq ?? 0} \`${v.head?.hash.slice(0, 16) ?? '—'}\` (anchor ${v.anchor}).`
    : `**Audit trail BROKEN** at entry #${v.firstBad?.seq}: ${cell(v.firstBad?.problem ?? 'unknown')}. Entries from there on cannot be trusted; run \`modelops audit verify\`.`;
  const lines = [`# History of ${md(r.ref)}`, '', status, ''];
  if (!r.entries.length) lines.push('No audit entries name this version.');
  else {
    lines.push('| # | time | actor | action | before → after | reason |', '| ---: | --- | --- | --- | --- | --- |');
    for (const e of r.entries)
      lines.push(
        `| ${e.seq} | ${cell(e.at)} | ${cell(e.actor)} | ${cell(e.action)}${e.alias ? ` \`${cell(e.alias)}\`` : ''}${e.target ? ` → ${cell(e.target)}` : ''} | ${cell(changeText(e.before))} → ${cell(changeText(e.after))} | ${cell(reasonOf(e))} |`,
      );
  }
  return lines.join('\n') + '\n';
}

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
