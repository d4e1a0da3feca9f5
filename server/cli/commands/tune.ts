/** `modelops tune`: hyperparameter search from the config's tune: block, and its studies (list, show, register). */
import { resolve } from 'node:path';
import type { CliCommand, CliIO } from '../command';
import { formatNumber, paint, table } from '../output';
import { ModelOpsError } from '../../engine/errors';
import { openRegistry } from '../../engine/registry';
import { lostError } from '../../engine/registry/store';
import type { StudyRecord, StudyStore, TrialRecord } from '../../engine/registry/studies';
import { bestTrial, registerBest, tune, type StudyEvent } from '../../engine/tuning';
import type { TuneConfig } from '../../engine/config/types';
import { intFlag, need, numFlag, parseCli, printJson, rootFor, str } from '../shared/args';
import { openForRead } from '../shared/registry';
import { interruptOnSignals } from './train';

const TUNE_USAGE = `Usage: modelops tune [--config modelops.yaml] [--trials n] [--minutes m] [--sampler random|grid|tpe] [--seed n] [--parallel n] [--resume <study>] [--register] [--backend b] [--root dir] [--json]
       modelops tune list [--json]
       modelops tune show <study|latest> [--json]
       modelops tune register <study|latest> [--trial n] [--config modelops.yaml] [--json]

Runs the hyperparameter search of the config's tune: block: each trial trains in its own
worker thread (--parallel at a time, default the number of cores) and is recorded as a run;
the study and its trials live in the registry. A live table on a terminal, a line per trial
otherwise. Ctrl-C cancels (running trials are marked cancelled); --resume <study> continues
it (the space must be unchanged). --register trains the best trial again through the trainer
and registers it as a version whose run names the study and trial.

  --trials, --minutes   override tune.budget
  --sampler, --seed, --parallel   override tune.sampler, tune.seed, tune.parallel
  --trial               (register) a trial number instead of the best
  --json                print the study and its trials as JSON on stdout`;

const fmtParam = (v: number | string) =>
  typeof v === 'number' ? (Number.isInteger(v) ? String(v) : Number(v.toPrecision(3)).toString()) : v;
const paramsText = (p: Record<string, number | string>) =>
  Object.entries(p)
    .map(([k, v]) => `${k}=${fmtParam(v)}`)
    .join(' ');

function trialsTable(trials: TrialRecord[], direction: StudyRecord['direction']): string {
  let best: number | null = null;
  const rows = trials.map((t) => {
    if (
      t.status === 'completed' &&
      t.value !== null &&
      (best === null || (direction === 'maximize' ? t.value > best : t.value < best))
    )
      best = t.value;
    return [
      String(t.number),
      paramsText(t.params),
      formatNumber(t.value ?? t.intermediate.filter((v) => v !== null).at(-1) ?? null),
      formatNumber(best),
      t.status,
      String(t.epochs),
    ];
  });
  return table(['trial', 'params', 'value', 'best so far', 'status', 'epochs'], rows);
}

function studyJson(study: StudyRecord, trials: TrialRecord[]) {
  return { study, best: bestTrial(trials, study.direction), trials };
}

function withStore<T>(root: string, fn: (store: StudyStore) => T): T {
  const reg = openForRead(root);
  try {
    return fn(reg.studies);
  } finally {
    reg.close();
  }
}

async function list(argv: string[], io: CliIO): Promise<number> {
  const a = parseCli(argv, { json: { type: 'boolean' }, root: { type: 'string' } }, TUNE_USAGE);
  const root = rootFor(io, str(a.values.root), undefined);
  return withStore(root, (store) => {
    const studies = store.listStudies().map((s) => ({ ...s, trials: store.trials(s.id) }));
    if (a.values.json)
      return printJson(
        io,
        studies.map((s) => ({ ...s, best: bestTrial(s.trials, s.direction), trials: s.trials.length })),
      );
    if (!studies.length) io.out('No studies yet: add a tune: block to modelops.yaml and run modelops tune.');
    else
      io.out(
        table(
          ['study', 'model', 'status', 'sampler', 'objective', 'trials', 'best', 'registered'],
          studies.map((s) => [
            s.id,
            s.model ?? '',
            s.status,
            s.sampler,
            `${s.metric} (${s.direction === 'maximize' ? 'max' : 'min'})`,
            String(s.trials.length),
            formatNumber(bestTrial(s.trials, s.direction)?.value ?? null),
            s.registeredVersion ?? '',
          ]),
        ),
      );
    return 0;
  });
}

async function show(argv: string[], io: CliIO): Promise<number> {
  const a = parseCli(argv, { json: { type: 'boolean' }, root: { type: 'string' } }, TUNE_USAGE);
  const ref = need(a.positionals[0], 'the study (an id from modelops tune list, or latest)', TUNE_USAGE);
  const root = rootFor(io, str(a.values.root), undefined);
  return withStore(root, (store) => {
    const study = store.getStudy(ref);
    const trials = store.trials(study.id);
    if (a.values.json) return printJson(io, studyJson(study, trials));
    const best = bestTrial(trials, study.direction);
    io.out(
      `${study.id}  ${study.model ?? ''}  ${study.status}  sampler ${study.sampler}  ${study.metric} (${study.direction})${study.registeredVersion ? `  registered ${study.registeredVersion}` : ''}`,
    );
    io.out(trialsTable(trials, study.direction));
    if (best)
      io.out(`best: trial ${best.number}, ${study.metric} ${formatNumber(best.value)}  ${paramsText(best.params)}`);
    return 0;
  });
}

async function register(argv: string[], io: CliIO): Promise<number> {
  const a = parseCli(
    argv,
    {
      json: { type: 'boolean' },
      root: { type: 'string' },
      config: { type: 'string' },
      trial: { type: 'string' },
      backend: { type: 'string' },
    },
    TUNE_USAGE,
  );
  const ref = need(a.positionals[0], 'the study (an id from modelops tune list, or latest)', TUNE_USAGE);
  const configPath = resolve(io.cwd, str(a.values.config) ?? 'modelops.yaml');
  const registry = openRegistry(rootFor(io, str(a.values.root), configPath));
  try {
    const r = await registerBest({
      configPath,
      registry,
      study: ref,
      trial: intFlag(str(a.values.trial), '--trial'),
      backend: str(a.values.backend),
    });
    return printRegistered(io, r, a.values.json === true);
  } finally {
    registry.close();
  }
}

function printRegistered(io: CliIO, r: Awaited<ReturnType<typeof registerBest>>, json: boolean): number {
  if (json)
    return printJson(io, {
      study: r.studyId,
      trial: r.trial,
      version: r.train.version,
      run: r.train.run,
      metrics: r.train.metrics,
      gates: r.train.gates,
      notes: r.notes,
    });
  const c = paint(io.isTTY);
  io.out(
    `${c.green('✓')} registered ${c.bold(`${r.train.version.model}@${r.train.version.version}`)} from study ${r.studyId}, trial ${r.trial.number} (run ${r.train.run.id})`,
  );
  for (const n of r.notes) io.out(c.dim(`  ${n}`));
  if (r.train.gates) io.out(`gates: ${r.train.gates.passed ? c.green('passed') : c.red('FAILED')}`);
  return 0;
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const a = parseCli(
    argv,
    {
      json: { type: 'boolean' },
      root: { type: 'string' },
      config: { type: 'string' },
      trials: { type: 'string' },
      minutes: { type: 'string' },
      sampler: { type: 'string' },
      seed: { type: 'string' },
      parallel: { type: 'string' },
      resume: { type: 'string' },
      register: { type: 'boolean' },
      backend: { type: 'string' },
    },
    TUNE_USAGE,
  );
  if (a.positionals.length)
    throw new ModelOpsError('cli-usage', `Unexpected argument '${a.positionals[0]}'.`, TUNE_USAGE);
  const sampler = str(a.values.sampler);
  if (sampler !== undefined && !['random', 'grid', 'tpe'].includes(sampler))
    throw new ModelOpsError('cli-usage', `--sampler must be random, grid or tpe, not '${sampler}'.`, TUNE_USAGE);
  const minutes = numFlag(str(a.values.minutes), '--minutes');
  if (minutes !== undefined && minutes <= 0)
    throw new ModelOpsError('cli-usage', `--minutes must be > 0, not ${minutes}.`, 'e.g. --minutes 10');
  const configPath = resolve(io.cwd, str(a.values.config) ?? 'modelops.yaml');
  const registry = openRegistry(rootFor(io, str(a.values.root), configPath));
  const c = paint(io.isTTY);
  for (const w of registry.warnings) io.err(c.yellow(w));
  if (registry.lostDatabase) {
    const lost = registry.lostDatabase;
    registry.close();
    throw lostError(`${registry.storeDir}/registry.db`, lost);
  }
  const live = Boolean(process.stderr.isTTY) && !a.values.json;
  let drawn = 0;
  const onEvent = (e: StudyEvent) => {
    if (live) {
      if (e.kind === 'study-finished') return;
      const text = trialsTable(registry.studies.trials(e.study.id), e.study.direction);
      io.err(`${drawn ? `\x1b[${drawn}A\x1b[0J` : ''}${text}`);
      drawn = text.split('\n').length;
    } else if (e.kind === 'trial-finished' && e.trial) {
      const t = e.trial;
      io.err(
        `trial ${t.number}  ${t.status}  ${e.study.metric} ${formatNumber(t.value)}  best ${formatNumber(e.best?.value ?? null)}  epochs ${t.epochs}  ${paramsText(t.params)}${t.error && t.status === 'failed' ? `  (${t.error})` : ''}`,
      );
    } else if (e.kind === 'trial-started' && e.trial && e.trial.number === 0)
      io.err(`study ${e.study.id}: ${e.study.sampler}, ${e.study.metric} (${e.study.direction})`);
  };
  const interrupt = interruptOnSignals(() => {
    registry.close();
    process.exit(130);
  });
  try {
    const r = await tune({
      configPath,
      registry,
      trials: intFlag(str(a.values.trials), '--trials', 1),
      minutes,
      sampler: sampler as TuneConfig['sampler'] | undefined,
      seed: intFlag(str(a.values.seed), '--seed'),
      parallel: intFlag(str(a.values.parallel), '--parallel', 1),
      resume: str(a.values.resume),
      backend: str(a.values.backend),
      signal: interrupt.signal,
      onEvent,
    });
    const registered =
      a.values.register && r.best && r.study.status === 'completed'
        ? await registerBest({ configPath, registry, study: r.study.id, backend: str(a.values.backend) })
        : null;
    if (a.values.json) {
      printJson(io, {
        ...studyJson(r.study, r.trials),
        registered: registered
          ? { version: registered.train.version, run: registered.train.run.id, trial: registered.trial.number }
          : null,
      });
    } else {
      io.out(
        `${r.study.status === 'completed' ? c.green('✓') : c.yellow('!')} study ${c.bold(r.study.id)} ${r.study.status}: ${r.trials.length} trials`,
      );
      if (r.best)
        io.out(
          `best: trial ${r.best.number}, ${r.study.metric} ${formatNumber(r.best.value)}  ${paramsText(r.best.params)}`,
        );
      else io.out('no trial completed');
      if (registered) printRegistered(io, registered, false);
      else if (r.best) io.out(c.dim(`register it: modelops tune register ${r.study.id}`));
    }
    return r.study.status === 'cancelled' ? 130 : 0;
  } finally {
    interrupt.dispose();
    registry.close();
  }
}

export const tuneCommand: CliCommand = {
  name: 'tune',
  summary: 'Hyperparameter search (random, grid, TPE) with median pruning; list, show and register studies',
  usage: TUNE_USAGE,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'list') return list(rest, io);
    if (sub === 'show') return show(rest, io);
    if (sub === 'register') return register(rest, io);
    return run(argv, io);
  },
};
