/** `modelops approve <model@version> --for <alias|target>` and `modelops approvals list`. */
import { join } from 'node:path';
import type { CliCommand } from '../command';
import { paint, table } from '../output';
import { ModelOpsError } from '../../engine/errors';
import { approvalScope } from '../../engine/governance';
import { openRegistry } from '../../engine/registry';

import { findWorkspaceRoot, parseCli } from '../shared/args';
import { openForRead } from '../shared/registry';

const USAGE = `modelops approve <model@version> --for <alias|target> [--comment "…"] [--config modelops.yaml] [--root DIR] [--json]

Records that you reviewed this exact version (and its artifact digest) for a protected alias
(registry.protectedAliases) or target (deploy.targets.<name>.requireApproval). You are
identified by MODELOPS_ACTOR, else git user.name/user.email, else the OS user: this is
accountability, not authentication. With separationOfDuties the version's author cannot approve.`;

const LIST_USAGE = `modelops approvals [list] [--model <name>] [--json] [--root DIR]`;

export const approveCommand: CliCommand = {
  name: 'approve',
  summary: 'Approve a version for a protected alias or target',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseCli(
      argv,
      {
        for: { type: 'string' },
        comment: { type: 'string' },
        config: { type: 'string' },
        root: { type: 'string' },
        json: { type: 'boolean' },
      },
      USAGE,
    );
    const ref = positionals[0];
    const name = values.for;
    if (!ref || !name)
      throw new ModelOpsError('cli-usage', 'Missing the version reference or --for.', `Usage:\n${USAGE}`);
    const root = findWorkspaceRoot(io.cwd, values.root);
    const configPath = values.config ? join(io.cwd, values.config) : join(root, 'modelops.yaml');
    const { scope, separationOfDuties } = approvalScope(configPath, name);
    const reg = openRegistry(root, { configPath, actor: io.env.MODELOPS_ACTOR || undefined });
    const c = paint(io.isTTY);
    try {
      const a = reg.approve(ref, {
        scope,
        name,
        comment: values.comment,
        separationOfDuties,
      });
      if (values.json) io.out(JSON.stringify(a, null, 2));
      else
        io.out(
          `${c.green('approved')} ${a.model}@${a.version} (${a.artifactDigest.slice(0, 19)}…) for ${a.scope} '${a.name}' by ${a.approver} — approval #${a.id}`,
        );
      return 0;
    } finally {
      reg.close();
    }
  },
};

export const approvalsCommand: CliCommand = {
  name: 'approvals',
  summary: 'List approvals (valid, or void when the artifact changed)',
  usage: LIST_USAGE,
  async run(argv, io) {
    const { values, positionals } = parseCli(
      argv,
      { model: { type: 'string' }, json: { type: 'boolean' }, root: { type: 'string' } },
      LIST_USAGE,
    );
    // `modelops approvals` alone lists, as `alerts` and `audit` do.
    if (positionals.length > 0 && (positionals[0] !== 'list' || positionals.length > 1))
      throw new ModelOpsError(
        'cli-usage',
        positionals[0] !== 'list'
          ? `Unknown approvals subcommand '${positionals[0]}'.`
          : `Unexpected argument '${positionals[1]}'.`,
        `Usage:\n${LIST_USAGE}`,
      );
    const root = findWorkspaceRoot(io.cwd, values.root);
    const reg = openForRead(root);
    try {
      const list = reg.listApprovals({ model: values.model, limit: 1000 });
      if (values.json) io.out(JSON.stringify(list, null, 2));
      else if (list.length === 0) io.out('No approvals.');
      else
        io.out(
          table(
            ['#', 'version', 'for', 'approver', 'at', 'valid', 'comment'],
            list.map((a) => [
              a.id,
              `${a.model}@${a.version}`,
              `${a.scope} ${a.name}`,
              a.approver,
              a.at,
              a.valid ? 'yes' : 'void',
              a.comment ?? '',
            ]),
          ),
        );
      return 0;
    } finally {
      reg.close();
    }
  },
};
