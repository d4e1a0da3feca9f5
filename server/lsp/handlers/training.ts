/** Training and evaluation requests on the sidecar: progress, cancellation, trust. */
import { isAbsolute, resolve } from 'node:path';
import type { ServerContext } from '../context';
import { withWorkDone } from '../workDone';
import { training as rpc } from '../../protocol';
import { ModelOpsError } from '../../engine/errors';
import { train } from '../../engine/training/trainer';
import { evaluateVersion } from '../../engine/evaluation/evaluate';
import { defaultPredictionsPath, predictFile } from '../../engine/evaluation/predictFile';
import { ensureBackend, isDeterministic, parseBackendChoice } from '../../engine/tfjs/load';

export function registerTraining(ctx: ServerContext): void {
  let running: string | null = null;
  /** A path the client gave, relative to the workspace folder unless absolute. */
  const inWorkspace = (path: string): string => (isAbsolute(path) ? path : resolve(ctx.requireRoot(), path));

  ctx.handle(rpc.train, async (params, token) => {
    if (!ctx.trusted()) {
      throw new ModelOpsError(
        'untrusted-workspace',
        'Training is disabled in an untrusted workspace: it would read and run what the workspace configures.',
        'Trust the workspace (Manage Workspace Trust) to train.',
      );
    }
    if (running)
      throw new ModelOpsError(
        'training-busy',
        `A training run is already in progress (${running}).`,
        'Wait for it to finish or cancel it.',
      );
    const path = ctx.configPath(params.configUri);
    const registry = ctx.registry();
    let lastEpoch = 0;
    running = path;
    try {
      return await withWorkDone(
        ctx,
        { title: 'ModelOps: training', workDoneToken: params.workDoneToken, cancel: token, message: 'starting' },
        async (work) => {
          const result = await train({
            configPath: path,
            registry,
            backend: params.backend,
            note: params.note,
            trusted: true,
            signal: work.signal,
            onProgress: (p) => {
              work.report(p.fraction, p.message);
              if (p.runId && p.epoch > lastEpoch && Object.keys(p.metrics).length > 0) {
                lastEpoch = p.epoch;
                ctx.notify(rpc.trainProgress, { runId: p.runId, epoch: p.epoch, epochs: p.epochs, metrics: p.metrics });
              }
            },
            onLog: (line) => ctx.notify(rpc.trainLog, { runId: null, line }),
          });
          ctx.log(
            `training: ${result.version.model}@${result.version.version} on ${result.backend} (${result.notes.join('; ')})`,
          );
          return {
            run: result.run,
            version: result.version,
            metrics: result.metrics,
            gates: result.gates,
            backend: result.backend,
            samplesPerSecond: result.samplesPerSecond,
            epochsRun: result.epochsRun,
            stoppedEarly: result.stoppedEarly,
            notes: result.notes,
          };
        },
      );
    } finally {
      running = null;
    }
  });

  ctx.handle(rpc.evaluate, (params, token) =>
    withWorkDone(
      ctx,
      {
        title: `ModelOps: evaluating ${params.ref}`,
        workDoneToken: params.workDoneToken,
        cancel: token,
        measured: false,
      },
      (work) =>
        evaluateVersion({
          registry: ctx.registry(),
          ref: params.ref,
          configPath: ctx.configPath(params.configUri),
          dataPath: params.data ? inWorkspace(params.data) : undefined,
          gate: params.gate,
          signal: work.signal,
        }),
    ),
  );

  ctx.handle(rpc.predictFile, (params, token) =>
    withWorkDone(
      ctx,
      {
        title: `ModelOps: predicting with ${params.ref}`,
        workDoneToken: params.workDoneToken,
        cancel: token,
        message: 'reading the file',
      },
      (work) => {
        const data = inWorkspace(params.data);
        return predictFile({
          registry: ctx.registry(),
          ref: params.ref,
          dataPath: data,
          out: params.out ?? defaultPredictionsPath(data),
          force: params.force,
          keep: params.keep,
          signal: work.signal,
          onProgress: (p) => work.report(p.bytes / p.totalBytes, `${p.rows.toLocaleString('en-US')} rows scored`),
        });
      },
    ),
  );

  ctx.handle(rpc.backend, async (params) => {
    const info = await ensureBackend(parseBackendChoice(params?.backend));
    return { name: info.name, requested: info.requested, notes: info.notes, deterministic: isDeterministic(info.name) };
  });
}
