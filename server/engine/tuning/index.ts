/**
 * Hyperparameter search: `tune` runs (or resumes) the study a config's `tune:` block describes,
 * each trial a training run in a worker thread; `registerBest` trains the chosen trial's
 * params through the trainer and registers the version, with lineage to the study and trial.
 * The editor and the CLI drive the same two calls (progress through `onEvent`, cancellation
 * through `signal`).
 */
import { availableParallelism } from 'node:os';
import { loadConfig } from '../config';
import type { LoadedConfig, TuneConfig } from '../config/types';
import { ModelOpsError } from '../errors';
import type { Registry } from '../registry/types';
import type { TrialRecord, WithStudies } from '../registry/studies';
import { trainWithConfig, type TrainProgress, type TrainResult } from '../training/trainer';
import { applyParams, resolvedTune, spaceDifference } from './space';
import { bestTrial, runStudy, type StudyEvent, type StudyResult } from './study';
import { trainingTrials } from './trial';
import type { TuneParamConfig } from '../config/types';

export { StudyStore } from '../registry/studies';
export type { StudyRecord, TrialRecord, TrialStatus, StudyStatus, WithStudies } from '../registry/studies';
export {
  runStudy,
  bestTrial,
  metricValue,
  samplerFor,
  type StudyEvent,
  type StudyResult,
  type TrialFn,
  type TrialContext,
  type StudySettings,
} from './study';
export {
  checkTune,
  applyParams,
  gridPoints,
  spaceDifference,
  canonicalSpace,
  resolvedTune,
  MAX_GRID,
  type Params,
} from './space';
export { MedianPruner, median } from './pruner';
export { RandomSampler } from './samplers/random';
export { GridSampler, gridOf } from './samplers/grid';
export { TpeSampler, gamma, defaultWeights } from './samplers/tpe';

/** What the command line (or the editor) may override in the config's tune block. */
export interface TuneOverrides {
  trials?: number;
  minutes?: number;
  sampler?: TuneConfig['sampler'];
  seed?: number;
  parallel?: number;
}

export interface TuneOptions extends TuneOverrides {
  configPath: string;
  /** The study is kept in the registry's studies part (`registry.studies`). */
  registry: Registry & WithStudies;
  /** Resume this study (id or `latest`) instead of starting one. */
  resume?: string;
  backend?: string;
  signal?: AbortSignal;
  onEvent?: (e: StudyEvent) => void;
}

/** The config's tune block with overrides and engine defaults applied. */
export function studySettings(loaded: LoadedConfig, overrides: TuneOverrides) {
  const tune = loaded.config.tune;
  if (!tune)
    throw new ModelOpsError(
      'config-invalid',
      `${loaded.path} has no tune: block.`,
      'Add one, e.g. tune: { space: { learningRate: { type: loguniform, low: 0.0001, high: 0.1 } }, budget: { trials: 20 } } (docs/optimisation.md).',
    );
  const budget = { ...tune.budget };
  if (overrides.trials !== undefined) budget.trials = overrides.trials;
  if (overrides.minutes !== undefined) budget.minutes = overrides.minutes;
  if (budget.trials === 0 || budget.minutes === 0)
    throw new ModelOpsError(
      'config-invalid',
      'The budget is 0: no trial would run.',
      'Give --trials (or tune.budget.trials) a number ≥ 1.',
    );
  return resolvedTune(
    {
      ...tune,
      budget,
      sampler: overrides.sampler ?? tune.sampler,
      seed: overrides.seed ?? tune.seed,
      parallel: overrides.parallel ?? tune.parallel,
    },
    availableParallelism(),
  );
}

/** Runs (or resumes) the study of the config's tune block. */
export async function tune(options: TuneOptions): Promise<StudyResult> {
  const loaded = await loadConfig(options.configPath);
  const settings = studySettings(loaded, options);
  const trial = await trainingTrials({ loaded, registry: options.registry, backend: options.backend });
  return runStudy({
    store: options.registry.studies,
    settings,
    trial,
    model: loaded.config.model.name,
    configPath: loaded.path,
    configDigest: loaded.digest,
    resume: options.resume,
    signal: options.signal,
    onEvent: options.onEvent,
  });
}

export interface RegisterBestOptions {
  configPath: string;
  registry: Registry & WithStudies;
  study: string;
  /** A trial number; default: the best completed trial. */
  trial?: number;
  backend?: string;
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
}

export interface RegisterBestResult {
  studyId: string;
  trial: TrialRecord;
  train: TrainResult;
  notes: string[];
}

/**
 * Trains the chosen trial's params through the trainer (seeded: the trial's model again, now
 * evaluated on the test split, gated and registered) and links the version to the study: the
 * training run's params gain `study` and `trial`, the version's note names both, and the study
 * records the version.
 */
export async function registerBest(options: RegisterBestOptions): Promise<RegisterBestResult> {
  const store = options.registry.studies;
  const study = store.getStudy(options.study);
  const trials = store.trials(study.id);
  const chosen =
    options.trial !== undefined ? trials.find((t) => t.number === options.trial) : bestTrial(trials, study.direction);
  if (!chosen) {
    throw new ModelOpsError(
      'study-no-trials',
      options.trial !== undefined
        ? `Study ${study.id} has no trial ${options.trial}.`
        : `Study ${study.id} has no completed trial to register.`,
      `See its trials with: modelops tune show ${study.id}.`,
    );
  }
  if (chosen.status !== 'completed')
    throw new ModelOpsError(
      'study-no-trials',
      `Trial ${chosen.number} of study ${study.id} is ${chosen.status}, not completed.`,
      'Register a completed trial (modelops tune show lists them).',
    );
  const loaded = await loadConfig(options.configPath);
  const notes: string[] = [];
  if (loaded.config.model.name !== study.model)
    throw new ModelOpsError(
      'config-invalid',
      `Study ${study.id} tuned model '${study.model}', but ${loaded.path} names '${loaded.config.model.name}'.`,
      'Use the config the study ran with (--config).',
    );
  if (loaded.config.tune) {
    const differs = spaceDifference(
      JSON.parse(study.space) as Record<string, TuneParamConfig>,
      loaded.config.tune.space,
    );
    if (differs)
      notes.push(`tune.space.${differs} changed since the study; the trial's params are applied as recorded`);
  }
  if (study.configDigest && study.configDigest !== loaded.digest)
    notes.push(
      "modelops.yaml changed since the study ran; the version is trained with the current file and the trial's params",
    );
  const tuned: LoadedConfig = { ...loaded, config: applyParams(loaded.config, chosen.params) };
  const train = await trainWithConfig(tuned, {
    configPath: loaded.path,
    registry: options.registry,
    backend: options.backend,
    signal: options.signal,
    onProgress: options.onProgress,
    trusted: true,
    note: `tuned: study ${study.id}, trial ${chosen.number} (${study.metric} ${chosen.value?.toPrecision(4)}); ${Object.entries(
      chosen.params,
    )
      .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
      .join(', ')}`,
  });
  store.linkRun(train.run.id, study.id, chosen.number);
  store.setRegistered(study.id, `${train.version.model}@${train.version.version}`);
  return { studyId: study.id, trial: chosen, train, notes };
}
