/** `modelops rollback --target <name> --model <m>`: switch back to the previous version at once. */
import type { CliCommand } from '../command';
import { paint } from '../output';
import { ModelOpsError } from '../../engine/errors';
import { openRegistry } from '../../engine/registry';
import { rollback } from '../../engine/deploy';
import { envTokenFor, openWorkspace, selfServeCommand, TOKEN_ORIGIN_OPTION, TOKEN_USAGE } from '../shared/targets';
import { parseCli } from '../shared/args';

const USAGE = `modelops rollback --target <name> --model <model> [--token-origin URL]… [--config modelops.yaml] [--root DIR] [--json]

Switches the model on the target back to the version that served before the last deploy, after a
smoke test of that version on the endpoint.

${TOKEN_USAGE}`;

export const rollbackCommand: CliCommand = {
  name: 'rollback',
  summary: 'Switch a target back to the previously deployed version',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseCli(
      argv,
      {
        target: { type: 'string' },
        model: { type: 'string' },
        config: { type: 'string' },
        root: { type: 'string' },
        json: { type: 'boolean' },
        ...TOKEN_ORIGIN_OPTION,
      },
      USAGE,
    );
    const target = values.target as string | undefined;
    const model = values.model as string | undefined;
    if (!target || !model) throw new ModelOpsError('cli-usage', 'Missing --target or --model.', `Usage:\n${USAGE}`);
    const { root, config, configDir } = await openWorkspace(
      io,
      values.root as string | undefined,
      values.config as string | undefined,
    );
    const registry = openRegistry(root);
    try {
      const d = await rollback({
        registry,
        config,
        configDir,
        target,
        model,
        tokenFor: envTokenFor(io.env, values['token-origin'] as string[] | undefined),
        serveCommand: selfServeCommand(),
      });
      if (values.json) io.out(JSON.stringify(d, null, 2));
      else io.out(`${paint(io.isTTY).green('✓')} ${model} on '${target}': ${d.previousVersion} → ${d.version}`);
      return 0;
    } finally {
      registry.close();
    }
  },
};
