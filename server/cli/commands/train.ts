/** `modelops train` and `modelops evaluate`: the training loop and quality gates from a terminal or CI. */
import { dirname, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CliCommand, CliIO } from '../command';
import { formatNumber, paint, progressBar, table } from '../output';
import { ModelOpsError } from '../../engine/errors';
import { openRegistry } from '../../engine/registry';
import type { GateReport } from '../../engine/registry/types';
import { train, type TrainProgress } from '../../engine/training/trainer';
import { findWorkspaceRoot } from './versions';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCli(argv: string[], options: Options, usage: string): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: { json: { type: 'boolean' }, root: { type: 'string' }, ...options }, allowPositionals: true, strict: true });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (e) {
    throw new ModelOpsError('cli-usage', e instanceof Error ? e.message : String(e), `Usage:\n${usage}`);
  }
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The workspace root for a config: --root, else the config's folder or the nearest store above cwd. */
export function rootFor(io: CliIO, root: string | undefined, config: string | undefined): string {
  if (root) return resolve(io.cwd, root);
  if (config) return findWorkspaceRoot(dirname(resolve(io.cwd, config)));
  return findWorkspaceRoot(io.cwd);
}

export function gateTable(report: GateReport, onlyFailed: boolean): string {
  const rows = report.results.filter((r) => !onlyFailed || !r.passed);
  return table(
    ['gate', 'expression', 'threshold', 'actual', 'result', 'why'],
    rows.map((r) => [r.metric, r.expression, formatNumber(r.threshold), formatNumber(r.actual), r.passed ? 'pass' : 'FAIL', r.message]),
  );
}

/** Ctrl-C aborts the job (the run is recorded as cancelled); a second Ctrl-C exits at once. */
export function abortOnSigint(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', handler);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', handler) };
}

const TRAIN_USAGE = `Usage: modelops train [--config modelops.yaml] [--backend auto|tensorflow|wasm|cpu] [--data file] [--note text] [--root dir] [--json]

Trains the model the config describes (tfjs in a worker thread, or train.command),
evaluates it on the held-out test split, checks the gates and registers a new version.
Progress goes to stderr: a bar per epoch on a terminal, one line per epoch otherwise.
Ctrl-C cancels (the run is recorded as cancelled and nothing is registered).

  --config   the config file (default ./modelops.yaml)
  --backend  force a TensorFlow.js backend (default auto: tensorflow > wasm > cpu)
  --data     train on this file instead of data.train
  --note     changelog note of the new version
  --json     print the result as JSON on stdout`;

export const trainCommand: CliCommand = {
  name: 'train',
  summary: 'Train the model in modelops.yaml, evaluate it and register a new version',
  usage: TRAIN_USAGE,
  async run(argv, io) {
    const a = parseCli(argv, { config: { type: 'string' }, backend: { type: 'string' }, data: { type: 'string' }, note: { type: 'string' } }, TRAIN_USAGE);
    if (a.positionals.length) throw new ModelOpsError('cli-usage', `Unexpected argument '${a.positionals[0]}'.`, TRAIN_USAGE);
    const configPath = resolve(io.cwd, str(a.values.config) ?? 'modelops.yaml');
    const root = rootFor(io, str(a.values.root), configPath);
    const c = paint(io.isTTY);
    const errTTY = Boolean(process.stderr.isTTY) && !a.values.json;
    const registry = openRegistry(root);
    const sigint = abortOnSigint();
    let barShown = false;
    const onProgress = (p: TrainProgress) => {
      if (errTTY) {
        const line = `${progressBar(p.fraction)}  ${p.message}`;
        io.err(`${barShown ? '\x1b[1A\x1b[2K' : ''}${line}`);
        barShown = true;
      } else if (p.message.startsWith('epoch') || p.message.startsWith('step')) {
        const extra = Object.entries(p.metrics)
          .filter(([k]) => k !== 'loss')
          .map(([k, v]) => `${k} ${formatNumber(v)}`)
          .join(' · ');
        io.err(`${p.message}${extra ? ` · ${extra}` : ''}`);
      }
    };
    try {
      const r = await train({
        configPath,
        registry,
        backend: str(a.values.backend),
        dataOverride: str(a.values.data) ? resolve(io.cwd, str(a.values.data) as string) : undefined,
        note: str(a.values.note),
        trusted: true, // the user ran the command themselves
        signal: sigint.signal,
        onProgress,
        onLog: (line) => io.err(c.dim(line)),
      });
      if (a.values.json) {
        io.out(JSON.stringify({ run: r.run, version: r.version, metrics: r.metrics, gates: r.gates, backend: r.backend, samplesPerSecond: r.samplesPerSecond, epochsRun: r.epochsRun, stoppedEarly: r.stoppedEarly, notes: r.notes }, null, 2));
        return 0;
      }
      io.out(`${c.green('✓')} registered ${c.bold(`${r.version.model}@${r.version.version}`)}  (run ${r.run.id}, ${r.backend}, ${r.epochsRun} epochs${r.stoppedEarly ? ', stopped early' : ''}${r.samplesPerSecond ? `, ${Math.round(r.samplesPerSecond)} samples/s` : ''})`);
      for (const n of r.notes) io.out(c.dim(`  ${n}`));
      if (Object.keys(r.metrics).length) io.out('\n' + table(['metric', 'test'], Object.entries(r.metrics).map(([k, v]) => [k, formatNumber(v)])));
      if (r.gates) {
        io.out(`\ngates: ${r.gates.passed ? c.green('passed') : c.red('FAILED')}`);
        io.out(gateTable(r.gates, false));
      }
      return 0;
    } catch (e) {
      if (e instanceof ModelOpsError && e.code === 'cancelled') {
        io.err(c.yellow('Training cancelled; the run is recorded as cancelled and nothing was registered.'));
        return 130;
      }
      throw e;
    } finally {
      sigint.dispose();
      registry.close();
    }
  },
};
