/**
 * Running a study: a sampler proposes each trial's params, up to `parallel` trials train at a
 * time, the median pruner may stop a trial at any epoch, and every trial and its curve is kept
 * in the registry, so a study can be cancelled (AbortSignal: running trials are marked
 * cancelled) and resumed. Trial n draws from its own seeded stream, so with `parallel: 1` the
 * same seed gives the same trials in the same order, across resumes too.
 */
import type { TuneConfig, TuneDirection } from '../config/types';
import { describeError, ModelOpsError } from '../errors';
import type { StudyRecord, StudyStore, TrialRecord } from '../registry/studies';
import { MedianPruner } from './pruner';
import { GridSampler } from './samplers/grid';
import { RandomSampler } from './samplers/random';
import { TpeSampler } from './samplers/tpe';
import type { Observation, Sampler } from './samplers/types';
import { canonicalSpace, spaceDifference, type Params } from './space';
import type { TuneParamConfig } from '../config/types';

/** What a trial function gets: its params, an abort signal, and the epoch reporter. */
export interface TrialContext {
  studyId: string;
  number: number;
  params: Params;
  signal: AbortSignal;
  /** Call once per epoch with the epoch's log; true means "pruned: stop now". */
  report(epoch: number, metrics: Record<string, number>): boolean;
  /** The registry run that holds this trial's curves. */
  setRunId(runId: string): void;
}

export interface TrialOutcome {
  /** The last epoch's log: the trial's value is the objective read from it. */
  metrics?: Record<string, number>;
  /** Or the value itself (trial functions that are not trainings, e.g. in tests and benchmarks). */
  value?: number | null;
  epochs: number;
}

export type TrialFn = (ctx: TrialContext) => Promise<TrialOutcome>;

export interface StudyEvent {
  kind: 'trial-started' | 'epoch' | 'trial-finished' | 'study-finished';
  study: StudyRecord;
  trial?: TrialRecord;
  /** The best completed trial so far. */
  best: TrialRecord | null;
}

/** The tune block with every default resolved (see `resolvedTune`). */
export type StudySettings = TuneConfig & { parallel: number; objective: { metric: string; direction: TuneDirection } };

export interface RunStudyOptions {
  store: StudyStore;
  settings: StudySettings;
  trial: TrialFn;
  /** Create a new study with this model/config; or `resume` an existing one. */
  model?: string | null;
  configPath?: string | null;
  configDigest?: string | null;
  resume?: string;
  signal?: AbortSignal;
  onEvent?: (e: StudyEvent) => void;
  /** Reads the objective from an epoch's log; default: `metricValue`. */
  objective?: (metrics: Record<string, number>) => number | null;
}

export interface StudyResult {
  study: StudyRecord;
  trials: TrialRecord[];
  best: TrialRecord | null;
}

/** The objective from an epoch's log: `val_accuracy` is what TF.js logs as `val_acc`. */
export function metricValue(metric: string, metrics: Record<string, number>): number | null {
  const v = metrics[metric] ?? metrics[metric.replace('accuracy', 'acc')];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function samplerFor(settings: Pick<TuneConfig, 'sampler' | 'tpe'>): Sampler {
  switch (settings.sampler) {
    case 'grid':
      return new GridSampler();
    case 'random':
      return new RandomSampler();
    case 'tpe':
      return new TpeSampler({ startupTrials: settings.tpe.startupTrials, candidates: settings.tpe.candidates });
  }
}

export function bestTrial(trials: readonly TrialRecord[], direction: TuneDirection): TrialRecord | null {
  let best: TrialRecord | null = null;
  for (const t of trials) {
    if (t.status !== 'completed' || t.value === null) continue;
    if (!best || (direction === 'maximize' ? t.value > (best.value as number) : t.value < (best.value as number)))
      best = t;
  }
  return best;
}

/** What a study keeps of the tune block besides the space: enough to resume it as it was. */
function settingsRecord(s: StudySettings): Record<string, unknown> {
  return { seed: s.seed, pruner: s.pruner, budget: s.budget, parallel: s.parallel, tpe: s.tpe };
}

export async function runStudy(options: RunStudyOptions): Promise<StudyResult> {
  const { store, settings } = options;
  const direction = settings.objective.direction;
  const objective = options.objective ?? ((m: Record<string, number>) => metricValue(settings.objective.metric, m));
  let study: StudyRecord;
  if (options.resume) {
    study = store.getStudy(options.resume);
    const before = JSON.parse(study.space) as Record<string, TuneParamConfig>;
    const differs = spaceDifference(before, settings.space);
    if (differs) {
      throw new ModelOpsError(
        'study-space-changed',
        `Study ${study.id} cannot be resumed: tune.space.${differs} ${!before[differs] ? 'was added' : !settings.space[differs] ? 'was removed' : 'changed'} since it started (was ${before[differs] ? JSON.stringify(before[differs]) : 'absent'}, now ${settings.space[differs] ? JSON.stringify(settings.space[differs]) : 'absent'}).`,
        'Put the space back as it was to resume, or start a new study (modelops tune without --resume).',
      );
    }
    for (const [what, was, now] of [
      ['sampler', study.sampler, settings.sampler],
      ['objective.metric', study.metric, settings.objective.metric],
      ['objective.direction', study.direction, direction],
    ] as const) {
      if (was !== now)
        throw new ModelOpsError(
          'study-space-changed',
          `Study ${study.id} cannot be resumed: tune.${what} is '${now}', the study used '${was}'.`,
          `Set tune.${what} back to '${was}', or start a new study.`,
        );
    }
    store.cancelRunningTrials(study.id);
    store.setStudyStatus(study.id, 'running');
    study = store.getStudy(study.id);
  } else {
    study = store.createStudy({
      model: options.model ?? null,
      sampler: settings.sampler,
      metric: settings.objective.metric,
      direction,
      space: canonicalSpace(settings.space),
      settings: settingsRecord(settings),
      configPath: options.configPath ?? null,
      configDigest: options.configDigest ?? null,
    });
  }
  const sampler = samplerFor(settings);
  const pruner =
    settings.pruner.type === 'median'
      ? new MedianPruner({
          warmupEpochs: settings.pruner.warmupEpochs,
          minTrials: settings.pruner.minTrials,
          intervalEpochs: settings.pruner.intervalEpochs,
          minTrialsAtEpoch: settings.pruner.minTrialsAtEpoch,
        })
      : null;
  const deadline = settings.budget.minutes !== undefined ? Date.now() + settings.budget.minutes * 60_000 : Infinity;
  const maxTrials = settings.budget.trials ?? Infinity;
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort);
  if (options.signal?.aborted) controller.abort(options.signal.reason);

  const trials = new Map<number, TrialRecord>(store.trials(study.id).map((t) => [t.number, t]));
  let nextNumber = trials.size === 0 ? 0 : Math.max(...trials.keys()) + 1;
  /** Finished trials count against the budget; cancelled ones do not (a resume runs them again as new trials). */
  const counted = () => [...trials.values()].filter((t) => t.status !== 'cancelled' && t.status !== 'running').length;
  const running = new Map<number, Promise<void>>();
  const emit = (kind: StudyEvent['kind'], trial?: TrialRecord) =>
    options.onEvent?.({ kind, study, trial, best: bestTrial([...trials.values()], direction) });
  let exhausted = false;

  const history = (): Observation[] =>
    [...trials.values()]
      .filter((t) => (t.status === 'completed' || t.status === 'pruned') && t.value !== null)
      .map((t) => ({
        number: t.number,
        params: t.params,
        state: t.status as 'completed' | 'pruned',
        value: t.value as number,
      }));
  const completedCurves = () => [...trials.values()].filter((t) => t.status === 'completed').map((t) => t.intermediate);

  const launch = (number: number, params: Params): Promise<void> => {
    let record = store.startTrial(study.id, number, params);
    trials.set(number, record);
    emit('trial-started', record);
    let pruned = false;
    let last: number | null = null;
    const ctx: TrialContext = {
      studyId: study.id,
      number,
      params,
      signal: controller.signal,
      setRunId: (runId) => {
        store.setTrialRun(study.id, number, runId);
        record = store.getTrial(study.id, number);
        trials.set(number, record);
      },
      report: (epoch, metrics) => {
        const v = objective(metrics);
        last = v ?? last;
        store.reportEpoch(study.id, number, epoch, v);
        record = store.getTrial(study.id, number);
        trials.set(number, record);
        emit('epoch', record);
        if (!pruned && pruner && pruner.shouldPrune(record.intermediate, completedCurves(), direction)) pruned = true;
        return pruned;
      },
    };
    return options
      .trial(ctx)
      .then(
        (out) => {
          const value = out.value !== undefined ? out.value : out.metrics ? objective(out.metrics) : null;
          if (controller.signal.aborted && !pruned)
            return store.finishTrial(study.id, number, {
              status: 'cancelled',
              value,
              error: 'the study was cancelled',
            });
          if (pruned)
            return store.finishTrial(study.id, number, {
              status: 'pruned',
              value: last,
              error: `pruned by the median pruner after epoch ${store.getTrial(study.id, number).epochs}`,
            });
          if (value === null)
            return store.finishTrial(study.id, number, {
              status: 'failed',
              error: `the training log has no '${settings.objective.metric}' (is there a validation split?)`,
            });
          return store.finishTrial(study.id, number, { status: 'completed', value });
        },
        (e: unknown) => {
          if (controller.signal.aborted)
            return store.finishTrial(study.id, number, {
              status: 'cancelled',
              value: last,
              error: 'the study was cancelled',
            });
          return store.finishTrial(study.id, number, { status: 'failed', error: describeError(e) });
        },
      )
      .then((done) => {
        trials.set(number, done);
        emit('trial-finished', done);
      });
  };

  try {
    for (;;) {
      while (
        !controller.signal.aborted &&
        !exhausted &&
        running.size < settings.parallel &&
        counted() + running.size < maxTrials &&
        Date.now() < deadline
      ) {
        const number = nextNumber;
        const params = sampler.sample({
          space: settings.space,
          direction,
          number,
          seed: settings.seed,
          history: history(),
        });
        if (!params) {
          exhausted = true;
          break;
        }
        nextNumber++;
        const p = launch(number, params).finally(() => running.delete(number));
        running.set(number, p);
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  const status = controller.signal.aborted ? 'cancelled' : 'completed';
  store.setStudyStatus(study.id, status);
  study = store.getStudy(study.id);
  const all = store.trials(study.id);
  const result = { study, trials: all, best: bestTrial(all, direction) };
  options.onEvent?.({ kind: 'study-finished', study, best: result.best });
  return result;
}
