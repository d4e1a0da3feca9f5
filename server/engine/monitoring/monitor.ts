/**
 * Monitoring: the prediction log and feedback of a model on a target, cut into windows of
 * `monitor.window` predictions → per-window accuracy (or MAE/RMSE) where labels arrived and the
 * prediction distribution → a control chart with the Western Electric rules (server/engine/spc)
 * → drift of each feature and of the predictions against the version's reference profile →
 * alerts (registry + optional webhook).
 */
import { join } from 'node:path';
import type { ModelOpsConfig, MonitorConfig } from '../config/types';
import { configSchema, withDefaults } from '../config/schema';
import { describeError, ModelOpsError } from '../errors';
import type { CategoricalProfile, NumericProfile, ReferenceProfile, Task } from '../model/types';
import { loadRuntime } from '../runtime';
import type { AlertRecord, Registry } from '../registry/types';
import { buildControlChart, type ControlChartData, type ControlChartInputPoint } from '../spc';
import { binCounts, binEdges, psiFromCounts } from '../drift/psi';
import { ks2samp, ksStatistic } from '../drift/ks';
import { targetStoreDir } from '../deploy/localServer';
import { connectTarget } from '../deploy/deploy';
import type { TokenFor } from '../deploy/tokens';
import { sendWebhook, webhookUrl } from './webhook';
import { readPredictionLog, type Dictionary, type LogColumns, type LogFeature } from './readLog';
import { kthSmallest } from './select';

/**
 * What monitoring needs of a version, whatever its format: its raw input columns, task, labels
 * and reference profile (from the model runtime; a TF.js ModelManifest is one too).
 */
export interface MonitoredModel {
  task: Task;
  labels?: string[];
  target?: string;
  features: readonly LogFeature[];
  profile?: ReferenceProfile;
}

export interface MonitorWindow {
  index: number;
  /** ISO times of the first and last prediction. */
  start: string | null;
  end: string | null;
  count: number;
  /** Rows with a true label from feedback. */
  labelled: number;
  /** Version that served the window's last prediction. */
  version: string;
  accuracy: number | null;
  mae: number | null;
  rmse: number | null;
  /** Predicted label → count (classification). */
  distribution: Record<string, number>;
  /** Mean prediction (regression). */
  meanPrediction: number | null;
  /** Feature → drift score (PSI, or KS statistic D). */
  drift: Record<string, number>;
  /** Drift of the predictions. */
  predictionDrift: number;
  p50LatencyMs: number | null;
}

export interface DriftSummary {
  method: 'psi' | 'ks';
  threshold: number;
  /** Latest window against the reference. */
  features: Array<{ name: string; score: number; pValue: number | null; drifted: boolean }>;
  predictions: { score: number; pValue: number | null; drifted: boolean };
}

export interface MonitorResult {
  target: string;
  model: string;
  /** Version of the latest window (or the deployed one when there are none). */
  version: string | null;
  window: number;
  totalPredictions: number;
  /** Predictions after the last complete window. */
  pending: number;
  labelled: number;
  windows: MonitorWindow[];
  chart: ControlChartData | null;
  /** Window index of each chart point. */
  chartWindows: number[];
  /** Why there is no chart, when there is none. */
  chartNote: string | null;
  drift: DriftSummary | null;
  /** Alerts raised by this run (already recorded). */
  alerts: AlertRecord[];
  badLines: number;
  elapsedMs: number;
}

export interface MonitorOptions {
  registry: Registry;
  config: ModelOpsConfig;
  /** Default: monitor.target. */
  target?: string;
  /** Default: model.name. */
  model?: string;
  /** The model's log directory; default the local target's store (.modelops/serving/<target>/logs/<model>). */
  logDir?: string;
  /** Only the last N windows (the chart's baseline is then taken from them). */
  lastWindows?: number;
  /** Record alerts and call the webhook (default true). */
  alert?: boolean;
  webhookTimeoutMs?: number;
  onLog?: (message: string) => void;
  /** Token of an http target, whose log is downloaded through the management API. */
  tokenFor?: TokenFor;
  /** Where MODELOPS_WEBHOOK_<NAME> is read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** False in an untrusted workspace: no authenticated call and no call to a URL the workspace names. */
  trusted?: boolean;
  /** Columns, task, labels and profile of a version (default: the registered artifact through the model runtime). */
  manifestFor?: (version: string) => Promise<MonitoredModel | null>;
}

const RULE_TEXT: Record<number, string> = {
  1: 'one point beyond 3σ',
  2: 'two of three points beyond 2σ on one side',
  3: 'four of five points beyond 1σ on one side',
  4: 'eight points in a row on one side of the centre',
};

/**
 * `monitor:` of a normalised config (always filled); a config built by hand without it gets the
 * schema's defaults for its task, so no default is written down here.
 */
function monitorConfig(config: ModelOpsConfig): MonitorConfig {
  return config.monitor ?? (withDefaults(configSchema.properties.monitor, undefined, config.model.task) as MonitorConfig);
}

export async function monitor(options: MonitorOptions): Promise<MonitorResult> {
  const t0 = performance.now();
  const { registry, config } = options;
  const mc = monitorConfig(config);
  const target = options.target ?? mc.target;
  if (!target) throw new ModelOpsError('no-monitor-target', 'No target to monitor: modelops.yaml has no monitor.target.', 'Add monitor: { target: local } or pass --target.');
  const model = options.model ?? config.model.name;
  const windowSize = mc.window;
  const driftCfg = mc.drift;
  const chartCfg = mc.controlChart;

  const manifests = new Map<string, Promise<MonitoredModel | null>>();
  const loadErrors = new Map<string, string>();
  const manifestFor = (v: string): Promise<MonitoredModel | null> => {
    let p = manifests.get(v);
    if (!p) {
      p = (options.manifestFor ?? defaultManifestFor(registry, model))(v).catch((e: unknown) => {
        loadErrors.set(v, describeError(e));
        return null;
      });
      manifests.set(v, p);
    }
    return p;
  };

  const active = registry.activeDeployment(target, model);
  let primaryVersion = active?.version ?? null;
  if (!primaryVersion) {
    try {
      primaryVersion = registry.getVersion(model).version;
    } catch {
      primaryVersion = null;
    }
  }
  const primary = primaryVersion ? await manifestFor(primaryVersion) : null;
  if (!primary) {
    const why = primaryVersion ? loadErrors.get(primaryVersion) : undefined;
    throw new ModelOpsError(
      'no-manifest',
      `Cannot read the model bundle of ${model}${primaryVersion ? `@${primaryVersion}` : ''} to monitor it${why ? ` (${why})` : ''}.`,
      'Register and deploy a version first: a TF.js bundle trained here or an ONNX model.',
    );
  }

  const logDir = options.logDir ?? (await logDirFor(options, target, model));
  const cols = await readPredictionLog(logDir, primary.features, primary.task, primary.labels ?? []);
  const totalWindows = Math.floor(cols.count / windowSize);
  const firstWindow = options.lastWindows ? Math.max(0, totalWindows - options.lastWindows) : 0;
  const references = new Map<string, Reference | null>();
  const referenceFor = async (v: string): Promise<Reference | null> => {
    if (!references.has(v)) {
      const m = await manifestFor(v);
      references.set(v, m ? buildReference(m, cols) : null);
    }
    return references.get(v)!;
  };
  const primaryRef = buildReference(primary, cols);

  const windows: MonitorWindow[] = [];
  const scratch = new WindowScratch(windowSize);
  let labelledTotal = 0;
  for (let w = firstWindow; w < totalWindows; w++) {
    const start = w * windowSize;
    const end = start + windowSize;
    const version = cols.versions.values[cols.version[end - 1]];
    const ref = (await referenceFor(version)) ?? primaryRef;
    const win = windowStats(cols, primary.task, start, end, w, version, ref, driftCfg.method, scratch);
    labelledTotal += win.labelled;
    windows.push(win);
  }

  // Control chart of the configured metric over windows that have it.
  let chart: ControlChartData | null = null;
  let chartNote: string | null = null;
  const metric = chartCfg.metric;
  const chartWindows: number[] = [];
  const points: ControlChartInputPoint[] = [];
  for (const w of windows) {
    const v = metricOf(w, metric);
    if (v === null) continue;
    chartWindows.push(w.index);
    points.push({ value: v, ...(metric === 'accuracy' || metric === 'error_rate' ? { n: w.labelled } : {}), ...(w.start ? { start: w.start } : {}), ...(w.end ? { end: w.end } : {}) });
  }
  if (points.length === 0) {
    chartNote = windows.length === 0 ? `Fewer than ${windowSize} logged predictions: no complete window yet.` : `No window has ${metric} yet: send true labels to the feedback endpoint.`;
  } else {
    try {
      const proportion = metric === 'accuracy' || metric === 'error_rate';
      let baseline: number | { mean: number; std: number };
      if (chartCfg.baseline === 'evaluation') {
        const evalValue = primaryVersion ? registry.getVersion(`${model}@${primaryVersion}`).metrics[metric === 'error_rate' ? 'accuracy' : metric] : undefined;
        if (typeof evalValue === 'number' && proportion) baseline = { mean: metric === 'error_rate' ? 1 - evalValue : evalValue, std: 0 };
        else baseline = Math.min(5, points.length);
      } else {
        baseline = Math.min(chartCfg.baseline, points.length);
      }
      chart = buildControlChart(points, { chart: proportion ? 'p' : 'individuals', sigma: chartCfg.sigma, baseline, rules: chartCfg.rules, metric });
    } catch (e) {
      chartNote = describeError(e);
    }
  }

  // Drift summary: the latest window against its version's reference.
  let drift: DriftSummary | null = null;
  if (windows.length > 0) {
    const last = windows[windows.length - 1];
    const ref = (await referenceFor(last.version)) ?? primaryRef;
    const start = last.index * windowSize;
    const end = start + windowSize;
    const wanted = driftCfg.features ?? primary.features.map((f) => f.name);
    const features = wanted
      .filter((name) => name in last.drift)
      .map((name) => {
        const score = last.drift[name];
        const pValue = driftCfg.method === 'ks' && cols.numeric[name] && ref.numeric[name] ? ksPValue(ref.numeric[name].sample, cols.numeric[name], start, end) : null;
        return { name, score, pValue, drifted: score > driftCfg.threshold };
      });
    const predP = driftCfg.method === 'ks' && cols.predictedValue && ref.predictionsNumeric ? ksPValue(ref.predictionsNumeric.sample, cols.predictedValue, start, end) : null;
    drift = { method: driftCfg.method, threshold: driftCfg.threshold, features, predictions: { score: last.predictionDrift, pValue: predP, drifted: last.predictionDrift > driftCfg.threshold } };
  }

  const alerts = options.alert === false ? [] : await raiseAlerts(options, target, model, windows, chart, chartWindows, drift, metric);
  return {
    target,
    model,
    version: windows.length ? windows[windows.length - 1].version : primaryVersion,
    window: windowSize,
    totalPredictions: cols.count,
    pending: cols.count - totalWindows * windowSize,
    labelled: labelledTotal,
    windows,
    chart,
    chartWindows,
    chartNote,
    drift,
    alerts,
    badLines: cols.badLines,
    elapsedMs: Math.round((performance.now() - t0) * 10) / 10,
  };
}

function metricOf(w: MonitorWindow, metric: string): number | null {
  switch (metric) {
    case 'accuracy':
      return w.accuracy;
    case 'error_rate':
      return w.accuracy === null ? null : 1 - w.accuracy;
    case 'mae':
      return w.mae;
    case 'rmse':
      return w.rmse;
    case 'mse':
      return w.rmse === null ? null : w.rmse * w.rmse;
    default:
      return w.accuracy ?? w.mae;
  }
}

/** The log directory of a model on a local target. */
export function defaultLogDir(registry: Registry, config: ModelOpsConfig, target: string, model: string): string {
  const t = config.deploy?.targets?.[target];
  if (t && t.type !== 'local') {
    throw new ModelOpsError('monitor-remote', `Target '${target}' is an http endpoint; its prediction log is downloaded by monitoring.`, 'Run monitoring for it first, or pass the log directory.');
  }
  return join(targetStoreDir(registry.storeDir, target), 'logs', model);
}

/** Local targets: the server's own log directory. http targets: a fresh download of the log. */
async function logDirFor(options: MonitorOptions, target: string, model: string): Promise<string> {
  const { registry, config } = options;
  const t = config.deploy?.targets?.[target];
  if (!t || t.type === 'local') return defaultLogDir(registry, config, target, model);
  if (options.trusted === false) {
    throw new ModelOpsError('untrusted-workspace', `Target '${target}' is an http endpoint; its log is not downloaded in an untrusted workspace.`, 'Trust the workspace (Manage Workspace Trust) to monitor remote endpoints.');
  }
  const client = await connectTarget({ registry, config, tokenFor: options.tokenFor ?? (() => null) }, target);
  const dir = join(registry.storeDir, 'monitor-cache', target, model);
  await client!.downloadLog(model, join(dir, 'predictions.jsonl'));
  return dir;
}

/** A registered version's columns, task, labels and profile, read through the model runtime layer. */
export function defaultManifestFor(registry: Registry, model: string): (version: string) => Promise<MonitoredModel | null> {
  return async (version) => {
    const runtime = await loadRuntime(await registry.artifactPath(`${model}@${version}`));
    try {
      return {
        task: runtime.task,
        ...(runtime.labels ? { labels: runtime.labels } : {}),
        ...(runtime.target !== undefined ? { target: runtime.target } : {}),
        features: runtime.columns.map((c) => ({ name: c.name, kind: c.kind })),
        ...(runtime.profile ? { profile: runtime.profile } : {}),
      };
    } finally {
      runtime.dispose();
    }
  };
}

interface NumericRef {
  edges: Float64Array;
  expected: Float64Array;
  /** Sorted reference sample for KS. */
  sample: Float64Array;
}

interface CategoricalRef {
  /** Codes into the log's dictionary (grown with unseen categories) and their expected counts, in the profile's order. */
  codes: Int32Array;
  expected: Float64Array;
  inRef: Uint8Array;
}

interface Reference {
  numeric: Record<string, NumericRef>;
  categorical: Record<string, CategoricalRef>;
  predictionsNumeric: NumericRef | null;
  predictionsCategorical: CategoricalRef | null;
}

function numericRef(p: NumericProfile): NumericRef {
  const edges = binEdges(p.quantiles);
  const sample = Float64Array.from(p.sample).sort();
  return { edges, expected: binCounts(edges, sample), sample };
}

function categoricalRef(p: CategoricalProfile, dict: Dictionary): CategoricalRef {
  const counts = new Map<number, number>();
  for (const [k, v] of Object.entries(p.counts)) counts.set(dict.code(k), v);
  const codes = Int32Array.from(counts.keys());
  const inRef = new Uint8Array(codes.reduce((m, c) => Math.max(m, c + 1), 0));
  for (const c of codes) inRef[c] = 1;
  return { codes, expected: Float64Array.from(counts.values()), inRef };
}

function buildReference(m: MonitoredModel, cols: LogColumns): Reference {
  const numeric: Record<string, NumericRef> = {};
  const categorical: Record<string, CategoricalRef> = {};
  for (const f of m.features) {
    const p = m.profile?.features?.[f.name];
    if (!p) continue;
    if (p.kind === 'numeric' && cols.numeric[f.name]) numeric[f.name] = numericRef(p);
    if (p.kind === 'categorical' && cols.categorical[f.name]) categorical[f.name] = categoricalRef(p, cols.dictionaries[f.name]);
  }
  const pp = m.profile?.predictions;
  return {
    numeric,
    categorical,
    predictionsNumeric: pp?.kind === 'numeric' ? numericRef(pp) : null,
    predictionsCategorical: pp?.kind === 'categorical' ? categoricalRef(pp, cols.labels) : null,
  };
}

/** Reused buffers for the per-window work (one set per monitoring run). */
class WindowScratch {
  counts = new Int32Array(64);
  order = new Int32Array(64);
  e = new Float64Array(64);
  a = new Float64Array(64);
  latency: Float64Array;
  constructor(windowSize: number) {
    this.latency = new Float64Array(windowSize);
  }
  fit(n: number): void {
    if (n <= this.counts.length) return;
    const size = Math.max(n, this.counts.length * 2);
    const counts = new Int32Array(size);
    counts.set(this.counts);
    this.counts = counts;
    const order = new Int32Array(size);
    order.set(this.order);
    this.order = order;
  }
}

/**
 * PSI of a window's categories against the reference over the union of categories: the
 * reference's in its order, then the window's others in order of first appearance (the sum
 * runs in this order, so it is kept exactly).
 */
function categoricalPsi(ref: CategoricalRef, codes: Int32Array, start: number, end: number, s: WindowScratch): number {
  let extra = 0;
  for (let i = start; i < end; i++) {
    const c = codes[i];
    if (c < 0) continue;
    if (c >= s.counts.length) s.fit(c + 1);
    if (s.counts[c]++ === 0 && !(c < ref.inRef.length && ref.inRef[c] === 1)) s.order[extra++] = c;
  }
  const nRef = ref.codes.length;
  const total = nRef + extra;
  if (total > s.e.length) {
    s.e = new Float64Array(total * 2);
    s.a = new Float64Array(total * 2);
  }
  for (let j = 0; j < nRef; j++) {
    const c = ref.codes[j];
    s.e[j] = ref.expected[j];
    s.a[j] = c < s.counts.length ? s.counts[c] : 0;
  }
  for (let j = 0; j < extra; j++) {
    s.e[nRef + j] = 0;
    s.a[nRef + j] = s.counts[s.order[j]];
  }
  const psi = psiFromCounts(s.e.subarray(0, total), s.a.subarray(0, total));
  for (let i = start; i < end; i++) if (codes[i] >= 0) s.counts[codes[i]] = 0;
  return psi;
}

function numericScore(ref: NumericRef, values: Float64Array, start: number, end: number, method: 'psi' | 'ks'): number {
  if (method === 'psi') return psiFromCounts(ref.expected, binCounts(ref.edges, values, start, end));
  const win = windowValues(values, start, end);
  return win.length && ref.sample.length ? ksStatistic(ref.sample, win) : NaN;
}

function windowValues(values: Float64Array, start: number, end: number): Float64Array {
  const out = new Float64Array(end - start);
  let n = 0;
  for (let i = start; i < end; i++) if (values[i] === values[i]) out[n++] = values[i];
  return out.subarray(0, n).sort();
}

function ksPValue(sample: Float64Array, values: Float64Array, start: number, end: number): number | null {
  const win = windowValues(values, start, end);
  return win.length && sample.length ? ks2samp(sample, win).pValue : null;
}

function windowStats(
  cols: LogColumns,
  task: 'classification' | 'regression',
  start: number,
  end: number,
  index: number,
  version: string,
  ref: Reference,
  method: 'psi' | 'ks',
  scratch: WindowScratch,
): MonitorWindow {
  let labelled = 0;
  let correct = 0;
  let absErr = 0;
  let sqErr = 0;
  const distribution: Record<string, number> = {};
  let meanPrediction: number | null = null;
  if (task === 'classification') {
    const pred = cols.predictedLabel!;
    const truth = cols.truthLabel!;
    const counts = new Int32Array(cols.labels.values.length);
    for (let i = start; i < end; i++) {
      counts[pred[i]]++;
      const t = truth[i];
      if (t >= 0) {
        labelled++;
        if (t === pred[i]) correct++;
      }
    }
    for (let k = 0; k < counts.length; k++) if (counts[k] > 0) distribution[cols.labels.values[k]] = counts[k];
  } else {
    const pred = cols.predictedValue!;
    const truth = cols.truthValue!;
    let sum = 0;
    for (let i = start; i < end; i++) {
      sum += pred[i];
      const t = truth[i];
      if (t === t) {
        labelled++;
        const d = pred[i] - t;
        absErr += Math.abs(d);
        sqErr += d * d;
      }
    }
    meanPrediction = sum / (end - start);
  }
  const drift: Record<string, number> = {};
  for (const [name, r] of Object.entries(ref.numeric)) drift[name] = numericScore(r, cols.numeric[name], start, end, method);
  for (const [name, r] of Object.entries(ref.categorical)) drift[name] = categoricalPsi(r, cols.categorical[name], start, end, scratch);
  let predictionDrift = NaN;
  if (ref.predictionsCategorical && cols.predictedLabel) predictionDrift = categoricalPsi(ref.predictionsCategorical, cols.predictedLabel, start, end, scratch);
  else if (ref.predictionsNumeric && cols.predictedValue) predictionDrift = numericScore(ref.predictionsNumeric, cols.predictedValue, start, end, method);
  const p50 = kthSmallest(cols.latencyMs, start, end, (end - start) >> 1, scratch.latency);
  const t0 = cols.time[start];
  const t1 = cols.time[end - 1];
  return {
    index,
    start: Number.isFinite(t0) ? new Date(t0).toISOString() : null,
    end: Number.isFinite(t1) ? new Date(t1).toISOString() : null,
    count: end - start,
    labelled,
    version,
    accuracy: task === 'classification' && labelled > 0 ? correct / labelled : null,
    mae: task === 'regression' && labelled > 0 ? absErr / labelled : null,
    rmse: task === 'regression' && labelled > 0 ? Math.sqrt(sqErr / labelled) : null,
    distribution,
    meanPrediction,
    drift,
    predictionDrift,
    p50LatencyMs: Number.isFinite(p50) ? p50 : null,
  };
}

async function raiseAlerts(
  options: MonitorOptions,
  target: string,
  model: string,
  windows: MonitorWindow[],
  chart: ControlChartData | null,
  chartWindows: number[],
  drift: DriftSummary | null,
  metric: string,
): Promise<AlertRecord[]> {
  const { registry } = options;
  const wanted: Array<{ version: string; rule: string; metric: string; message: string }> = [];
  const byIndex = new Map(windows.map((w) => [w.index, w]));
  if (chart) {
    for (const v of chart.violations) {
      const w = byIndex.get(chartWindows[v.index])!;
      const value = chart.values[v.index];
      const limit = v.side === 'above' ? `above the centre ${chart.centre.toFixed(3)}` : `below the centre ${chart.centre.toFixed(3)}`;
      wanted.push({
        version: w.version,
        rule: `we${v.rule}`,
        metric,
        message: `${metric} ${value.toFixed(3)} in window ${w.index + 1}${w.end ? ` (to ${w.end})` : ''}: Western Electric rule ${v.rule}, ${RULE_TEXT[v.rule]} (${limit}).`,
      });
    }
  }
  if (drift && windows.length > 0) {
    const last = windows[windows.length - 1];
    for (const f of drift.features) {
      if (!f.drifted) continue;
      wanted.push({ version: last.version, rule: `drift:${f.name}`, metric: drift.method, message: `Drift of '${f.name}' in window ${last.index + 1}: ${drift.method.toUpperCase()} ${f.score.toFixed(3)} > ${drift.threshold}.` });
    }
    if (drift.predictions.drifted) {
      wanted.push({ version: last.version, rule: 'drift:predictions', metric: drift.method, message: `Drift of the predictions in window ${last.index + 1}: ${drift.method.toUpperCase()} ${drift.predictions.score.toFixed(3)} > ${drift.threshold}.` });
    }
  }
  if (wanted.length === 0) return [];
  // The same finding is recorded once, however often monitoring runs.
  const seen = new Set(registry.listAlerts({ target, limit: 100_000 }).filter((a) => a.model === model).map((a) => `${a.rule}\u0000${a.message}`));
  const raised: AlertRecord[] = [];
  for (const a of wanted) {
    const key = `${a.rule}\u0000${a.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    raised.push(registry.recordAlert({ target, model, ...a }));
  }
  const webhook = raised.length > 0 ? webhookUrl(monitorConfig(options.config).alerts, options.env ?? process.env, options.onLog) : null;
  if (webhook && raised.length > 0) await sendWebhook(webhook, { event: 'modelops.alerts', target, model, alerts: raised }, options.webhookTimeoutMs ?? 5000, options.onLog);
  return raised;
}

