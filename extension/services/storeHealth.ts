/**
 * Warns when the workspace store's database looks lost (registry.db missing or empty beside
 * artifacts or deployments): the registry then reads as empty and refuses writes, and the user
 * decides — restore the file, or start a new registry with the old artifacts set aside.
 */
import * as vscode from 'vscode';
import { registry } from '../../server/protocol';
import type { Ctx } from '../ctx';

let asked = false;

export async function checkStoreHealth(ctx: Ctx): Promise<void> {
  let state;
  try {
    state = await ctx.request(registry.storeState, {});
  } catch {
    return; // a broken store reports itself on the next request
  }
  for (const w of state.warnings) ctx.output.warn(`workspace store: ${w}`);
  const lost = state.lost;
  if (!lost || asked) return;
  asked = true;
  const held = `${lost.artifacts} artifact file${lost.artifacts === 1 ? '' : 's'}${lost.deployments ? ` and ${lost.deployments} deployment record${lost.deployments === 1 ? '' : 's'}` : ''}`;
  const restart = 'Start New Registry…';
  const choice = await vscode.window.showWarningMessage(
    `ModelOps: .modelops/registry.db is ${lost.database} while the store still holds ${held}. The registry may have been lost; ModelOps changes nothing until you decide.`,
    restart,
    'Show Log',
  );
  if (choice === 'Show Log') ctx.output.show();
  if (choice !== restart) return;
  const confirm = 'Start New Registry';
  const sure = await vscode.window.showWarningMessage(
    'Start a new, empty registry?',
    {
      modal: true,
      detail: `Restore registry.db (with its -wal file) from a backup instead if you have one. A new registry sets the ${held} aside in .modelops/artifacts.lost-<time>/; nothing is deleted.`,
    },
    confirm,
  );
  if (sure !== confirm) return;
  await ctx.request(registry.confirmNewRegistry, {});
  void vscode.window.showInformationMessage(
    'ModelOps: started a new registry; the old artifacts are in .modelops/artifacts.lost-<time>/.',
  );
}
