/**
 * Incremental monitoring windows: the model server feeds each prediction and each feedback as
 * it arrives, and a window is scored when it is complete — the same definition as the batch
 * monitor (monitor.ts): `window` consecutive predicted rows, accuracy (or MAE/RMSE) over the rows
 * whose label arrived, PSI (reference deciles) or KS of each feature and of the predictions against
 * the reference profile of the version that served the window's last row, the median latency,
 * then the control chart of the configured metric with the Western Electric rules.
 *
 * Memory does not grow with traffic: two fixed-size window buffers (typed arrays of `window`
 * rows), request ids of those two windows only, category dictionaries capped at
 * MAX_CATEGORIES per feature, the chart's baseline points plus a ring of RECENT_POINTS points.
 *
 * When is a window scored? Labels usually come after their predictions, so a full window waits
 * for them: it is scored when every row has its label, when the next window fills, or when
 * `labelWaitMs` has passed since it filled (`tick`). Feedback for a window already scored is
 * not counted here (the batch monitor, which reads the whole log, counts it).
 */
import { binCounts, binEdges, psiCategorical, psiFromCounts } from '../../drift/psi';
import { ksStatistic } from '../../drift/ks';
import { buildControlChart, pointLimits, type ControlChartInputPoint } from '../../spc';
import type { CategoricalProfile, NumericProfile, ReferenceProfile, Task } from '../../model/types';
import { kthSmallest } from '../select';

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
  drift: { method: 'psi' | 'ks'; threshold: number; features: string[] | null };
  /** How long a full window waits for its labels before it is scored anyway. */
  labelWaitMs: number;
}

export const DEFAULT_LIVE_CONFIG: LiveMonitorConfig = {
  window: 100,
  metric: null,
  sigma: 3,
  baseline: 5,
  rules: [1, 2, 3, 4],
  drift: { method: 'psi', threshold: 0.2, features: null },
  labelWaitMs: 60_000,
};

/** The largest window the server keeps buffers for (the schema allows up to 1,000,000). */
export const MAX_LIVE_WINDOW = 1_000_000;
/** Distinct categories kept per categorical feature; more fall into one "(other)" bucket. */
export const MAX_CATEGORIES = 1024;
/** Chart points kept after the baseline (rules 2–4 look back at most 8 points). */
export const RECENT_POINTS = 32;
const OTHER = '(other)';

/** What the live monitor needs of a served version (a ServingModel is one). */
export interface LiveModel {
  task: Task;
  labels?: string[];
  features: ReadonlyArray<{ name: string; kind: 'numeric' | 'categorical' | 'date' }>;
  profile?: ReferenceProfile;
}

/** A scored window, as the `window` event carries it (field names as in the batch MonitorWindow). */
export interface LiveWindow {
  model: string;
  /** 0-based, counted from when this monitor started (server start or reconfiguration). */
  index: number;
  start: string | null;
  end: string | null;
  count: number;
  labelled: number;
  version: string;
  accuracy: number | null;
  mae: number | null;
  rmse: number | null;
  distribution: Record<string, number>;
  meanPrediction: number | null;
  driftMethod: 'psi' | 'ks';
  drift: Record<string, number>;
  predictionDrift: number | null;
  p50LatencyMs: number | null;
  /** The charted metric and its value in this window (null without labels). */
  metric: string;
  value: number | null;
  /** Limits at this point, once the baseline is complete. */
  chart: { kind: 'p' | 'individuals'; centre: number; ucl: number; lcl: number; violations: Array<{ rule: number; side: 'above' | 'below' }> } | null;
  /** Why the window was scored: all labels in, the next window filled, or the label wait ran out. */
  closedBy: 'labels' | 'next-window' | 'label-wait' | 'flush';
}

export interface LiveAlert {
  model: string;
  version: string;
  window: number;
  /** "we1" … "we4", "drift:<feature>", "drift:predictions" (the batch monitor's rule names). */
  rule: string;
  metric: string;
  value: number;
  message: string;
}

export type LiveEvent = { type: 'window'; data: LiveWindow } | { type: 'alert'; data: LiveAlert };

const RULE_TEXT: Record<number, string> = {
  1: 'one point beyond 3σ',
  2: 'two of three points beyond 2σ on one side',
  3: 'four of five points beyond 1σ on one side',
  4: 'eight points in a row on one side of the centre',
};

/** Category ↔ code, capped: past MAX_CATEGORIES every new value is the "(other)" code. */
class CappedDictionary {
  readonly values: string[] = [];
  private index = new Map<string, number>();
  private other = -1;
  constructor(initial: readonly string[] = []) {
    for (const v of initial) this.code(v);
  }
  code(v: string): number {
    const c = this.index.get(v);
    if (c !== undefined) return c;
    if (this.values.length >= MAX_CATEGORIES) {
      if (this.other < 0) {
        this.other = this.values.length;
        this.values.push(OTHER);
      }
      return this.other;
    }
    const n = this.values.length;
    this.values.push(v);
    this.index.set(v, n);
    return n;
  }
  get size(): number {
    return this.values.length;
  }
}

interface Feature {
  name: string;
  kind: 'numeric' | 'categorical';
  dict: CappedDictionary | null;
}

/** One window's rows, in typed arrays sized once. */
class WindowBuffer {
  count = 0;
  labelled = 0;
  index = 0;
  firstTime = NaN;
  lastTime = NaN;
  version = '';
  /** When the window filled (ms), for the label wait. */
  fullAt = 0;
  readonly numeric: Float64Array[];
  readonly codes: Int32Array[];
  readonly predLabel: Int32Array | null;
  readonly predValue: Float64Array | null;
  readonly truthLabel: Int32Array | null;
  readonly truthValue: Float64Array | null;
  readonly latency: Float64Array;
  /** Request ids with rows here, to forget at scoring. */
  ids: string[] = [];

  constructor(
    readonly size: number,
    features: readonly Feature[],
    task: Task,
  ) {
    this.numeric = features.map((f) => (f.kind === 'numeric' ? new Float64Array(size) : new Float64Array(0)));
    this.codes = features.map((f) => (f.kind === 'categorical' ? new Int32Array(size) : new Int32Array(0)));
    const cls = task === 'classification';
    this.predLabel = cls ? new Int32Array(size) : null;
    this.truthLabel = cls ? new Int32Array(size) : null;
    this.predValue = cls ? null : new Float64Array(size);
    this.truthValue = cls ? null : new Float64Array(size);
    this.latency = new Float64Array(size);
  }

  reset(index: number): void {
    this.count = 0;
    this.labelled = 0;
    this.index = index;
    this.firstTime = NaN;
    this.lastTime = NaN;
    this.version = '';
    this.fullAt = 0;
    this.ids = [];
    this.truthLabel?.fill(-1);
    this.truthValue?.fill(NaN);
  }

  get full(): boolean {
    return this.count === this.size;
  }
}

interface Reference {
  numeric: Map<string, { edges: Float64Array; expected: Float64Array; sample: Float64Array }>;
  categorical: Map<string, Record<string, number>>;
  predictions: { kind: 'numeric'; edges: Float64Array; expected: Float64Array; sample: Float64Array } | { kind: 'categorical'; counts: Record<string, number> } | null;
}

function numericRef(p: NumericProfile): { edges: Float64Array; expected: Float64Array; sample: Float64Array } {
  const edges = binEdges(p.quantiles);
  const sample = Float64Array.from(p.sample).sort();
  return { edges, expected: binCounts(edges, sample), sample };
}

function referenceOf(m: LiveModel): Reference {
  const numeric = new Map<string, { edges: Float64Array; expected: Float64Array; sample: Float64Array }>();
  const categorical = new Map<string, Record<string, number>>();
  for (const f of m.features) {
    const p = m.profile?.features?.[f.name];
    if (p?.kind === 'numeric' && f.kind === 'numeric') numeric.set(f.name, numericRef(p));
    if (p?.kind === 'categorical' && f.kind === 'categorical') categorical.set(f.name, (p as CategoricalProfile).counts);
  }
  const pp = m.profile?.predictions;
  const predictions = pp?.kind === 'numeric' ? { kind: 'numeric' as const, ...numericRef(pp) } : pp?.kind === 'categorical' ? { kind: 'categorical' as const, counts: pp.counts } : null;
  return { numeric, categorical, predictions };
}

/** Where a request's rows went: the buffer (by generation) and the first row there. */
interface Pending {
  buf: WindowBuffer;
  index: number;
  row: number;
  /** Rows of the request in that buffer, and the request's row offset of the first. */
  rows: number;
  offset: number;
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

const MAX_REFERENCES = 8;

/**
 * One model's incremental windows. `observe` and `feedback` are called on the request path and
 * only copy values into typed arrays; scoring runs once per window.
 */
export class WindowAccumulator {
  private features: Feature[] = [];
  private featureKey = '';
  private task: Task | null = null;
  private labels = new CappedDictionary();
  private bufs: [WindowBuffer, WindowBuffer] | null = null;
  /** The buffer receiving rows; the other is waiting for labels (closing) or idle. */
  private open = 0;
  private closing = false;
  private nextIndex = 0;
  private pending = new Map<string, Pending[]>();
  private references = new Map<string, Reference>();
  private models = new Map<string, LiveModel>();
  private baselinePts: ChartPoint[] = [];
  private recent: ChartPoint[] = [];
  private chartSeq = 0;
  private drifted = new Set<string>();
  private latencyScratch = new Float64Array(0);

  constructor(
    readonly model: string,
    readonly config: LiveMonitorConfig,
    private readonly emit: (e: LiveEvent) => void,
  ) {}

  /** One answered request: its version, the request's columns (name → value per row) and predictions. */
  observe(version: string, m: LiveModel, id: string, columns: Record<string, readonly unknown[]>, predicted: ReadonlyArray<string | number>, latencyMs: number, timeMs: number): void {
    if (!this.bufs || this.task !== m.task || this.featureKey !== keyOf(m)) this.rebuild(m);
    if (!this.models.has(version)) {
      if (this.models.size >= MAX_REFERENCES) {
        this.models.clear();
        this.references.clear();
      }
      this.models.set(version, m);
    }
    const n = predicted.length;
    let offset = 0;
    while (offset < n) {
      const buf = this.bufs![this.open];
      const take = Math.min(n - offset, buf.size - buf.count);
      const row = buf.count;
      for (let f = 0; f < this.features.length; f++) {
        const feat = this.features[f];
        const col = columns[feat.name];
        if (feat.kind === 'numeric') {
          const out = buf.numeric[f];
          for (let i = 0; i < take; i++) {
            const v = col?.[offset + i];
            out[row + i] = typeof v === 'number' ? v : NaN;
          }
        } else {
          const out = buf.codes[f];
          for (let i = 0; i < take; i++) {
            const v = col?.[offset + i];
            out[row + i] = v === null || v === undefined || v === '' ? -1 : feat.dict!.code(String(v));
          }
        }
      }
      if (buf.predLabel) for (let i = 0; i < take; i++) buf.predLabel[row + i] = this.labels.code(String(predicted[offset + i]));
      else for (let i = 0; i < take; i++) buf.predValue![row + i] = Number(predicted[offset + i]);
      for (let i = 0; i < take; i++) buf.latency[row + i] = latencyMs;
      if (buf.count === 0) buf.firstTime = timeMs;
      buf.lastTime = timeMs;
      buf.version = version;
      buf.count += take;
      const p: Pending = { buf, index: buf.index, row, rows: take, offset };
      const list = this.pending.get(id);
      if (!list) {
        this.pending.set(id, [p]);
        buf.ids.push(id);
      } else {
        // A repeated id (or a request split over two windows): note it once per buffer.
        const last = list[list.length - 1];
        if (last.buf !== buf || last.index !== buf.index) buf.ids.push(id);
        list.push(p);
      }
      offset += take;
      if (buf.full) this.filled(timeMs);
    }
  }

  /** True labels for a request's rows (one per row, in order). Unknown or already scored ids are ignored. */
  feedback(id: string, labels: ReadonlyArray<string | number>): void {
    const list = this.pending.get(id);
    if (!list) return;
    this.pending.delete(id);
    const touched = new Set<WindowBuffer>();
    for (const p of list) {
      if (p.buf.index !== p.index) continue;
      for (let i = 0; i < p.rows; i++) {
        const k = p.offset + i;
        if (k >= labels.length) break;
        const r = p.row + i;
        if (p.buf.truthLabel) {
          if (p.buf.truthLabel[r] < 0) p.buf.labelled++;
          p.buf.truthLabel[r] = this.labels.code(String(labels[k]));
        } else {
          const v = Number(labels[k]);
          if (!Number.isFinite(v)) continue;
          if (p.buf.truthValue![r] !== p.buf.truthValue![r]) p.buf.labelled++;
          p.buf.truthValue![r] = v;
        }
      }
      touched.add(p.buf);
    }
    // A full window waiting only for labels is scored once the last one is in.
    if (this.closing) {
      const waiting = this.bufs![1 - this.open];
      if (touched.has(waiting) && waiting.labelled >= waiting.count) this.score(waiting, 'labels');
    }
  }

  /** Scores a full window whose labels did not all arrive within labelWaitMs. */
  tick(nowMs: number): void {
    if (!this.closing || !this.bufs) return;
    const waiting = this.bufs[1 - this.open];
    if (nowMs - waiting.fullAt >= this.config.labelWaitMs) this.score(waiting, 'label-wait');
  }

  /** Scores the window waiting for labels now (shutdown, reconfiguration). */
  flush(): void {
    if (this.closing && this.bufs) this.score(this.bufs[1 - this.open], 'flush');
  }

  retained(): RetainedSizes {
    return {
      bufferRows: this.bufs ? this.bufs[0].size + this.bufs[1].size : 0,
      pendingIds: this.pending.size,
      categories: this.features.reduce((s, f) => s + (f.dict?.size ?? 0), 0) + this.labels.size,
      chartPoints: this.baselinePts.length + this.recent.length,
      references: this.references.size,
    };
  }

  private rebuild(m: LiveModel): void {
    // A version with other columns or another task starts over: its windows are not comparable.
    this.task = m.task;
    this.featureKey = keyOf(m);
    this.features = m.features
      .filter((f) => f.kind !== 'date')
      .map((f) => ({ name: f.name, kind: f.kind as 'numeric' | 'categorical', dict: f.kind === 'categorical' ? new CappedDictionary() : null }));
    this.labels = new CappedDictionary(m.labels ?? []);
    const size = Math.min(MAX_LIVE_WINDOW, Math.max(2, this.config.window));
    this.bufs = [new WindowBuffer(size, this.features, m.task), new WindowBuffer(size, this.features, m.task)];
    this.latencyScratch = new Float64Array(size);
    this.open = 0;
    this.closing = false;
    this.bufs[0].reset(this.nextIndex++);
    this.pending.clear();
    this.references.clear();
    this.models.clear();
    this.baselinePts = [];
    this.recent = [];
    this.drifted.clear();
  }

  /** The open window filled: it waits for labels (or is scored now if it has them all). */
  private filled(nowMs: number): void {
    const bufs = this.bufs!;
    const full = bufs[this.open];
    full.fullAt = nowMs;
    // Only one window waits for labels: the previous one is scored when the next fills.
    if (this.closing) this.score(bufs[1 - this.open], 'next-window');
    this.closing = true;
    this.open = 1 - this.open;
    bufs[this.open].reset(this.nextIndex++);
    if (full.labelled >= full.count) this.score(full, 'labels');
  }

  private referenceFor(version: string): Reference | null {
    let r = this.references.get(version);
    if (!r) {
      const m = this.models.get(version);
      if (!m) return null;
      r = referenceOf(m);
      this.references.set(version, r);
    }
    return r;
  }

  private score(buf: WindowBuffer, closedBy: LiveWindow['closedBy']): void {
    this.closing = false;
    for (const id of buf.ids) {
      const list = this.pending.get(id);
      if (!list) continue;
      const rest = list.filter((p) => p.buf !== buf);
      if (rest.length) this.pending.set(id, rest);
      else this.pending.delete(id);
    }
    const n = buf.count;
    const task = this.task!;
    let labelled = 0;
    let correct = 0;
    let absErr = 0;
    let sqErr = 0;
    const distribution: Record<string, number> = {};
    let meanPrediction: number | null = null;
    let predictionDrift: number | null = null;
    const ref = this.referenceFor(buf.version);
    if (buf.predLabel) {
      const counts = new Int32Array(this.labels.size);
      for (let i = 0; i < n; i++) {
        counts[buf.predLabel[i]]++;
        const t = buf.truthLabel![i];
        if (t >= 0) {
          labelled++;
          if (t === buf.predLabel[i]) correct++;
        }
      }
      for (let k = 0; k < counts.length; k++) if (counts[k] > 0) distribution[this.labels.values[k]] = counts[k];
      if (ref?.predictions?.kind === 'categorical') predictionDrift = psiCategorical(ref.predictions.counts, distribution);
    } else {
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const p = buf.predValue![i];
        sum += p;
        const t = buf.truthValue![i];
        if (t === t) {
          labelled++;
          const d = p - t;
          absErr += Math.abs(d);
          sqErr += d * d;
        }
      }
      meanPrediction = sum / n;
      if (ref?.predictions?.kind === 'numeric') predictionDrift = this.numericScore(ref.predictions, buf.predValue!, n);
    }
    const drift: Record<string, number> = {};
    if (ref) {
      this.features.forEach((f, k) => {
        if (f.kind === 'numeric') {
          const r = ref.numeric.get(f.name);
          if (r) drift[f.name] = this.numericScore(r, buf.numeric[k], n);
        } else {
          const counts = ref.categorical.get(f.name);
          if (!counts) return;
          const current: Record<string, number> = {};
          const codes = buf.codes[k];
          for (let i = 0; i < n; i++) {
            const c = codes[i];
            if (c < 0) continue;
            const name = f.dict!.values[c];
            current[name] = (current[name] ?? 0) + 1;
          }
          drift[f.name] = psiCategorical(counts, current);
        }
      });
    }
    const p50 = kthSmallest(buf.latency, 0, n, n >> 1, this.latencyScratch);
    const accuracy = task === 'classification' && labelled > 0 ? correct / labelled : null;
    const mae = task === 'regression' && labelled > 0 ? absErr / labelled : null;
    const rmse = task === 'regression' && labelled > 0 ? Math.sqrt(sqErr / labelled) : null;
    const metric = this.config.metric ?? (task === 'classification' ? 'accuracy' : 'mae');
    const value = metricOf(metric, accuracy, mae, rmse);
    const win: LiveWindow = {
      model: this.model,
      index: buf.index,
      start: Number.isFinite(buf.firstTime) ? new Date(buf.firstTime).toISOString() : null,
      end: Number.isFinite(buf.lastTime) ? new Date(buf.lastTime).toISOString() : null,
      count: n,
      labelled,
      version: buf.version,
      accuracy,
      mae,
      rmse,
      distribution,
      meanPrediction,
      driftMethod: this.config.drift.method,
      drift,
      predictionDrift: predictionDrift !== null && Number.isFinite(predictionDrift) ? predictionDrift : null,
      p50LatencyMs: Number.isFinite(p50) ? p50 : null,
      metric,
      value,
      chart: null,
      closedBy,
    };
    const alerts: LiveAlert[] = [];
    if (value !== null) this.chartPoint(win, value, alerts);
    this.driftAlerts(win, alerts);
    // The buffer is free again once its window is scored; invalidate what still points at it.
    buf.index = -1;
    this.emit({ type: 'window', data: win });
    for (const a of alerts) this.emit({ type: 'alert', data: a });
  }

  private numericScore(r: { edges: Float64Array; expected: Float64Array; sample: Float64Array }, values: Float64Array, n: number): number {
    if (this.config.drift.method === 'psi') return psiFromCounts(r.expected, binCounts(r.edges, values, 0, n));
    const win = new Float64Array(n);
    let m = 0;
    for (let i = 0; i < n; i++) if (values[i] === values[i]) win[m++] = values[i];
    return m && r.sample.length ? ksStatistic(r.sample, win.subarray(0, m).sort()) : NaN;
  }

  private chartPoint(win: LiveWindow, value: number, alerts: LiveAlert[]): void {
    const proportion = win.metric === 'accuracy' || win.metric === 'error_rate';
    const point: ChartPoint = { value, seq: this.chartSeq++, ...(proportion ? { n: win.labelled } : {}), ...(win.start ? { start: win.start } : {}), ...(win.end ? { end: win.end } : {}) };
    const explicit = typeof this.config.baseline === 'object' ? this.config.baseline : null;
    const k = explicit ? 0 : Math.max(2, this.config.baseline as number);
    if (!explicit && this.baselinePts.length < k) {
      // Limits come from the first k windows with the metric; until then there is no chart.
      this.baselinePts.push(point);
      return;
    }
    this.recent.push(point);
    if (this.recent.length > RECENT_POINTS) this.recent.shift();
    const pts = [...this.baselinePts, ...this.recent];
    let chart;
    try {
      chart = buildControlChart(pts, { chart: proportion ? 'p' : 'individuals', sigma: this.config.sigma, baseline: explicit ?? k, rules: this.config.rules, metric: win.metric });
    } catch {
      return;
    }
    const last = pts.length - 1;
    const limits = pointLimits(chart, last);
    // A pattern counts only over consecutive chart points (the ring may have left a gap after the baseline).
    const found = chart.violations.filter((v) => v.index === last && v.points.every((i) => pts[last].seq - pts[i].seq === last - i));
    win.chart = { kind: chart.chart, centre: chart.centre, ucl: limits.ucl, lcl: limits.lcl, violations: found.map((v) => ({ rule: v.rule, side: v.side })) };
    for (const v of found) {
      const where = v.side === 'above' ? `above the centre ${chart.centre.toFixed(3)}` : `below the centre ${chart.centre.toFixed(3)}`;
      alerts.push({
        model: this.model,
        version: win.version,
        window: win.index,
        rule: `we${v.rule}`,
        metric: win.metric,
        value,
        message: `${win.metric} ${value.toFixed(3)} in live window ${win.index + 1}${win.end ? ` (to ${win.end})` : ''}: Western Electric rule ${v.rule}, ${RULE_TEXT[v.rule]} (${where}).`,
      });
    }
  }

  /** A feature's drift alerts when it crosses the threshold, not again while it stays above. */
  private driftAlerts(win: LiveWindow, alerts: LiveAlert[]): void {
    const { threshold, method, features } = this.config.drift;
    const scores: Array<[string, number | null]> = [...(features ?? this.features.map((f) => f.name)).filter((f) => f in win.drift).map((f): [string, number] => [f, win.drift[f]]), ['predictions', win.predictionDrift]];
    for (const [name, score] of scores) {
      const drifted = score !== null && score > threshold;
      if (drifted && !this.drifted.has(name)) {
        alerts.push({
          model: this.model,
          version: win.version,
          window: win.index,
          rule: `drift:${name}`,
          metric: method,
          value: score,
          message: name === 'predictions' ? `Drift of the predictions in live window ${win.index + 1}: ${method.toUpperCase()} ${score.toFixed(3)} > ${threshold}.` : `Drift of '${name}' in live window ${win.index + 1}: ${method.toUpperCase()} ${score.toFixed(3)} > ${threshold}.`,
        });
      }
      if (drifted) this.drifted.add(name);
      else this.drifted.delete(name);
    }
  }
}

function keyOf(m: LiveModel): string {
  return `${m.task}|${m.features.map((f) => `${f.name}:${f.kind}`).join(',')}`;
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
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new TypeError('Send a JSON object of monitor settings.');
  const o = input as Record<string, unknown>;
  const out: LiveMonitorConfig = { ...base, drift: { ...base.drift } };
  const int = (k: string, v: unknown, min: number, max: number): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new TypeError(`'${k}' must be an integer from ${min} to ${max} (got ${JSON.stringify(v)}).`);
    return v;
  };
  if (o.window !== undefined) out.window = int('window', o.window, 2, MAX_LIVE_WINDOW);
  if (o.metric !== undefined) {
    if (o.metric !== null && typeof o.metric !== 'string') throw new TypeError(`'metric' must be a metric name or null.`);
    out.metric = o.metric;
  }
  if (o.sigma !== undefined) {
    if (typeof o.sigma !== 'number' || !(o.sigma > 0) || o.sigma > 10) throw new TypeError(`'sigma' must be a number in (0, 10] (got ${JSON.stringify(o.sigma)}).`);
    out.sigma = o.sigma;
  }
  if (o.baseline !== undefined) {
    const b = o.baseline as { mean?: unknown; std?: unknown };
    if (typeof o.baseline === 'number') out.baseline = int('baseline', o.baseline, 2, 1000);
    else if (typeof b === 'object' && b !== null && typeof b.mean === 'number' && Number.isFinite(b.mean) && typeof b.std === 'number' && b.std >= 0) out.baseline = { mean: b.mean, std: b.std };
    else throw new TypeError(`'baseline' must be a number of windows (≥ 2) or {"mean": m, "std": s}.`);
  }
  if (o.rules !== undefined) {
    if (!Array.isArray(o.rules) || !o.rules.every((r) => r === 1 || r === 2 || r === 3 || r === 4)) throw new TypeError(`'rules' must be a list of Western Electric rule numbers 1–4.`);
    out.rules = [...new Set(o.rules as number[])];
  }
  if (o.labelWaitMs !== undefined) out.labelWaitMs = int('labelWaitMs', o.labelWaitMs, 0, 86_400_000);
  if (o.drift !== undefined) {
    const d = o.drift as Record<string, unknown>;
    if (typeof d !== 'object' || d === null) throw new TypeError(`'drift' must be an object {method, threshold, features}.`);
    if (d.method !== undefined) {
      if (d.method !== 'psi' && d.method !== 'ks') throw new TypeError(`'drift.method' must be "psi" or "ks".`);
      out.drift.method = d.method;
    }
    if (d.threshold !== undefined) {
      if (typeof d.threshold !== 'number' || !(d.threshold > 0)) throw new TypeError(`'drift.threshold' must be a number > 0.`);
      out.drift.threshold = d.threshold;
    }
    if (d.features !== undefined) {
      if (d.features !== null && (!Array.isArray(d.features) || d.features.length > 1000 || !d.features.every((f) => typeof f === 'string'))) throw new TypeError(`'drift.features' must be a list of feature names or null.`);
      out.drift.features = d.features as string[] | null;
    }
  }
  return out;
}

/**
 * The live settings for `monitor:` of modelops.yaml. `evaluation` is the deployed version's
 * evaluation value of the metric, for `baseline: evaluation` on accuracy/error-rate charts.
 * Live drift is PSI (threshold `drift.threshold`, default 0.2), or the KS statistic D when the
 * config says `method: ks` with a threshold; the batch monitor's other tests are not scored live.
 */
export function liveConfigFromMonitor(
  mc: { window: number; controlChart: { metric: string; sigma: number; baseline: number | 'evaluation'; rules: number[] }; drift: { method?: string; test?: string; threshold?: number; features?: string[] } },
  evaluation?: number,
): LiveMonitorConfig {
  const metric = mc.controlChart.metric;
  const proportion = metric === 'accuracy' || metric === 'error_rate';
  let baseline: LiveMonitorConfig['baseline'] = 5;
  if (mc.controlChart.baseline !== 'evaluation') baseline = Math.max(2, mc.controlChart.baseline);
  else if (typeof evaluation === 'number' && proportion) baseline = { mean: metric === 'error_rate' ? 1 - evaluation : evaluation, std: 0 };
  const test = mc.drift.test ?? mc.drift.method;
  const ks = test === 'ks' && mc.drift.method === 'ks' && mc.drift.threshold !== undefined;
  const psiThreshold = test === undefined || test === 'psi' || test === 'auto' ? mc.drift.threshold : undefined;
  return {
    ...DEFAULT_LIVE_CONFIG,
    window: Math.min(MAX_LIVE_WINDOW, mc.window),
    metric,
    sigma: mc.controlChart.sigma,
    baseline,
    rules: [...mc.controlChart.rules],
    drift: { method: ks ? 'ks' : 'psi', threshold: ks ? mc.drift.threshold! : (psiThreshold ?? 0.2), features: mc.drift.features ?? null },
  };
}
