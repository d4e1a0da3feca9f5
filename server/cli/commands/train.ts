/** `modelops train` and `modelops evaluate`: the training loop and quality gates from a terminal or CI. */
import { resolve } from 'node:path';
import type { CliCommand } from '../command';
import { formatNumber, paint, progressBar, REDRAW_PREVIOUS_LINE, table } from '../output';
import { ModelOpsError } from '../../engine/errors';
import { openRegistry, type WorkspaceRegistry } from '../../engine/registry';
import { lostError } from '../../engine/registry/store';
import type { GateReport } from '../../engine/registry/types';
import { train, type TrainProgress, type TrainResult } from '../../engine/training/trainer';
import { parseMix, trainFromTraffic, type NextCommand, type TrafficDataset } from '../../engine/training/fromTraffic';
import { loadConfig } from '../../engine/config';
import { intFlag, parseCli, rootFor, str } from '../shared/args';
import { envTokenFor, TOKEN_ORIGIN_OPTION, TOKEN_USAGE } from '../shared/targets';

export function gateTable(report: GateReport, onlyFailed: boolean): string {
  const rows = report.results.filter((r) => !onlyFailed || !r.passed);
  return table(
    ['gate', 'expression', 'threshold', 'actual', 'result', 'why'],
    rows.map((r) => [
      r.metric,
      r.expression,
      formatNumber(r.threshold),
      formatNumber(r.actual),
      r.passed ? 'pass' : 'FAIL',
      r.message,
    ]),
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

/** What stopped a job: a signal, or its output stream failing (EPIPE under `| head`). */
type Interruption = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'EPIPE';

/** 128 + the signal number, as a shell reports a process killed by it (EPIPE: SIGPIPE). */
const EXIT_CODE: Record<Interruption, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143, EPIPE: 141 };
/** How long a job may take to stop after an interruption before its run is recorded here and the process exits. */
const FORCE_EXIT_MS = 15_000;

/** The run outcome for an interruption: SIGINT/SIGTERM cancel, the others fail the run. */
function interruptionReason(why: Interruption, detail = ''): ModelOpsError | undefined {
  if (why === 'SIGINT' || why === 'SIGTERM') return undefined;
  const what =
    why === 'SIGHUP'
      ? 'the terminal hung up (SIGHUP)'
      : `its output could not be written (${detail || 'EPIPE'}: the reading end of the pipe was closed)`;
  return new ModelOpsError(
    'interrupted',
    `Training was interrupted: ${what}.`,
    'Run it again with its output going to a terminal or a file (modelops train > train.log 2>&1), or under nohup.',
  );
}

/**
 * Stops a job when the process is told to, so its run is recorded before the process exits:
 * SIGINT and SIGTERM cancel it; SIGHUP and a failed write to stdout/stderr (EPIPE) abort it
 * with an 'interrupted' reason, which records the run as failed. A second signal, or a job
 * that has not stopped FORCE_EXIT_MS later, calls `force` (record the run here, exit now).
 */
export function interruptOnSignals(force: (why: Interruption, reason: ModelOpsError | undefined) => void): {
  signal: AbortSignal;
  interruption(): Interruption | null;
  dispose(): void;
} {
  const controller = new AbortController();
  let cause: Interruption | null = null;
  let reason: ModelOpsError | undefined;
  let timer: NodeJS.Timeout | null = null;
  let streamFailed = false;
  const interrupt = (why: Interruption, detail?: string): void => {
    if (cause) return;
    cause = why;
    reason = interruptionReason(why, detail);
    controller.abort(reason);
    timer = setTimeout(() => force(why, reason), FORCE_EXIT_MS);
    timer.unref();
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    // A signal after any interruption means "now": record the run here and exit.
    if (cause) force(cause, reason);
    else interrupt(sig as Interruption);
  };
  const onStreamError = (e: NodeJS.ErrnoException): void => {
    // Repeated write errors on a closed pipe are one interruption, never a "second signal".
    streamFailed = true;
    interrupt('EPIPE', e.code);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const sig of signals) process.on(sig, onSignal);
  process.stdout.on('error', onStreamError);
  process.stderr.on('error', onStreamError);
  return {
    signal: controller.signal,
    interruption: () => cause,
    dispose: () => {
      for (const sig of signals) process.off(sig, onSignal);
      if (timer) clearTimeout(timer);
      // After a failed write, later ones (the final message) fail too: keep swallowing them.
      if (!streamFailed) {
        process.stdout.off('error', onStreamError);
        process.stderr.off('error', onStreamError);
      }
    },
  };
}

/** Records a run that is still "running" as cancelled or failed; used when the process must exit now. */
function finishInterruptedRun(
  registry: WorkspaceRegistry,
  runId: string | null,
  reason: ModelOpsError | undefined,
): void {
  if (!runId) return;
  try {
    if (registry.getRun(runId).status !== 'running') return;
    registry.finishRun(runId, reason ? { status: 'failed', error: reason.message } : { status: 'cancelled' });
  } catch {
    /* the store's own check on the next open marks it from its dead pid */
  }
}

/** What the traffic dataset holds, for stderr: the counts the join used and what it left out. */
function trafficLines(d: TrafficDataset): string[] {
  const num = (x: number) => x.toLocaleString('en-US');
  const t = d.traffic;
  const period = d.since ? `since ${d.since}` : t.period ? `${t.period.first} … ${t.period.last}` : 'whole log';
  const lines: string[] = [];
  if (d.source.kind === 'http')
    lines.push(
      `log of '${d.target}' read from ${d.source.url}: ${num(d.source.bytes ?? 0)} bytes${d.source.fetched !== null && d.source.fetched !== d.source.bytes ? ` (${num(d.source.fetched)} fetched now, the rest kept from earlier reads)` : ''}, ${d.source.flushed ? 'flushed first' : (d.source.note ?? 'not flushed first')}`,
    );
  lines.push(
    `traffic on '${d.target}' (${d.model}, ${period}): ${num(t.predictions)} predictions, ${num(t.labelled)} with labels (${num(t.unlabelled)} without feedback left out)`,
  );
  if (t.unmatchedFeedback) lines.push(`  ${num(t.unmatchedFeedback)} feedback for unknown request ids ignored`);
  if (d.original)
    lines.push(
      `  + ${num(d.original.rows)} rows from ${d.original.path} (--mix original:${d.original.requested} → ${(d.original.fraction * 100).toFixed(1)} % of the rows)`,
    );
  lines.push(
    `dataset ${d.displayPath}: ${num(d.rows)} rows, stored as ${d.digest} (modelops data checkout ${d.digest.slice(7, 19)})`,
  );
  return lines;
}

const TRAIN_USAGE = `Usage: modelops train [--config modelops.yaml] [--backend auto|tensorflow|wasm|cpu] [--data file] [--note text] [--root dir] [--json]
       modelops train --from-traffic <target> [--since deploy|7d|ISO time] [--mix original:0.5] [--min-rows 50] [--out file.csv] [--token-origin URL]… […]

Trains the model the config describes (tfjs in a worker thread, or train.command),
evaluates it on the held-out test split, checks the gates and registers a new version.
Progress goes to stderr: a bar per epoch on a terminal, one line per epoch otherwise.
Ctrl-C or SIGTERM cancels (the run is recorded as cancelled and nothing is registered;
exit code 130 or 143). A hang-up (SIGHUP) or a closed output pipe (EPIPE) stops it too and
records the run as failed. A second Ctrl-C exits at once.
If .modelops/registry.db looks lost (see \`modelops store init\`), nothing is trained.

  --config   the config file (default ./modelops.yaml)
  --backend  force a TensorFlow.js backend (default auto: tensorflow > wasm > cpu)
  --data     train on this file instead of data.train
  --note     changelog note of the new version
  --json     print the result as JSON on stdout

Retraining from production traffic (docs/data.md, "Retraining from traffic"):
  --from-traffic  the deploy target whose logged predictions, joined with their feedback labels,
                  become data.train; predictions without feedback are left out. The file is written
                  to .modelops/traffic/<time>.csv, stored as a data version, trained on, and the
                  gates judge the version; when it passes, the promote and deploy commands are printed.
                  An http target (a ModelOps model server) is asked to flush, then its log is fetched
                  with its token (only what is new since the last read)
  --since     only predictions since an ISO time, a duration back from now (90m, 12h, 7d, 2w),
              or deploy (since the target's active deployment went out)
  --mix       original:F — F of the rows (0 ≤ F < 1) drawn from data.train with data.split.seed
  --min-rows  labelled rows needed (default 50); fewer refuse with traffic-too-few
  --out       write the dataset here instead (refused if the file exists)
  --token-origin  allow the http target's token to go to this origin (repeatable)

${TOKEN_USAGE}`;

export const trainCommand: CliCommand = {
  name: 'train',
  summary: 'Train the model in modelops.yaml, evaluate it and register a new version',
  usage: TRAIN_USAGE,
  async run(argv, io) {
    const a = parseCli(
      argv,
      {
        json: { type: 'boolean' },
        root: { type: 'string' },
        config: { type: 'string' },
        backend: { type: 'string' },
        data: { type: 'string' },
        note: { type: 'string' },
        'from-traffic': { type: 'string' },
        since: { type: 'string' },
        mix: { type: 'string' },
        'min-rows': { type: 'string' },
        out: { type: 'string' },
        ...TOKEN_ORIGIN_OPTION,
      },
      TRAIN_USAGE,
    );
    if (a.positionals.length)
      throw new ModelOpsError('cli-usage', `Unexpected argument '${a.positionals[0]}'.`, TRAIN_USAGE);
    const fromTraffic = str(a.values['from-traffic']);
    if (fromTraffic !== undefined && fromTraffic.trim() === '')
      throw new ModelOpsError('cli-usage', '--from-traffic needs a deploy target name.', TRAIN_USAGE);
    if (fromTraffic !== undefined && a.values.data !== undefined)
      throw new ModelOpsError(
        'cli-usage',
        '--data and --from-traffic both choose the training data; give one.',
        TRAIN_USAGE,
      );
    const trafficOnly = (['since', 'mix', 'min-rows', 'out', 'token-origin'] as const).find(
      (k) => a.values[k] !== undefined,
    );
    if (fromTraffic === undefined && trafficOnly)
      throw new ModelOpsError('cli-usage', `--${trafficOnly} applies to --from-traffic <target> only.`, TRAIN_USAGE);
    const mix = str(a.values.mix) !== undefined ? parseMix(str(a.values.mix) as string) : undefined;
    const minRows = intFlag(str(a.values['min-rows']), '--min-rows', 1);
    const configPath = resolve(io.cwd, str(a.values.config) ?? 'modelops.yaml');
    const root = rootFor(io, str(a.values.root), configPath);
    const c = paint(io.isTTY);
    const errTTY = Boolean(process.stderr.isTTY) && !a.values.json;
    const registry = openRegistry(root);
    for (const w of registry.warnings) io.err(c.yellow(w));
    if (registry.lostDatabase) {
      const lost = registry.lostDatabase;
      registry.close();
      throw lostError(`${registry.storeDir}/registry.db`, lost);
    }
    let runId: string | null = null;
    const interrupt = interruptOnSignals((why, reason) => {
      finishInterruptedRun(registry, runId, reason);
      registry.close();
      process.exit(EXIT_CODE[why]);
    });
    let barShown = false;
    const onProgress = (p: TrainProgress) => {
      runId = p.runId ?? runId;
      if (errTTY) {
        const line = `${progressBar(p.fraction)}  ${p.message}`;
        io.err(`${barShown ? REDRAW_PREVIOUS_LINE : ''}${line}`);
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
      const common = {
        registry,
        backend: str(a.values.backend),
        note: str(a.values.note),
        trusted: true, // the user ran the command themselves
        signal: interrupt.signal,
        onProgress,
        onLog: (line: string) => io.err(c.dim(line)),
      };
      let r: TrainResult;
      let traffic: { dataset: TrafficDataset; next: NextCommand[] } | null = null;
      if (fromTraffic !== undefined) {
        const loaded = await loadConfig(configPath);
        const out = str(a.values.out);
        const t = await trainFromTraffic(loaded, {
          ...common,
          target: fromTraffic,
          tokenFor: envTokenFor(io.env, a.values['token-origin'] as string[] | undefined),
          since: str(a.values.since),
          mix,
          minRows,
          out: out !== undefined ? resolve(io.cwd, out) : undefined,
          configArg: str(a.values.config),
        });
        r = t.train;
        traffic = { dataset: t.dataset, next: t.next };
        if (!a.values.json) for (const line of trafficLines(t.dataset)) io.err(line);
      } else {
        r = await train({
          ...common,
          configPath,
          dataOverride: str(a.values.data) ? resolve(io.cwd, str(a.values.data) as string) : undefined,
        });
      }
      if (a.values.json) {
        io.out(
          JSON.stringify(
            {
              run: r.run,
              version: r.version,
              metrics: r.metrics,
              gates: r.gates,
              backend: r.backend,
              samplesPerSecond: r.samplesPerSecond,
              epochsRun: r.epochsRun,
              stoppedEarly: r.stoppedEarly,
              notes: r.notes,
              ...(traffic ? { fromTraffic: traffic.dataset, next: traffic.next } : {}),
            },
            null,
            2,
          ),
        );
        return 0;
      }
      io.out(
        `${c.green('✓')} registered ${c.bold(`${r.version.model}@${r.version.version}`)}  (run ${r.run.id}, ${r.backend}, ${r.epochsRun} epochs${r.stoppedEarly ? ', stopped early' : ''}${r.samplesPerSecond ? `, ${Math.round(r.samplesPerSecond)} samples/s` : ''})`,
      );
      for (const n of r.notes) io.out(c.dim(`  ${n}`));
      if (Object.keys(r.metrics).length)
        io.out(
          '\n' +
            table(
              ['metric', 'test'],
              Object.entries(r.metrics).map(([k, v]) => [k, formatNumber(v)]),
            ),
        );
      if (r.gates) {
        io.out(`\ngates: ${r.gates.passed ? c.green('passed') : c.red('FAILED')}`);
        io.out(gateTable(r.gates, false));
      }
      if (traffic) {
        if (traffic.next.length) {
          io.out(`\nnext:`);
          for (const cmd of traffic.next) io.out(`  ${cmd.command}`);
        } else
          io.out(
            c.yellow(
              `\n${r.version.model}@${r.version.version} failed its gates: not offering promote or deploy (modelops versions show ${r.version.model}@${r.version.version}).`,
            ),
          );
      }
      return 0;
    } catch (e) {
      if (e instanceof ModelOpsError && e.code === 'cancelled') {
        const why = interrupt.interruption() ?? 'SIGINT';
        io.err(
          c.yellow(
            why === 'SIGINT' || why === 'SIGTERM'
              ? `Training cancelled (${why}); the run is recorded as cancelled and nothing was registered.`
              : `Training interrupted (${why}); the run is recorded as failed and nothing was registered.`,
          ),
        );
        return EXIT_CODE[why];
      }
      throw e;
    } finally {
      interrupt.dispose();
      registry.close();
    }
  },
};
