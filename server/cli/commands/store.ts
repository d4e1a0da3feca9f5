/** `modelops store init`: create the workspace store, or confirm a fresh start when its database looks lost. */
import type { CliCommand } from '../command';
import { paint } from '../output';
import { ModelOpsError } from '../../engine/errors';
import { openRegistry } from '../../engine/registry';
import { lostError } from '../../engine/registry/store';
import { findWorkspaceRoot, parseCli, str } from '../shared/args';

const USAGE = `Usage: modelops store init [--confirm] [--root dir] [--json]

Creates the workspace store .modelops/ (private to you: folders 0700, files 0600) and reports
its state. When .modelops/registry.db is missing or empty but .modelops/ still holds artifacts
or deployment records, the registry database looks lost: every command then refuses to write.
Restore registry.db from a backup, or start a new, empty registry on purpose with --confirm
(the old artifacts are moved to .modelops/artifacts.lost-<time>/, not deleted).

  --confirm  replace a lost-looking registry database by a new, empty one
  --json     print {root, lostDatabase, warnings} as JSON`;

export const storeCommand: CliCommand = {
  name: 'store',
  summary: 'Create the workspace store, or confirm a new registry when registry.db looks lost',
  usage: USAGE,
  async run(argv, io) {
    const a = parseCli(
      argv,
      { json: { type: 'boolean' }, root: { type: 'string' }, confirm: { type: 'boolean' } },
      USAGE,
    );
    if (a.positionals[0] !== 'init' || a.positionals.length > 1)
      throw new ModelOpsError(
        'cli-usage',
        a.positionals[0] ? `Unknown store command '${a.positionals.join(' ')}'.` : 'Missing the store command.',
        USAGE,
      );
    const root = findWorkspaceRoot(io.cwd, str(a.values.root));
    const reg = openRegistry(root, { confirmNewRegistry: a.values.confirm === true });
    const c = paint(io.isTTY);
    try {
      for (const w of reg.warnings) io.err(c.yellow(w));
      if (a.values.json) {
        io.out(JSON.stringify({ root, lostDatabase: reg.lostDatabase, warnings: reg.warnings }, null, 2));
        return reg.lostDatabase ? 1 : 0;
      }
      if (reg.lostDatabase) throw lostError(`${reg.storeDir}/registry.db`, reg.lostDatabase);
      const fresh = reg.warnings.some((w) => w.includes('artifacts.lost-'));
      io.out(`${c.green('✓')} ${fresh ? 'new registry started in' : 'workspace store ready:'} ${reg.storeDir}`);
      return 0;
    } finally {
      reg.close();
    }
  },
};
