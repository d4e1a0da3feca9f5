/**
 * Live monitoring inside the model server: every answered request and every feedback goes to
 * the model's WindowAccumulator (server/engine/monitoring/live/window.ts), and each scored window
 * and alert becomes an event that is
 *  - streamed to subscribers of `GET /v2/models/{m}/monitor/stream` (Server-Sent Events, with a
 *    bounded backlog for Last-Event-ID resume and heartbeat comments),
 *  - kept as Prometheus gauges and counters on `/metrics`,
 *  - emitted in-process as `'event'` (for an engine caller that hosts the server itself).
 * The windows are scored off the request thread: answered requests are packed into compact
 * batches (liveScorer.ts), handed over every HAND_OVER_MS (or at once when
 * HAND_OVER_REQUESTS wait), and scored by a LiveScorer in a worker thread (liveWorker.ts) whose events
 * come back here. Feedback, settings and the timer go the same way after the batch, so requests
 * and their feedback keep their order; `settled()` waits until the scorer has seen everything
 * sent so far (the monitor routes and /metrics ask it first). `thread: 'inline'` runs the scorer
 * in this thread, synchronously (tests, in-process benchmarks); it is also the fallback when the
 * worker cannot start or fails.
 * See docs/monitoring.md. Memory is bounded: the accumulators' fixed buffers, BACKLOG events per
 * model, at most `maxSubscribers` streams whose unsent bytes are capped, HAND_OVER_REQUESTS packed requests.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Worker } from 'node:worker_threads';
import type { Prediction } from '../model/types';
import {
  DEFAULT_LIVE_CONFIG,
  liveConfig,
  type LiveEvent,
  type LiveModel,
  type LiveMonitorConfig,
  type LiveWindow,
  type RetainedSizes,
} from '../monitoring/live/window';
import { workerEntry } from '../threads';
import {
  LiveScorer,
  ObservationPacker,
  type FeedbackItem,
  type FromScorer,
  type ScoredEvent,
  type ToScorer,
} from './liveScorer';

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
  /** Where windows are scored: a worker thread (default) or this thread, synchronously. */
  thread?: 'worker' | 'inline';
}

/** One event as it leaves the server: id `<boot>:<seq>`, kind and data. */
export interface LiveStreamEvent {
  id: string;
  model: string;
  event: LiveEvent['type'];
  data: LiveEvent['data'];
}

/**
 * Packed requests are handed to the scorer in batches of up to HAND_OVER_REQUESTS, or
 * HAND_OVER_MS after the first of a batch: handing over costs about the same for one request
 * as for thousands, and waking the worker a few times a second rather than for every few
 * requests keeps its cost off the serving threads; a window's events come at most that late.
 */
const HAND_OVER_REQUESTS = 4096;
const HAND_OVER_MS = 200;

interface Stored {
  seq: number;
  /** The SSE frame, built once for the backlog and every subscriber. */
  frame: string;
}

interface ModelState {
  config: LiveMonitorConfig;
  seq: number;
  backlog: Stored[];
  /** Latest window per version (its JSON, read when /metrics is asked), for the gauges. */
  gauges: Map<string, string>;
  /** `version\0rule` → count. */
  violations: Map<string, number>;
  windows: Map<string, number>;
}

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
/** A gauge's value; NaN for a value the window's JSON wrote as null (NaN has no JSON). */
const num = (v: number | null): string =>
  v === null || v !== v ? 'NaN' : Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : '-Inf';

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
  private readonly heartbeatMs: number;
  /** Time the request thread spent on monitoring (packing, handing over, publishing events), for /metrics. */
  private busyMs = 0;
  /** Time the scorer spent (its own thread, or this one inline), as it last reported it. */
  private scorerBusyMs = 0;
  private worker: Worker | null = null;
  private inline: LiveScorer | null = null;
  private packer: ObservationPacker;
  /** Feedback not yet handed over (after every packed request: see handOver). */
  private feedbacks: FeedbackItem[] = [];
  private handOverTimer: NodeJS.Timeout | null = null;
  private readonly handOverSoon = (): void => {
    this.handOverTimer = null;
    this.drain();
  };
  private syncSeq = 0;
  private syncs = new Map<number, () => void>();
  private retainedSizes: Record<string, RetainedSizes> = {};
  private closed = false;

  constructor(options: LiveMonitorOptions = {}) {
    super();
    this.backlogSize = Math.max(1, options.backlog ?? 256);
    this.maxSubscribers = Math.max(0, options.maxSubscribers ?? 16);
    this.heartbeatMs = Math.max(100, options.heartbeatMs ?? 15_000);
    this.maxPendingBytes = options.maxPendingBytes ?? 1024 * 1024;
    this.defaults = options.defaults ?? DEFAULT_LIVE_CONFIG;
    this.packer = new ObservationPacker((m) => this.send(m));
    if (options.thread === 'inline') this.useInline();
    else this.startWorker();
    this.timer = setInterval(() => this.tick(), Math.min(1000, this.heartbeatMs));
    this.timer.unref();
  }

  private startWorker(): void {
    const entry = workerEntry(__filename, 'liveWorker.js', 'liveWorker.ts');
    if (!existsSync(entry.file)) {
      this.useInline(`the live monitor worker ${entry.file} is missing`);
      return;
    }
    const worker = entry.bootstrap ? new Worker(entry.bootstrap, { eval: true }) : new Worker(entry.file);
    worker.unref();
    worker.on('message', (m: FromScorer) => this.receive(m));
    worker.on('error', (e) => this.useInline(`the live monitor worker failed: ${e.message}`));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.useInline(`the live monitor worker exited (code ${code})`);
    });
    this.worker = worker;
  }

  /**
   * Scores in this thread from now on. After a failed worker the windows start over: the new
   * scorer gets every model's settings, and the packer starts a new batch (its models are sent again).
   */
  private useInline(reason?: string): void {
    if (this.closed) return;
    if (reason) process.stderr.write(`modelops serve: ${reason}; scoring live windows on the request thread\n`);
    const worker = this.worker;
    this.worker = null;
    if (worker) void worker.terminate();
    this.inline = new LiveScorer((m) => this.receive(m));
    this.packer = new ObservationPacker((m) => this.send(m));
    for (const [model, s] of this.models) this.inline.handle({ type: 'configure', model, config: s.config });
    // Whoever waits for the old worker is let go: what it had is gone.
    for (const done of this.syncs.values()) done();
    this.syncs.clear();
  }

  private send(m: ToScorer): void {
    if (this.inline) this.inline.handle(m);
    else if (!this.worker)
      return; // closed
    // Batches are in shared memory: posted without a transfer list (see liveScorer.ts `shared`).
    else this.worker.postMessage(m);
  }

  private receive(m: FromScorer): void {
    const t0 = performance.now();
    if (m.type === 'spent') this.packer.recycle(m);
    else if (m.type === 'events') {
      this.scorerBusyMs = m.busyMs;
      for (const e of m.events) {
        const s = this.models.get(e.model);
        if (s) this.publish(s, e);
      }
    } else {
      this.scorerBusyMs = m.busyMs;
      this.retainedSizes = m.retained;
      this.syncs.get(m.seq)?.();
      this.syncs.delete(m.seq);
    }
    this.busyMs += performance.now() - t0;
  }

  private state(model: string): ModelState {
    let s = this.models.get(model);
    if (!s) {
      s = { config: this.defaults, seq: 0, backlog: [], gauges: new Map(), violations: new Map(), windows: new Map() };
      this.models.set(model, s);
      this.handOver();
      this.send({ type: 'configure', model, config: s.config });
    }
    return s;
  }

  /** One answered request (called after the response is sent): packed, handed to the scorer with the next batch. */
  observe(
    model: string,
    version: string,
    m: LiveModel,
    id: string,
    columns: Record<string, readonly unknown[]>,
    preds: readonly Prediction[],
    latencyMs: number,
  ): void {
    const t0 = performance.now();
    this.state(model);
    // Feedback that came before this request goes first.
    if (this.feedbacks.length > 0) this.handOver();
    this.packer.add(model, version, m, id, columns, preds, latencyMs, Date.now());
    if (this.packer.size >= HAND_OVER_REQUESTS) this.handOver();
    else this.soon();
    this.busyMs += performance.now() - t0;
  }

  /** Hands the packed requests to the scorer now (inline: they are scored before this returns). */
  drain(): void {
    const t0 = performance.now();
    this.handOver();
    this.busyMs += performance.now() - t0;
  }

  private handOver(): void {
    if (this.handOverTimer) {
      clearTimeout(this.handOverTimer);
      this.handOverTimer = null;
    }
    // Requests are packed only while no feedback waits (observe hands it over first), so the
    // batch, then the feedback, is the order they came in.
    const batch = this.packer.take();
    if (batch) this.send(batch);
    if (this.feedbacks.length > 0) {
      const items = this.feedbacks;
      this.feedbacks = [];
      this.send({ type: 'feedback', items });
    }
  }

  /** Hands over HAND_OVER_MS from now unless something else does first. */
  private soon(): void {
    if (this.handOverTimer) return;
    this.handOverTimer = setTimeout(this.handOverSoon, HAND_OVER_MS);
    this.handOverTimer.unref();
  }

  /** Resolves once the scorer has recorded everything handed to it so far and its events are published. */
  settled(): Promise<void> {
    this.drain();
    if (this.inline || !this.worker) return Promise.resolve();
    const seq = ++this.syncSeq;
    return new Promise((resolve) => {
      this.syncs.set(seq, resolve);
      this.send({ type: 'sync', seq });
    });
  }

  /**
   * Feedback for a request: after the requests packed so far and before any packed later, handed
   * over with the feedback that follows it (a POST of many is one message, not one each).
   */
  feedback(model: string, id: string, labels: ReadonlyArray<string | number>): void {
    if (!this.models.has(model)) return;
    const t0 = performance.now();
    // Requests packed before it go first (no feedback waits while requests are packed).
    if (this.packer.size > 0) this.handOver();
    this.feedbacks.push({ model, id, labels: [...labels] });
    this.soon();
    this.busyMs += performance.now() - t0;
  }

  /** Replaces a model's settings (partial input completes the current ones); its windows start over. */
  configure(model: string, input: unknown): LiveMonitorConfig {
    const s = this.state(model);
    const config = liveConfig(input, s.config);
    s.config = config;
    this.handOver();
    this.send({ type: 'configure', model, config });
    return config;
  }

  configOf(model: string): LiveMonitorConfig {
    return this.models.get(model)?.config ?? this.defaults;
  }

  /** What the model's windows hold, as of the last `settled()`. */
  retained(model: string): RetainedSizes | null {
    return this.retainedSizes[model] ?? null;
  }

  /** Recent events of a model (oldest first), for `GET /v2/models/{m}/monitor` (after `settled()`). */
  recent(model: string, limit = 50): LiveStreamEvent[] {
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

  /** Files a scored event and sends it to the model's subscribers: its data is sent as the scorer wrote it. */
  private publish(s: ModelState, e: ScoredEvent): void {
    const { model, version } = e;
    const seq = ++s.seq;
    const id = `${this.boot}:${seq}`;
    // JSON.stringify of a LiveStreamEvent, key for key, with the data already JSON.
    const json = `{"id":${JSON.stringify(id)},"model":${JSON.stringify(model)},"event":"${e.type}","data":${e.data}}`;
    const frame = `id: ${id}\nevent: ${e.type}\ndata: ${json}\n\n`;
    s.backlog.push({ seq, frame });
    if (s.backlog.length > this.backlogSize) s.backlog.shift();
    if (e.type === 'window') {
      s.gauges.set(version, e.data);
      s.windows.set(version, (s.windows.get(version) ?? 0) + 1);
      if (s.gauges.size > 16) s.gauges.delete(s.gauges.keys().next().value as string);
    } else if (e.rule && (e.rule.startsWith('we') || e.rule.startsWith('cbpe:we') || e.rule.startsWith('dle:we'))) {
      const key = `${version}\u0000${e.rule}`;
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
    // In-process listeners (an engine caller hosting the server) get the object.
    if (this.listenerCount('event') > 0) this.emit('event', JSON.parse(json) as LiveStreamEvent);
  }

  private tick(): void {
    const now = Date.now();
    if (this.models.size > 0) {
      this.drain();
      this.send({ type: 'tick', now });
    }
    if (now - this.lastBeat >= this.heartbeatMs) {
      this.lastBeat = now;
      const beat = `: heartbeat ${new Date(now).toISOString()}\n\n`;
      for (const sub of this.subscribers) sub.res.write(beat);
    }
  }

  /** Prometheus lines (docs/monitoring.md lists them), as of the last `settled()`. */
  metricLines(): string[] {
    const out: string[] = [];
    const all = [...this.models.entries()].map(
      ([model, s]) =>
        [model, { ...s, gauges: [...s.gauges.values()].map((text) => JSON.parse(text) as LiveWindow) }] as const,
    );
    const lbl = (model: string, version: string) => `model="${esc(model)}",version="${esc(version)}"`;
    out.push(
      '# HELP modelops_monitor_window_metric Charted metric of the latest scored live window (accuracy, MAE …; absent until labels arrive).',
    );
    out.push('# TYPE modelops_monitor_window_metric gauge');
    for (const [model, s] of all)
      for (const w of s.gauges)
        if (w.value !== null)
          out.push(
            `modelops_monitor_window_metric{${lbl(model, w.version)},metric="${esc(w.metric)}"} ${num(w.value)}`,
          );
    out.push(
      '# HELP modelops_monitor_window_estimated_accuracy Accuracy of the latest scored live window estimated by CBPE from the served class probabilities (before any label).',
    );
    out.push('# TYPE modelops_monitor_window_estimated_accuracy gauge');
    for (const [model, s] of all)
      for (const w of s.gauges)
        if (w.estimatedAccuracy !== null && w.estimatedAccuracy !== undefined)
          out.push(`modelops_monitor_window_estimated_accuracy{${lbl(model, w.version)}} ${num(w.estimatedAccuracy)}`);
    out.push(
      '# HELP modelops_monitor_window_estimated_loss MAE, RMSE or MSE (label metric) of the latest scored live window estimated by DLE from a loss model fitted on the reference windows (regression, before any label).',
    );
    out.push('# TYPE modelops_monitor_window_estimated_loss gauge');
    for (const [model, s] of all)
      for (const w of s.gauges)
        if (w.estimated?.method === 'dle' && w.estimated.value !== null)
          out.push(
            `modelops_monitor_window_estimated_loss{${lbl(model, w.version)},metric="${esc(w.estimated.metric)}"} ${num(w.estimated.value)}`,
          );
    out.push(
      '# HELP modelops_monitor_feature_drift Drift score of each feature in the latest scored live window, by its drift test (label method: ks, psi, wasserstein, jensenshannon, chisquare, ztest).',
    );
    out.push('# TYPE modelops_monitor_feature_drift gauge');
    for (const [model, s] of all)
      for (const w of s.gauges)
        for (const [f, v] of Object.entries(w.drift))
          out.push(
            `modelops_monitor_feature_drift{${lbl(model, w.version)},feature="${esc(f)}",method="${w.driftTests[f] ?? w.driftMethod}"} ${num(v)}`,
          );
    out.push(
      '# HELP modelops_monitor_prediction_drift Drift statistic of the predictions in the latest scored live window.',
    );
    out.push('# TYPE modelops_monitor_prediction_drift gauge');
    for (const [model, s] of all)
      for (const w of s.gauges)
        if (w.predictionDrift !== null)
          out.push(
            `modelops_monitor_prediction_drift{${lbl(model, w.version)},method="${w.driftTests['(predictions)'] ?? w.driftMethod}"} ${num(w.predictionDrift)}`,
          );
    out.push(
      '# HELP modelops_monitor_rule_violations_total Western Electric rule violations found by the live monitor (cbpe:we<n>: on the CBPE estimate; dle:we<n>: on the DLE estimate).',
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
      '# HELP modelops_monitor_seconds_total Time the request thread spent on live monitoring (packing requests, handing them over, publishing events): what monitoring takes from serving.',
    );
    out.push('# TYPE modelops_monitor_seconds_total counter');
    out.push(`modelops_monitor_seconds_total ${num(this.busyMs / 1000)}`);
    out.push(
      '# HELP modelops_monitor_scorer_seconds_total Time spent scoring live windows (the monitor worker thread, or the request thread when it scores inline).',
    );
    out.push('# TYPE modelops_monitor_scorer_seconds_total counter');
    out.push(`modelops_monitor_scorer_seconds_total ${num(this.scorerBusyMs / 1000)}`);
    out.push('# HELP modelops_monitor_subscribers Open monitor event streams.');
    out.push('# TYPE modelops_monitor_subscribers gauge');
    out.push(`modelops_monitor_subscribers ${this.subscribers.size}`);
    return out;
  }

  /** Ends every stream and the scorer (server shutdown). */
  close(): void {
    this.closed = true;
    this.drain();
    clearInterval(this.timer);
    const worker = this.worker;
    this.worker = null;
    if (worker) void worker.terminate();
    for (const done of this.syncs.values()) done();
    this.syncs.clear();
    for (const sub of this.subscribers) sub.res.end();
    this.subscribers.clear();
  }
}
