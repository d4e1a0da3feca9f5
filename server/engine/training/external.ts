/**
 * External trainer (`model.framework: command`, `train.command`): runs the user's command in
 * the config's directory, only when the caller says the workspace is trusted. The protocol
 * (docs/external-trainer.md): environment MODELOPS_RUN_ID, MODELOPS_RUN_DIR,
 * MODELOPS_METRICS_FILE; JSON lines `{"step": 3, "metrics": {"loss": 0.31}}` on stdout become
 * run metrics (any other line is a log line); the metrics file is read at exit; on exit 0 the
 * declared `train.outputs` is registered; a non-zero exit fails the run with the last 20
 * lines of stderr. An `.onnx` output is wrapped as an ONNX bundle (configured by `model.onnx`),
 * evaluated on the test split and gated exactly as a TF.js version is; any other output is
 * registered with its gates recorded as "not evaluated", so it is never taken for passed.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describeError, ModelOpsError } from '../errors';
import type { LoadedConfig } from '../config/types';
import type { DatasetRef, GateReport, Registry, RunRecord } from '../registry/types';
import { digestFile, recordDatasets } from '../data/digest';
import { loadTrainingData, type LoadedData } from '../data/splits';
import { sameRowsResolver, scoreRuntime } from '../evaluation/evaluate';
import { evaluateGates, gateLabel, notEvaluatedReport } from '../evaluation/gates';
import { flattenMetrics, type MetricsReport } from '../evaluation/metrics';
import { openOnnxFile } from '../runtime/onnx';
import type { OnnxBundleSpec } from '../runtime/types';
import { onnxSpecFromConfig, rawFeatures } from '../runtime/fromConfig';
import type { TrainProgress, TrainResult } from './types';
import { snapshotConfig } from './snapshot';

export interface ExternalOptions {
  registry: Registry;
  trusted: boolean;
  onProgress?: (p: TrainProgress) => void;
  onLog?: (line: string) => void;
  signal?: AbortSignal;
  note?: string;
}

const STDERR_TAIL = 20;

/**
 * How an aborted job's run is recorded. A plain abort (Ctrl-C, SIGTERM, the editor's cancel)
 * is a cancellation; an abort whose reason is a ModelOpsError 'interrupted' (the terminal hung
 * up, the output pipe closed) is a failure with that reason as the run's error.
 */
export function abortOutcome(signal: AbortSignal | undefined): {
  status: 'cancelled' | 'failed';
  error: string | null;
} {
  const reason: unknown = signal?.reason;
  if (reason instanceof ModelOpsError && reason.code === 'interrupted')
    return { status: 'failed', error: reason.message };
  return { status: 'cancelled', error: null };
}

/** Parses one stdout line: a metrics point, or null for a log line. */
export function parseMetricsLine(line: string): { step: number | null; metrics: Record<string, number> } | null {
  const t = line.trim();
  if (!t.startsWith('{')) return null;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  if (!o.metrics || typeof o.metrics !== 'object' || Array.isArray(o.metrics)) return null;
  const metrics: Record<string, number> = {};
  for (const [k, x] of Object.entries(o.metrics as Record<string, unknown>))
    if (typeof x === 'number' && Number.isFinite(x)) metrics[k] = x;
  const step = typeof o.step === 'number' && Number.isFinite(o.step) ? Math.trunc(o.step) : null;
  return { step, metrics };
}

/** Reads the metrics file: JSON lines of points, or one JSON object (flat, or with `metrics`). */
export async function readMetricsFile(
  path: string,
): Promise<Array<{ step: number | null; metrics: Record<string, number> }>> {
  if (!existsSync(path)) return [];
  const text = (await readFile(path, 'utf8')).trim();
  if (!text) return [];
  try {
    const whole = JSON.parse(text) as unknown;
    if (whole && typeof whole === 'object' && !Array.isArray(whole)) {
      const asPoint = parseMetricsLine(JSON.stringify(whole));
      if (asPoint) return [asPoint];
      const flat = parseMetricsLine(JSON.stringify({ metrics: whole }));
      return flat ? [flat] : [];
    }
  } catch {
    // Not one JSON document: JSON lines.
  }
  return text
    .split(/\r?\n/)
    .map(parseMetricsLine)
    .filter((p): p is NonNullable<typeof p> => p !== null);
}

export async function runExternalTrainer(loaded: LoadedConfig, options: ExternalOptions): Promise<TrainResult> {
  const { config } = loaded;
  const { registry } = options;
  const command = config.train.command;
  if (!command) {
    throw new ModelOpsError(
      'no-command',
      `${loaded.path}: model.framework is 'command' but train.command is not set.`,
      'Set train.command, e.g. python train.py.',
    );
  }
  if (!options.trusted) {
    throw new ModelOpsError(
      'untrusted-workspace',
      `Not running train.command '${command}': this workspace is not trusted.`,
      'Trust the workspace (Workspace Trust) to run commands from it.',
    );
  }
  if (!config.train.outputs) {
    throw new ModelOpsError(
      'no-outputs',
      `${loaded.path}: train.outputs is not set, so there is nothing to register after '${command}'.`,
      'Set train.outputs to the model file or directory the command writes.',
    );
  }
  if (options.signal?.aborted)
    throw new ModelOpsError('cancelled', 'Training was cancelled.', 'Start it again when you are ready.');
  const configDir = dirname(loaded.path);
  let run: RunRecord = registry.createRun({
    kind: 'train',
    model: config.model.name,
    params: {
      command,
      outputs: config.train.outputs,
      metricsFile: config.train.metrics ?? null,
      configDigest: loaded.digest,
    },
    backend: 'command',
  });
  const runDir = join(registry.storeDir, 'runs', run.id);
  await mkdir(runDir, { recursive: true });
  const metricsFile = config.train.metrics ? resolve(configDir, config.train.metrics) : join(runDir, 'metrics.jsonl');
  const log = createWriteStream(join(runDir, 'train.log'));
  const epochs = config.train.epochs > 0 ? config.train.epochs : 0;
  const stderrTail: string[] = [];
  let last: Record<string, number> = {};
  let autoStep = 0;
  const record = (p: { step: number | null; metrics: Record<string, number> }) => {
    const step = p.step ?? ++autoStep;
    autoStep = Math.max(autoStep, step);
    registry.appendRunMetrics(run.id, step, p.metrics);
    last = { ...last, ...p.metrics };
    const loss = p.metrics.loss;
    options.onProgress?.({
      runId: run.id,
      epoch: step,
      epochs,
      fraction: epochs ? Math.min(0.95, step / epochs) : 0,
      metrics: p.metrics,
      message: `step ${step}${epochs ? `/${epochs}` : ''}${loss !== undefined ? ` · loss ${loss.toFixed(3)}` : ''}`,
    });
  };

  try {
    options.onProgress?.({ runId: run.id, epoch: 0, epochs, fraction: 0, metrics: {}, message: `running ${command}` });
    const child = spawn(command, {
      shell: true,
      cwd: configDir,
      env: { ...process.env, MODELOPS_RUN_ID: run.id, MODELOPS_RUN_DIR: runDir, MODELOPS_METRICS_FILE: metricsFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let cancelled = false;
    const onAbort = () => {
      cancelled = true;
      child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 5000).unref();
    };
    options.signal?.addEventListener('abort', onAbort);
    const out = createInterface({ input: child.stdout });
    out.on('line', (line) => {
      log.write(`${line}\n`);
      const point = parseMetricsLine(line);
      if (point) {
        if (Object.keys(point.metrics).length) record(point);
      } else options.onLog?.(line);
    });
    const err = createInterface({ input: child.stderr });
    err.on('line', (line) => {
      log.write(`[stderr] ${line}\n`);
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL) stderrTail.shift();
      options.onLog?.(line);
    });
    const code = await new Promise<number | null>((res, rej) => {
      child.on('error', rej);
      child.on('close', (c, sig) => res(c ?? (sig ? 128 : null)));
    });
    options.signal?.removeEventListener('abort', onAbort);
    if (cancelled)
      throw new ModelOpsError('cancelled', 'Training was cancelled.', 'Start it again when you are ready.');
    if (code !== 0) {
      throw new ModelOpsError(
        'trainer-failed',
        `'${command}' exited with code ${code}.${stderrTail.length ? `\nLast lines of stderr:\n${stderrTail.join('\n')}` : ''}`,
        'Fix the training script; the run output is in ' + join(runDir, 'train.log') + '.',
      );
    }
    if (autoStep === 0) for (const p of await readMetricsFile(metricsFile)) record(p);
    else last = { ...last, ...Object.assign({}, ...(await readMetricsFile(metricsFile)).map((p) => p.metrics)) };
    const source = resolve(configDir, config.train.outputs);
    if (!existsSync(source)) {
      throw new ModelOpsError(
        'output-missing',
        `'${command}' succeeded but did not write train.outputs (${config.train.outputs}).`,
        'Make the command write its model to that path, or fix train.outputs.',
      );
    }
    const isOnnx = /\.onnx$/i.test(source) && statSync(source).isFile();
    const datasets: DatasetRef[] = [];
    let data: LoadedData | null = null;
    let onnx: OnnxBundleSpec | undefined;
    if (isOnnx) {
      // The ONNX output is wrapped as a bundle (spec from model.onnx, profile from the training rows), then evaluated and gated like a TF.js version.
      options.onProgress?.({
        runId: run.id,
        epoch: autoStep,
        epochs,
        fraction: 0.96,
        metrics: last,
        message: `checking ${config.train.outputs}`,
      });
      data = await loadTrainingData(
        { ...config.data, features: rawFeatures(config) },
        { configDir, root: registry.root },
      );
      onnx = await onnxSpecFromConfig(source, config, data);
      datasets.push(...(await recordDatasets(registry, data.files)));
    } else {
      const trainData = resolve(configDir, config.data.train);
      if (existsSync(trainData))
        datasets.push({ role: 'train', path: config.data.train, digest: await digestFile(trainData) });
    }
    const hasGates = Object.keys(config.evaluate.gates).length > 0;
    let report: MetricsReport | null = null;
    let metrics = last;
    let notEvaluated: string | null = null;
    const notes: string[] = [];
    if (isOnnx && onnx) {
      options.onProgress?.({
        runId: run.id,
        epoch: autoStep,
        epochs,
        fraction: 0.97,
        metrics: last,
        message: `evaluating ${config.train.outputs} on the test split`,
      });
      // A file that cannot be loaded fails the run here, before anything is registered.
      const rt = await openOnnxFile(source, onnx);
      try {
        report = (
          await scoreRuntime(rt, {
            ref: config.train.outputs,
            config,
            configPath: loaded.path,
            root: registry.root,
            signal: options.signal,
          })
        ).report;
        // The metrics ModelOps computed on the test split are the version's; the trainer's own stay where they do not overlap.
        metrics = { ...last, ...flattenMetrics(report) };
        notes.push(...report.notes);
      } catch (e) {
        if (e instanceof ModelOpsError && e.code === 'cancelled') throw e;
        notEvaluated = `evaluating ${config.train.outputs} on the test split failed: ${e instanceof ModelOpsError ? e.message : describeError(e)}`;
        notes.push(notEvaluated);
      } finally {
        rt.dispose();
      }
    } else {
      notEvaluated = `train.outputs '${config.train.outputs}' is not an .onnx file, so ModelOps cannot run it; only an .onnx output is evaluated on the test split`;
      notes.push(notEvaluated);
    }
    let version = await registry.registerVersion({
      model: config.model.name,
      source,
      metrics,
      runId: run.id,
      configPath: await snapshotConfig(registry, run.id, loaded),
      datasets,
      note: options.note ?? `trained by ${command}`,
      ...(onnx ? { onnx } : {}),
    });
    const ref = `${version.model}@${version.version}`;
    let gates: GateReport | null = null;
    if (hasGates) {
      gates =
        report && !notEvaluated
          ? evaluateGates({
              gates: config.evaluate.gates,
              metrics,
              // The version holding a gate's alias is scored on the same test split (like with like).
              resolveAlias: await sameRowsResolver(registry, config.model.name, config.evaluate.gates, {
                config,
                configPath: loaded.path,
                root: registry.root,
                signal: options.signal,
                skip: version.version,
              }),
            })
          : notEvaluatedReport(config.evaluate.gates, notEvaluated ?? 'no evaluation ran');
      version = registry.recordGates(ref, gates);
    }
    run = registry.finishRun(run.id, { status: 'succeeded', version: version.version, metrics });
    options.onProgress?.({
      runId: run.id,
      epoch: autoStep,
      epochs,
      fraction: 1,
      metrics,
      message: `registered ${ref}${gates ? ` (${gateLabel(gates)})` : ''}`,
    });
    return {
      run,
      version,
      metrics,
      report,
      gates,
      backend: 'command',
      samplesPerSecond: 0,
      epochsRun: autoStep,
      stoppedEarly: false,
      missing: null,
      notes,
    };
  } catch (e) {
    const cancelled = e instanceof ModelOpsError && e.code === 'cancelled';
    const outcome = cancelled ? abortOutcome(options.signal) : { status: 'failed' as const, error: describeError(e) };
    try {
      registry.finishRun(run.id, { ...outcome, metrics: last });
    } catch {
      // Keep the original error.
    }
    throw e;
  } finally {
    log.end();
  }
}
