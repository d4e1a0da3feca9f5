/**
 * Incremental monitoring windows: the model server feeds each prediction and each feedback as
 * it arrives, and a window is scored when it is complete — the same definition as the batch
 * monitor (monitor.ts), scored by its functions: `window` consecutive predicted rows, accuracy (or
 * MAE/RMSE) over the rows whose label arrived, the drift of each feature and of the predictions
 * over the trailing `drift.window` rows against the reference profile of the version that served
 * the window's last row (test per column by `drift.test`, auto as Evidently chooses), the median
 * latency, then the control chart of the configured metric (σ estimator and side as the batch
 * chart) with the Western Electric rules; for a classifier that returns class probabilities, the
 * CBPE estimate of its accuracy (cbpe.ts, calibrated on the first `baseline` windows as the batch
 * monitor's) on an individuals chart of its own, so a drop alerts before any label arrives; for a
 * regression model, the DLE estimate of its MAE, RMSE or MSE (dle.ts, a loss model fitted on the
 * same reference windows' labelled rows, charted as the batch monitor charts it). Each version has
 * its own estimator, with its own first windows as reference: a new version is never read with an
 * older one's calibration or loss model.
 *
 * Memory does not grow with traffic: a ring of typed arrays of max(window, drift window) + window
 * rows and one contiguous copy of max(window, drift window) rows, request ids of the two newest
 * windows only, category dictionaries capped at MAX_CATEGORIES per feature, the chart's baseline
 * points plus a ring of RECENT_POINTS points.
 *
 * When is a window scored? Labels usually come after their predictions, so a full window waits
 * for them: it is scored when every row has its label, when the next window fills, or when
 * `labelWaitMs` has passed since it filled (`tick`). Feedback for a window already scored is
 * not counted here (the batch monitor, which reads the whole log, counts it).
 */
import {
  buildControlChart,
  controlLimits,
  pointLimits,
  type ControlChartInputPoint,
  type ControlChartOptions,
} from '../../spc';
import {
  Calibration,
  CbpeReference,
  CbpeScratch,
  estimateWindow,
  type CalibrationCheck,
  type CbpeEstimate,
} from '../cbpe';
import {
  dleColumns,
  DleReference,
  lossSampleRows,
  type DleColumn,
  type DleEstimate,
  type LossModel,
  type LossModelReport,
} from '../dle';
import type { EvaluationSample, LossSample, ReferenceProfile, Task } from '../../model/types';
import { DRIFT_TESTS, type DriftTest, type DriftTestChoice } from '../../drift/select';
import { Dictionary, type LogColumns } from '../readLog';
import { PendingIds, type RequestId } from './pendingIds';
import {
  buildReference,
  defaultSide,
  metricRange,
  driftDecisions,
  driftDetail,
  estimateSource,
  labelStats,
  windowStats,
  WindowScratch,
  type DriftFeatureResult,
  type MonitorWindow,
  type Reference,
} from '../monitor';
import type { RuleSide, SigmaEstimator } from '../../../../shared/spc/types';

/** What one model's live monitor is told (resolved from `monitor:` of modelops.yaml by the follower). */
export interface LiveMonitorConfig {
  /** Predictions per window (monitor.window). */
  window: number;
  /** Charted metric (monitor.controlChart.metric); null: accuracy for classifiers, MAE for regressors. */
  metric: string | null;
  /** L in μ ± Lσ. */
  sigma: number;
  /** First k windows with the metric, or an explicit centre (baseline: evaluation, resolved by the follower). */
  baseline: number | { mean: number; std: number };
  rules: number[];
  /** σ of an individuals chart (monitor.controlChart.sigmaEstimator), as the batch chart. */
  estimator: SigmaEstimator;
  /** Side the rules watch (monitor.controlChart.side); null: by metric, as the batch monitor's defaultSide. */
  side: RuleSide | null;
  drift: {
    /** Test per column (monitor.drift.test, or the older `method`): auto chooses by type and reference size. */
    method: DriftTestChoice;
    /** The older `method` key's meaning: drift when the score exceeds the threshold (default 0.2), categories by PSI. */
    legacy: boolean;
    /** Null: the test's own default (p < 0.05 for p-value tests, PSI 0.2, distances 0.1). */
    threshold: number | null;
    /** Predictions the drift tests look at, ending with each window (monitor.drift.window); null: `window`. */
    window: number | null;
    features: string[] | null;
  };
  /** How long a full window waits for its labels before it is scored anyway. */
  labelWaitMs: number;
}

export const DEFAULT_LIVE_CONFIG: LiveMonitorConfig = {
  window: 100,
  metric: null,
  sigma: 3,
  baseline: 5,
  rules: [1, 2, 3, 4],
  estimator: 'movingRange',
  side: null,
  drift: { method: 'auto', legacy: false, threshold: null, window: null, features: null },
  labelWaitMs: 60_000,
};

/** The largest window the server keeps buffers for (the schema allows up to 1,000,000). */
export const MAX_LIVE_WINDOW = 1_000_000;
/** Distinct categories kept per categorical feature; more fall into one "(other)" bucket. */
export const MAX_CATEGORIES = 1024;
/** Chart points kept after the baseline (rules 2–4 look back at most 8 points). */
export const RECENT_POINTS = 32;
/** Points the longest Western Electric rule spans (rule 4: 8 in a row on one side). */
const RULE_SPAN = 8;
const OTHER = '(other)';

/** What the live monitor needs of a served version (a ServingModel is one). */
export interface LiveModel {
  task: Task;
  labels?: string[];
  features: ReadonlyArray<{ name: string; kind: 'numeric' | 'categorical' | 'date' }>;
  profile?: ReferenceProfile;
}

/** A scored window, as the `window` event carries it (field names as in the batch MonitorWindow). */
export interface LiveWindow extends Pick<
  MonitorWindow,
  'start' | 'end' | 'count' | 'labelled' | 'version' | 'accuracy' | 'mae' | 'rmse' | 'distribution' | 'meanPrediction'
> {
  model: string;
  /** 0-based, counted from when this monitor started (server start or reconfiguration). */
  index: number;
  /** The test of every column when they share one, else `auto` (see `driftTests`). */
  driftMethod: DriftTestChoice;
  /** Column (and `(predictions)`) → its drift test, as the batch MonitorResult.driftTests. */
  driftTests: Record<string, DriftTest>;
  /** Predictions the drift scores looked at. */
  driftWindow: number;
  /** Columns judged drifted in this window by their test and threshold (`predictions` for the predictions). */
  drifted: string[];
  drift: Record<string, number>;
  predictionDrift: number | null;
  p50LatencyMs: number | null;
  /** The charted metric and its value in this window (null without labels). */
  metric: string;
  value: number | null;
  /** Limits at this point, once the baseline is complete. */
  chart: {
    kind: 'p' | 'individuals';
    centre: number;
    ucl: number;
    lcl: number;
    violations: Array<{ rule: number; side: 'above' | 'below' }>;
  } | null;
  /** Why the window was scored: all labels in, the next window filled, or the label wait ran out. */
  closedBy: 'labels' | 'next-window' | 'label-wait' | 'flush';
  /** CBPE from the served probabilities (classification; null without probabilities), as the batch window's. */
  estimatedAccuracy: number | null;
  estimatedF1: number | null;
  /** DLE (regression), as the batch window's: the estimated MAE, or RMSE (chart metric rmse or mse); absent otherwise. */
  estimatedMae?: number | null;
  estimatedRmse?: number | null;
  /**
   * The estimate of the charted metric and its own chart: CBPE for a classifier returning
   * probabilities, DLE for a regression model; null for a classifier without probabilities.
   */
  estimated: LiveEstimate | null;
}

/** The metrics CBPE estimates. */
type CbpeMetric = 'accuracy' | 'error_rate' | 'f1';
/** The metrics DLE estimates (RMSE and MSE from the squared loss, MAE from the absolute). */
type DleMetric = 'mae' | 'rmse' | 'mse';

/**
 * A live window's estimate of the charted metric and its control chart: CBPE (accuracy,
 * error_rate or f1 from the served probabilities) or DLE (mae, rmse or mse from the loss model).
 */
export interface LiveEstimate {
  /**
   * Always set here; optional in the type because a window from a server before DLE (CBPE only)
   * has none: absent means `cbpe`.
   */
  method?: 'cbpe' | 'dle';
  metric: CbpeMetric | DleMetric;
  /** Null: no estimate (DLE: a reference window before the fit, or no loss model). */
  value: number | null;
  /** Rows behind the estimate: with probabilities (CBPE), with a prediction (DLE; 0 without an estimate). */
  rows: number;
  /** Standard error of the realised accuracy around the estimate (CBPE; null for DLE). */
  accuracyStdErr: number | null;
  /**
   * CBPE: `pending` for a reference window before the reference is complete, estimated from the
   * raw probabilities; then what the calibration check chose (`none`: raw, `isotonic`).
   * DLE: `pending` for a reference window before the loss model is fitted (no estimate), then
   * `fitted`, or `unfitted` when the fit failed (too few labelled reference rows: see `note`).
   */
  calibration: 'pending' | 'none' | 'isotonic' | 'fitted' | 'unfitted';
  /**
   * CBPE once calibrated, DLE once fitted: the rows the calibration was checked on or the loss
   * model fitted on — the reference windows' labelled rows, or the version's test split recorded
   * at training when they had too few.
   */
  calibratedOn?: CalibrationCheck['source'];
  /** DLE only, with `unfitted`: why there is no loss model. */
  note?: string;
  /** Limits of the estimate's individuals chart at this point, once the reference windows are in. */
  chart: LiveWindow['chart'];
}

export interface LiveAlert {
  model: string;
  version: string;
  window: number;
  /** "we1" … "we4", "cbpe:we1" … "cbpe:we4", "dle:we1" … "dle:we4", "drift:<feature>", "drift:predictions" (the batch monitor's rule names). */
  rule: string;
  metric: string;
  value: number;
  message: string;
  /** Raised on the CBPE or DLE estimate rather than on labels (as the batch monitor's alerts). */
  estimated?: true;
}

export type LiveEvent = { type: 'window'; data: LiveWindow } | { type: 'alert'; data: LiveAlert };

const RULE_TEXT: Record<number, string> = {
  1: 'one point beyond 3σ',
  2: 'two of three points beyond 2σ on one side',
  3: 'four of five points beyond 1σ on one side',
  4: 'eight points in a row on one side of the centre',
};

/** The code of a category in a dictionary capped at MAX_CATEGORIES values (then "(other)"). */
function cappedCode(dict: Dictionary, v: string): number {
  const c = dict.lookup(v);
  if (c >= 0) return c;
  return dict.code(dict.values.length >= MAX_CATEGORIES ? OTHER : v);
}

interface Feature {
  name: string;
  kind: 'numeric' | 'categorical';
  /** The ring's column of this feature. */
  num: Float64Array | null;
  cat: Int32Array | null;
  dict: Dictionary | null;
}

/** Columns of `size` rows shaped as the batch monitor reads a log (readLog.ts), sharing the dictionaries. */
function columnsOf(
  size: number,
  features: readonly Feature[],
  task: Task,
  dictionaries: Record<string, Dictionary>,
  labels: Dictionary,
  versions: Dictionary,
): LogColumns {
  const numeric: Record<string, Float64Array> = {};
  const categorical: Record<string, Int32Array> = {};
  for (const f of features) {
    if (f.kind === 'numeric') numeric[f.name] = new Float64Array(size);
    else categorical[f.name] = new Int32Array(size);
  }
  const cls = task === 'classification';
  return {
    count: size,
    numeric,
    categorical,
    dictionaries,
    predictedLabel: cls ? new Int32Array(size) : null,
    predictedValue: cls ? null : new Float64Array(size),
    truthLabel: cls ? new Int32Array(size).fill(-1) : null,
    truthValue: cls ? null : new Float64Array(size).fill(NaN),
    labels,
    version: new Int32Array(size),
    versions,
    time: new Float64Array(size),
    latencyMs: new Float64Array(size),
    badLines: 0,
    beforeSince: 0,
    probabilities: null,
  };
}

/** Copies rows [g0, g0 + n) of a ring of `r` rows into `to[0, n)`. */
function unring<T extends Float64Array | Float32Array | Int32Array>(
  from: T,
  to: T,
  g0: number,
  n: number,
  r: number,
): void {
  const a = g0 % r;
  const first = Math.min(n, r - a);
  to.set(from.subarray(a, a + first), 0);
  if (first < n) to.set(from.subarray(0, n - first), first);
}

/** Sizes the accumulator holds now, for tests and `GET …/monitor` (none grows with traffic). */
export interface RetainedSizes {
  bufferRows: number;
  pendingIds: number;
  categories: number;
  chartPoints: number;
  references: number;
}

interface ChartPoint extends ControlChartInputPoint {
  seq: number;
}

/** A point's limits and the rule violations it completes. */
interface ChartVerdict {
  centre: number;
  ucl: number;
  lcl: number;
  violations: Array<{ rule: number; side: 'above' | 'below' }>;
}

/**
 * One live control chart: its baseline points (the first `k`, or set at once), then a ring of the
 * latest RECENT_POINTS; each new point is judged as the batch chart judges the same points.
 */
class LiveChart {
  baseline: ChartPoint[] = [];
  recent: ChartPoint[] = [];
  private seq = 0;

  /** `k`: baseline points to collect first (0 with an explicit baseline or one set by `setBaseline`). */
  constructor(private readonly k: number) {}

  get size(): number {
    return this.baseline.length + this.recent.length;
  }

  setBaseline(points: readonly ControlChartInputPoint[]): void {
    this.baseline = points.map((p) => ({ ...p, seq: this.seq++ }));
  }

  /** Adds a point; null while the baseline fills (no limits yet) or when no chart can be built. */
  add(point: ControlChartInputPoint, options: ControlChartOptions): ChartVerdict | null {
    const p: ChartPoint = { ...point, seq: this.seq++ };
    if (this.baseline.length < this.k) {
      // Limits come from the first k points; until then there is no chart.
      this.baseline.push(p);
      return null;
    }
    this.recent.push(p);
    if (this.recent.length > RECENT_POINTS) this.recent.shift();
    // The limits come from the baseline alone and no rule looks further back than RULE_SPAN
    // points, so the baseline and the last RULE_SPAN points judge the new point as the whole
    // series would, at a third of the cost.
    const recent = this.recent.length > RULE_SPAN ? this.recent.slice(-RULE_SPAN) : this.recent;
    const pts = this.baseline.concat(recent);
    let chart;
    try {
      chart = buildControlChart(pts, options);
    } catch {
      return null;
    }
    const last = pts.length - 1;
    const limits = pointLimits(chart, last);
    // A pattern counts only over consecutive chart points (the ring may have left a gap after the baseline).
    const found = chart.violations.filter(
      (v) => v.index === last && v.points.every((i) => pts[last].seq - pts[i].seq === last - i),
    );
    return {
      centre: chart.centre,
      ucl: limits.ucl,
      lcl: limits.lcl,
      violations: found.map((v) => ({ rule: v.rule, side: v.side })),
    };
  }
}

/** The CBPE state of a classifier's live windows. */
interface LiveCbpe {
  k: number;
  metric: CbpeMetric;
  /** Collects the first reference windows' rows until they are calibrated (then null). */
  reference: CbpeReference | null;
  /** The version's recorded test split: the calibration's rows when the reference windows have too few labels. */
  testSplit: EvaluationSample | null;
  calibration: Calibration;
  method: 'none' | 'isotonic';
  calibratedOn: CalibrationCheck['source'] | null;
  chart: LiveChart;
  scratch: CbpeScratch;
}

/** The estimate of the charted metric, as the batch monitor's estimateOf. */
function estimateOf(metric: CbpeMetric, e: CbpeEstimate): number | null {
  if (metric === 'f1') return e.f1;
  if (metric === 'error_rate') return e.accuracy === null ? null : 1 - e.accuracy;
  return e.accuracy;
}

/**
 * The DLE state of a regression model's live windows: the batch monitor's DleStore with its
 * reference the first `baseline` windows (never a ring: the live monitor has no `lastWindows`).
 */
interface LiveDle {
  metric: DleMetric;
  /** Feature names, and their columns in the scoring view (numeric values, categorical codes), as the batch DleStore reads them. */
  inputs: string[];
  columns: DleColumn[];
  /** Collects the reference windows' rows until the loss model is fitted (then null). */
  reference: DleReference | null;
  /** The version's recorded test split: the loss model's rows when the reference windows have too few labels. */
  testSplit: LossSample | null;
  /** Realised metric of each reference window (its labelled rows), for the chart's σ as the batch chart's. */
  realised: number[];
  model: LossModel | null;
  /** Why there is no loss model, once the reference was in and the fit failed. */
  note: string | null;
  /** The rows the loss model was fitted on, once fitted. */
  fittedOn: LossModelReport['source'] | null;
  /** Centre and σ of the estimate's chart, from the reference windows (null until then, or without a model). */
  limits: { mean: number; std: number } | null;
  chart: LiveChart;
}

/** Estimators kept at once: a version beyond that drops the one scored longest ago. */
const MAX_ESTIMATORS = 8;

/** The version's estimator (made on its first window), most recently used last. */
function estimatorOf<E>(byVersion: Map<string, E>, version: string, make: () => E): E {
  let e = byVersion.get(version);
  if (e) byVersion.delete(version);
  else {
    e = make();
    if (byVersion.size >= MAX_ESTIMATORS) byVersion.delete(byVersion.keys().next().value as string);
  }
  byVersion.set(version, e);
  return e;
}

/** The metric DLE estimates for the charted one, as the batch monitor's dleMetric: RMSE and MSE, else MAE. */
function dleMetric(metric: string): DleMetric {
  return metric === 'rmse' || metric === 'mse' ? metric : 'mae';
}

/**
 * The estimate of `metric` from a mean predicted loss, as the batch WindowTable holds it: MAE is
 * the mean absolute loss; RMSE its square root; MSE that root squared again (the batch table keeps
 * the RMSE and squares it back, so the same bits).
 */
function lossValue(metric: DleMetric, meanLoss: number | null): number | null {
  if (meanLoss === null || metric === 'mae') return meanLoss;
  const rmse = Math.sqrt(meanLoss);
  return metric === 'rmse' ? rmse : rmse * rmse;
}

/**
 * The DLE chart's centre and σ as the batch monitor's dleChart: the mean of the reference windows'
 * estimates, and the larger of their spread and the realised metric's over the same windows (both
 * by the chart's σ estimator). Null when there is no chart (fewer points than the estimator needs).
 */
function dleLimits(
  estimates: readonly number[],
  realised: readonly number[],
  estimator: SigmaEstimator,
): { mean: number; std: number } | null {
  try {
    const est = controlLimits(estimates, { estimator });
    const std = realised.length >= 2 ? Math.max(est.std, controlLimits(realised, { estimator }).std) : est.std;
    return { mean: est.mean, std };
  } catch {
    return null;
  }
}

const MAX_REFERENCES = 8;
const NO_REFERENCE: Reference = {
  numeric: {},
  categorical: {},
  predictionsNumeric: null,
  predictionsCategorical: null,
};

/** The window being scored: its rows `[start, end)` of the view, and the alerts it raises. */
interface ScoredSpan {
  win: LiveWindow;
  view: LogColumns;
  start: number;
  end: number;
  alerts: LiveAlert[];
}

/**
 * One model's incremental windows. `observe` and `feedback` are called on the request path and
 * only copy values into a ring of typed arrays (the latest max(window, drift window) + window
 * rows); a window is scored once by the batch monitor's own functions (monitor.ts: windowStats,
 * labelStats, buildReference, driftDecisions) over a contiguous copy of its rows and its drift
 * window, so live and batch windows agree.
 */
export class WindowAccumulator {
  private features: Feature[] = [];
  private featureKey = '';
  private task: Task | null = null;
  private labels = new Dictionary();
  private versions = new Dictionary();
  private dictionaries: Record<string, Dictionary> = {};
  private ring: LogColumns | null = null;
  private view: LogColumns | null = null;
  private scratch: WindowScratch | null = null;
  private W = 2;
  private D = 2;
  private span = 2;
  private R = 4;
  /** Rows observed since the last rebuild, and windows scored (all windows before `done`). */
  private rows = 0;
  private done = 0;
  private indexBase = 0;
  private nextIndex = 0;
  private fullAt = 0;
  private labelled = new Map<number, number>();
  /**
   * Per window not yet scored: request id → its rows in that window (one part, or several for a
   * repeated id). A request split over two windows has a part in each; a scored window's index is
   * cleared whole and kept for a later window (`spareIds`).
   */
  private pending = new Map<number, PendingIds>();
  private spareIds: PendingIds[] = [];
  /** Parts found by feedback (first global row, rows, offset; three numbers each), reused. */
  private found: number[] = [];
  private references = new Map<string, Reference>();
  private models = new Map<string, LiveModel>();
  private chart = new LiveChart(0);
  /** Classes of a classifier with probabilities to estimate (CBPE), else 0. */
  private k = 0;
  /**
   * The estimators, one per version: each version's first `baseline` windows are its own
   * reference (a new version's probabilities or losses are not read with an older one's calibration).
   */
  private cbpes = new Map<string, LiveCbpe>();
  private dles = new Map<string, LiveDle>();
  private drifted = new Set<string>();

  constructor(
    readonly model: string,
    readonly config: LiveMonitorConfig,
    private readonly emit: (e: LiveEvent) => void,
  ) {}

  /**
   * One answered request: its version, its id (text, or UTF-8 bytes as the scorer unpacks them),
   * the request's columns (name → value per row), predictions
   * and, for a classifier, each row's class probabilities in `m.labels` order (for CBPE). Values
   * are kept as the batch monitor reads them from the log: a numeric feature's number (a boolean
   * as 0/1, anything else missing), a categorical feature's text (anything else missing).
   */
  observe(
    version: string,
    m: LiveModel,
    id: string | RequestId,
    columns: Record<string, ArrayLike<unknown>>,
    predicted: ArrayLike<string | number>,
    latencyMs: number,
    timeMs: number,
    probabilities?: ReadonlyArray<ArrayLike<number> | undefined> | null,
  ): void {
    if (!this.ring || this.task !== m.task || this.featureKey !== keyOf(m)) this.rebuild(m);
    if (!this.models.has(version)) {
      if (this.models.size >= MAX_REFERENCES) {
        this.models.clear();
        this.references.clear();
      }
      this.models.set(version, m);
    }
    const ring = this.ring!;
    const { W, R } = this;
    const vcode = cappedCode(this.versions, version);
    const n = predicted.length;
    const probs = ring.probabilities;
    const K = this.k;
    let offset = 0;
    while (offset < n) {
      const local = Math.floor(this.rows / W);
      const take = Math.min(n - offset, (local + 1) * W - this.rows);
      for (let i = 0; i < take; i++) {
        const at = (this.rows + i) % R;
        for (const f of this.features) {
          const v = columns[f.name]?.[offset + i];
          // As the batch monitor reads a logged value (log/jsonLine.ts).
          if (f.num) f.num[at] = typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : NaN;
          else f.cat![at] = typeof v === 'string' ? cappedCode(f.dict!, v) : -1;
        }
        const p = predicted[offset + i];
        if (ring.predictedLabel) {
          ring.predictedLabel[at] = cappedCode(this.labels, String(p));
          ring.truthLabel![at] = -1;
        } else {
          ring.predictedValue![at] = Number(p);
          ring.truthValue![at] = NaN;
        }
        ring.latencyMs[at] = latencyMs;
        ring.time[at] = timeMs;
        ring.version[at] = vcode;
        if (probs) {
          // Float32 as the batch monitor reads them from the log; NaN: this row has none.
          const row = probabilities?.[offset + i];
          if (row && row.length === K) for (let c = 0; c < K; c++) probs[at * K + c] = row[c];
          else probs.fill(NaN, at * K, (at + 1) * K);
        }
      }
      let ids = this.pending.get(local);
      if (!ids) this.pending.set(local, (ids = this.spareIds.pop() ?? new PendingIds()));
      ids.add(id, this.rows, take, offset);
      this.rows += take;
      offset += take;
      if (this.rows % W === 0) this.filled(timeMs);
    }
  }

  /** True labels for a request's rows (one per row, in order). Unknown or already scored ids are ignored. */
  feedback(id: string, labels: ReadonlyArray<string | number>): void {
    if (!this.ring) return;
    const found = this.found;
    found.length = 0;
    for (const ids of this.pending.values()) ids.take(id, found);
    if (found.length === 0) return;
    const ring = this.ring;
    const { W, R } = this;
    for (let part = 0; part < found.length; part += 3) {
      const first = found[part];
      const rows = found[part + 1];
      const offset = found[part + 2];
      for (let i = 0; i < rows; i++) {
        const k = offset + i;
        if (k >= labels.length) break;
        const g = first + i;
        const local = Math.floor(g / W);
        if (local < this.done) continue;
        const at = g % R;
        if (ring.truthLabel) {
          if (ring.truthLabel[at] < 0) this.labelled.set(local, (this.labelled.get(local) ?? 0) + 1);
          ring.truthLabel[at] = cappedCode(this.labels, String(labels[k]));
        } else {
          const v = Number(labels[k]);
          if (!Number.isFinite(v)) continue;
          if (ring.truthValue![at] !== ring.truthValue![at])
            this.labelled.set(local, (this.labelled.get(local) ?? 0) + 1);
          ring.truthValue![at] = v;
        }
      }
    }
    // A full window waiting only for labels is scored once the last one is in.
    if (this.waiting() && (this.labelled.get(this.done) ?? 0) >= W) this.score(this.done, 'labels');
  }

  /** Scores a full window whose labels did not all arrive within labelWaitMs. */
  tick(nowMs: number): void {
    if (this.waiting() && nowMs - this.fullAt >= this.config.labelWaitMs) this.score(this.done, 'label-wait');
  }

  /** Scores the window waiting for labels now (shutdown, reconfiguration). */
  flush(): void {
    if (this.waiting()) this.score(this.done, 'flush');
  }

  retained(): RetainedSizes {
    return {
      bufferRows: this.ring ? this.R + this.span : 0,
      pendingIds: [...this.pending.values()].reduce((s, ids) => s + ids.size, 0),
      categories: this.features.reduce((s, f) => s + (f.dict?.values.length ?? 0), 0) + this.labels.values.length,
      chartPoints:
        this.chart.size + [...this.cbpes.values(), ...this.dles.values()].reduce((sum, e) => sum + e.chart.size, 0),
      references: this.references.size,
    };
  }

  /** Forgets a window's request ids; their index is kept for a later window. */
  private dropPending(local: number): void {
    const ids = this.pending.get(local);
    if (!ids) return;
    this.pending.delete(local);
    ids.clear();
    if (this.spareIds.length < 2) this.spareIds.push(ids);
  }

  /** A full window is waiting for its labels (at most one: the previous is scored when the next fills). */
  private waiting(): boolean {
    return this.ring !== null && Math.floor(this.rows / this.W) > this.done;
  }

  private rebuild(m: LiveModel): void {
    // A version with other columns or another task starts over: its windows are not comparable.
    this.task = m.task;
    this.featureKey = keyOf(m);
    this.W = Math.min(MAX_LIVE_WINDOW, Math.max(2, this.config.window));
    this.D = Math.min(MAX_LIVE_WINDOW, Math.max(2, this.config.drift.window ?? this.W));
    this.span = Math.max(this.W, this.D);
    this.R = this.span + this.W;
    this.dictionaries = {};
    this.labels = new Dictionary(m.labels ?? []);
    this.versions = new Dictionary();
    this.features = m.features
      .filter((f) => f.kind !== 'date')
      .map((f) => {
        const dict = f.kind === 'categorical' ? new Dictionary() : null;
        if (dict) this.dictionaries[f.name] = dict;
        return { name: f.name, kind: f.kind as 'numeric' | 'categorical', num: null, cat: null, dict };
      });
    this.ring = columnsOf(this.R, this.features, m.task, this.dictionaries, this.labels, this.versions);
    this.view = columnsOf(this.span, this.features, m.task, this.dictionaries, this.labels, this.versions);
    // CBPE for a classifier of two classes or more: its probabilities in a ring too.
    const K = m.task === 'classification' ? (m.labels?.length ?? 0) : 0;
    this.k = K >= 2 ? K : 0;
    if (this.k) {
      this.ring.probabilities = new Float32Array(this.R * K).fill(NaN);
      this.view.probabilities = new Float32Array(this.span * K);
    }
    // DLE for a regression model (score()), on the same reference windows as CBPE's.
    this.cbpes.clear();
    this.dles.clear();
    for (const f of this.features) {
      f.num = this.ring.numeric[f.name] ?? null;
      f.cat = this.ring.categorical[f.name] ?? null;
    }
    this.scratch = new WindowScratch(this.W);
    this.rows = 0;
    this.done = 0;
    this.indexBase = this.nextIndex;
    this.nextIndex = this.indexBase + 1;
    this.labelled.clear();
    for (const local of [...this.pending.keys()]) this.dropPending(local);
    this.references.clear();
    this.models.clear();
    const explicit = typeof this.config.baseline === 'object';
    this.chart = new LiveChart(explicit ? 0 : Math.max(2, this.config.baseline as number));
    this.drifted.clear();
  }

  /** The first `baseline` windows (5 with an explicit baseline) are an estimator's reference, as the batch monitor's. */
  private referenceWindows(): number {
    return typeof this.config.baseline === 'number' ? Math.max(2, this.config.baseline) : 5;
  }

  private newCbpe(version: string): LiveCbpe {
    const metric = this.config.metric;
    return {
      k: this.k,
      metric: metric === 'error_rate' || metric === 'f1' ? metric : 'accuracy',
      reference: new CbpeReference(this.k, this.W, this.referenceWindows()),
      testSplit: this.models.get(version)?.profile?.evaluation ?? null,
      calibration: new Calibration(this.k, null),
      method: 'none',
      calibratedOn: null,
      chart: new LiveChart(0),
      scratch: new CbpeScratch(this.k),
    };
  }

  private newDle(version: string): LiveDle {
    const view = this.view!;
    return {
      metric: dleMetric(this.config.metric ?? 'mae'),
      inputs: this.features.map((f) => f.name),
      columns: dleColumns(
        view,
        this.features.map((f) => f.name),
      ),
      reference: new DleReference(this.features.length, this.W, this.referenceWindows(), false),
      testSplit: this.models.get(version)?.profile?.evaluationLoss ?? null,
      realised: [],
      model: null,
      note: null,
      fittedOn: null,
      limits: null,
      chart: new LiveChart(0),
    };
  }

  /** A window filled: it waits for labels (or is scored now if it has them all). */
  private filled(nowMs: number): void {
    const local = this.rows / this.W - 1;
    this.nextIndex = this.indexBase + local + 2;
    // Only one window waits for labels: the previous one is scored when the next fills.
    if (this.done < local) this.score(this.done, 'next-window');
    this.fullAt = nowMs;
    if ((this.labelled.get(local) ?? 0) >= this.W) this.score(local, 'labels');
  }

  private referenceFor(version: string): Reference {
    let r = this.references.get(version);
    if (!r) {
      const m = this.models.get(version);
      if (!m) return NO_REFERENCE;
      r = buildReference(m, this.view!, driftTestOf(this.config), this.config.drift.legacy);
      this.references.set(version, r);
    }
    return r;
  }

  private score(local: number, closedBy: LiveWindow['closedBy']): void {
    this.done = local + 1;
    // Its requests can no longer be labelled (their parts in later windows still can).
    this.dropPending(local);
    this.labelled.delete(local);
    const { W, D, R } = this;
    const ring = this.ring!;
    const view = this.view!;
    const task = this.task!;
    // The window and its drift window, contiguous, as the batch monitor holds them.
    const end = (local + 1) * W;
    const g0 = Math.max(0, end - this.span);
    const n = end - g0;
    for (const f of this.features) {
      if (f.num) unring(f.num, view.numeric[f.name], g0, n, R);
      else unring(f.cat!, view.categorical[f.name], g0, n, R);
    }
    if (ring.predictedLabel) {
      unring(ring.predictedLabel, view.predictedLabel!, g0, n, R);
      unring(ring.truthLabel!, view.truthLabel!, g0, n, R);
      if (ring.probabilities && this.k) {
        // Only the window's own rows are estimated: [end − W, end) of the ring, K values a row.
        const K = this.k;
        unring(ring.probabilities, view.probabilities!.subarray((n - W) * K, n * K), (end - W) * K, W * K, R * K);
      }
    } else {
      unring(ring.predictedValue!, view.predictedValue!, g0, n, R);
      unring(ring.truthValue!, view.truthValue!, g0, n, R);
    }
    unring(ring.latencyMs, view.latencyMs, g0, n, R);
    unring(ring.time, view.time, g0, n, R);
    unring(ring.version, view.version, g0, n, R);
    const version = this.versions.values[view.version[n - 1]];
    const ref = this.referenceFor(version);
    const dStart = Math.max(0, end - D) - g0;
    const w = windowStats(view, task, n - W, n, dStart, this.indexBase + local, version, ref, this.scratch!);
    labelStats(view, task, n - W, n, w);
    const wanted = this.config.drift.features ?? this.features.map((f) => f.name);
    const decisions = driftDecisions(
      ref,
      view,
      w,
      wanted,
      dStart,
      n,
      this.config.drift.threshold ?? undefined,
      this.config.drift.legacy,
      this.scratch!,
    );
    const driftTests: Record<string, DriftTest> = {};
    for (const [name, r] of Object.entries(ref.numeric)) driftTests[name] = r.test;
    for (const [name, r] of Object.entries(ref.categorical)) driftTests[name] = r.test;
    const predRef = ref.predictionsCategorical ?? ref.predictionsNumeric;
    if (predRef) driftTests['(predictions)'] = predRef.test;
    const tests = new Set(Object.values(driftTests));
    const metric = this.config.metric ?? (task === 'classification' ? 'accuracy' : 'mae');
    const value = metricOf(metric, w.accuracy, w.mae, w.rmse);
    const win: LiveWindow = {
      model: this.model,
      index: w.index,
      start: w.start,
      end: w.end,
      count: w.count,
      labelled: w.labelled,
      version,
      accuracy: w.accuracy,
      mae: w.mae,
      rmse: w.rmse,
      distribution: w.distribution,
      meanPrediction: w.meanPrediction,
      driftMethod: tests.size === 1 ? [...tests][0] : tests.size === 0 ? driftTestOf(this.config) : 'auto',
      driftTests,
      driftWindow: n - dStart,
      drifted: [
        ...decisions.features.filter((f) => f.drifted).map((f) => f.name),
        ...(decisions.predictions.drifted ? ['predictions'] : []),
      ],
      drift: w.drift,
      predictionDrift: Number.isFinite(w.predictionDrift) ? w.predictionDrift : null,
      p50LatencyMs: w.p50LatencyMs,
      metric,
      value,
      chart: null,
      closedBy,
      estimatedAccuracy: null,
      estimatedF1: null,
      estimated: null,
    };
    const alerts: LiveAlert[] = [];
    if (value !== null) this.chartPoint(win, value, alerts);
    const span: ScoredSpan = { win, view, start: n - W, end: n, alerts };
    if (this.k && view.probabilities)
      this.estimate(
        estimatorOf(this.cbpes, version, () => this.newCbpe(version)),
        span,
      );
    if (task === 'regression')
      this.estimateLoss(
        estimatorOf(this.dles, version, () => this.newDle(version)),
        span,
      );
    this.driftAlerts(win, decisions, alerts);
    this.emit({ type: 'window', data: win });
    for (const a of alerts) this.emit({ type: 'alert', data: a });
  }

  private chartPoint(win: LiveWindow, value: number, alerts: LiveAlert[]): void {
    const proportion = win.metric === 'accuracy' || win.metric === 'error_rate';
    const explicit = typeof this.config.baseline === 'object' ? this.config.baseline : null;
    const verdict = this.chart.add(
      {
        value,
        ...(proportion ? { n: win.labelled } : {}),
        ...(win.start ? { start: win.start } : {}),
        ...(win.end ? { end: win.end } : {}),
      },
      {
        chart: proportion ? 'p' : 'individuals',
        sigma: this.config.sigma,
        baseline: explicit ?? this.chart.baseline.length,
        rules: this.config.rules,
        metric: win.metric,
        estimator: this.config.estimator,
        side: this.config.side ?? defaultSide(win.metric),
        range: metricRange(win.metric),
      },
    );
    if (!verdict) return;
    win.chart = { kind: proportion ? 'p' : 'individuals', ...verdict };
    for (const v of verdict.violations)
      alerts.push({
        model: this.model,
        version: win.version,
        window: win.index,
        rule: `we${v.rule}`,
        metric: win.metric,
        value,
        message: `${win.metric} ${value.toFixed(3)} in live window ${win.index + 1}${win.end ? ` (to ${win.end})` : ''}: Western Electric rule ${v.rule}, ${RULE_TEXT[v.rule]} (${sideText(v.side, verdict.centre)}).`,
      });
  }

  /**
   * CBPE of the window `[start, end)` of the view, as the batch monitor: the first reference
   * windows are kept until they are all in, then calibrated (checkCalibration on their labelled
   * rows) and their estimates become the baseline of the estimate's individuals chart; every later
   * window is estimated with that calibration and judged on that chart. A rule broken there alerts
   * as `cbpe:we<n>` with `estimated: true`, whether or not any label came.
   */
  private estimate(cb: LiveCbpe, { win, view, start, end, alerts }: ScoredSpan): void {
    const probs = view.probabilities!;
    const pred = view.predictedLabel!;
    let e: CbpeEstimate;
    let calibration: LiveEstimate['calibration'] = cb.method;
    let verdict: ChartVerdict | null = null;
    const chartOptions: ControlChartOptions = {
      // An individuals chart: the estimate is a mean of probabilities, not a count of successes.
      chart: 'individuals',
      sigma: this.config.sigma,
      baseline: 0,
      rules: this.config.rules,
      metric: `${cb.metric} (estimated, CBPE)`,
      estimator: this.config.estimator,
      side: this.config.side ?? defaultSide(cb.metric),
      range: metricRange(cb.metric),
    };
    if (cb.reference) {
      cb.reference.add(probs, pred, view.truthLabel!, start);
      if (!cb.reference.complete) {
        // Not calibrated yet: the raw probabilities, said so.
        e = estimateWindow(probs, pred, start, end, new Calibration(cb.k, null), cb.scratch);
        calibration = 'pending';
      } else {
        const r = cb.reference.calibrate(cb.testSplit);
        cb.reference = null;
        cb.testSplit = null;
        cb.calibration = r.calibration;
        cb.method = r.check.method;
        cb.calibratedOn = r.check.source;
        calibration = cb.method;
        e = r.estimates[r.estimates.length - 1];
        const baseline: ControlChartInputPoint[] = [];
        for (const est of r.estimates) {
          const v = estimateOf(cb.metric, est);
          if (v !== null) baseline.push({ value: v });
        }
        cb.chart.setBaseline(baseline);
        // The last reference window's own point: its limits, never a violation (it is baseline).
        if (baseline.length > 0) {
          const limits = buildControlChartLimits(baseline, { ...chartOptions, baseline: baseline.length });
          if (limits) verdict = { ...limits, violations: [] };
        }
      }
    } else {
      e = estimateWindow(probs, pred, start, end, cb.calibration, cb.scratch);
      const value = estimateOf(cb.metric, e);
      if (value !== null)
        verdict = cb.chart.add(
          { value, ...(win.start ? { start: win.start } : {}), ...(win.end ? { end: win.end } : {}) },
          { ...chartOptions, baseline: cb.chart.baseline.length },
        );
    }
    if (e.rows === 0) return;
    const value = estimateOf(cb.metric, e);
    win.estimatedAccuracy = e.accuracy;
    win.estimatedF1 = e.f1;
    win.estimated = {
      method: 'cbpe',
      metric: cb.metric,
      value,
      rows: e.rows,
      accuracyStdErr: e.accuracyStdErr,
      calibration,
      ...(cb.calibratedOn ? { calibratedOn: cb.calibratedOn } : {}),
      chart: verdict ? { kind: 'individuals', ...verdict } : null,
    };
    if (verdict && value !== null)
      this.estimateAlerts(win, verdict, 'cbpe', cb.metric, value, estimateSource('cbpe', null), alerts);
  }

  /**
   * DLE of the window `[start, end)` of the view, as the batch monitor's DleStore: the reference
   * windows' rows (with the labels that came before each was scored) are kept until they are all
   * in, then the loss model is fitted on their labelled rows and their estimates (on the rows
   * kept) become the baseline of the estimate's individuals chart, whose σ also takes in the
   * realised metric's spread over them (the batch dleChart). Every later window is estimated on
   * its own rows and judged on that chart: a rule broken there alerts as `dle:we<n>` with
   * `estimated: true`, whether or not any label came. A failed fit (too few labelled reference
   * rows) is not retried: the windows carry `unfitted` and the fit's note until the monitor is
   * rebuilt (reconfiguration, a new task or columns), as the batch run has no estimate then.
   */
  private estimateLoss(d: LiveDle, { win, view, start, end, alerts }: ScoredSpan): void {
    const prediction = view.predictedValue!;
    const chartOptions = (limits: { mean: number; std: number }): ControlChartOptions => ({
      chart: 'individuals',
      sigma: this.config.sigma,
      baseline: limits,
      rules: this.config.rules,
      metric: `${d.metric} (estimated, DLE)`,
      estimator: this.config.estimator,
      side: this.config.side ?? defaultSide(d.metric),
      range: metricRange(d.metric),
    });
    let e: DleEstimate | null = null;
    let verdict: ChartVerdict | null = null;
    let calibration: LiveEstimate['calibration'];
    if (d.reference) {
      const ref = d.reference;
      ref.add(d.columns, prediction, view.truthValue!, start, win.index);
      const realised = metricOf(d.metric, null, win.mae, win.rmse);
      if (realised !== null) d.realised.push(realised);
      if (!ref.full) calibration = 'pending';
      else {
        const { model, report } = ref.fit(
          d.metric === 'mae' ? 'absolute' : 'squared',
          d.inputs,
          undefined,
          undefined,
          d.testSplit ? lossSampleRows(d.testSplit, view, d.inputs) : null,
        );
        d.reference = null;
        d.testSplit = null;
        d.fittedOn = report.source;
        d.model = model;
        d.note = report.note;
        calibration = model ? 'fitted' : 'unfitted';
        if (model) {
          const baseline: ControlChartInputPoint[] = [];
          for (let j = 0; j < ref.held.length; j++) {
            const v = lossValue(d.metric, ref.estimateHeld(model, j).meanLoss);
            if (v !== null) baseline.push({ value: v });
          }
          // The last reference window's estimate on its kept rows, as the batch monitor's.
          e = ref.estimateHeld(model, ref.held.length - 1);
          d.limits = dleLimits(
            baseline.map((p) => p.value),
            d.realised,
            this.config.estimator,
          );
          d.chart.setBaseline(baseline);
          // Its own point: the limits, never a violation (it is baseline).
          if (d.limits) {
            const limits = buildControlChartLimits(baseline, chartOptions(d.limits));
            if (limits) verdict = { ...limits, violations: [] };
          }
        }
        d.realised = [];
      }
    } else if (d.model) {
      calibration = 'fitted';
      e = d.model.estimate(d.columns, prediction, start, end);
      const value = lossValue(d.metric, e.meanLoss);
      if (value !== null && d.limits)
        verdict = d.chart.add(
          { value, ...(win.start ? { start: win.start } : {}), ...(win.end ? { end: win.end } : {}) },
          chartOptions(d.limits),
        );
    } else calibration = 'unfitted';
    const value = e ? lossValue(d.metric, e.meanLoss) : null;
    const meanLoss = e?.meanLoss ?? null;
    if (d.metric === 'mae') win.estimatedMae = meanLoss;
    else win.estimatedRmse = meanLoss === null ? null : Math.sqrt(meanLoss);
    win.estimated = {
      method: 'dle',
      metric: d.metric,
      value,
      rows: value === null ? 0 : e!.rows,
      accuracyStdErr: null,
      calibration,
      ...(calibration === 'fitted' && d.fittedOn ? { calibratedOn: d.fittedOn } : {}),
      ...(calibration === 'unfitted' && d.note ? { note: d.note } : {}),
      chart: verdict ? { kind: 'individuals', ...verdict } : null,
    };
    if (verdict && value !== null)
      this.estimateAlerts(win, verdict, 'dle', d.metric, value, estimateSource('dle', d.fittedOn), alerts);
  }

  /** The `cbpe:we<n>` or `dle:we<n>` alerts of an estimate's point, raised whether or not any label came. */
  private estimateAlerts(
    win: LiveWindow,
    verdict: ChartVerdict,
    method: 'cbpe' | 'dle',
    metric: string,
    value: number,
    how: string,
    alerts: LiveAlert[],
  ): void {
    for (const v of verdict.violations)
      alerts.push({
        model: this.model,
        version: win.version,
        window: win.index,
        rule: `${method}:we${v.rule}`,
        metric,
        value,
        message: `Estimated ${metric} ${value.toFixed(3)} in live window ${win.index + 1}${win.end ? ` (to ${win.end})` : ''}: Western Electric rule ${v.rule}, ${RULE_TEXT[v.rule]} (${sideText(v.side, verdict.centre)}); ${how}, ${win.labelled} of ${win.count} rows labelled.`,
        estimated: true,
      });
  }

  /** A feature's drift alerts when it starts drifting (by its test and threshold), not again while it stays drifted. */
  private driftAlerts(win: LiveWindow, decisions: ReturnType<typeof driftDecisions>, alerts: LiveAlert[]): void {
    const all: Array<[string, Omit<DriftFeatureResult, 'name'>]> = [
      ...decisions.features.map((f): [string, DriftFeatureResult] => [f.name, f]),
      ['predictions', decisions.predictions],
    ];
    for (const [name, r] of all) {
      const drifted = r.drifted && Number.isFinite(r.score);
      if (drifted && !this.drifted.has(name)) {
        const detail = driftDetail(r);
        alerts.push({
          model: this.model,
          version: win.version,
          window: win.index,
          rule: `drift:${name}`,
          metric: r.test,
          value: r.score,
          message: `Drift of ${name === 'predictions' ? 'the predictions' : `'${name}'`} in live window ${win.index + 1} (latest ${win.driftWindow} predictions): ${detail}.`,
        });
      }
      if (drifted) this.drifted.add(name);
      else this.drifted.delete(name);
    }
  }
}

function sideText(side: 'above' | 'below', centre: number): string {
  return `${side} the centre ${centre.toFixed(3)}`;
}

/** The limits of a chart's last point (null when no chart can be built). */
function buildControlChartLimits(
  points: readonly ControlChartInputPoint[],
  options: ControlChartOptions,
): { centre: number; ucl: number; lcl: number } | null {
  try {
    const chart = buildControlChart(points, options);
    return { centre: chart.centre, ...pointLimits(chart, points.length - 1) };
  } catch {
    return null;
  }
}

/** The drift test choice of a live configuration. */
function driftTestOf(c: LiveMonitorConfig): DriftTestChoice {
  return c.drift.method;
}

/** A served version's manifest is one object for its life: its key is built once (observe asks per request). */
const keys = new WeakMap<LiveModel, string>();
function keyOf(m: LiveModel): string {
  let key = keys.get(m);
  if (key === undefined) keys.set(m, (key = `${m.task}|${m.features.map((f) => `${f.name}:${f.kind}`).join(',')}`));
  return key;
}

/** The batch monitor's metricOf, on the window's values. */
function metricOf(metric: string, accuracy: number | null, mae: number | null, rmse: number | null): number | null {
  switch (metric) {
    case 'accuracy':
      return accuracy;
    case 'error_rate':
      return accuracy === null ? null : 1 - accuracy;
    case 'mae':
      return mae;
    case 'rmse':
      return rmse;
    case 'mse':
      return rmse === null ? null : rmse * rmse;
    default:
      return accuracy ?? mae;
  }
}

/** Checks and completes a (partial) live configuration; throws a message naming the bad key. */
export function liveConfig(input: unknown, base: LiveMonitorConfig = DEFAULT_LIVE_CONFIG): LiveMonitorConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new TypeError('Send a JSON object of monitor settings.');
  const o = input as Record<string, unknown>;
  const out: LiveMonitorConfig = { ...base, drift: { ...base.drift } };
  const int = (k: string, v: unknown, min: number, max: number): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw new TypeError(`'${k}' must be an integer from ${min} to ${max} (got ${JSON.stringify(v)}).`);
    return v;
  };
  if (o.window !== undefined) out.window = int('window', o.window, 2, MAX_LIVE_WINDOW);
  if (o.metric !== undefined) {
    if (o.metric !== null && typeof o.metric !== 'string')
      throw new TypeError(`'metric' must be a metric name or null.`);
    out.metric = o.metric;
  }
  if (o.sigma !== undefined) {
    if (typeof o.sigma !== 'number' || !(o.sigma > 0) || o.sigma > 10)
      throw new TypeError(`'sigma' must be a number in (0, 10] (got ${JSON.stringify(o.sigma)}).`);
    out.sigma = o.sigma;
  }
  if (o.baseline !== undefined) {
    const b = o.baseline as { mean?: unknown; std?: unknown };
    if (typeof o.baseline === 'number') out.baseline = int('baseline', o.baseline, 2, 1000);
    else if (
      typeof b === 'object' &&
      b !== null &&
      typeof b.mean === 'number' &&
      Number.isFinite(b.mean) &&
      typeof b.std === 'number' &&
      b.std >= 0
    )
      out.baseline = { mean: b.mean, std: b.std };
    else throw new TypeError(`'baseline' must be a number of windows (≥ 2) or {"mean": m, "std": s}.`);
  }
  if (o.rules !== undefined) {
    if (!Array.isArray(o.rules) || !o.rules.every((r) => r === 1 || r === 2 || r === 3 || r === 4))
      throw new TypeError(`'rules' must be a list of Western Electric rule numbers 1–4.`);
    out.rules = [...new Set(o.rules as number[])];
  }
  if (o.sigmaEstimator !== undefined) {
    if (o.sigmaEstimator !== 'movingRange' && o.sigmaEstimator !== 'stddev')
      throw new TypeError(
        `'sigmaEstimator' must be "movingRange" or "stddev" (got ${JSON.stringify(o.sigmaEstimator)}).`,
      );
    out.estimator = o.sigmaEstimator;
  }
  if (o.side !== undefined) {
    if (o.side !== null && o.side !== 'lower' && o.side !== 'upper' && o.side !== 'both')
      throw new TypeError(`'side' must be "lower", "upper", "both" or null (got ${JSON.stringify(o.side)}).`);
    out.side = o.side;
  }
  if (o.labelWaitMs !== undefined) out.labelWaitMs = int('labelWaitMs', o.labelWaitMs, 0, 86_400_000);
  if (o.drift !== undefined) {
    const d = o.drift as Record<string, unknown>;
    if (typeof d !== 'object' || d === null)
      throw new TypeError(`'drift' must be an object {test, threshold, window, features}.`);
    const choice = (k: string, v: unknown): DriftTestChoice => {
      if (typeof v !== 'string' || !(DRIFT_TESTS as readonly string[]).includes(v))
        throw new TypeError(`'drift.${k}' must be one of ${DRIFT_TESTS.join(', ')} (got ${JSON.stringify(v)}).`);
      return v as DriftTestChoice;
    };
    // As modelops.yaml: the older `method` (psi or ks) keeps its meaning; `test` wins unless it is auto.
    if (d.method !== undefined) {
      out.drift.method = choice('method', d.method);
      out.drift.legacy = d.method === 'psi' || d.method === 'ks';
    }
    if (d.test !== undefined) {
      const t = choice('test', d.test);
      if (t !== 'auto' || d.method === undefined) {
        out.drift.method = t;
        out.drift.legacy = false;
      }
    }
    if (d.legacy !== undefined) {
      if (typeof d.legacy !== 'boolean') throw new TypeError(`'drift.legacy' must be true or false.`);
      out.drift.legacy = d.legacy;
    }
    if (d.threshold !== undefined) {
      if (d.threshold !== null && (typeof d.threshold !== 'number' || !(d.threshold > 0)))
        throw new TypeError(`'drift.threshold' must be a number > 0, or null for the test's own.`);
      out.drift.threshold = d.threshold;
    }
    if (d.window !== undefined)
      out.drift.window = d.window === null ? null : int('drift.window', d.window, 2, MAX_LIVE_WINDOW);
    if (d.features !== undefined) {
      if (
        d.features !== null &&
        (!Array.isArray(d.features) || d.features.length > 1000 || !d.features.every((f) => typeof f === 'string'))
      )
        throw new TypeError(`'drift.features' must be a list of feature names or null.`);
      out.drift.features = d.features as string[] | null;
    }
  }
  return out;
}

/**
 * The live settings for `monitor:` of modelops.yaml. `evaluation` is the deployed version's
 * evaluation value of the metric, for `baseline: evaluation` on accuracy/error-rate charts.
 * Drift as the batch monitor: the test per column (`drift.test`, or the older `method` with its
 * meaning), the threshold (default the test's own) and the drift window (`drift.window`).
 */
export function liveConfigFromMonitor(
  mc: {
    window: number;
    controlChart: {
      metric: string;
      sigma: number;
      baseline: number | 'evaluation';
      rules: number[];
      sigmaEstimator?: SigmaEstimator;
      side?: RuleSide;
    };
    drift: { method?: string; test?: string; threshold?: number; window?: number; features?: string[] };
  },
  evaluation?: number,
): LiveMonitorConfig {
  const metric = mc.controlChart.metric;
  const proportion = metric === 'accuracy' || metric === 'error_rate';
  let baseline: LiveMonitorConfig['baseline'] = 5;
  if (mc.controlChart.baseline !== 'evaluation') baseline = Math.max(2, mc.controlChart.baseline);
  else if (typeof evaluation === 'number' && proportion)
    baseline = { mean: metric === 'error_rate' ? 1 - evaluation : evaluation, std: 0 };
  // The batch monitor's driftChoice and legacyDriftMethod.
  const d = mc.drift;
  const named = d.test !== undefined && d.test !== 'auto';
  const method = (named ? d.test : (d.method ?? 'auto')) as DriftTestChoice;
  return {
    ...DEFAULT_LIVE_CONFIG,
    window: Math.min(MAX_LIVE_WINDOW, mc.window),
    metric,
    sigma: mc.controlChart.sigma,
    baseline,
    rules: [...mc.controlChart.rules],
    // The batch monitor's chartStyle: moving-range σ and the metric's side unless the config says otherwise.
    estimator: mc.controlChart.sigmaEstimator ?? 'movingRange',
    side: mc.controlChart.side ?? defaultSide(metric),
    drift: {
      method,
      legacy: !named && d.method !== undefined,
      threshold: d.threshold ?? null,
      window: d.window === undefined ? null : Math.min(MAX_LIVE_WINDOW, d.window),
      features: d.features ?? null,
    },
  };
}
