/** Opening the workspace store from the CLI. */
import { ModelOpsError } from '../../engine/errors';
import { openRegistry, type WorkspaceRegistry } from '../../engine/registry';

/** Reading commands open read-only; a store with an older schema is opened for writing once to upgrade it. */
export function openForRead(root: string): WorkspaceRegistry {
  try {
    return openRegistry(root, { readonly: true });
  } catch (e) {
    if (e instanceof ModelOpsError && e.code === 'registry-outdated') return openRegistry(root);
    throw e;
  }
}
