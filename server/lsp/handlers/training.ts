/** Training and evaluation requests on the sidecar: progress, cancellation, trust. */
import { isAbsolute, resolve } from 'node:path';
import type { ServerContext } from '../context';
import { training as rpc } from '../../protocol';
import { ModelOpsError } from '../../engine/errors';
import { train } from '../../engine/training/trainer';
import { evaluateVersion } from '../../engine/evaluation/evaluate';
import { defaultPredictionsPath, predictFile } from '../../engine/evaluation/predictFile';
import { ensureBackend, isDeterministic, parseBackendChoice } from '../../engine/tfjs/load';

export function registerTraining(ctx: ServerContext): void {
  let running: string | null = null;

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
    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort());
    const progress = ctx.connection.window.attachWorkDoneProgress(params.workDoneToken);
    progress.begin('ModelOps: training', 0, 'starting', true);
    let lastEpoch = 0;
    running = path;
    try {
      const result = await train({
        configPath: path,
        registry,
        backend: params.backend,
        note: params.note,
        trusted: true,
        signal: controller.signal,
        onProgress: (p) => {
          progress.report(Math.round(p.fraction * 100), p.message);
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
    } finally {
      running = null;
      sub.dispose();
      progress.done();
    }
  });

  ctx.handle(rpc.evaluate, async (params, token) => {
    const registry = ctx.registry();
    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort());
    const progress = ctx.connection.window.attachWorkDoneProgress(params.workDoneToken);
    progress.begin(`ModelOps: evaluating ${params.ref}`, undefined, undefined, true);
    try {
      const data = params.data
        ? isAbsolute(params.data)
          ? params.data
          : resolve(ctx.requireRoot(), params.data)
        : undefined;
      return await evaluateVersion({
        registry,
        ref: params.ref,
        configPath: ctx.configPath(params.configUri),
        dataPath: data,
        gate: params.gate,
        signal: controller.signal,
      });
    } finally {
      sub.dispose();
      progress.done();
    }
  });

  ctx.handle(rpc.predictFile, async (params, token) => {
    const registry = ctx.registry();
    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort());
    const progress = ctx.connection.window.attachWorkDoneProgress(params.workDoneToken);
    progress.begin(`ModelOps: predicting with ${params.ref}`, 0, 'reading the file', true);
    try {
      const data = isAbsolute(params.data) ? params.data : resolve(ctx.requireRoot(), params.data);
      return await predictFile({
        registry,
        ref: params.ref,
        dataPath: data,
        out: params.out ?? defaultPredictionsPath(data),
        force: params.force,
        keep: params.keep,
        signal: controller.signal,
        onProgress: (done, total) =>
          progress.report(
            Math.round((done / total) * 100),
            `${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} rows`,
          ),
      });
    } finally {
      sub.dispose();
      progress.done();
    }
  });

  ctx.handle(rpc.backend, async (params) => {
    const info = await ensureBackend(parseBackendChoice(params?.backend));
    return { name: info.name, requested: info.requested, notes: info.notes, deterministic: isDeterministic(info.name) };
  });
}
