/**
 * The live monitor's two halves and the messages between them. The model server's request thread
 * (liveMonitor.ts) only packs answered requests into compact batches (`ObservationPacker`); a
 * `LiveScorer` — in a worker thread (liveWorker.ts), or in the same thread for tests and
 * in-process benchmarks — unpacks them into each model's WindowAccumulator, scores the windows and
 * posts their events back. Messages keep their order, so feedback always follows the requests
 * it labels.
 */
import type { Prediction } from '../model/types';
import {
  WindowAccumulator,
  type LiveEvent,
  type LiveModel,
  type LiveMonitorConfig,
  type RetainedSizes,
} from '../monitoring/live/window';

/** A batch of answered requests: numbers in one Float64Array, text in one array, in request order. */
export interface ObserveBatch {
  type: 'observe';
  /** Per request: model key (a `model` message sent first), row count, index into `names` and `versions`. */
  keys: Int32Array;
  rows: Int32Array;
  name: Int32Array;
  version: Int32Array;
  /** The batch's distinct model names and versions (each sent once, not once per request). */
  names: string[];
  versions: string[];
  /** Per request: its id. */
  ids: string[];
  /**
   * Per request: latency, time, then per row its numeric features (NaN when not a number), the
   * prediction of a regressor, and K probabilities of a classifier (NaN when absent).
   */
  numbers: Float64Array;
  /** Per row: categorical features (null when missing) and a classifier's predicted label. */
  texts: Array<string | null>;
}

export type ToScorer =
  | { type: 'model'; key: number; model: LiveModel }
  | { type: 'configure'; model: string; config: LiveMonitorConfig }
  | ObserveBatch
  | { type: 'feedback'; model: string; id: string; labels: Array<string | number> }
  | { type: 'tick'; now: number }
  | { type: 'sync'; seq: number };

export type FromScorer =
  | { type: 'event'; model: string; event: LiveEvent; busyMs: number }
  | { type: 'sync'; seq: number; retained: Record<string, RetainedSizes>; busyMs: number };

/** What the packer and the scorer agree on about a model: its columns in order and K. */
interface Layout {
  model: LiveModel;
  /** Features the windows use (dates are not monitored), numeric or not. */
  numeric: boolean[];
  names: string[];
  /** Class probabilities per row (0: none). */
  k: number;
  classifier: boolean;
}

function layoutOf(model: LiveModel): Layout {
  const used = model.features.filter((f) => f.kind !== 'date');
  const classifier = model.task === 'classification';
  const k = classifier ? (model.labels?.length ?? 0) : 0;
  return {
    model,
    numeric: used.map((f) => f.kind === 'numeric'),
    names: used.map((f) => f.name),
    k: k >= 2 ? k : 0,
    classifier,
  };
}

/** The index of `value` in a batch's table of distinct strings (added at the end when new). */
function indexIn(table: Map<string, number>, value: string): number {
  let i = table.get(value);
  if (i === undefined) table.set(value, (i = table.size));
  return i;
}

/** Arrays a scorer fills for each request of `n` rows: WindowAccumulator.observe copies them, so they are reused. */
interface Scratch {
  columns: Record<string, unknown[]>;
  predicted: Array<string | number>;
  probs: Float64Array[] | null;
  buffer: Float64Array;
}

/** Scratch is kept for requests of up to this many rows (larger ones get fresh arrays). */
const SCRATCH_ROWS = 64;

/**
 * Packs answered requests on the request thread: a few array pushes per row, no per-request
 * objects kept. `take()` hands over the batch (the Float64Array is transferable).
 */
export class ObservationPacker {
  private readonly keys = new WeakMap<LiveModel, number>();
  private readonly layouts: Layout[] = [];
  private keyList: number[] = [];
  private rowList: number[] = [];
  private nameList: number[] = [];
  private versionList: number[] = [];
  private names = new Map<string, number>();
  private versions = new Map<string, number>();
  private ids: string[] = [];
  private numbers: number[] = [];
  private texts: Array<string | null> = [];

  constructor(private readonly send: (m: ToScorer) => void) {}

  get size(): number {
    return this.ids.length;
  }

  add(
    model: string,
    version: string,
    m: LiveModel,
    id: string,
    columns: Record<string, readonly unknown[]>,
    preds: readonly Prediction[],
    latencyMs: number,
    timeMs: number,
  ): void {
    let key = this.keys.get(m);
    if (key === undefined) {
      key = this.layouts.length;
      this.keys.set(m, key);
      this.layouts.push(layoutOf(m));
      this.send({ type: 'model', key, model: m });
    }
    const layout = this.layouts[key];
    const { numbers, texts } = this;
    const n = preds.length;
    this.keyList.push(key);
    this.rowList.push(n);
    this.nameList.push(indexIn(this.names, model));
    this.versionList.push(indexIn(this.versions, version));
    this.ids.push(id);
    numbers.push(latencyMs, timeMs);
    for (let i = 0; i < n; i++) {
      for (let f = 0; f < layout.names.length; f++) {
        const v = columns[layout.names[f]]?.[i];
        // What the window keeps of a value: a number (else NaN), or a category's text (else missing).
        if (layout.numeric[f]) numbers.push(typeof v === 'number' ? v : NaN);
        else texts.push(v === null || v === undefined || v === '' ? null : String(v));
      }
      const p = preds[i];
      if (layout.classifier) texts.push(String(p.value));
      else numbers.push(Number(p.value));
      if (layout.k > 0) {
        const probs = p.probabilities;
        if (probs && probs.length === layout.k) for (let c = 0; c < layout.k; c++) numbers.push(probs[c]);
        else for (let c = 0; c < layout.k; c++) numbers.push(NaN);
      }
    }
  }

  /** The packed batch (null when empty); the packer starts a new one. */
  take(): ObserveBatch | null {
    if (this.ids.length === 0) return null;
    const batch: ObserveBatch = {
      type: 'observe',
      keys: Int32Array.from(this.keyList),
      rows: Int32Array.from(this.rowList),
      name: Int32Array.from(this.nameList),
      version: Int32Array.from(this.versionList),
      names: [...this.names.keys()],
      versions: [...this.versions.keys()],
      ids: this.ids,
      numbers: Float64Array.from(this.numbers),
      texts: this.texts,
    };
    this.keyList = [];
    this.rowList = [];
    this.nameList = [];
    this.versionList = [];
    this.names = new Map();
    this.versions = new Map();
    this.ids = [];
    this.numbers = [];
    this.texts = [];
    return batch;
  }
}

/** Scores windows from the packer's messages; `post` carries its events and sync replies back. */
export class LiveScorer {
  private readonly accumulators = new Map<string, WindowAccumulator>();
  private readonly layouts = new Map<number, Layout>();
  private readonly scratches = new Map<Layout, Map<number, Scratch>>();
  private busyMs = 0;

  constructor(private readonly post: (m: FromScorer) => void) {}

  handle(m: ToScorer): void {
    const t0 = performance.now();
    switch (m.type) {
      case 'model':
        this.layouts.set(m.key, layoutOf(m.model));
        break;
      case 'configure': {
        // Reconfigured windows start over; the one waiting for labels is scored first.
        this.accumulators.get(m.model)?.flush();
        const model = m.model;
        this.accumulators.set(model, new WindowAccumulator(model, m.config, (e) => this.emit(model, e)));
        break;
      }
      case 'observe':
        this.observe(m);
        break;
      case 'feedback':
        this.accumulators.get(m.model)?.feedback(m.id, m.labels);
        break;
      case 'tick':
        for (const acc of this.accumulators.values()) acc.tick(m.now);
        break;
      case 'sync': {
        const retained: Record<string, RetainedSizes> = {};
        for (const [model, acc] of this.accumulators) retained[model] = acc.retained();
        this.busyMs += performance.now() - t0;
        this.post({ type: 'sync', seq: m.seq, retained, busyMs: this.busyMs });
        return;
      }
    }
    this.busyMs += performance.now() - t0;
  }

  private emit(model: string, event: LiveEvent): void {
    this.post({ type: 'event', model, event, busyMs: this.busyMs });
  }

  private observe(b: ObserveBatch): void {
    let num = 0;
    let text = 0;
    for (let r = 0; r < b.ids.length; r++) {
      const layout = this.layouts.get(b.keys[r])!;
      const acc = this.accumulators.get(b.names[b.name[r]]);
      const n = b.rows[r];
      const latencyMs = b.numbers[num++];
      const timeMs = b.numbers[num++];
      const { columns, predicted, probs, buffer } = this.scratch(layout, n);
      for (let i = 0; i < n; i++) {
        for (let f = 0; f < layout.names.length; f++)
          columns[layout.names[f]][i] = layout.numeric[f] ? b.numbers[num++] : b.texts[text++];
        predicted[i] = layout.classifier ? (b.texts[text++] as string) : b.numbers[num++];
        // A row without probabilities was packed as NaN: the window keeps NaN for "none" either way.
        if (probs) {
          buffer.set(b.numbers.subarray(num, num + layout.k), i * layout.k);
          num += layout.k;
        }
      }
      acc?.observe(b.versions[b.version[r]], layout.model, b.ids[r], columns, predicted, latencyMs, timeMs, probs);
    }
  }

  private scratch(layout: Layout, n: number): Scratch {
    const make = (): Scratch => {
      const columns: Record<string, unknown[]> = {};
      for (const name of layout.names) columns[name] = new Array<unknown>(n);
      const buffer = new Float64Array(n * layout.k);
      const probs =
        layout.k > 0 ? Array.from({ length: n }, (_, i) => buffer.subarray(i * layout.k, (i + 1) * layout.k)) : null;
      return { columns, predicted: new Array<string | number>(n), probs, buffer };
    };
    if (n > SCRATCH_ROWS) return make();
    let byRows = this.scratches.get(layout);
    if (!byRows) this.scratches.set(layout, (byRows = new Map()));
    let s = byRows.get(n);
    if (!s) byRows.set(n, (s = make()));
    return s;
  }
}
