import * as vscode from 'vscode';
import { UserError, type Ctx } from '../ctx';

/** A command is a factory from the context to a handler; it keeps no state of its own. */
export type CommandFactory = (ctx: Ctx) => (...args: unknown[]) => unknown;

export interface CommandSpec {
  id: string;
  factory: CommandFactory;
  /** Runs something from the workspace (training, deploys): refused in Restricted Mode. */
  requiresTrust?: boolean;
  /** What the refusal says the command would have done, e.g. "Training runs code from this workspace". */
  trustReason?: string;
}

/** Registers the commands with one error boundary: users see a message, the log keeps the detail. */
export function registerCommands(ctx: Ctx, specs: CommandSpec[]): vscode.Disposable[] {
  return specs.map((spec) => {
    const handler = spec.factory(ctx);
    return vscode.commands.registerCommand(spec.id, async (...args: unknown[]) => {
      if (spec.requiresTrust && !vscode.workspace.isTrusted) {
        const manage = 'Manage Workspace Trust';
        const choice = await vscode.window.showWarningMessage(
          `ModelOps: ${spec.trustReason ?? 'This command runs code from the workspace'}, so it is off in Restricted Mode. Trust this workspace to use it.`,
          manage,
        );
        if (choice === manage) await vscode.commands.executeCommand('workbench.trust.manage');
        return undefined;
      }
      try {
        return await handler(...args);
      } catch (e) {
        if (e instanceof vscode.CancellationError) return undefined;
        const message = e instanceof Error ? e.message : String(e);
        if (e instanceof UserError) ctx.output.warn(`${spec.id}: ${message}`);
        else ctx.output.error(`${spec.id} failed: ${e instanceof Error && e.stack ? e.stack : message}`);
        void vscode.window.showErrorMessage(`ModelOps: ${message}`, 'Show Log').then((c) => {
          if (c === 'Show Log') ctx.output.show();
        });
        return undefined;
      }
    });
  });
}
