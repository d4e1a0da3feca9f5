/**
 * Monitoring: the prediction log and feedback of a model on a target, cut into windows of
 * `monitor.window` predictions → per-window accuracy (or MAE/RMSE) where labels arrived and the
 * prediction distribution → a control chart with the Western Electric rules (server/engine/spc)
 * → drift of each feature and of the predictions against the version's reference profile, over
 * its own trailing window (`monitor.drift.window`) with a test chosen per column as Evidently
 * does (drift/select.ts) → for classifiers, CBPE estimates of accuracy and F1 per window from the
 * logged probabilities (cbpe.ts), and for regression models DLE estimates of MAE or RMSE per
 * window from a loss model fitted on the reference's labelled rows (dle.ts), each charted with
 * its own rules so a drop alerts before labels arrive → alerts (registry + optional webhook).
 */
import type { ModelOpsConfig, MonitorConfig } from '../config/types';
import { configSchema, withDefaults } from '../config/schema';
import { describeError, ModelOpsError } from '../errors';
import type {
  CategoricalProfile,
  EvaluationSample,
  LossSample,
  NumericProfile,
  ReferenceProfile,
  Task,
} from '../model/types';
import { describeBundle } from '../runtime';
import type { AlertRecord, Registry } from '../registry/types';
import { buildControlChartColumns, controlLimits, type ControlChartData } from '../spc';
import { binCounts, binEdges, psiFromCounts } from '../drift/psi';
import { ks2samp, ksStatistic } from '../drift/ks';
import {
  chiSquareFromCounts,
  chooseDriftTest,
  defaultThreshold,
  distinctSorted,
  isDrifted,
  jensenShannonFromCounts,
  populationStd,
  wassersteinNormed,
  zTestFromCounts,
  type DriftTest,
  type DriftTestChoice,
} from '../drift/select';
import { type Calibration, CbpeScratch, checkCalibration, estimateWindow, type CalibrationCheck } from './cbpe';
import { dleColumns, DleReference, lossSampleRows, type DleColumn, type LossModel, type LossModelReport } from './dle';
import type { RuleSide, SigmaEstimator } from '../../../shared/spc/types';
import { logSourceFor, type RemoteRead } from './logSource';
import { resolveSince } from './since';
import type { TokenFor } from '../deploy/tokens';
import { sendWebhook, webhookUrl } from './webhook';
import {
  readPredictionLog,
  type Dictionary,
  type FeedbackCounts,
  type LogBlock,
  type LogColumns,
  type LogFeature,
} from './readLog';
import { F64, I32 } from './log/columns';
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
  /**
   * Feature → drift score of the latest `monitor.drift.window` predictions ending with this
   * window, by the feature's test (`MonitorResult.driftTests`): PSI, KS D, Wasserstein (normed),
   * Jensen–Shannon distance, chi-square statistic or |z|.
   */
  drift: Record<string, number>;
  /** Drift of the predictions (same window, `driftTests['(predictions)']`). */
  predictionDrift: number;
  p50LatencyMs: number | null;
  /** CBPE: expected accuracy and macro F1 from the calibrated probabilities (classification; null without probabilities). */
  estimatedAccuracy?: number | null;
  estimatedF1?: number | null;
  /** DLE: the estimated MAE, or RMSE, from the loss model (regression; whichever the chart's metric needs). */
  estimatedMae?: number | null;
  estimatedRmse?: number | null;
}

export interface DriftFeatureResult {
  name: string;
  /** The test applied to this column. */
  test: DriftTest;
  score: number;
  /** p-value of KS, chi-square and the Z-test; null for distances. */
  pValue: number | null;
  /** p-value tests drift when p < threshold, distances when score > threshold. */
  threshold: number;
  drifted: boolean;
}

export interface DriftSummary {
  /** The test of every column when they share one, else `auto` (see each feature's `test`). */
  method: DriftTestChoice;
  /** The threshold when every column shares one, else null (see each feature's). */
  threshold: number | null;
  /** Predictions the drift tests looked at (the latest, ending with the latest window). */
  window: number;
  /** Latest drift window against the reference. */
  features: DriftFeatureResult[];
  predictions: Omit<DriftFeatureResult, 'name'>;
}

interface EstimatedBase {
  /** Windows at the start used as the reference period (calibration check, loss model fit). */
  referenceWindows: number;
  /** Control chart of the estimate over every window that has one (rules on it alert with estimated: true). */
  chart: ControlChartData | null;
  chartWindows: number[];
  chartNote: string | null;
}

/** CBPE (confidence-based performance estimation) of a classifier's windows. */
export interface CbpePerformance extends EstimatedBase {
  method: 'cbpe';
  /** The charted metric estimated: accuracy, error_rate or f1. */
  metric: string;
  calibration: CalibrationCheck;
}

/** DLE (direct loss estimation) of a regression model's windows. */
export interface DlePerformance extends EstimatedBase {
  method: 'dle';
  /** The charted metric estimated: mae, rmse or mse. */
  metric: string;
  lossModel: LossModelReport;
}

/** Performance estimated before labels: CBPE for classifiers, DLE for regression models. */
export type EstimatedPerformance = CbpePerformance | DlePerformance;

/** A recorded alert; `estimated` when it fired on the CBPE or DLE estimate rather than on labels. */
export type MonitorAlert = AlertRecord & { estimated?: true };

export interface MonitorResult {
  target: string;
  model: string;
  /** Version of the latest window (or the deployed one when there are none). */
  version: string | null;
  window: number;
  totalPredictions: number;
  /** The `since` applied (ISO), or null for the whole log. */
  since: string | null;
  /** Predictions left out because they were requested before `since`. */
  beforeSince: number;
  /** An http target's log: its URL, the bytes read and of them those fetched for this read (null: a local log). */
  remote: RemoteRead | null;
  /** Predictions after the last complete window. */
  pending: number;
  labelled: number;
  /** The windows as objects, built on first read from `windowTable`. */
  windows: MonitorWindow[];
  /** The same windows as columns (not serialised): for callers that need a few of them or a series. */
  windowTable?: WindowTable;
  chart: ControlChartData | null;
  /** Window index of each chart point. */
  chartWindows: number[];
  /** Why there is no chart, when there is none. */
  chartNote: string | null;
  drift: DriftSummary | null;
  /** Column (and `(predictions)`) → the drift test it gets. */
  driftTests: Record<string, DriftTest>;
  /** CBPE of a classifier that logs probabilities, DLE of a regression model; null otherwise. */
  estimated: EstimatedPerformance | null;
  /** Alerts raised by this run (already recorded). */
  alerts: MonitorAlert[];
  badLines: number;
  /**
   * Feedback lines joined to their request, and those ignored: late (the request was more than
   * `pendingRows` rows back when the feedback was read) or unmatched (no pending request has the id).
   */
  feedback: FeedbackCounts;
  elapsedMs: number;
}

/**
 * Rows back from the latest a request still takes feedback (and windows wait for it). Memory
 * is bounded by it, not by the log's length: about 80 bytes a row for four features.
 */
export const DEFAULT_PENDING_ROWS = 200_000;

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
  /** Feedback reaches requests among the latest this many rows (default DEFAULT_PENDING_ROWS). */
  pendingRows?: number;
  /** Log read size in bytes (default 4 MB); tests make it small to stream many blocks. */
  readChunkBytes?: number;
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
  /** Estimate performance before labels, CBPE or DLE (default true; false skips both). */
  estimate?: boolean;
  /**
   * Only predictions requested from this time on (ms since the epoch), or since the target's
   * active deployment went out (`'deploy'`): the windows, chart baseline and estimators' reference
   * start there. Default: `monitor.since`, else the whole log.
   */
  since?: number | 'deploy';
}

const NULL_ACCURACY = 1;
const NULL_MAE = 2;
const NULL_RMSE = 4;
const NULL_MEAN = 8;
const NULL_P50 = 16;
const HAS_EST_ACC = 32;
const NULL_EST_ACC = 64;
const HAS_EST_F1 = 128;
const NULL_EST_F1 = 256;
const HAS_EST_MAE = 512;
const NULL_EST_MAE = 1024;
const HAS_EST_RMSE = 2048;
const NULL_EST_RMSE = 4096;

/**
 * The scored windows of a run as columns: a few numbers per window (plus its distribution and
 * drift scores as flat lists), so a 10M-prediction log's 100,000 windows cost a few MB, not one
 * object each. `at` builds a window's MonitorWindow when it is wanted.
 */
export class WindowTable {
  /** Window index of row 0 (older windows are dropped with `lastWindows`). */
  first = 0;
  private readonly t0 = new F64();
  private readonly t1 = new F64();
  private readonly count = new I32();
  private readonly labelled = new I32();
  private readonly version = new I32();
  private readonly nulls = new I32();
  private readonly accuracy = new F64();
  private readonly mae = new F64();
  private readonly rmse = new F64();
  private readonly meanPrediction = new F64();
  private readonly predictionDrift = new F64();
  private readonly p50 = new F64();
  private readonly estAccuracy = new F64();
  private readonly estF1 = new F64();
  private readonly estMae = new F64();
  private readonly estRmse = new F64();
  /** Distribution and drift entries of each window: from its start to the next window's. */
  private readonly distStart = new I32();
  private readonly distKey = new I32();
  private readonly distCount = new I32();
  private readonly driftStart = new I32();
  private readonly driftKey = new I32();
  private readonly driftValue = new F64();
  /** Version names, labels and drift column names, each stored once. */
  private readonly names: string[] = [];
  private readonly nameCode = new Map<string, number>();

  get length(): number {
    return this.t0.length;
  }

  private code(name: string): number {
    let c = this.nameCode.get(name);
    if (c === undefined) {
      c = this.names.length;
      this.names.push(name);
      this.nameCode.set(name, c);
    }
    return c;
  }

  push(w: MonitorWindow): void {
    if (this.length === 0) this.first = w.index;
    this.t0.push(w.start === null ? NaN : Date.parse(w.start));
    this.t1.push(w.end === null ? NaN : Date.parse(w.end));
    this.count.push(w.count);
    this.labelled.push(0);
    this.version.push(this.code(w.version));
    this.nulls.push(0);
    this.accuracy.push(0);
    this.mae.push(0);
    this.rmse.push(0);
    this.meanPrediction.push(w.meanPrediction ?? 0);
    this.predictionDrift.push(w.predictionDrift);
    this.p50.push(w.p50LatencyMs ?? 0);
    this.estAccuracy.push(0);
    this.estF1.push(0);
    this.estMae.push(0);
    this.estRmse.push(0);
    this.distStart.push(this.distKey.length);
    for (const [k, v] of Object.entries(w.distribution)) {
      this.distKey.push(this.code(k));
      this.distCount.push(v);
    }
    this.driftStart.push(this.driftKey.length);
    for (const [k, v] of Object.entries(w.drift)) {
      this.driftKey.push(this.code(k));
      this.driftValue.push(v);
    }
    this.setLabels(this.length - 1, w);
    this.nulls.data[this.length - 1] |=
      (w.meanPrediction === null ? NULL_MEAN : 0) | (w.p50LatencyMs === null ? NULL_P50 : 0);
  }

  /** The labelled metrics of row i (`labelStats` output). */
  setLabels(i: number, w: Pick<MonitorWindow, 'labelled' | 'accuracy' | 'mae' | 'rmse'>): void {
    this.labelled.data[i] = w.labelled;
    this.accuracy.data[i] = w.accuracy ?? 0;
    this.mae.data[i] = w.mae ?? 0;
    this.rmse.data[i] = w.rmse ?? 0;
    const keep = this.nulls.data[i] & ~(NULL_ACCURACY | NULL_MAE | NULL_RMSE);
    this.nulls.data[i] =
      keep |
      (w.accuracy === null ? NULL_ACCURACY : 0) |
      (w.mae === null ? NULL_MAE : 0) |
      (w.rmse === null ? NULL_RMSE : 0);
  }

  /** The CBPE estimate of the window with this index. */
  setEstimate(index: number, accuracy: number | null, f1: number | null): void {
    const i = index - this.first;
    this.estAccuracy.data[i] = accuracy ?? 0;
    this.estF1.data[i] = f1 ?? 0;
    this.nulls.data[i] |=
      HAS_EST_ACC | HAS_EST_F1 | (accuracy === null ? NULL_EST_ACC : 0) | (f1 === null ? NULL_EST_F1 : 0);
  }

  /** The DLE estimate of the window with this index: MAE or RMSE (the one not estimated is undefined). */
  setLossEstimate(index: number, mae: number | null | undefined, rmse: number | null | undefined): void {
    const i = index - this.first;
    if (mae !== undefined) {
      this.estMae.data[i] = mae ?? 0;
      this.nulls.data[i] = (this.nulls.data[i] & ~NULL_EST_MAE) | HAS_EST_MAE | (mae === null ? NULL_EST_MAE : 0);
    }
    if (rmse !== undefined) {
      this.estRmse.data[i] = rmse ?? 0;
      this.nulls.data[i] = (this.nulls.data[i] & ~NULL_EST_RMSE) | HAS_EST_RMSE | (rmse === null ? NULL_EST_RMSE : 0);
    }
  }

  /** Row of a window index, or −1 when it is not held. */
  rowOf(index: number): number {
    const i = index - this.first;
    return i >= 0 && i < this.length ? i : -1;
  }

  labelledOf(i: number): number {
    return this.labelled.data[i];
  }

  versionOf(i: number): string {
    return this.names[this.version.data[i]];
  }

  /** Drops the first n rows (`lastWindows`). */
  discard(n: number): void {
    if (n <= 0) return;
    const cut = (starts: I32, keys: I32, values: I32 | F64) => {
      const off = n < starts.length ? starts.data[n] : keys.length;
      keys.discard(off);
      values.discard(off);
      starts.discard(n);
      for (let k = 0; k < starts.length; k++) starts.data[k] -= off;
    };
    cut(this.distStart, this.distKey, this.distCount);
    cut(this.driftStart, this.driftKey, this.driftValue);
    for (const c of [this.t0, this.t1, this.count, this.labelled, this.version, this.nulls, this.accuracy, this.mae])
      c.discard(n);
    for (const c of [this.rmse, this.meanPrediction, this.predictionDrift, this.p50, this.estAccuracy, this.estF1])
      c.discard(n);
    this.estMae.discard(n);
    this.estRmse.discard(n);
    this.first += n;
  }

  /**
   * Scores the window `[start, end)` of `cols` straight into a new row: what `windowStats`
   * returns, without the object, its records and ISO times (the batch monitor's hot path).
   */
  score(
    cols: LogColumns,
    task: 'classification' | 'regression',
    start: number,
    end: number,
    driftStart: number,
    index: number,
    version: string,
    ref: Reference,
    s: WindowScratch,
  ): void {
    if (this.length === 0) this.first = index;
    this.t0.push(clipTime(cols.time[start]));
    this.t1.push(clipTime(cols.time[end - 1]));
    this.count.push(end - start);
    this.labelled.push(0);
    this.version.push(this.code(version));
    this.accuracy.push(0);
    this.mae.push(0);
    this.rmse.push(0);
    let nulls = NULL_ACCURACY | NULL_MAE | NULL_RMSE;
    this.distStart.push(this.distKey.length);
    if (task === 'classification') {
      const pred = cols.predictedLabel!;
      const names = cols.labels.values;
      s.fit(names.length);
      const counts = s.counts;
      for (let r = start; r < end; r++) counts[pred[r]]++;
      for (let k = 0; k < names.length; k++) {
        if (counts[k] > 0) {
          this.distKey.push(this.code(names[k]));
          this.distCount.push(counts[k]);
        }
        counts[k] = 0;
      }
      this.meanPrediction.push(0);
      nulls |= NULL_MEAN;
    } else {
      const pred = cols.predictedValue!;
      let sum = 0;
      for (let r = start; r < end; r++) sum += pred[r];
      this.meanPrediction.push(sum / (end - start));
    }
    // Drift looks at its own (trailing) window, [driftStart, end), in windowStats' order.
    this.driftStart.push(this.driftKey.length);
    for (const name in ref.numeric) {
      this.driftKey.push(this.code(name));
      this.driftValue.push(numericScore(ref.numeric[name], cols.numeric[name], driftStart, end, s));
    }
    for (const name in ref.categorical) {
      this.driftKey.push(this.code(name));
      this.driftValue.push(categoricalScore(ref.categorical[name], cols.categorical[name], driftStart, end, s));
    }
    let predictionDrift = NaN;
    if (ref.predictionsCategorical && cols.predictedLabel)
      predictionDrift = categoricalScore(ref.predictionsCategorical, cols.predictedLabel, driftStart, end, s);
    else if (ref.predictionsNumeric && cols.predictedValue)
      predictionDrift = numericScore(ref.predictionsNumeric, cols.predictedValue, driftStart, end, s);
    this.predictionDrift.push(predictionDrift);
    const p50 = kthSmallest(cols.latencyMs, start, end, (end - start) >> 1, s.latency);
    this.p50.push(Number.isFinite(p50) ? p50 : 0);
    if (!Number.isFinite(p50)) nulls |= NULL_P50;
    this.estAccuracy.push(0);
    this.estF1.push(0);
    this.estMae.push(0);
    this.estRmse.push(0);
    this.nulls.push(nulls);
  }

  /** Window index of row i. */
  indexOf(i: number): number {
    return this.first + i;
  }

  /** The charted metric of row i (`metricOf` of its window); null when it has none. */
  metricOf(i: number, metric: string): number | null {
    const nulls = this.nulls.data[i];
    const accuracy = nulls & NULL_ACCURACY ? null : this.accuracy.data[i];
    switch (metric) {
      case 'accuracy':
        return accuracy;
      case 'error_rate':
        return accuracy === null ? null : 1 - accuracy;
      case 'mae':
        return nulls & NULL_MAE ? null : this.mae.data[i];
      case 'rmse':
        return nulls & NULL_RMSE ? null : this.rmse.data[i];
      case 'mse':
        return nulls & NULL_RMSE ? null : this.rmse.data[i] * this.rmse.data[i];
      default:
        return accuracy ?? (nulls & NULL_MAE ? null : this.mae.data[i]);
    }
  }

  /** The CBPE or DLE estimate of the charted metric in row i (`estimateOf` of its window); null when there is none. */
  estimateOf(i: number, metric: string): number | null {
    const nulls = this.nulls.data[i];
    const acc = nulls & HAS_EST_ACC && !(nulls & NULL_EST_ACC) ? this.estAccuracy.data[i] : null;
    if (metric === 'accuracy') return acc;
    if (metric === 'error_rate') return acc === null ? null : 1 - acc;
    if (metric === 'f1') return nulls & HAS_EST_F1 && !(nulls & NULL_EST_F1) ? this.estF1.data[i] : null;
    if (metric === 'mae') return nulls & HAS_EST_MAE && !(nulls & NULL_EST_MAE) ? this.estMae.data[i] : null;
    const rmse = nulls & HAS_EST_RMSE && !(nulls & NULL_EST_RMSE) ? this.estRmse.data[i] : null;
    if (metric === 'rmse') return rmse;
    if (metric === 'mse') return rmse === null ? null : rmse * rmse;
    return null;
  }

  /**
   * ISO start and end of every row (null where a time is missing), made once so the charts
   * share the strings; equal times share one string.
   */
  isoTimes(): { start: Array<string | null>; end: Array<string | null> } {
    let lastT = NaN;
    let lastS = '';
    const iso = (t: number): string | null => {
      if (!Number.isFinite(t)) return null;
      if (t !== lastT) {
        lastT = t;
        lastS = new Date(t).toISOString();
      }
      return lastS;
    };
    const start = new Array<string | null>(this.length);
    const end = new Array<string | null>(this.length);
    for (let i = 0; i < this.length; i++) {
      start[i] = iso(this.t0.data[i]);
      end[i] = iso(this.t1.data[i]);
    }
    return { start, end };
  }

  /** Row i as a MonitorWindow (a new object each call). */
  at(i: number): MonitorWindow {
    const nulls = this.nulls.data[i];
    const t0 = this.t0.data[i];
    const t1 = this.t1.data[i];
    const distribution: Record<string, number> = {};
    const dEnd = i + 1 < this.length ? this.distStart.data[i + 1] : this.distKey.length;
    for (let k = this.distStart.data[i]; k < dEnd; k++)
      distribution[this.names[this.distKey.data[k]]] = this.distCount.data[k];
    const drift: Record<string, number> = {};
    const fEnd = i + 1 < this.length ? this.driftStart.data[i + 1] : this.driftKey.length;
    for (let k = this.driftStart.data[i]; k < fEnd; k++)
      drift[this.names[this.driftKey.data[k]]] = this.driftValue.data[k];
    const w: MonitorWindow = {
      index: this.first + i,
      start: Number.isFinite(t0) ? new Date(t0).toISOString() : null,
      end: Number.isFinite(t1) ? new Date(t1).toISOString() : null,
      count: this.count.data[i],
      labelled: this.labelled.data[i],
      version: this.names[this.version.data[i]],
      accuracy: nulls & NULL_ACCURACY ? null : this.accuracy.data[i],
      mae: nulls & NULL_MAE ? null : this.mae.data[i],
      rmse: nulls & NULL_RMSE ? null : this.rmse.data[i],
      distribution,
      meanPrediction: nulls & NULL_MEAN ? null : this.meanPrediction.data[i],
      drift,
      predictionDrift: this.predictionDrift.data[i],
      p50LatencyMs: nulls & NULL_P50 ? null : this.p50.data[i],
    };
    if (nulls & HAS_EST_ACC) w.estimatedAccuracy = nulls & NULL_EST_ACC ? null : this.estAccuracy.data[i];
    if (nulls & HAS_EST_F1) w.estimatedF1 = nulls & NULL_EST_F1 ? null : this.estF1.data[i];
    if (nulls & HAS_EST_MAE) w.estimatedMae = nulls & NULL_EST_MAE ? null : this.estMae.data[i];
    if (nulls & HAS_EST_RMSE) w.estimatedRmse = nulls & NULL_EST_RMSE ? null : this.estRmse.data[i];
    return w;
  }

  /** Every window, built one at a time (none is kept). */
  *[Symbol.iterator](): IterableIterator<MonitorWindow> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }

  toArray(): MonitorWindow[] {
    return Array.from(this);
  }
}

/** A row time as `Date.parse(new Date(t).toISOString())` gives it back: whole ms, NaN when not a date. */
function clipTime(t: number): number {
  return Number.isFinite(t) && Math.abs(t) <= 8.64e15 ? Math.trunc(t) + 0 : NaN;
}

/** How many windows a result has, without building them (a result read back from JSON has no table). */
export function windowCount(r: Pick<MonitorResult, 'windows' | 'windowTable'>): number {
  return r.windowTable ? r.windowTable.length : r.windows.length;
}

/** The last `n` windows of a result as objects, building only those. */
export function lastWindowsOf(r: Pick<MonitorResult, 'windows' | 'windowTable'>, n: number): MonitorWindow[] {
  const t = r.windowTable;
  if (!t) return n > 0 ? r.windows.slice(-n) : [];
  const out: MonitorWindow[] = [];
  for (let i = Math.max(0, t.length - n); i < t.length; i++) out.push(t.at(i));
  return out;
}

/** Where an estimate alert's value came from, in its message (the batch run and the live window alike). */
export function estimateSource(
  method: EstimatedPerformance['method'],
  fittedOn: LossModelReport['source'] | null,
): string {
  if (method === 'cbpe') return "CBPE from the model's probabilities";
  return fittedOn === 'test split'
    ? "DLE from a loss model fitted on the version's test split"
    : "DLE from a loss model fitted on the reference's labelled rows";
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
  return (
    config.monitor ?? (withDefaults(configSchema.properties.monitor, undefined, config.model.task) as MonitorConfig)
  );
}

/** Which side a metric's rules watch by default: drops of accuracy-like metrics, rises of errors. */
export function defaultSide(metric: string): RuleSide {
  if (metric === 'error_rate') return 'upper';
  return /acc|auc|precision|recall|f1|r2/.test(metric) ? 'lower' : 'upper';
}

/** The values a metric can take, so a chart's limits are drawn inside them (an accuracy's UCL at most 1). */
export function metricRange(metric: string): readonly [number, number] {
  if (metric === 'error_rate' || /acc|auc|precision|recall|f1/.test(metric)) return [0, 1];
  if (metric === 'r2') return [-Infinity, 1];
  if (/mae|mse|mape|latency|loss/.test(metric)) return [0, Infinity];
  return [-Infinity, Infinity];
}

/** The σ estimator and rule side a monitoring chart uses. */
export function chartStyle(mc: MonitorConfig): { estimator: SigmaEstimator; side: RuleSide } {
  return {
    estimator: mc.controlChart.sigmaEstimator ?? 'movingRange',
    side: mc.controlChart.side ?? defaultSide(mc.controlChart.metric),
  };
}

/** The drift test choice: `test`, else the older `method`, else auto. */
export function driftChoice(mc: MonitorConfig): DriftTestChoice {
  const d = mc.drift;
  return d.test && d.test !== 'auto' ? d.test : (d.method ?? 'auto');
}

/**
 * A config that names its test with the older `method` (and no `test`) keeps that key's meaning:
 * drift when the score exceeds the threshold (KS: the D statistic), default 0.2.
 */
export function legacyDriftMethod(mc: MonitorConfig): boolean {
  const d = mc.drift;
  return !(d.test && d.test !== 'auto') && d.method !== undefined;
}

export async function monitor(options: MonitorOptions): Promise<MonitorResult> {
  const t0 = performance.now();
  const { registry, config } = options;
  const mc = monitorConfig(config);
  const target = options.target ?? mc.target;
  if (!target)
    throw new ModelOpsError(
      'no-monitor-target',
      'No target to monitor: modelops.yaml has no monitor.target.',
      'Add monitor: { target: local } or pass --target.',
    );
  const model = options.model ?? config.model.name;
  const windowSize = mc.window;
  const driftCfg = mc.drift;
  const chartCfg = mc.controlChart;
  const style = chartStyle(mc);
  const choice = driftChoice(mc);
  const legacy = legacyDriftMethod(mc);
  const driftWindow = driftCfg.window ?? windowSize;

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

  // --since (a time the caller read, or 'deploy'), else monitor.since.
  const sinceSpec = options.since ?? mc.since;
  const sinceMs =
    typeof sinceSpec === 'string'
      ? resolveSince(
          sinceSpec,
          { registry, target, model },
          new Date(),
          options.since === undefined ? 'monitor.since' : '--since',
        )
      : sinceSpec;
  const since = sinceMs !== undefined && Number.isFinite(sinceMs) ? new Date(sinceMs).toISOString() : null;
  const source = options.logDir
    ? { dir: options.logDir, remote: null }
    : await logSourceFor(options, target, model, since ?? undefined);
  const logDir = source.dir;
  const task = primary.task;
  const labelOrder = primary.labels ?? [];
  const K = labelOrder.length;
  const wantEstimate = options.estimate !== false;
  const wantProbs = task === 'classification' && K >= 2 && wantEstimate;
  const keepLast = options.lastWindows && options.lastWindows > 0 ? options.lastWindows : 0;
  const pendingRows = Math.max(0, options.pendingRows ?? DEFAULT_PENDING_ROWS);
  const refCount = typeof chartCfg.baseline === 'number' ? chartCfg.baseline : 5;
  const references = new Map<string, Reference | null>();
  let cols: LogColumns | null = null;
  let primaryRef: Reference | null = null;
  const referenceFor = async (v: string): Promise<Reference | null> => {
    if (!references.has(v)) {
      const m = await manifestFor(v);
      references.set(v, m ? buildReference(m, cols!, choice, legacy) : null);
    }
    return references.get(v)!;
  };

  // Streaming: a window is scored (drift, distribution, latency) when its last row is read and
  // gets its labelled metrics once no more feedback can reach it (its end is `pendingRows` rows
  // back, or the log ended); rows are then discarded. See docs/monitoring.md.
  const windows = new WindowTable();
  /** Receives `labelStats` of the window being finalised. */
  const labelled: Pick<MonitorWindow, 'labelled' | 'accuracy' | 'mae' | 'rmse'> = {
    labelled: 0,
    accuracy: null,
    mae: null,
    rmse: null,
  };
  const scratch = new WindowScratch(windowSize);
  const cbpe = wantProbs
    ? new CbpeStore(K, windowSize, keepLast || refCount, keepLast > 0, refCount, primary.profile?.evaluation ?? null)
    : null;
  // DLE's reference is CBPE's: the first `baseline` windows (with `lastWindows`, of the last N).
  const dle =
    task === 'regression' && wantEstimate
      ? new DleStore(
          // Dates are not loss-model inputs (each day a new code: the live monitor leaves them out too).
          primary.features.filter((f) => f.kind !== 'date').map((f) => f.name),
          windowSize,
          keepLast || refCount,
          keepLast > 0,
          refCount,
          chartCfg.metric,
          primary.profile?.evaluationLoss ?? null,
        )
      : null;
  let nextClose = 0;
  let nextFinal = 0;
  /** Position in `windows` of window `nextFinal`. */
  let finalAt = 0;
  let base = 0;
  let total = 0;
  let feedback: FeedbackCounts = { applied: 0, late: 0, unmatched: 0 };
  const finalize = (c: LogColumns, row: number) => {
    const index = windows.first + row;
    const start = index * windowSize;
    labelStats(c, task, start - base, start - base + windowSize, labelled as MonitorWindow);
    windows.setLabels(row, labelled);
    if (cbpe && c.probabilities && c.predictedLabel && c.truthLabel)
      cbpe.finalized(c.probabilities, c.predictedLabel, c.truthLabel, start - base, index, windows);
    if (dle && c.predictedValue && c.truthValue)
      dle.finalized(c, c.predictedValue, c.truthValue, start - base, index, windows);
  };
  const onBlock = async (b: LogBlock) => {
    cols = b.cols;
    base = b.base;
    total = b.total;
    feedback = b.feedback;
    primaryRef ??= buildReference(primary, cols, choice, legacy);
    for (; (nextClose + 1) * windowSize <= total; nextClose++) {
      const end = (nextClose + 1) * windowSize;
      const version = cols.versions.values[cols.version[end - 1 - base]];
      const ref = (await referenceFor(version)) ?? primaryRef;
      windows.score(
        cols,
        task,
        end - windowSize - base,
        end - base,
        Math.max(0, end - driftWindow) - base,
        nextClose,
        version,
        ref,
        scratch,
      );
    }
    // Windows no feedback can reach any more get their labelled metrics.
    const finalUpTo = b.done ? Infinity : total - pendingRows;
    for (; nextFinal < nextClose && (nextFinal + 1) * windowSize <= finalUpTo; nextFinal++) finalize(cols, finalAt++);
    if (keepLast && finalAt > keepLast) {
      // Only the last N windows are reported: older ones are dropped once scored.
      const drop = Math.min(finalAt, windows.length - keepLast);
      if (drop > 0) {
        windows.discard(drop);
        finalAt -= drop;
      }
    }
    b.discard(Math.min(nextFinal * windowSize, nextClose * windowSize - driftWindow));
  };
  const retained = await readPredictionLog(logDir, primary.features, task, labelOrder, {
    probabilities: wantProbs,
    ...(since !== null ? { since: sinceMs } : {}),
    stream: { pendingRows, onBlock, ...(options.readChunkBytes ? { chunkBytes: options.readChunkBytes } : {}) },
  });
  cols = retained;
  primaryRef ??= buildReference(primary, retained, choice, legacy);
  const totalWindows = Math.floor(total / windowSize);
  if (keepLast && windows.length > keepLast) windows.discard(windows.length - keepLast);
  let labelledTotal = 0;
  for (let i = 0; i < windows.length; i++) labelledTotal += windows.labelledOf(i);

  const metric = chartCfg.metric;
  // Window times as ISO strings, made once for both charts (no window object is built for them).
  const times = windows.length > 0 ? windows.isoTimes() : { start: [], end: [] };
  const estimated = cbpe
    ? cbpe.estimate(windows, times, metric, chartCfg, style)
    : dle
      ? dle.estimate(windows, times, chartCfg, style)
      : null;

  // Control chart of the configured metric over windows that have it, as columns.
  let chart: ControlChartData | null = null;
  let chartNote: string | null = null;
  const chartWindows: number[] = [];
  const withN = metric === 'accuracy' || metric === 'error_rate';
  const points = {
    values: [] as number[],
    n: withN ? ([] as Array<number | null>) : undefined,
    start: [] as Array<string | null>,
    end: [] as Array<string | null>,
    estimated: [] as Array<number | null>,
  };
  for (let i = 0; i < windows.length; i++) {
    const v = windows.metricOf(i, metric);
    if (v === null) continue;
    chartWindows.push(windows.indexOf(i));
    points.values.push(v);
    points.n?.push(windows.labelledOf(i));
    points.start.push(times.start[i]);
    points.end.push(times.end[i]);
    points.estimated.push(windows.estimateOf(i, metric));
  }
  if (points.values.length === 0) {
    chartNote =
      windows.length === 0
        ? `Fewer than ${windowSize} logged predictions: no complete window yet.`
        : `No window has ${metric} yet: send true labels to the feedback endpoint.`;
  } else {
    try {
      const proportion = metric === 'accuracy' || metric === 'error_rate';
      let baseline: number | { mean: number; std: number };
      if (chartCfg.baseline === 'evaluation') {
        const evalValue = primaryVersion
          ? registry.getVersion(`${model}@${primaryVersion}`).metrics[metric === 'error_rate' ? 'accuracy' : metric]
          : undefined;
        if (typeof evalValue === 'number' && proportion)
          baseline = { mean: metric === 'error_rate' ? 1 - evalValue : evalValue, std: 0 };
        else baseline = Math.min(5, points.values.length);
      } else {
        baseline = Math.min(chartCfg.baseline, points.values.length);
      }
      chart = buildControlChartColumns(points, {
        chart: proportion ? 'p' : 'individuals',
        sigma: chartCfg.sigma,
        baseline,
        rules: chartCfg.rules,
        metric,
        estimator: style.estimator,
        side: style.side,
        range: metricRange(metric),
      });
      // Name the method behind the dashed series, so the chart need not guess it from the metric.
      if (chart.estimated && estimated) chart.estimatedBy = estimated.method;
    } catch (e) {
      chartNote = describeError(e);
    }
  }

  // Drift summary: the latest window against its version's reference.
  let drift: DriftSummary | null = null;
  if (windows.length > 0) {
    const last = windows.at(windows.length - 1);
    const ref = (await referenceFor(last.version)) ?? primaryRef;
    // The rows of the last window's drift window are still retained (indices from `base`).
    const cols = retained;
    const start = last.index * windowSize;
    const end = start + windowSize;
    const dStart = Math.max(0, end - driftWindow);
    const wanted = driftCfg.features ?? primary.features.map((f) => f.name);
    const { features, predictions } = driftDecisions(
      ref,
      cols,
      last,
      wanted,
      dStart - base,
      end - base,
      driftCfg.threshold,
      legacyDriftMethod(mc),
      scratch,
    );
    const tests = new Set(features.map((f) => f.test));
    const thresholds = new Set(features.map((f) => f.threshold));
    drift = {
      method: tests.size === 1 ? ([...tests][0] as DriftTestChoice) : tests.size === 0 ? choice : 'auto',
      threshold: thresholds.size === 1 ? [...thresholds][0] : null,
      window: end - dStart,
      features,
      predictions,
    };
  }
  const driftTests: Record<string, DriftTest> = {};
  for (const [name, r] of Object.entries(primaryRef.numeric)) driftTests[name] = r.test;
  for (const [name, r] of Object.entries(primaryRef.categorical)) driftTests[name] = r.test;
  const predRef = primaryRef.predictionsCategorical ?? primaryRef.predictionsNumeric;
  if (predRef) driftTests['(predictions)'] = predRef.test;

  const alerts =
    options.alert === false
      ? []
      : await raiseAlerts(options, target, model, windows, chart, chartWindows, drift, metric, estimated);
  // Windows are objects only when a caller reads them (a 10M log has 100,000); `windowTable` has them as columns.
  let list: MonitorWindow[] | null = null;
  const result: MonitorResult = {
    target,
    model,
    version: windows.length ? windows.versionOf(windows.length - 1) : primaryVersion,
    window: windowSize,
    totalPredictions: total,
    since,
    beforeSince: cols.beforeSince,
    remote: source.remote,
    pending: total - totalWindows * windowSize,
    labelled: labelledTotal,
    get windows(): MonitorWindow[] {
      return (list ??= windows.toArray());
    },
    set windows(v: MonitorWindow[]) {
      list = v;
    },
    chart,
    chartWindows,
    chartNote,
    drift,
    driftTests,
    estimated,
    alerts,
    badLines: cols.badLines,
    feedback,
    elapsedMs: Math.round((performance.now() - t0) * 10) / 10,
  };
  Object.defineProperty(result, 'windowTable', { value: windows, enumerable: false });
  return result;
}

/**
 * A registered version's columns, task, labels and profile, as the model runtime layer reads
 * them, without loading the model (monitoring makes no predictions).
 */
export function defaultManifestFor(
  registry: Registry,
  model: string,
): (version: string) => Promise<MonitoredModel | null> {
  return async (version) => {
    const d = await describeBundle(await registry.artifactPath(`${model}@${version}`));
    return {
      task: d.task,
      ...(d.labels ? { labels: d.labels } : {}),
      ...(d.target !== undefined ? { target: d.target } : {}),
      features: d.columns.map((c) => ({ name: c.name, kind: c.kind })),
      ...(d.profile ? { profile: d.profile } : {}),
    };
  };
}

interface NumericRef {
  test: DriftTest;
  edges: Float64Array;
  expected: Float64Array;
  /** Sorted reference sample for KS and Wasserstein. */
  sample: Float64Array;
  /** Population std of the sample (Wasserstein is normed by it). */
  std: number;
  /** A numeric column with ≤ 5 distinct reference values is tested on them as categories (Evidently): these are its bin edges. */
  discrete: Float64Array | null;
  discreteExpected: Float64Array | null;
  /** Reused window counts over `edges` and over `discrete` (scoring is synchronous). */
  counts: Float64Array;
  discreteCounts: Float64Array | null;
}

interface CategoricalRef {
  test: DriftTest;
  /** Codes into the log's dictionary (grown with unseen categories) and their expected counts, in the profile's order. */
  codes: Int32Array;
  expected: Float64Array;
  inRef: Uint8Array;
}

export interface Reference {
  numeric: Record<string, NumericRef>;
  categorical: Record<string, CategoricalRef>;
  predictionsNumeric: NumericRef | null;
  predictionsCategorical: CategoricalRef | null;
}

function numericRef(p: NumericProfile, choice: DriftTestChoice): NumericRef {
  const edges = binEdges(p.quantiles);
  const sample = Float64Array.from(p.sample).sort();
  const distinct = distinctSorted(sample, 5);
  const test = chooseDriftTest(choice, 'numeric', p.count - p.missing, distinct.length);
  // Few distinct values: bins that hold one value each, (−∞, v₁], (v₁, v₂], …
  const discrete = distinct.length <= 5 ? Float64Array.from(distinct.slice(0, -1)) : null;
  return {
    test,
    edges,
    expected: binCounts(edges, sample),
    sample,
    std: populationStd(sample),
    discrete,
    discreteExpected: discrete ? binCounts(discrete, sample) : null,
    counts: new Float64Array(edges.length + 1),
    discreteCounts: discrete ? new Float64Array(discrete.length + 1) : null,
  };
}

function categoricalRef(
  p: CategoricalProfile,
  dict: Dictionary,
  choice: DriftTestChoice,
  legacy: boolean,
): CategoricalRef {
  const counts = new Map<number, number>();
  for (const [k, v] of Object.entries(p.counts)) counts.set(dict.code(k), v);
  const codes = Int32Array.from(counts.keys());
  const inRef = new Uint8Array(codes.reduce((m, c) => Math.max(m, c + 1), 0));
  for (const c of codes) inRef[c] = 1;
  // The older `method` (psi or ks) always compared categories by PSI; it keeps doing so.
  const test = legacy ? 'psi' : chooseDriftTest(choice, 'categorical', p.count - p.missing, codes.length);
  return { test, codes, expected: Float64Array.from(counts.values()), inRef };
}

export function buildReference(
  m: MonitoredModel,
  cols: LogColumns,
  choice: DriftTestChoice,
  legacy: boolean,
): Reference {
  const numeric: Record<string, NumericRef> = {};
  const categorical: Record<string, CategoricalRef> = {};
  for (const f of m.features) {
    const p = m.profile?.features?.[f.name];
    if (!p) continue;
    if (p.kind === 'numeric' && cols.numeric[f.name]) numeric[f.name] = numericRef(p, choice);
    if (p.kind === 'categorical' && cols.categorical[f.name])
      categorical[f.name] = categoricalRef(p, cols.dictionaries[f.name], choice, legacy);
  }
  const pp = m.profile?.predictions;
  return {
    numeric,
    categorical,
    predictionsNumeric: pp?.kind === 'numeric' ? numericRef(pp, choice) : null,
    predictionsCategorical: pp?.kind === 'categorical' ? categoricalRef(pp, cols.labels, choice, legacy) : null,
  };
}

/** Reused buffers for the per-window work (one set per monitoring run). */
export class WindowScratch {
  counts = new Int32Array(64);
  order = new Int32Array(64);
  e = new Float64Array(64);
  a = new Float64Array(64);
  latency: Float64Array;
  /** A drift window's values (KS, Wasserstein), sorted in place. */
  values = new Float64Array(0);
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
 * Counts of a window's categories against the reference over the union of categories: the
 * reference's in its order, then the window's others in order of first appearance (sums run
 * in this order, so PSI is kept exactly). Leaves them in `s.e` / `s.a` and returns their number.
 */
function categoricalCounts(
  ref: CategoricalRef,
  codes: Int32Array,
  start: number,
  end: number,
  s: WindowScratch,
): number {
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
  for (let i = start; i < end; i++) if (codes[i] >= 0) s.counts[codes[i]] = 0;
  return total;
}

/** Score (and p-value, for the tests that have one) of counts over the same categories. */
function countsTest(test: DriftTest, e: Float64Array, a: Float64Array): { score: number; pValue: number | null } {
  switch (test) {
    case 'chisquare': {
      const r = chiSquareFromCounts(e, a);
      return { score: r.statistic, pValue: r.pValue };
    }
    case 'ztest': {
      const r = zTestFromCounts(e, a);
      return { score: r.statistic, pValue: r.pValue };
    }
    case 'jensenshannon':
      return { score: jensenShannonFromCounts(e, a), pValue: null };
    default:
      return { score: psiFromCounts(e, a), pValue: null };
  }
}

function categoricalTest(
  ref: CategoricalRef,
  codes: Int32Array,
  start: number,
  end: number,
  s: WindowScratch,
): { score: number; pValue: number | null } {
  const total = categoricalCounts(ref, codes, start, end, s);
  return countsTest(ref.test, s.e.subarray(0, total), s.a.subarray(0, total));
}

function categoricalScore(
  ref: CategoricalRef,
  codes: Int32Array,
  start: number,
  end: number,
  s: WindowScratch,
): number {
  return categoricalTest(ref, codes, start, end, s).score;
}

function categoricalPValue(
  ref: CategoricalRef,
  codes: Int32Array,
  start: number,
  end: number,
  s: WindowScratch,
): number | null {
  return categoricalTest(ref, codes, start, end, s).pValue;
}

/** Window counts of a numeric column over its test's bins: its distinct reference values, or its PSI bins. */
function numericCounts(
  ref: NumericRef,
  values: Float64Array,
  start: number,
  end: number,
  discrete: boolean,
): Float64Array {
  return discrete && ref.discrete
    ? binCounts(ref.discrete, values, start, end, ref.discreteCounts!)
    : binCounts(ref.edges, values, start, end, ref.counts);
}

function numericScore(ref: NumericRef, values: Float64Array, start: number, end: number, s: WindowScratch): number {
  switch (ref.test) {
    case 'psi':
      return psiFromCounts(ref.expected, numericCounts(ref, values, start, end, false));
    case 'ks': {
      const win = windowValues(values, start, end, s);
      return win.length && ref.sample.length ? ksStatistic(ref.sample, win) : NaN;
    }
    case 'wasserstein': {
      const win = windowValues(values, start, end, s);
      return win.length && ref.sample.length ? wassersteinNormed(ref.sample, win, ref.std) : NaN;
    }
    default: {
      // chi-square, Z-test, Jensen–Shannon on a numeric column: its distinct values, or its PSI bins.
      const expected = ref.discreteExpected ?? ref.expected;
      return countsTest(ref.test, expected, numericCounts(ref, values, start, end, true)).score;
    }
  }
}

function numericPValue(
  ref: NumericRef,
  values: Float64Array,
  start: number,
  end: number,
  s: WindowScratch,
): number | null {
  if (ref.test === 'ks') {
    const win = windowValues(values, start, end, s);
    return win.length && ref.sample.length ? ks2samp(ref.sample, win).pValue : null;
  }
  if (ref.test === 'chisquare' || ref.test === 'ztest') {
    const expected = ref.discreteExpected ?? ref.expected;
    return countsTest(ref.test, expected, numericCounts(ref, values, start, end, true)).pValue;
  }
  return null;
}

/** The window's non-missing values, sorted, in `s.values` (valid until the next call). */
function windowValues(values: Float64Array, start: number, end: number, s: WindowScratch): Float64Array {
  if (s.values.length < end - start) s.values = new Float64Array(end - start);
  const out = s.values;
  let n = 0;
  for (let i = start; i < end; i++) if (values[i] === values[i]) out[n++] = values[i];
  return out.subarray(0, n).sort();
}

/**
 * CBPE over the windows (classification with logged probabilities), streamed: the raw
 * probabilities, predictions and labels of the reference windows only (the chart's baseline
 * windows; with `lastWindows`, the last N windows, whose first `baseline` are the reference) are kept
 * as windows get their labels. Calibration is checked on the reference period, each window's
 * estimate is written into it, and the estimated metric gets a control chart with the chart's rules.
 */
class CbpeStore {
  private probs: Float32Array;
  private pred: Int32Array;
  private truth: Int32Array;
  /** Windows held (their global indices in `held`). */
  private held: number[] = [];
  private calibration: Calibration | null = null;
  private check: CalibrationCheck | null = null;
  private readonly scratch: CbpeScratch;

  constructor(
    readonly k: number,
    private readonly windowSize: number,
    /** Reference windows (no `lastWindows`), or the last N windows kept. */
    private readonly capacity: number,
    private readonly ring: boolean,
    /** The reference: the first `refCount` windows (with `lastWindows`, of the last N kept), as the chart's baseline. */
    private readonly refCount: number,
    /** The version's recorded test split: the calibration's rows when the reference windows have too few labels. */
    private readonly testSplit: EvaluationSample | null = null,
  ) {
    const rows = Math.max(1, capacity) * windowSize;
    this.probs = new Float32Array(rows * k);
    this.pred = new Int32Array(rows);
    this.truth = new Int32Array(rows);
    this.scratch = new CbpeScratch(k);
  }

  /** A window got its labels: keep its rows while they may be reference rows, else estimate it. */
  finalized(
    probs: Float32Array,
    pred: Int32Array,
    truth: Int32Array,
    start: number,
    index: number,
    windows: WindowTable,
  ): void {
    const W = this.windowSize;
    if (this.ring || this.held.length < this.capacity) {
      if (this.held.length === this.capacity) {
        // The oldest window is no longer among the last N.
        this.probs.copyWithin(0, W * this.k);
        this.pred.copyWithin(0, W);
        this.truth.copyWithin(0, W);
        this.held.shift();
      }
      const at = this.held.length * W;
      this.probs.set(probs.subarray(start * this.k, (start + W) * this.k), at * this.k);
      this.pred.set(pred.subarray(start, start + W), at);
      this.truth.set(truth.subarray(start, start + W), at);
      this.held.push(index);
      if (!this.ring && this.held.length === this.capacity) this.calibrate(this.capacity);
      return;
    }
    const e = estimateWindow(probs, pred, start, start + W, this.calibration!, this.scratch);
    windows.setEstimate(index, e.accuracy, e.f1);
  }

  private calibrate(refWindows: number): void {
    const { calibration, check } = checkCalibration(
      this.probs,
      this.k,
      this.pred,
      this.truth,
      0,
      refWindows * this.windowSize,
      this.testSplit,
    );
    this.calibration = calibration;
    this.check = check;
  }

  estimate(
    windows: WindowTable,
    times: { start: Array<string | null>; end: Array<string | null> },
    metric: string,
    chartCfg: MonitorConfig['controlChart'],
    style: { estimator: SigmaEstimator; side: RuleSide },
  ): EstimatedPerformance | null {
    if (windows.length === 0) return null;
    const refWindows = Math.min(windows.length, this.refCount);
    if (this.ring || !this.calibration) this.calibrate(refWindows);
    for (let j = 0; j < this.held.length; j++) {
      const index = this.held[j];
      if (windows.rowOf(index) < 0) continue;
      const e = estimateWindow(
        this.probs,
        this.pred,
        j * this.windowSize,
        (j + 1) * this.windowSize,
        this.calibration!,
        this.scratch,
      );
      windows.setEstimate(index, e.accuracy, e.f1);
    }
    return cbpeChart(windows, times, refWindows, this.check!, metric, chartCfg, style);
  }
}

/** The metric DLE estimates for the charted one: RMSE and MSE from the squared loss, else MAE. */
function dleMetric(metric: string): 'mae' | 'rmse' | 'mse' {
  return metric === 'rmse' || metric === 'mse' ? metric : 'mae';
}

/**
 * DLE over the windows of a regression model, streamed as CbpeStore is and with the same
 * reference: the inputs, predictions and true values of the reference windows (every s-th row
 * past MAX_DLE_ROWS) are kept as windows get their labels; the loss model is fitted on their
 * labelled rows once the last is in, and every later window is estimated as it is finalised.
 */
class DleStore {
  private readonly ref: DleReference;
  private model: LossModel | null = null;
  private report: LossModelReport | null = null;
  private readonly metric: 'mae' | 'rmse' | 'mse';
  private columnsSeen: LogColumns | null = null;

  constructor(
    private readonly features: readonly string[],
    private readonly windowSize: number,
    /** Reference windows (no `lastWindows`), or the last N windows kept. */
    capacity: number,
    ring: boolean,
    /** The reference: the first `refCount` windows (with `lastWindows`, of the last N kept). */
    private readonly refCount: number,
    metric: string,
    /** The version's recorded test split: the loss model's rows when the reference windows have too few labels. */
    private readonly testSplit: LossSample | null = null,
  ) {
    this.metric = dleMetric(metric);
    this.ref = new DleReference(features.length, windowSize, Math.max(1, capacity), ring);
  }

  /** The model's input columns in `c` (the log has a column for every feature): categorical ones by their codes. */
  private columns(c: LogColumns): DleColumn[] {
    return dleColumns(c, this.features);
  }

  /** Fits on the first `windows` windows held (all of them by default), or on the test split (see DleReference.fit). */
  private fit(windows?: number): void {
    const { model, report } = this.ref.fit(
      this.metric === 'mae' ? 'absolute' : 'squared',
      this.features,
      undefined,
      windows,
      this.testSplit && this.columnsSeen ? lossSampleRows(this.testSplit, this.columnsSeen, this.features) : null,
    );
    this.model = model;
    this.report = report;
  }

  private set(windows: WindowTable, index: number, meanLoss: number | null): void {
    if (this.metric === 'mae') windows.setLossEstimate(index, meanLoss, undefined);
    else windows.setLossEstimate(index, undefined, meanLoss === null ? null : Math.sqrt(meanLoss));
  }

  /** A window got its labels: keep its rows while they may be reference rows, else estimate it. */
  finalized(
    c: LogColumns,
    prediction: Float64Array,
    truth: Float64Array,
    start: number,
    index: number,
    windows: WindowTable,
  ): void {
    // The log's columns (their dictionaries code the test split's categories as the log's).
    this.columnsSeen = c;
    const ref = this.ref;
    if (ref.ring || !ref.full) {
      ref.add(this.columns(c), prediction, truth, start, index);
      if (!ref.ring && ref.full) this.fit();
      return;
    }
    if (!this.model) return;
    const e = this.model.estimate(this.columns(c), prediction, start, start + this.windowSize);
    this.set(windows, index, e.meanLoss);
  }

  estimate(
    windows: WindowTable,
    times: { start: Array<string | null>; end: Array<string | null> },
    chartCfg: MonitorConfig['controlChart'],
    style: { estimator: SigmaEstimator; side: RuleSide },
  ): EstimatedPerformance | null {
    if (windows.length === 0) return null;
    const refWindows = Math.min(windows.length, this.refCount);
    if (this.ref.ring || !this.report) this.fit(refWindows);
    const model = this.model;
    if (model)
      this.ref.held.forEach((index, j) => {
        if (windows.rowOf(index) >= 0) this.set(windows, index, this.ref.estimateHeld(model, j).meanLoss);
      });
    return dleChart(windows, times, refWindows, this.report!, this.metric, chartCfg, style);
  }
}

/** The windows with an estimate of `metric` (CBPE or DLE), as chart points and their window indices. */
function estimatePoints(
  windows: WindowTable,
  times: { start: Array<string | null>; end: Array<string | null> },
  metric: string,
): { points: { values: number[]; start: Array<string | null>; end: Array<string | null> }; chartWindows: number[] } {
  const points = { values: [] as number[], start: [] as Array<string | null>, end: [] as Array<string | null> };
  const chartWindows: number[] = [];
  for (let i = 0; i < windows.length; i++) {
    const v = windows.estimateOf(i, metric);
    if (v === null) continue;
    chartWindows.push(windows.indexOf(i));
    points.values.push(v);
    points.start.push(times.start[i]);
    points.end.push(times.end[i]);
  }
  return { points, chartWindows };
}

function dleChart(
  windows: WindowTable,
  times: { start: Array<string | null>; end: Array<string | null> },
  refWindows: number,
  report: LossModelReport,
  metric: 'mae' | 'rmse' | 'mse',
  chartCfg: MonitorConfig['controlChart'],
  style: { estimator: SigmaEstimator; side: RuleSide },
): DlePerformance {
  const { points, chartWindows } = estimatePoints(windows, times, metric);
  let chart: ControlChartData | null = null;
  let chartNote: string | null = null;
  if (points.values.length === 0) chartNote = report.note ?? 'No window has a prediction to estimate.';
  else {
    try {
      // Centre: the reference windows' estimates. σ: the larger of their spread and the realised
      // metric's over the same windows (NannyML's thresholds come from the realised reference
      // performance): on windows like the reference the estimate barely moves, so its own spread
      // alone would flag moves far smaller than a window's sampling error.
      const k = Math.min(refWindows, points.values.length);
      const est = controlLimits(points.values, { baseline: k, estimator: style.estimator });
      const realised: number[] = [];
      for (let i = 0; i < Math.min(refWindows, windows.length); i++) {
        const v = windows.metricOf(i, metric);
        if (v !== null) realised.push(v);
      }
      const std =
        realised.length >= 2 ? Math.max(est.std, controlLimits(realised, { estimator: style.estimator }).std) : est.std;
      chart = buildControlChartColumns(points, {
        chart: 'individuals',
        sigma: chartCfg.sigma,
        baseline: { mean: est.mean, std },
        rules: chartCfg.rules,
        metric: `${metric} (estimated, DLE)`,
        estimator: style.estimator,
        side: chartCfg.side ?? defaultSide(metric),
        range: metricRange(metric),
      });
    } catch (e) {
      chartNote = describeError(e);
    }
  }
  return { method: 'dle', metric, referenceWindows: refWindows, lossModel: report, chart, chartWindows, chartNote };
}

function cbpeChart(
  windows: WindowTable,
  times: { start: Array<string | null>; end: Array<string | null> },
  refWindows: number,
  check: CalibrationCheck,
  metric: string,
  chartCfg: MonitorConfig['controlChart'],
  style: { estimator: SigmaEstimator; side: RuleSide },
): EstimatedPerformance {
  const chartMetric = metric === 'error_rate' || metric === 'f1' ? metric : 'accuracy';
  const { points, chartWindows } = estimatePoints(windows, times, chartMetric);
  let chart: ControlChartData | null = null;
  let chartNote: string | null = null;
  if (points.values.length === 0) chartNote = 'No window has logged class probabilities.';
  else {
    try {
      // An individuals chart: the estimate is a mean of probabilities, not a count of successes.
      const side = chartCfg.side ?? defaultSide(chartMetric);
      chart = buildControlChartColumns(points, {
        chart: 'individuals',
        sigma: chartCfg.sigma,
        baseline: Math.min(refWindows, points.values.length),
        rules: chartCfg.rules,
        metric: `${chartMetric} (estimated, CBPE)`,
        estimator: style.estimator,
        side,
        range: metricRange(chartMetric),
      });
    } catch (e) {
      chartNote = describeError(e);
    }
  }
  return {
    method: 'cbpe',
    metric: chartMetric,
    referenceWindows: refWindows,
    calibration: check,
    chart,
    chartWindows,
    chartNote,
  };
}

/**
 * Drift decisions of a window's drift window `[dStart, end)` of `cols` (the scores are the
 * window's own, from windowStats): each wanted feature and the predictions judged by their test
 * and threshold. The batch summary and the live window both decide through this.
 */
export function driftDecisions(
  ref: Reference,
  cols: LogColumns,
  w: MonitorWindow,
  wanted: readonly string[],
  dStart: number,
  end: number,
  configured: number | undefined,
  legacy: boolean,
  scratch: WindowScratch,
): { features: DriftFeatureResult[]; predictions: Omit<DriftFeatureResult, 'name'> } {
  const judge = (test: DriftTest, score: number, pValue: number | null) => {
    const threshold = configured ?? (legacy ? 0.2 : defaultThreshold(test));
    // The older `method` judges the statistic itself (KS on D), so no p-value is reported with it.
    return legacy
      ? { test, score, pValue: null, threshold, drifted: score > threshold }
      : { test, score, pValue, threshold, drifted: isDrifted(test, score, pValue, threshold) };
  };
  const features = wanted
    .filter((name) => name in w.drift)
    .map((name) => {
      const test = ref.numeric[name]?.test ?? ref.categorical[name].test;
      const pValue = ref.numeric[name]
        ? numericPValue(ref.numeric[name], cols.numeric[name], dStart, end, scratch)
        : categoricalPValue(ref.categorical[name], cols.categorical[name], dStart, end, scratch);
      return { name, ...judge(test, w.drift[name], pValue) };
    });
  let predictions: Omit<DriftFeatureResult, 'name'>;
  if (ref.predictionsCategorical && cols.predictedLabel)
    predictions = judge(
      ref.predictionsCategorical.test,
      w.predictionDrift,
      categoricalPValue(ref.predictionsCategorical, cols.predictedLabel, dStart, end, scratch),
    );
  else if (ref.predictionsNumeric && cols.predictedValue)
    predictions = judge(
      ref.predictionsNumeric.test,
      w.predictionDrift,
      numericPValue(ref.predictionsNumeric, cols.predictedValue, dStart, end, scratch),
    );
  else predictions = judge('psi', NaN, null);
  return { features, predictions };
}

/**
 * A window's scores that labels do not change (distribution, drift of its trailing drift
 * window, latency, times); `labelStats` adds the labelled metrics once feedback is in. Indices
 * are into `cols`; the batch monitor and the live window both score through these two.
 */
export function windowStats(
  cols: LogColumns,
  task: 'classification' | 'regression',
  start: number,
  end: number,
  driftStart: number,
  index: number,
  version: string,
  ref: Reference,
  scratch: WindowScratch,
): MonitorWindow {
  const distribution: Record<string, number> = {};
  let meanPrediction: number | null = null;
  if (task === 'classification') {
    const pred = cols.predictedLabel!;
    const counts = new Int32Array(cols.labels.values.length);
    for (let i = start; i < end; i++) counts[pred[i]]++;
    for (let k = 0; k < counts.length; k++) if (counts[k] > 0) distribution[cols.labels.values[k]] = counts[k];
  } else {
    const pred = cols.predictedValue!;
    let sum = 0;
    for (let i = start; i < end; i++) sum += pred[i];
    meanPrediction = sum / (end - start);
  }
  // Drift looks at its own (trailing) window, [driftStart, end).
  const drift: Record<string, number> = {};
  for (const [name, r] of Object.entries(ref.numeric))
    drift[name] = numericScore(r, cols.numeric[name], driftStart, end, scratch);
  for (const [name, r] of Object.entries(ref.categorical))
    drift[name] = categoricalTest(r, cols.categorical[name], driftStart, end, scratch).score;
  let predictionDrift = NaN;
  if (ref.predictionsCategorical && cols.predictedLabel)
    predictionDrift = categoricalTest(ref.predictionsCategorical, cols.predictedLabel, driftStart, end, scratch).score;
  else if (ref.predictionsNumeric && cols.predictedValue)
    predictionDrift = numericScore(ref.predictionsNumeric, cols.predictedValue, driftStart, end, scratch);
  const p50 = kthSmallest(cols.latencyMs, start, end, (end - start) >> 1, scratch.latency);
  const t0 = cols.time[start];
  const t1 = cols.time[end - 1];
  return {
    index,
    start: Number.isFinite(t0) ? new Date(t0).toISOString() : null,
    end: Number.isFinite(t1) ? new Date(t1).toISOString() : null,
    count: end - start,
    labelled: 0,
    version,
    accuracy: null,
    mae: null,
    rmse: null,
    distribution,
    meanPrediction,
    drift,
    predictionDrift,
    p50LatencyMs: Number.isFinite(p50) ? p50 : null,
  };
}

/** Accuracy (or MAE/RMSE) over the rows of `[start, end)` that have a true label, in row order. */
export function labelStats(
  cols: LogColumns,
  task: 'classification' | 'regression',
  start: number,
  end: number,
  w: MonitorWindow,
): void {
  let labelled = 0;
  let correct = 0;
  let absErr = 0;
  let sqErr = 0;
  if (task === 'classification') {
    const pred = cols.predictedLabel!;
    const truth = cols.truthLabel!;
    for (let i = start; i < end; i++) {
      const t = truth[i];
      if (t >= 0) {
        labelled++;
        if (t === pred[i]) correct++;
      }
    }
  } else {
    const pred = cols.predictedValue!;
    const truth = cols.truthValue!;
    for (let i = start; i < end; i++) {
      const t = truth[i];
      if (t === t) {
        labelled++;
        const d = pred[i] - t;
        absErr += Math.abs(d);
        sqErr += d * d;
      }
    }
  }
  w.labelled = labelled;
  w.accuracy = task === 'classification' && labelled > 0 ? correct / labelled : null;
  w.mae = task === 'regression' && labelled > 0 ? absErr / labelled : null;
  w.rmse = task === 'regression' && labelled > 0 ? Math.sqrt(sqErr / labelled) : null;
}

const TEST_NAME: Record<DriftTest, string> = {
  psi: 'PSI',
  ks: 'KS',
  wasserstein: 'Wasserstein (normed)',
  jensenshannon: 'Jensen–Shannon',
  chisquare: 'chi-square',
  ztest: 'Z-test',
};

/** What a drift decision measured, for alert messages: "KS 0.412, p = 1.2e-5 < 0.05" or "PSI 0.31 > 0.2". */
export function driftDetail(r: Omit<DriftFeatureResult, 'name'>): string {
  return r.pValue !== null
    ? `${TEST_NAME[r.test]} ${r.score.toFixed(3)}, p = ${r.pValue.toPrecision(3)} < ${r.threshold}`
    : `${TEST_NAME[r.test]} ${r.score.toFixed(3)} > ${r.threshold}`;
}

function driftMessage(what: string, windowIndex: number, r: Omit<DriftFeatureResult, 'name'>, window: number): string {
  return `Drift of ${what} in window ${windowIndex + 1} (latest ${window} predictions): ${driftDetail(r)}.`;
}

async function raiseAlerts(
  options: MonitorOptions,
  target: string,
  model: string,
  windows: WindowTable,
  chart: ControlChartData | null,
  chartWindows: number[],
  drift: DriftSummary | null,
  metric: string,
  estimated: EstimatedPerformance | null,
): Promise<MonitorAlert[]> {
  const { registry } = options;
  const wanted: Array<{ version: string; rule: string; metric: string; message: string; estimated?: true }> = [];
  const ruleAlerts = (c: ControlChartData, at: number[], what: string, estimate: 'cbpe' | 'dle' | null) => {
    for (const v of c.violations) {
      const w = windows.at(windows.rowOf(at[v.index]));
      const value = c.values[v.index];
      const limit =
        v.side === 'above' ? `above the centre ${c.centre.toFixed(3)}` : `below the centre ${c.centre.toFixed(3)}`;
      wanted.push({
        version: w.version,
        // The estimate's own rule names, so an estimated and a realised finding are both kept.
        rule: `${estimate ? `${estimate}:` : ''}we${v.rule}`,
        metric: what,
        message: `${estimate ? 'Estimated ' : ''}${what} ${value.toFixed(3)} in window ${w.index + 1}${w.end ? ` (to ${w.end})` : ''}: Western Electric rule ${v.rule}, ${RULE_TEXT[v.rule]} (${limit})${estimate ? `; ${estimateSource(estimate, estimated?.method === 'dle' ? estimated.lossModel.source : null)}, ${w.labelled} of ${w.count} rows labelled` : ''}.`,
        ...(estimate ? { estimated: true as const } : {}),
      });
    }
  };
  if (chart) ruleAlerts(chart, chartWindows, metric, null);
  if (estimated?.chart) ruleAlerts(estimated.chart, estimated.chartWindows, estimated.metric, estimated.method);
  if (drift && windows.length > 0) {
    const last = windows.at(windows.length - 1);
    for (const f of drift.features) {
      if (!f.drifted) continue;
      wanted.push({
        version: last.version,
        rule: `drift:${f.name}`,
        metric: f.test,
        message: driftMessage(`'${f.name}'`, last.index, f, drift.window),
      });
    }
    if (drift.predictions.drifted) {
      wanted.push({
        version: last.version,
        rule: 'drift:predictions',
        metric: drift.predictions.test,
        message: driftMessage('the predictions', last.index, drift.predictions, drift.window),
      });
    }
  }
  if (wanted.length === 0) return [];
  // The same finding is recorded once, however often monitoring runs.
  const seen = new Set(
    registry
      .listAlerts({ target, limit: 100_000 })
      .filter((a) => a.model === model)
      .map((a) => `${a.rule}\u0000${a.message}`),
  );
  const raised: MonitorAlert[] = [];
  for (const { estimated: est, ...a } of wanted) {
    const key = `${a.rule}\u0000${a.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const rec = registry.recordAlert({ target, model, ...a });
    raised.push(est ? { ...rec, estimated: true } : rec);
  }
  const webhook =
    raised.length > 0
      ? webhookUrl(monitorConfig(options.config).alerts, options.env ?? process.env, options.onLog)
      : null;
  if (webhook && raised.length > 0)
    await sendWebhook(
      webhook,
      { event: 'modelops.alerts', target, model, alerts: raised },
      options.webhookTimeoutMs ?? 5000,
      options.onLog,
    );
  return raised;
}
