/** Overriding quality gates: the modal and the reason promote and deploy ask for. */
import * as vscode from 'vscode';
import type { VersionRecord } from '../../server/engine/registry/types';
import { gateProblem, gateState } from '../../shared/gateState';
import { ref } from '../text/version';

/**
 * Asks why gates are overridden; undefined when the user backs out. The safe answer is the
 * default button (Enter): it shows the gate report; overriding is never one keypress away.
 */
export async function askOverrideReason(v: VersionRecord, action: string): Promise<string | undefined> {
  const notEvaluated = gateState(v.gates) === 'not-evaluated';
  const show = 'Show Gate Report';
  const go = 'Override with a Reason…';
  const choice = await vscode.window.showWarningMessage(
    notEvaluated
      ? `${ref(v)} was never evaluated against its quality gates, so it should not ${action}.`
      : `${ref(v)} failed its quality gates, so it should not ${action}.`,
    {
      modal: true,
      detail:
        (v.gates ? gateProblem(v.gates).split('; ').join('\n') : '') || 'See the gate report in the version details.',
    },
    show,
    go,
  );
  if (choice === show)
    void vscode.commands.executeCommand('modelops.showVersionDetails', { kind: 'version', version: v });
  if (choice !== go) return undefined;
  const reason = await vscode.window.showInputBox({
    title: `Why ship ${ref(v)} despite ${notEvaluated ? 'unevaluated' : 'failing'} gates? (kept in the history)`,
    validateInput: (s) => (s.trim().length >= 5 ? undefined : 'Write a reason of at least a few words.'),
    // A reason takes thought: looking at the gate report or a panel must not throw it away.
    ignoreFocusOut: true,
  });
  return reason?.trim() || undefined;
}
