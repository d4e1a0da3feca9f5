/** `modelops deploy <model>@<version|alias> --target <name>`: deploy with named steps. */
import type { CliCommand } from '../command';
import { paint } from '../output';
import { ModelOpsError } from '../../engine/errors';
import { openRegistry } from '../../engine/registry';
import { deploy, type StepEvent } from '../../engine/deploy';
import { envTokenFor, openWorkspace, selfServeCommand, TOKEN_ORIGIN_OPTION, TOKEN_USAGE } from '../shared/targets';
import { parseCli } from '../shared/args';

const USAGE = `modelops deploy <model>@<version|alias> --target <name> [--override-reason "…"] [--token-origin URL]… [--config modelops.yaml] [--root DIR] [--json]

Deploys a registered version: package → load → ready → smoke test → switch → record.
A failing step rolls back by itself; the previous version keeps serving.`;

export const deployCommand: CliCommand = {
  name: 'deploy',
  summary: 'Deploy a version to a target with a smoke test and automatic rollback',
  usage: `${USAGE}\n\n${TOKEN_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parseCli(
      argv,
      {
        target: { type: 'string' },
        'override-reason': { type: 'string' },
        config: { type: 'string' },
        root: { type: 'string' },
        json: { type: 'boolean' },
        ...TOKEN_ORIGIN_OPTION,
      },
      USAGE,
    );
    const ref = positionals[0];
    const target = values.target as string | undefined;
    if (!ref || !target)
      throw new ModelOpsError('cli-usage', 'Missing the version reference or --target.', `Usage:\n${USAGE}`);
    const { root, config, configDir } = await openWorkspace(
      io,
      values.root as string | undefined,
      values.config as string | undefined,
    );
    const registry = openRegistry(root);
    const c = paint(io.isTTY);
    const json = values.json === true;
    try {
      const result = await deploy({
        registry,
        config,
        configDir,
        ref,
        target,
        overrideReason: values['override-reason'] as string | undefined,
        tokenFor: envTokenFor(io.env, values['token-origin'] as string[] | undefined),
        serveCommand: selfServeCommand(),
        onStep: (e: StepEvent) => {
          if (json || e.status === 'running') return;
          const mark = e.status === 'ok' ? c.green('✓') : c.red('✗');
          const n = e.step === 'rollback' ? '   ' : `${e.index + 1}/${e.total}`;
          io.out(`${mark} ${n} ${e.step.padEnd(10)} ${e.detail}${e.ms ? c.dim(` (${e.ms} ms)`) : ''}`);
        },
      });
      if (json) io.out(JSON.stringify({ ok: true, url: result.url, deployment: result.deployment }, null, 2));
      else
        io.out(
          `${c.bold(`${result.deployment.model}@${result.deployment.version}`)} serves on target '${target}' at ${result.url}`,
        );
      return 0;
    } catch (e) {
      if (json && e instanceof ModelOpsError) {
        io.out(JSON.stringify({ ok: false, code: e.code, error: e.message, hint: e.hint ?? null }, null, 2));
        return 1;
      }
      throw e;
    } finally {
      registry.close();
    }
  },
};
