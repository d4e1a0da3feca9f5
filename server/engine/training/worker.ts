/**
 * The training worker thread (bundled as dist/trainWorker.js). Owns TensorFlow.js while
 * training so the sidecar's main thread keeps answering the editor. Receives encoded tensors,
 * trains epoch by epoch with a seeded shuffle, posts metrics, writes model.json + weights.bin.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isModelOpsError } from '../errors';
import { ensureBackend, tf } from '../tfjs/backend';
import { bundleSaveHandler, predictMatrix } from '../model/bundle';
import { runTraining } from './loop';
import type { TrainJob, WorkerInit, WorkerMessage } from './messages';

const port = parentPort;
if (!port) throw new Error('worker.ts must run as a worker thread');
const init = workerData as WorkerInit;
const cancel = new Int32Array(init.cancelFlag);
const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

async function main(): Promise<void> {
  const backend = await ensureBackend(init.backend);
  post({ type: 'ready', backend });
  port!.once('message', (job: TrainJob) => {
    train(job).catch((e: unknown) => {
      post(
        isModelOpsError(e)
          ? { type: 'error', code: e.code, message: e.message, hint: e.hint }
          : { type: 'error', code: 'training-failed', message: e instanceof Error ? e.message : String(e) },
      );
    });
  });
}

async function train(job: TrainJob): Promise<void> {
  const result = await runTraining(job, {
    isCancelled: () => Atomics.load(cancel, 0) !== 0,
    onEpoch: (epoch, metrics, samplesPerSecond) =>
      post({ type: 'epoch', epoch, epochs: job.epochs, metrics, samplesPerSecond }),
  });
  const { model } = result;
  try {
    const outputs: Record<string, Float32Array> = {};
    let outputWidth = job.outputWidth;
    if (!result.cancelled) {
      for (const p of job.predict) {
        const r = await predictMatrix(model, p.x, p.n, job.network.inputWidth);
        outputs[p.name] = r.outputs;
        outputWidth = r.width;
      }
      await model.save(bundleSaveHandler(job.bundleDir));
    }
    post(
      {
        type: 'done',
        cancelled: result.cancelled,
        epochsRun: result.epochsRun,
        stoppedEarly: result.stoppedEarly,
        samplesPerSecond: result.samplesPerSecond,
        outputs,
        outputWidth,
        notes: result.notes,
      },
      Object.values(outputs).map((o) => o.buffer as ArrayBuffer),
    );
  } finally {
    model.dispose();
    tf.disposeVariables();
  }
}

main().catch((e: unknown) => {
  post({
    type: 'error',
    code: 'backend-unavailable',
    message: e instanceof Error ? e.message : String(e),
    hint: isModelOpsError(e) ? e.hint : undefined,
  });
});
