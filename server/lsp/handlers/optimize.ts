/**
 * Optimisation requests on the sidecar: a study runs with work-done progress (trial n/N, best so
 * far) and a `studyProgress` notification per trial start, epoch and trial end; quantisation and
 * pruning report progress too. Each is cancelled by cancelling its request (the engine's
 * AbortSignal), as training is. One study at a time per sidecar.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerContext } from '../context';
import { withWorkDone } from '../workDone';
import type { CancellationToken } from 'vscode-languageserver/node';
import { optimize as rpc } from '../../protocol';
import type { OptimizeSummary, StudySummary, StudyView } from '../../protocol/optimize';
import { ModelOpsError } from '../../engine/errors';
import { bestTrial, registerBest, StudyStore, tune, type StudyEvent, type TrialRecord } from '../../engine/tuning';
import {
  pruneVersion,
  quantizeVersion,
  type OptimizeProgress,
  type OptimizeResult,
  type PruneResult,
  type QuantizeDetails,
} from '../../engine/optimize';

const STATUSES: ReadonlyArray<TrialRecord['status']> = ['running', 'completed', 'pruned', 'failed', 'cancelled'];

/** The trial budget a study was started with (null with a time budget only). */
function trialBudget(settings: Record<string, unknown>): number | null {
  const b = settings.budget;
  return b && typeof b === 'object' && 'trials' in b && typeof b.trials === 'number' ? b.trials : null;
}

const shortValue = (v: number | null) => (v === null ? '—' : Number(v.toPrecision(4)).toString());

function summarise(
  result: OptimizeResult<QuantizeDetails> | OptimizeResult<PruneResult>,
  method: 'quantize' | 'prune',
): OptimizeSummary {
  const base = {
    method,
    version: result.version,
    run: result.run,
    parent: result.parent,
    child: result.child,
    gates: result.gates,
    notes: result.notes,
  };
  if (method === 'quantize') {
    const d = result.details as QuantizeDetails;
    return {
      ...base,
      details: {
        method,
        dtype: d.dtype,
        format: d.format,
        weights: d.weights.length,
        bytesBefore: d.bytesBefore,
        bytesAfter: d.bytesAfter,
      },
    };
  }
  const d = result.details as PruneResult;
  return {
    ...base,
    details: {
      method,
      rate: d.rate,
      weightBytes: d.weightBytes,
      compressedBytes: d.compressedBytes,
      finalLoss: d.finalLoss ?? null,
    },
  };
}

export function registerOptimize(ctx: ServerContext): void {
  let studyRunning: string | null = null;

  /** A StudyStore over the workspace's registry (opened, and migrated, by the registry first). */
  const studies = <T>(fn: (store: StudyStore) => T, write = false): T => {
    const registry = write ? ctx.registry() : ctx.readRegistry();
    const store = new StudyStore(registry.storeDir, { readonly: !write });
    try {
      return fn(store);
    } finally {
      store.close();
    }
  };

  ctx.handle(rpc.tune, async (params, token) => {
    if (studyRunning)
      throw new ModelOpsError(
        'training-busy',
        `A study is already running (${studyRunning}).`,
        'Wait for it to finish or cancel it.',
      );
    const path = ctx.configPath(params.configUri);
    const registry = ctx.registry();
    studyRunning = path;
    let finished = 0;
    try {
      const result = await withWorkDone(
        ctx,
        { title: 'ModelOps: tuning', workDoneToken: params.workDoneToken, cancel: token, message: 'starting' },
        (w) =>
          tune({
            configPath: path,
            registry,
            trials: params.trials,
            minutes: params.minutes,
            sampler: params.sampler,
            seed: params.seed,
            parallel: params.parallel,
            resume: params.resume,
            backend: params.backend,
            signal: w.signal,
            onEvent: (e: StudyEvent) => {
              const budget = trialBudget(e.study.settings);
              if (e.kind === 'trial-finished') finished++;
              const best = e.best
                ? `best ${e.study.metric} ${shortValue(e.best.value)} (trial ${e.best.number})`
                : 'no completed trial yet';
              if (e.trial && e.kind !== 'study-finished') {
                const n = `trial ${e.trial.number + 1}${budget !== null ? `/${budget}` : ''}`;
                const what =
                  e.kind === 'epoch'
                    ? `epoch ${e.trial.epochs}`
                    : e.kind === 'trial-started'
                      ? 'started'
                      : e.trial.status;
                w.report(budget ? finished / budget : 0, `${n} ${what} · ${best}`);
              }
              ctx.notify(rpc.studyProgress, {
                kind: e.kind,
                study: e.study,
                ...(e.trial ? { trial: e.trial } : {}),
                best: e.best,
                budget,
              });
            },
          }),
      );
      ctx.log(
        `tuning: ${result.study.id} ${result.study.status}, ${result.trials.length} trials, best ${result.best ? `trial ${result.best.number} ${shortValue(result.best.value)}` : 'none'}`,
      );
      return { study: result.study, trials: result.trials, best: result.best };
    } finally {
      studyRunning = null;
    }
  });

  ctx.handle(rpc.listStudies, (params) => {
    // No store yet (nothing trained or tuned): no studies, and nothing is created by asking.
    if (!existsSync(join(ctx.readRegistry().storeDir, 'registry.db'))) return [];
    return studies((store) =>
      store
        .listStudies()
        .filter((s) => !params?.model || s.model === params.model)
        .map((study): StudySummary => {
          const trials = store.trials(study.id);
          const counts = Object.fromEntries(
            STATUSES.map((s) => [s, trials.filter((t) => t.status === s).length]),
          ) as StudySummary['counts'];
          return { study, trials: trials.length, counts, best: bestTrial(trials, study.direction) };
        }),
    );
  });

  ctx.handle(rpc.getStudy, (params): StudyView => {
    if (!params || typeof params.id !== 'string' || !params.id)
      throw new ModelOpsError(
        'study-not-found',
        'No study id given.',
        'Pass the id of a study (see modelops tune list), or latest.',
      );
    return studies((store) => {
      const study = store.getStudy(params.id);
      const trials = store.trials(study.id);
      return { study, trials, best: bestTrial(trials, study.direction) };
    });
  });

  ctx.handle(rpc.registerBest, async (params, token) => {
    const registry = ctx.registry();
    const r = await withWorkDone(
      ctx,
      {
        title: `ModelOps: registering the best trial of ${params.study}`,
        workDoneToken: params.workDoneToken,
        cancel: token,
        message: 'training',
      },
      (work) =>
        registerBest({
          configPath: ctx.configPath(params.configUri),
          registry,
          study: params.study,
          trial: params.trial,
          backend: params.backend,
          signal: work.signal,
          onProgress: (p) => work.report(p.fraction, p.message),
        }),
    );
    return {
      studyId: r.studyId,
      trial: r.trial,
      run: r.train.run,
      version: r.train.version,
      metrics: r.train.metrics,
      gates: r.train.gates,
      notes: [...r.notes, ...r.train.notes],
    };
  });

  /** Runs one optimisation with work-done progress and cancellation. */
  const optimiseJob = <D>(
    title: string,
    workDoneToken: string | number | undefined,
    token: CancellationToken,
    run: (signal: AbortSignal, onProgress: (p: OptimizeProgress) => void) => Promise<OptimizeResult<D>>,
  ): Promise<OptimizeResult<D>> =>
    withWorkDone(ctx, { title, workDoneToken, cancel: token, message: 'starting' }, (work) =>
      run(work.signal, (p) =>
        work.report(
          p.fraction,
          p.epoch !== undefined && p.epochs !== undefined ? `${p.message} (epoch ${p.epoch}/${p.epochs})` : p.message,
        ),
      ),
    );

  ctx.handle(rpc.quantize, async (params, token) => {
    const registry = ctx.registry();
    const path = ctx.configPath(params.configUri);
    const r = await optimiseJob(
      `ModelOps: quantising ${params.ref} to ${params.dtype}`,
      params.workDoneToken,
      token,
      (signal, onProgress) =>
        quantizeVersion({ registry, ref: params.ref, dtype: params.dtype, configPath: path, signal, onProgress }),
    );
    return summarise(r, 'quantize');
  });

  ctx.handle(rpc.prune, async (params, token) => {
    const registry = ctx.registry();
    const path = ctx.configPath(params.configUri);
    const r = await optimiseJob(
      `ModelOps: pruning ${params.ref} to sparsity ${params.sparsity}`,
      params.workDoneToken,
      token,
      (signal, onProgress) =>
        pruneVersion({
          registry,
          ref: params.ref,
          sparsity: params.sparsity,
          epochs: params.epochs,
          schedule: params.schedule,
          configPath: path,
          signal,
          onProgress,
        }),
    );
    return summarise(r, 'prune');
  });
}
