/** `modelops alerts`: the alerts monitoring recorded, and `modelops alerts ack` to acknowledge them. */
import type { CliCommand } from '../command';
import { paint, table } from '../output';
import { ModelOpsError } from '../../engine/errors';
import { openRegistry } from '../../engine/registry';
import { findWorkspaceRoot, intFlag, parseCli } from '../shared/args';
import { openForRead } from '../shared/registry';

const USAGE = `modelops alerts [list] [--target <name>] [--all] [--limit n] [--json] [--root DIR]
modelops alerts ack <id>… | --target <name> | --all [--json] [--root DIR]

Lists the alerts monitoring recorded (modelops monitor, --follow, the editor), newest first:
unacknowledged ones unless --all. ack marks alerts acknowledged — the ones named, every
unacknowledged one of --target, or with --all every unacknowledged one — so the Endpoints view
and the counts stop showing them; each acknowledgement is in the audit trail with who did it.`;

const short = (s: string) => (s.length > 90 ? `${s.slice(0, 89)}…` : s);

export const alertsCommand: CliCommand = {
  name: 'alerts',
  summary: 'List the recorded alerts, or acknowledge them',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseCli(
      argv,
      {
        target: { type: 'string' },
        all: { type: 'boolean' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
        root: { type: 'string' },
      },
      USAGE,
    );
    const root = findWorkspaceRoot(io.cwd, values.root);
    const c = paint(io.isTTY);
    const [sub, ...ids] = positionals;
    if (sub === 'ack') {
      const numbers = ids.map((id) => {
        const n = Number(id.replace(/^#/, ''));
        if (!Number.isInteger(n) || n < 1)
          throw new ModelOpsError('cli-usage', `'${id}' is not an alert number.`, `Usage:\n${USAGE}`);
        return n;
      });
      if (numbers.length === 0 && values.target === undefined && !values.all)
        throw new ModelOpsError(
          'cli-usage',
          'Name the alerts to acknowledge: their numbers, --target <name> for all of a target, or --all.',
          `Usage:\n${USAGE}`,
        );
      const reg = openRegistry(root, { actor: io.env.MODELOPS_ACTOR || undefined });
      try {
        const done = reg.acknowledgeAlerts({
          ...(numbers.length ? { ids: numbers } : {}),
          ...(values.target !== undefined ? { target: values.target } : {}),
        });
        if (values.json) io.out(JSON.stringify(done, null, 2));
        else if (done.length === 0) io.out('No unacknowledged alert to acknowledge.');
        else
          io.out(
            `${c.green('✓')} acknowledged ${done.length} alert${done.length === 1 ? '' : 's'}: ${done.map((a) => `#${a.id}`).join(', ')}`,
          );
        return 0;
      } finally {
        reg.close();
      }
    }
    // `list` is said by habit (modelops approvals list, data list): it is the default.
    if (sub !== undefined && sub !== 'list')
      throw new ModelOpsError('cli-usage', `Unknown alerts subcommand '${sub}'.`, `Usage:\n${USAGE}`);
    const reg = openForRead(root);
    try {
      const limit = intFlag(values.limit, '--limit', 1, 100_000) ?? 50;
      const list = reg.listAlerts({
        ...(values.target !== undefined ? { target: values.target } : {}),
        unacknowledgedOnly: !values.all,
        limit,
      });
      if (values.json) io.out(JSON.stringify(list, null, 2));
      else if (list.length === 0)
        io.out(values.all ? 'No alerts recorded.' : 'No unacknowledged alerts (--all lists acknowledged ones too).');
      else {
        io.out(
          table(
            ['#', 'at', 'target', 'version', 'rule', 'message', ...(values.all ? ['ack'] : [])],
            list.map((a) => [
              a.id,
              a.at.replace('T', ' ').slice(0, 19),
              a.target,
              `${a.model}@${a.version}`,
              a.rule,
              short(a.message),
              ...(values.all ? [a.acknowledged ? 'yes' : c.yellow('no')] : []),
            ]),
          ),
        );
        if (list.length === limit) io.out(c.dim(`(the newest ${limit}; --limit for more)`));
        if (!values.all) io.out(c.dim(`acknowledge: modelops alerts ack <#>… or --target <name>`));
      }
      return 0;
    } finally {
      reg.close();
    }
  },
};
