/**
 * Retraining from production traffic (`modelops train --from-traffic <target>`): the logged
 * inputs of a target's predictions joined with the labels that arrived as feedback
 * (`labelledTraffic`), optionally mixed with rows of the original `data.train`, written as a CSV
 * in the config's column layout, stored as a data version, then trained through the normal
 * trainer with that file as `data.train`; the config's gates (e.g. `>= production - 0.01`) judge
 * the new version. Rows are never invented: predictions without feedback are left out and counted.
 * The log of a `local` target is read where its server writes it; an `http` target's (a ModelOps
 * model server elsewhere) is downloaded with the target's token (monitoring/logSource.ts).
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { DataConfig, LoadedConfig } from '../config/types';
import { ModelOpsError } from '../errors';
import { recordDatasets } from '../data/digest';
import { readDataset, type Row } from '../data/read';
import { csvCell } from '../data/write';
import { seededPermutation } from '../data/split';
import { labelledTraffic, type LabelledTraffic } from '../monitoring/export';
import { resolveSince } from '../monitoring/since';
import { downloadRemoteLog } from '../monitoring/logSource';
import { ModelServerClient } from '../deploy/client';
import { checkedRecord, localUrl, readLocalToken, verifyLocalServer } from '../deploy/localServer';
import type { TokenFor } from '../deploy/tokens';
import { targetConfig } from '../deploy/deploy';
import type { Digest, Registry } from '../registry/types';
import { trainWithConfig, type TrainOptions } from './trainer';
import type { TrainResult } from './types';
import { workspacePath } from '../paths';

/** Labelled rows needed by default: fewer say more about the noise than about the traffic. */
export const DEFAULT_MIN_ROWS = 50;

/**
 * `--mix original:F`: F of the written rows come from the original `data.train`, F in [0, 1).
 * original:0.5 is as many original rows as labelled traffic rows; original:0.2 is one original row
 * for every four traffic rows.
 */
export function parseMix(text: string): number {
  const m = /^original:(\d*\.?\d+)$/.exec(text.trim());
  const f = m ? Number(m[1]) : NaN;
  if (!(f >= 0 && f < 1)) {
    throw new ModelOpsError(
      'bad-mix',
      `--mix '${text}' is not original:<fraction> with a fraction from 0 up to (not including) 1.`,
      'e.g. --mix original:0.5 for half the rows from data.train and half from traffic; original:0 or no --mix for traffic only.',
    );
  }
  return f;
}

/** The fewest rows loadTrainingData's split turns into a non-empty train part and non-empty validation/test parts. */
export function splitMinimum(data: DataConfig): number {
  const val = data.validation ? 0 : data.split.validation;
  const test = data.test ? 0 : data.split.test;
  const sum = data.split.train + val + test;
  for (let n = 1; n < 10_000; n++) {
    let nVal = Math.round((n * val) / sum);
    let nTest = Math.round((n * test) / sum);
    if (val > 0 && nVal === 0 && n >= 3) nVal = 1;
    if (test > 0 && nTest === 0 && n >= 3) nTest = 1;
    if (n - nVal - nTest >= 1 && (val === 0 || nVal > 0) && (test === 0 || nTest > 0)) return n;
  }
  return 10_000;
}

export interface TrafficDatasetOptions {
  registry: Registry;
  loaded: LoadedConfig;
  /** Deploy target whose prediction log is read. */
  target: string;
  /** Served model whose traffic is read; default model.name. */
  model?: string;
  /** `--since` as written (`deploy`, an ISO time or a duration); default the whole log. */
  since?: string;
  /** Fraction of the written rows taken from data.train (see parseMix); default 0. */
  mix?: number;
  /** Labelled traffic rows needed; default DEFAULT_MIN_ROWS. */
  minRows?: number;
  /** Where to write the CSV (absolute); default .modelops/traffic/<timestamp>.csv. */
  out?: string;
  /** Prediction index range [from, to) in log order, for callers that know it (the demo). */
  from?: number;
  to?: number;
  /** The prediction log directory; default the local target's, or a download of the http target's. */
  logDir?: string;
  /**
   * The target's token: an http target's, to download its log; a local target's configured one
   * (tokenSecret), to ask its running server to flush (default its token file).
   */
  tokenFor?: TokenFor;
  /** False in an untrusted workspace: an http target's log is not downloaded. */
  trusted?: boolean;
  now?: Date;
}

/** Where the log came from, and whether its server wrote what it buffered first. */
export interface TrafficLogSource {
  /** 'local': the target's log in the workspace store; 'http': downloaded from the endpoint; 'dir': a directory the caller gave. */
  kind: 'local' | 'http' | 'dir';
  /** The endpoint (http targets), without credentials or query; else null. */
  url: string | null;
  /** Bytes of log read (http targets); else null. */
  bytes: number | null;
  /** Of which fetched from the endpoint for this read (the rest was already in the workspace's copy); else null. */
  fetched: number | null;
  /** Whether the server flushed its buffered lines before the log was read. */
  flushed: boolean;
  /** Why an http endpoint did not flush (it answered 404/405/409/501): the log may miss its last lines. */
  note: string | null;
}

export interface TrafficDataset {
  /** Absolute path of the written CSV, and as recorded (workspace-relative). */
  path: string;
  displayPath: string;
  digest: Digest;
  columns: string[];
  rows: number;
  target: string;
  model: string;
  /** ISO time the rows start from, or null for the whole log. */
  since: string | null;
  /** What the log held in the period. */
  traffic: Pick<LabelledTraffic, 'predictions' | 'unlabelled' | 'beforeSince' | 'unmatchedFeedback' | 'period'> & {
    labelled: number;
  };
  /** Rows taken from data.train: requested fraction, rows, and the fraction they are of the file. */
  original: { requested: number; rows: number; fraction: number; path: string } | null;
  source: TrafficLogSource;
}

const n = (x: number): string => x.toLocaleString('en-US');

/** A fresh file name under .modelops/traffic: the time, safe on every file system. */
function defaultOut(storeDir: string, now: Date): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  let path = join(storeDir, 'traffic', `${stamp}.csv`);
  for (let k = 2; existsSync(path); k++) path = join(storeDir, 'traffic', `${stamp}-${k}.csv`);
  return path;
}

/**
 * A running local server of the target holds up to 200 ms of predictions and feedback in memory
 * before it appends them to its log: ask it to write them, so what it answered just before this
 * call is read too. Only a server that proves it holds the target's token is asked; when none
 * runs (or none proves it is ours, or it cannot flush) the log on disk is read as it is.
 * Returns whether the server flushed.
 */
export async function flushLocalServerLog(
  registry: Registry,
  config: LoadedConfig['config'],
  target: string,
  tokenFor?: TokenFor,
): Promise<boolean> {
  const t = config.deploy?.targets?.[target];
  if (t && t.type !== 'local') return false;
  try {
    const rec = checkedRecord(registry.storeDir, target, localUrl(target, t?.host, t?.port));
    if (!rec) return false;
    // A configured token (tokenSecret) is the one the server was started with; else the token file.
    const token = (t && tokenFor ? await tokenFor(target, t) : null) ?? readLocalToken(registry.storeDir, target);
    if (!token || !(await verifyLocalServer(rec.url, token))) return false;
    await new ModelServerClient({ target, url: rec.url, token, timeoutMs: 30_000 }).flushLog();
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds the retraining dataset from a target's labelled traffic, writes it and stores it as a
 * data version. Refuses ('traffic-too-few') before writing anything when there are too few
 * labelled rows.
 */
export async function buildTrafficDataset(options: TrafficDatasetOptions): Promise<TrafficDataset> {
  const { registry, loaded, target } = options;
  const { config } = loaded;
  const model = options.model ?? config.model.name;
  const now = options.now ?? new Date();
  const sinceMs =
    options.since !== undefined ? resolveSince(options.since, { registry, target, model }, now) : undefined;
  const since = sinceMs !== undefined ? new Date(sinceMs).toISOString() : null;
  const minRows = options.minRows ?? DEFAULT_MIN_ROWS;
  const mix = options.mix ?? 0;
  if (!(mix >= 0 && mix < 1))
    throw new ModelOpsError(
      'bad-mix',
      `The original-data fraction ${mix} is outside [0, 1).`,
      'Give a fraction from 0 up to (not including) 1.',
    );

  const { logDir, source } = await trafficLog(options, model, since);
  const traffic = await labelledTraffic({
    registry,
    config,
    target,
    model,
    since: sinceMs,
    from: options.from,
    to: options.to,
    logDir,
  });
  const labelled = traffic.rows.length;
  const counts = {
    predictions: traffic.predictions,
    labelled,
    unlabelled: traffic.unlabelled,
    beforeSince: traffic.beforeSince,
    unmatchedFeedback: traffic.unmatchedFeedback,
    period: traffic.period,
  };
  const periodText = since
    ? `since ${since} (--since ${options.since})`
    : traffic.period
      ? `from ${traffic.period.first} to ${traffic.period.last}`
      : 'in the whole log';
  const summary = `${n(traffic.predictions)} predictions of ${model} on target '${target}' ${periodText}, ${n(labelled)} with labels`;
  // With --since, an empty download means no log file written since then: too few rows, said below.
  if (source.kind === 'http' && source.bytes === 0 && since === null) {
    throw new ModelOpsError(
      'traffic-too-few',
      `Target '${target}' at ${source.url} sent an empty prediction log for ${model}: it has logged no prediction of ${model}.`,
      `Send predictions to POST ${source.url}/v2/models/${model}/infer and their labels to /v2/models/${model}/feedback, or check that the endpoint serves ${model} under that name.`,
    );
  }
  if (labelled < minRows) {
    throw new ModelOpsError(
      'traffic-too-few',
      `Only ${n(labelled)} labelled rows to retrain on: ${summary}; at least ${n(minRows)} are needed${traffic.unmatchedFeedback ? ` (${n(traffic.unmatchedFeedback)} feedback for unknown request ids ignored)` : ''}.`,
      `Wait for more feedback (POST /v2/models/${model}/feedback with {"id": <request id>, "labels": [...]}), widen --since${options.since ? '' : ' (it is the whole log now)'}, or lower --min-rows.`,
    );
  }

  // The config's layout: its features (or the served model's), then its target.
  const trafficTarget = traffic.columns[traffic.columns.length - 1];
  const trafficFeatures = traffic.columns.slice(0, -1);
  const features = config.data.features ?? trafficFeatures;
  const missing = features.filter((f) => !trafficFeatures.includes(f));
  if (missing.length) {
    throw new ModelOpsError(
      'traffic-columns',
      `data.features names ${missing.map((f) => `'${f}'`).join(', ')}, which ${model}'s logged inputs on '${target}' do not carry (they carry ${trafficFeatures.join(', ')}).`,
      'Retrain from traffic with the features the served version takes, or train on a file (modelops train --data) for new features.',
    );
  }
  const columns = [...features, config.data.target];
  const rows: Row[] = traffic.rows.map((r) => ({
    ...Object.fromEntries(features.map((f) => [f, r[f]])),
    [config.data.target]: r[trafficTarget],
  }));

  let original: TrafficDataset['original'] = null;
  if (mix > 0) {
    const path = resolve(dirname(loaded.path), config.data.train);
    const name = workspacePath(registry.root, path);
    const ds = await readDataset(path, {
      format: config.data.format,
      require: columns.map((c) => ({ name: c, role: c === config.data.target ? 'target' : 'feature' })),
      displayName: name,
    });
    const want = Math.round((labelled * mix) / (1 - mix));
    const take = Math.min(want, ds.rows.length);
    // Drawn without replacement in the split's seeded order, so the same config picks the same rows.
    const perm = seededPermutation(ds.rows.length, config.data.split.seed);
    for (let i = 0; i < take; i++) {
      const r = ds.rows[perm[i]];
      rows.push(Object.fromEntries(columns.map((c) => [c, r[c]])));
    }
    original = { requested: mix, rows: take, fraction: take / (labelled + take), path: name };
  }
  const needed = splitMinimum(config.data);
  if (rows.length < needed) {
    throw new ModelOpsError(
      'traffic-too-few',
      `Only ${n(rows.length)} rows to retrain on (${summary}); data.split needs at least ${n(needed)} for non-empty train, validation and test parts.`,
      'Wait for more feedback, widen --since, or mix in original rows with --mix original:0.5.',
    );
  }

  const path = options.out ?? defaultOut(registry.storeDir, now);
  if (options.out && existsSync(path)) {
    throw new ModelOpsError(
      'data-out-exists',
      `${workspacePath(registry.root, path)} already exists; nothing was written.`,
      'Give another --out path, or leave --out out to write under .modelops/traffic/.',
    );
  }
  await mkdir(dirname(path), { recursive: true });
  const text =
    [columns.map(csvCell).join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, text, { mode: 0o600 }); // request data: owner only, as the prediction log
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }

  // Stored now, through the code every run's datasets go through, so it is a data version even if training fails.
  const displayPath = workspacePath(registry.root, path);
  const dataset = await readDataset(path, { format: 'csv', displayName: displayPath });
  const [ref] = await recordDatasets(registry, [{ role: 'train', dataset, displayPath }]);
  return {
    path,
    displayPath,
    digest: ref.digest,
    columns,
    rows: rows.length,
    target,
    model,
    since,
    traffic: counts,
    original,
    source,
  };
}

/** A URL for the record: no user name, password, query or fragment (they may hold secrets). */
function recordedUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`.replace(/\/+$/, '');
  } catch {
    return url;
  }
}

/**
 * The log directory to read and where it came from. Only the target's own log is a server's to
 * flush: a local target's running server, or the http endpoint the log is downloaded from.
 */
async function trafficLog(
  options: TrafficDatasetOptions,
  model: string,
  since: string | null,
): Promise<{ logDir: string | undefined; source: TrafficLogSource }> {
  const { registry, loaded, target } = options;
  const none = { url: null, bytes: null, fetched: null, note: null };
  if (options.logDir !== undefined) return { logDir: options.logDir, source: { kind: 'dir', ...none, flushed: false } };
  if (targetConfig(loaded.config, target).type === 'local') {
    const flushed = await flushLocalServerLog(registry, loaded.config, target, options.tokenFor);
    return { logDir: undefined, source: { kind: 'local', ...none, flushed } };
  }
  const remote = await downloadRemoteLog(
    {
      registry,
      config: loaded.config,
      tokenFor: options.tokenFor,
      trusted: options.trusted,
      flush: true,
      // Only the files written since then are sent; labelledTraffic still applies the time to each line.
      ...(since !== null ? { since } : {}),
    },
    target,
    model,
  );
  const url = recordedUrl(remote.url);
  const f = remote.flush;
  return {
    logDir: remote.dir,
    source: {
      kind: 'http',
      url,
      bytes: remote.bytes,
      fetched: remote.downloaded,
      flushed: f?.flushed === true,
      note:
        f && !f.flushed
          ? `not flushed first: POST /v2/repository/log/flush answered ${f.status} (${f.reason}); lines the endpoint still buffered may be missing`
          : null,
    },
  };
}

/** A shell word: as is when plain, else single-quoted. */
function shellArg(s: string): string {
  return /^[\w@.:/=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface NextCommand {
  action: 'promote' | 'deploy';
  command: string;
}

/** What to run after a version that passed: promote it to production, then deploy it to the target it was retrained for. */
export function nextCommands(ref: string, target: string, configArg?: string): NextCommand[] {
  const config = configArg ? ` --config ${shellArg(configArg)}` : '';
  return [
    {
      action: 'promote',
      command: `modelops versions promote ${shellArg(ref)} --alias production --reason ${shellArg(`retrained from traffic:${target}`)}`,
    },
    { action: 'deploy', command: `modelops deploy ${shellArg(ref)} --target ${shellArg(target)}${config}` },
  ];
}

export interface TrainFromTrafficOptions
  extends Omit<TrainOptions, 'configPath' | 'dataOverride'>, Omit<TrafficDatasetOptions, 'registry' | 'loaded'> {
  /** `--config` as the user gave it, repeated in the printed deploy command. */
  configArg?: string;
}

export interface TrainFromTrafficResult {
  dataset: TrafficDataset;
  train: TrainResult;
  /** The promote and deploy commands, when the version passed its gates (or there are none); else empty. */
  next: NextCommand[];
}

/** Builds and stores the traffic dataset, trains on it and judges the version with the config's gates. */
export async function trainFromTraffic(
  loaded: LoadedConfig,
  options: TrainFromTrafficOptions,
): Promise<TrainFromTrafficResult> {
  const { config } = loaded;
  if (config.model.framework !== 'tfjs') {
    throw new ModelOpsError(
      'traffic-unsupported',
      `${loaded.path}: model.framework is '${config.model.framework}'; retraining from traffic trains with TensorFlow.js (framework tfjs).`,
      config.model.framework === 'command'
        ? 'Export the traffic (modelops train --from-traffic writes .modelops/traffic/*.csv) and point train.command at it, or use framework tfjs.'
        : 'Retrain the model with the tool that made it, on the labelled traffic.',
    );
  }
  const dataset = await buildTrafficDataset({ ...options, registry: options.registry, loaded });
  const fromTraffic = {
    target: dataset.target,
    model: dataset.model,
    since: dataset.since,
    mix: dataset.original ? dataset.original.requested : null,
    dataset: dataset.digest,
    rows: dataset.rows,
    labelled: dataset.traffic.labelled,
    // An http target's rows came from this endpoint (a local target's from the workspace's own log).
    ...(dataset.source.url ? { endpoint: dataset.source.url } : {}),
  };
  const mixText = dataset.original ? `, ${n(dataset.original.rows)} from ${dataset.original.path}` : '';
  const train = await trainWithConfig(loaded, {
    configPath: loaded.path,
    backend: options.backend,
    onProgress: options.onProgress,
    signal: options.signal,
    trusted: options.trusted,
    onLog: options.onLog,
    registry: options.registry,
    runParams: { fromTraffic },
    dataOverride: dataset.path,
    note:
      options.note ??
      `retrained on traffic:${dataset.target}: ${n(dataset.traffic.labelled)} labelled predictions${dataset.since ? ` since ${dataset.since}` : ''}${mixText}`,
  });
  const passed = train.gates === null || train.gates.passed;
  const ref = `${train.version.model}@${train.version.version}`;
  return { dataset, train, next: passed ? nextCommands(ref, dataset.target, options.configArg) : [] };
}
