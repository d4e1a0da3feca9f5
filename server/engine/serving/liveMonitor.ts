/**
 * Live monitoring inside the model server: every answered request and every feedback goes to
 * the model's WindowAccumulator (server/engine/monitoring/live/window.ts), and each scored window
 * and alert becomes an event that is
 *  - streamed to subscribers of `GET /v2/models/{m}/monitor/stream` (Server-Sent Events, with a
 *    bounded backlog for Last-Event-ID resume and heartbeat comments),
 *  - kept as Prometheus gauges and counters on `/metrics`,
 *  - emitted in-process as `'event'` (for an engine caller that hosts the server itself).
 * Requests are recorded in batches: `observe` queues the request and the queue is drained once
 * per turn of the event loop (setImmediate), or at once when it holds MAX_QUEUED. Running the same
 * code over many requests in a row keeps it hot, and window scoring leaves the request path.
 * Everything that reads or changes the windows (feedback, the timer, settings, the routes) drains
 * the queue first, so the order of requests and feedback is kept.
 * See docs/monitoring.md. Memory is bounded: the accumulators' fixed buffers, BACKLOG events per
 * model, at most `maxSubscribers` streams whose unsent bytes are capped, MAX_QUEUED requests.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Prediction } from '../model/types';
import {
  DEFAULT_LIVE_CONFIG,
  liveConfig,
  WindowAccumulator,
  type LiveEvent,
  type LiveModel,
  type LiveMonitorConfig,
  type LiveWindow,
  type RetainedSizes,
} from '../monitoring/live/window';

export interface LiveMonitorOptions {
  /** Events kept per model for resume (default 256). */
  backlog?: number;
  /** Open streams at most, all models together (default 16). */
  maxSubscribers?: number;
  /** Heartbeat comment interval (default 15 s). */
  heartbeatMs?: number;
  /** Unsent bytes a slow subscriber may hold before it is cut off (default 1 MB). */
  maxPendingBytes?: number;
  /** Settings every model starts with (default DEFAULT_LIVE_CONFIG). */
  defaults?: LiveMonitorConfig;
}

/** One event as it leaves the server: id `<boot>:<seq>`, kind and data. */
export interface LiveStreamEvent {
  id: string;
  model: string;
  event: LiveEvent['type'];
  data: LiveEvent['data'];
}

/** An answered request waiting in the queue. */
interface Observation {
  model: string;
  version: string;
  m: LiveModel;
  id: string;
  columns: Record<string, readonly unknown[]>;
  preds: readonly Prediction[];
  latencyMs: number;
  timeMs: number;
}

/** Requests queued at most before the queue is drained on the spot. */
const MAX_QUEUED = 1024;

interface Stored {
  seq: number;
  /** The SSE frame, built once for the backlog and every subscriber. */
  frame: string;
}

interface ModelState {
  acc: WindowAccumulator;
  config: LiveMonitorConfig;
  seq: number;
  backlog: Stored[];
  /** Latest window per version, for the gauges. */
  gauges: Map<string, LiveWindow>;
  /** `version\0rule` → count. */
  violations: Map<string, number>;
  windows: Map<string, number>;
}

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const num = (v: number): string => (Number.isFinite(v) ? String(v) : v !== v ? 'NaN' : v > 0 ? '+Inf' : '-Inf');

export class LiveMonitorHub extends EventEmitter {
  /** Changes each start, so a Last-Event-ID from another run is recognised. */
  readonly boot = randomBytes(4).toString('hex');
  private models = new Map<string, ModelState>();
  private subscribers = new Set<{ model: string; res: ServerResponse }>();
  private timer: NodeJS.Timeout;
  private readonly backlogSize: number;
  private readonly maxSubscribers: number;
  private readonly maxPendingBytes: number;
  private readonly defaults: LiveMonitorConfig;
  private lastBeat = Date.now();
  /** Time this thread spent monitoring (recording requests and feedback, window scoring), for /metrics. */
  private busyMs = 0;
  private queue: Observation[] = [];
  private drainScheduled = false;
  private readonly drainSoon = (): void => {
    this.drainScheduled = false;
    this.drain();
  };
  private readonly heartbeatMs: number;

  constructor(options: LiveMonitorOptions = {}) {
    super();
    this.backlogSize = Math.max(1, options.backlog ?? 256);
    this.maxSubscribers = Math.max(0, options.maxSubscribers ?? 16);
    this.heartbeatMs = Math.max(100, options.heartbeatMs ?? 15_000);
    this.maxPendingBytes = options.maxPendingBytes ?? 1024 * 1024;
    this.defaults = options.defaults ?? DEFAULT_LIVE_CONFIG;
    this.timer = setInterval(() => this.tick(), Math.min(1000, this.heartbeatMs));
    this.timer.unref();
  }

  private state(model: string): ModelState {
    let s = this.models.get(model);
    if (!s) {
      const config = this.defaults;
      s = {
        acc: null as unknown as WindowAccumulator,
        config,
        seq: 0,
        backlog: [],
        gauges: new Map(),
        violations: new Map(),
        windows: new Map(),
      };
      const st = s;
      st.acc = new WindowAccumulator(model, config, (e) => this.publish(model, st, e));
      this.models.set(model, s);
    }
    return s;
  }

  /** One answered request (called after the response is sent): queued, recorded with the next batch. */
  observe(
    model: string,
    version: string,
    m: LiveModel,
    id: string,
    columns: Record<string, readonly unknown[]>,
    preds: readonly Prediction[],
    latencyMs: number,
  ): void {
    this.queue.push({ model, version, m, id, columns, preds, latencyMs, timeMs: Date.now() });
    if (this.queue.length >= MAX_QUEUED) this.drain();
    else if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(this.drainSoon);
    }
  }

  /** Records every queued request, in order (windows that fill are scored and published). */
  drain(): void {
    if (this.queue.length === 0) return;
    const t0 = performance.now();
    const queue = this.queue;
    this.queue = [];
    for (const o of queue) {
      const { preds } = o;
      const predicted = new Array<string | number>(preds.length);
      // Class probabilities (in m.labels order) feed the window's CBPE estimate.
      let probs: Array<number[] | undefined> | null = null;
      for (let i = 0; i < preds.length; i++) {
        predicted[i] = preds[i].value as string | number;
        const p = preds[i].probabilities;
        if (p) (probs ??= new Array<number[] | undefined>(preds.length))[i] = p;
      }
      this.state(o.model).acc.observe(o.version, o.m, o.id, o.columns, predicted, o.latencyMs, o.timeMs, probs);
    }
    this.busyMs += performance.now() - t0;
  }

  feedback(model: string, id: string, labels: ReadonlyArray<string | number>): void {
    this.drain();
    const t0 = performance.now();
    this.models.get(model)?.acc.feedback(id, labels);
    this.busyMs += performance.now() - t0;
  }

  /** Replaces a model's settings (partial input completes the current ones); its windows start over. */
  configure(model: string, input: unknown): LiveMonitorConfig {
    this.drain();
    const s = this.state(model);
    const config = liveConfig(input, s.config);
    s.acc.flush();
    s.config = config;
    s.acc = new WindowAccumulator(model, config, (e) => this.publish(model, s, e));
    return config;
  }

  configOf(model: string): LiveMonitorConfig {
    return this.models.get(model)?.config ?? this.defaults;
  }

  retained(model: string): RetainedSizes | null {
    this.drain();
    return this.models.get(model)?.acc.retained() ?? null;
  }

  /** Recent events of a model (oldest first), for `GET /v2/models/{m}/monitor`. */
  recent(model: string, limit = 50): LiveStreamEvent[] {
    this.drain();
    const s = this.models.get(model);
    if (!s) return [];
    return s.backlog
      .slice(-limit)
      .map((b) => JSON.parse(b.frame.slice(b.frame.indexOf('data: ') + 6)) as LiveStreamEvent);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * Serves an SSE stream of a model's events until the client goes away. `lastEventId` (the
   * Last-Event-ID header, or ?lastEventId=) replays the backlog after it; "0" replays all of it.
   * Returns false, having written nothing, when the subscriber limit is reached.
   */
  subscribe(model: string, req: IncomingMessage, res: ServerResponse, lastEventId: string | null): boolean {
    if (this.subscribers.size >= this.maxSubscribers) return false;
    this.drain();
    const sub = { model, res };
    this.subscribers.add(sub);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 2000\n: modelops live monitor of '${model}', boot ${this.boot}\n\n`);
    const s = this.models.get(model);
    if (lastEventId !== null && s) {
      const m = /^([0-9a-f]+):(\d+)$/.exec(lastEventId.trim());
      const sameBoot = m !== null && m[1] === this.boot;
      const after = lastEventId.trim() === '0' || !sameBoot ? 0 : Number(m![2]);
      const oldest = s.backlog.length ? s.backlog[0].seq : s.seq + 1;
      if (lastEventId.trim() !== '0' && !sameBoot)
        res.write(
          `event: reset\ndata: ${JSON.stringify({ reason: 'The server restarted since that event id; this is its backlog.', boot: this.boot })}\n\n`,
        );
      else if (after + 1 < oldest)
        res.write(
          `event: gap\ndata: ${JSON.stringify({ missed: oldest - after - 1, reason: 'Events after that id left the backlog.' })}\n\n`,
        );
      for (const b of s.backlog) if (b.seq > after) res.write(b.frame);
    }
    const drop = () => this.subscribers.delete(sub);
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    res.on('close', drop);
    res.on('error', drop);
    return true;
  }

  private publish(model: string, s: ModelState, e: LiveEvent): void {
    const seq = ++s.seq;
    const id = `${this.boot}:${seq}`;
    const payload: LiveStreamEvent = { id, model, event: e.type, data: e.data };
    const frame = `id: ${id}\nevent: ${e.type}\ndata: ${JSON.stringify(payload)}\n\n`;
    s.backlog.push({ seq, frame });
    if (s.backlog.length > this.backlogSize) s.backlog.shift();
    if (e.type === 'window') {
      s.gauges.set(e.data.version, e.data);
      s.windows.set(e.data.version, (s.windows.get(e.data.version) ?? 0) + 1);
      if (s.gauges.size > 16) s.gauges.delete(s.gauges.keys().next().value as string);
    } else if (e.data.rule.startsWith('we') || e.data.rule.startsWith('cbpe:we')) {
      const key = `${e.data.version}\u0000${e.data.rule}`;
      s.violations.set(key, (s.violations.get(key) ?? 0) + 1);
    }
    for (const sub of this.subscribers) {
      if (sub.model !== model) continue;
      // A subscriber that does not read is cut off rather than buffered without end.
      if (sub.res.writableLength > this.maxPendingBytes) {
        this.subscribers.delete(sub);
        sub.res.destroy();
        continue;
      }
      sub.res.write(frame);
    }
    this.emit('event', payload);
  }

  private tick(): void {
    this.drain();
    const t0 = performance.now();
    const now = Date.now();
    for (const s of this.models.values()) s.acc.tick(now);
    this.busyMs += performance.now() - t0;
    if (now - this.lastBeat >= this.heartbeatMs) {
      this.lastBeat = now;
      const beat = `: heartbeat ${new Date(now).toISOString()}\n\n`;
      for (const sub of this.subscribers) sub.res.write(beat);
    }
  }

  /** Prometheus lines (docs/monitoring.md lists them). */
  metricLines(): string[] {
    this.drain();
    const out: string[] = [];
    const all = [...this.models.entries()];
    const lbl = (model: string, version: string) => `model="${esc(model)}",version="${esc(version)}"`;
    out.push(
      '# HELP modelops_monitor_window_metric Charted metric of the latest scored live window (accuracy, MAE …; absent until labels arrive).',
    );
    out.push('# TYPE modelops_monitor_window_metric gauge');
    for (const [model, s] of all)
      for (const w of s.gauges.values())
        if (w.value !== null)
          out.push(
            `modelops_monitor_window_metric{${lbl(model, w.version)},metric="${esc(w.metric)}"} ${num(w.value)}`,
          );
    out.push(
      '# HELP modelops_monitor_window_estimated_accuracy Accuracy of the latest scored live window estimated by CBPE from the served class probabilities (before any label).',
    );
    out.push('# TYPE modelops_monitor_window_estimated_accuracy gauge');
    for (const [model, s] of all)
      for (const w of s.gauges.values())
        if (w.estimatedAccuracy !== null && w.estimatedAccuracy !== undefined)
          out.push(`modelops_monitor_window_estimated_accuracy{${lbl(model, w.version)}} ${num(w.estimatedAccuracy)}`);
    out.push(
      '# HELP modelops_monitor_feature_drift Drift score of each feature in the latest scored live window, by its drift test (label method: ks, psi, wasserstein, jensenshannon, chisquare, ztest).',
    );
    out.push('# TYPE modelops_monitor_feature_drift gauge');
    for (const [model, s] of all)
      for (const w of s.gauges.values())
        for (const [f, v] of Object.entries(w.drift))
          out.push(
            `modelops_monitor_feature_drift{${lbl(model, w.version)},feature="${esc(f)}",method="${w.driftTests[f] ?? w.driftMethod}"} ${num(v)}`,
          );
    out.push(
      '# HELP modelops_monitor_prediction_drift Drift statistic of the predictions in the latest scored live window.',
    );
    out.push('# TYPE modelops_monitor_prediction_drift gauge');
    for (const [model, s] of all)
      for (const w of s.gauges.values())
        if (w.predictionDrift !== null)
          out.push(
            `modelops_monitor_prediction_drift{${lbl(model, w.version)},method="${w.driftTests['(predictions)'] ?? w.driftMethod}"} ${num(w.predictionDrift)}`,
          );
    out.push(
      '# HELP modelops_monitor_rule_violations_total Western Electric rule violations found by the live monitor (cbpe:we<n>: on the CBPE estimate).',
    );
    out.push('# TYPE modelops_monitor_rule_violations_total counter');
    for (const [model, s] of all)
      for (const [key, n] of s.violations) {
        const [version, rule] = key.split('\u0000');
        out.push(`modelops_monitor_rule_violations_total{${lbl(model, version)},rule="${rule}"} ${n}`);
      }
    out.push('# HELP modelops_monitor_windows_total Live windows scored.');
    out.push('# TYPE modelops_monitor_windows_total counter');
    for (const [model, s] of all)
      for (const [version, n] of s.windows) out.push(`modelops_monitor_windows_total{${lbl(model, version)}} ${n}`);
    out.push(
      '# HELP modelops_monitor_seconds_total Time the model server spent in live monitoring (recording requests and feedback, scoring windows); its share of process CPU is what monitoring costs.',
    );
    out.push('# TYPE modelops_monitor_seconds_total counter');
    out.push(`modelops_monitor_seconds_total ${num(this.busyMs / 1000)}`);
    out.push('# HELP modelops_monitor_subscribers Open monitor event streams.');
    out.push('# TYPE modelops_monitor_subscribers gauge');
    out.push(`modelops_monitor_subscribers ${this.subscribers.size}`);
    return out;
  }

  /** Ends every stream (server shutdown). */
  close(): void {
    this.drain();
    clearInterval(this.timer);
    for (const sub of this.subscribers) sub.res.end();
    this.subscribers.clear();
  }
}
