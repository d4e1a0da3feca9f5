/** Approving in the editor: the flows Approve, Request Approval, promote and deploy share. */
import * as vscode from 'vscode';
import { governance } from '../../server/protocol';
import type { VersionRecord } from '../../server/engine/registry/types';
import { UserError, type Ctx } from '../ctx';
import { approveCommandLine } from '../text/governance';
import { ref } from '../text/version';

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
