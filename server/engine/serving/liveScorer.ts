/**
 * The live monitor's two halves and the messages between them. The model server's request thread
 * (liveMonitor.ts) only packs answered requests into compact batches (`ObservationPacker`); a
 * `LiveScorer` — in a worker thread (liveWorker.ts), or in the same thread for tests and
 * in-process benchmarks — unpacks them into each model's WindowAccumulator, scores the windows and
 * posts their events back. Messages keep their order, so feedback always follows the requests
 * it labels.
 */
import type { Prediction } from '../model/types';
import { Column } from '../monitoring/log/columns';
import {
  WindowAccumulator,
  type LiveEvent,
  type LiveModel,
  type LiveMonitorConfig,
  type RetainedSizes,
} from '../monitoring/live/window';
import { writeUtf8, type RequestId } from '../monitoring/live/pendingIds';

/**
 * A batch of answered requests in request order, in typed arrays over shared memory (handed over
 * without a copy) and a few short string tables.
 */
export interface ObserveBatch {
  type: 'observe';
  /**
   * Per request, META values: model key (a `model` message sent first), row count, index into
   * `names` and into `versions`, and the byte length of its id in `ids`.
   */
  meta: Int32Array;
  /** The batch's distinct model names and versions (each sent once, not once per request). */
  names: string[];
  versions: string[];
  /** The requests' ids, UTF-8, one after the other (the strings are not held on the request thread's heap). */
  ids: Uint8Array;
  /**
   * Per request: latency, time, then per row its numeric features (NaN when not a number), the
   * prediction of a regressor, and K probabilities of a classifier (NaN when absent).
   */
  numbers: Float64Array;
  /** Per row: categorical features and a classifier's predicted label, as indices into `strings` (−1: missing). */
  texts: Int32Array;
  /** The batch's distinct texts. */
  strings: string[];
}

export interface FeedbackItem {
  model: string;
  id: string;
  labels: Array<string | number>;
}

/** Values per request in `ObserveBatch.meta`. */
const META = 5;

export type ToScorer =
  | { type: 'model'; key: number; model: LiveModel }
  | { type: 'configure'; model: string; config: LiveMonitorConfig }
  | ObserveBatch
  /** Feedback in the order it came (a POST of many is one message). */
  | { type: 'feedback'; items: FeedbackItem[] }
  | { type: 'tick'; now: number }
  | { type: 'sync'; seq: number };

/**
 * A scored event as it goes back to the request thread: its data serialised here, once (the
 * stream sends that text as it is), with the few fields the request thread files it by.
 */
export interface ScoredEvent {
  model: string;
  type: LiveEvent['type'];
  version: string;
  /** An alert's rule, for the violation counters. */
  rule?: string;
  /** JSON of the event's data. */
  data: string;
}

/** A scored event as the request thread gets it. */
export function scoredEvent(model: string, e: LiveEvent): ScoredEvent {
  return {
    model,
    type: e.type,
    version: e.data.version,
    ...(e.type === 'alert' ? { rule: e.data.rule } : {}),
    data: JSON.stringify(e.data),
  };
}

/**
 * A scored batch's memory, handed back for the packer to fill again: new arrays for every batch
 * meant new pages, and their page faults cost the request thread more than the packing.
 */
export interface SpentBatch {
  type: 'spent';
  meta: SharedArrayBuffer;
  ids: SharedArrayBuffer;
  numbers: SharedArrayBuffer;
  texts: SharedArrayBuffer;
}

export type FromScorer =
  /** The events one message gave rise to, in order (one message back per message in, not per event). */
  | { type: 'events'; events: ScoredEvent[]; busyMs: number }
  | { type: 'sync'; seq: number; retained: Record<string, RetainedSizes>; busyMs: number }
  | SpentBatch;

/** What the packer and the scorer agree on about a model: its columns in order and K. */
interface Layout {
  model: LiveModel;
  /** Features the windows use (dates are not monitored), numeric or not. */
  numeric: boolean[];
  names: string[];
  /** Class probabilities per row (0: none). */
  k: number;
  classifier: boolean;
  /** Numbers and texts each row packs. */
  numbersPerRow: number;
  textsPerRow: number;
}

function layoutOf(model: LiveModel): Layout {
  const used = model.features.filter((f) => f.kind !== 'date');
  const classifier = model.task === 'classification';
  const k0 = classifier ? (model.labels?.length ?? 0) : 0;
  const k = k0 >= 2 ? k0 : 0;
  const numeric = used.map((f) => f.kind === 'numeric');
  const numericCount = numeric.filter(Boolean).length;
  return {
    model,
    numeric,
    names: used.map((f) => f.name),
    k,
    classifier,
    numbersPerRow: numericCount + (classifier ? 0 : 1) + k,
    textsPerRow: used.length - numericCount + (classifier ? 1 : 0),
  };
}

/** The index of `value` in a batch's table of distinct strings (added at the end when new). */
function indexIn(table: Map<string, number>, value: string): number {
  let i = table.get(value);
  if (i === undefined) table.set(value, (i = table.size));
  return i;
}

/**
 * Arrays a scorer fills for each request of `n` rows: WindowAccumulator.observe copies them, so they
 * are reused. Numbers go in Float64Arrays (a number in a plain array may be a heap object each).
 */
interface Scratch {
  columns: Record<string, Float64Array | Array<string | null>>;
  /** The same arrays by feature index, as the layout lists them. */
  byIndex: Array<Float64Array | Array<string | null>>;
  predicted: Float64Array | string[];
  probs: Float64Array[] | null;
  buffer: Float64Array;
}

/**
 * Batches live in shared memory, never transferred: detaching one ArrayBuffer (what a transfer
 * does) makes V8 check for detached buffers in every typed-array access of that thread from then
 * on, the HTTP and Buffer code of every request included — about twice the cost per access.
 */
const shared = (bytes: number): SharedArrayBuffer => new SharedArrayBuffer(Math.max(64, bytes));
const sharedI32 = (n: number): Int32Array => new Int32Array(shared(n * 4));
const sharedF64 = (n: number): Float64Array => new Float64Array(shared(n * 8));
const sharedBytes = (n: number): Buffer => Buffer.from(shared(n));

/** `bytes` of memory for a batch's array: a spent batch's when it is large enough. */
function memory(spent: SharedArrayBuffer | undefined, bytes: number): SharedArrayBuffer {
  return spent && spent.byteLength >= bytes ? spent : shared(bytes);
}

/** Scratch is kept for requests of up to this many rows (larger ones get fresh arrays). */
const SCRATCH_ROWS = 64;

/**
 * Packs answered requests on the request thread straight into typed arrays (texts as indices
 * into a table of the batch's distinct ones), no per-request objects kept. `take()` hands over
 * the batch; the next starts with room for as many values.
 */
export class ObservationPacker {
  private readonly keys = new WeakMap<LiveModel, number>();
  private readonly layouts: Layout[] = [];
  private meta = new Column(sharedI32, 256 * META);
  private names = new Map<string, number>();
  private versions = new Map<string, number>();
  private ids = sharedBytes(16 * 1024);
  private idBytes = 0;
  private numbers = new Column(sharedF64, 4096);
  private texts = new Column(sharedI32, 1024);
  private strings = new Map<string, number>();
  private spent: SpentBatch[] = [];

  constructor(private readonly send: (m: ToScorer) => void) {}

  get size(): number {
    return this.meta.length / META;
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
    const { meta, numbers, texts, strings } = this;
    const n = preds.length;
    meta.reserve(META);
    meta.data[meta.length++] = key;
    meta.data[meta.length++] = n;
    meta.data[meta.length++] = indexIn(this.names, model);
    meta.data[meta.length++] = indexIn(this.versions, version);
    meta.data[meta.length++] = this.putId(id);
    numbers.reserve(2 + n * layout.numbersPerRow);
    texts.reserve(n * layout.textsPerRow);
    const num = numbers.data;
    const txt = texts.data;
    num[numbers.length++] = latencyMs;
    num[numbers.length++] = timeMs;
    for (let i = 0; i < n; i++) {
      for (let f = 0; f < layout.names.length; f++) {
        const v = columns[layout.names[f]]?.[i];
        // What the window keeps of a value, as the batch monitor reads it from the log.
        if (layout.numeric[f]) num[numbers.length++] = typeof v === 'number' ? v : typeof v === 'boolean' ? +v : NaN;
        else txt[texts.length++] = typeof v === 'string' ? indexIn(strings, v) : -1;
      }
      const p = preds[i];
      if (layout.classifier) txt[texts.length++] = indexIn(strings, String(p.value));
      else num[numbers.length++] = Number(p.value);
      if (layout.k > 0) {
        const probs = p.probabilities;
        if (probs && probs.length === layout.k) for (let c = 0; c < layout.k; c++) num[numbers.length++] = probs[c];
        else for (let c = 0; c < layout.k; c++) num[numbers.length++] = NaN;
      }
    }
  }

  /** The packed batch (null when empty); the packer starts a new one. */
  take(): ObserveBatch | null {
    if (this.meta.length === 0) return null;
    const batch: ObserveBatch = {
      type: 'observe',
      meta: this.meta.view(),
      names: [...this.names.keys()],
      versions: [...this.versions.keys()],
      ids: this.ids.subarray(0, this.idBytes),
      numbers: this.numbers.view(),
      texts: this.texts.view(),
      strings: [...this.strings.keys()],
    };
    // The arrays go with the batch: the next batch is packed into a spent batch's memory when it
    // is back and large enough, else into new memory as large as this batch needed.
    const spent = this.spent.pop();
    this.meta.reuse(new Int32Array(memory(spent?.meta, this.meta.length * 4)));
    this.numbers.reuse(new Float64Array(memory(spent?.numbers, this.numbers.length * 8)));
    this.texts.reuse(new Int32Array(memory(spent?.texts, this.texts.length * 4)));
    this.ids = Buffer.from(memory(spent?.ids, Math.max(1024, this.idBytes)));
    this.idBytes = 0;
    this.names = new Map();
    this.versions = new Map();
    this.strings = new Map();
    return batch;
  }

  /** A scored batch's memory, back from the scorer: the next batch is packed into it. */
  recycle(m: SpentBatch): void {
    // One set is enough: a batch is scored long before the next is handed over.
    this.spent = [m];
  }

  /** Appends a request id's UTF-8 bytes; returns how many. */
  private putId(id: string): number {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.ids.length - this.idBytes < id.length * 3) {
      const grown = sharedBytes(Math.max(this.ids.length * 2, this.idBytes + id.length * 3));
      this.ids.copy(grown, 0, 0, this.idBytes);
      this.ids = grown;
    }
    const n = writeUtf8(this.ids, this.idBytes, id);
    this.idBytes += n;
    return n;
  }
}

/** Scores windows from the packer's messages; `post` carries its events and sync replies back. */
export class LiveScorer {
  private readonly accumulators = new Map<string, WindowAccumulator>();
  private readonly layouts = new Map<number, Layout>();
  private readonly scratches = new Map<Layout, Map<number, Scratch>>();
  private busyMs = 0;
  private events: ScoredEvent[] = [];
  /** The batch just scored, whose memory goes back after its events. */
  private spend: ObserveBatch | null = null;

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
        // Its memory goes back once its values are copied into the windows (nothing keeps a view).
        this.spend = m;
        break;
      case 'feedback':
        for (const f of m.items) this.accumulators.get(f.model)?.feedback(f.id, f.labels);
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
    if (this.events.length > 0) {
      const events = this.events;
      this.events = [];
      this.post({ type: 'events', events, busyMs: this.busyMs });
    }
    const spent = this.spend;
    if (spent) {
      this.spend = null;
      this.post({
        type: 'spent',
        meta: spent.meta.buffer as SharedArrayBuffer,
        ids: spent.ids.buffer as SharedArrayBuffer,
        numbers: spent.numbers.buffer as SharedArrayBuffer,
        texts: spent.texts.buffer as SharedArrayBuffer,
      });
    }
  }

  private emit(model: string, event: LiveEvent): void {
    this.events.push(scoredEvent(model, event));
  }

  private observe(b: ObserveBatch): void {
    let num = 0;
    let text = 0;
    const { meta, numbers, texts, strings } = b;
    // The id is passed as its bytes in the batch: the window's index keeps bytes, not strings.
    const id: RequestId = { bytes: b.ids, start: 0, end: 0 };
    for (let r = 0; r < meta.length / META; r++) {
      const layout = this.layouts.get(meta[r * META])!;
      const n = meta[r * META + 1];
      const acc = this.accumulators.get(b.names[meta[r * META + 2]]);
      const latencyMs = numbers[num++];
      const timeMs = numbers[num++];
      id.start = id.end;
      id.end += meta[r * META + 4];
      const { columns, byIndex, predicted, probs, buffer } = this.scratch(layout, n);
      for (let i = 0; i < n; i++) {
        for (let f = 0; f < byIndex.length; f++) {
          const column = byIndex[f];
          if (layout.numeric[f]) column[i] = numbers[num++];
          else {
            const c = texts[text++];
            column[i] = c < 0 ? null : strings[c];
          }
        }
        predicted[i] = layout.classifier ? strings[texts[text++]] : numbers[num++];
        // A row without probabilities was packed as NaN: the window keeps NaN for "none" either way.
        if (probs) {
          buffer.set(numbers.subarray(num, num + layout.k), i * layout.k);
          num += layout.k;
        }
      }
      acc?.observe(b.versions[meta[r * META + 3]], layout.model, id, columns, predicted, latencyMs, timeMs, probs);
    }
  }

  private scratch(layout: Layout, n: number): Scratch {
    if (n > SCRATCH_ROWS) return makeScratch(layout, n);
    let byRows = this.scratches.get(layout);
    if (!byRows) this.scratches.set(layout, (byRows = new Map()));
    let s = byRows.get(n);
    if (!s) byRows.set(n, (s = makeScratch(layout, n)));
    return s;
  }
}

/** Arrays for a request of `n` rows (a function, not a closure made per request). */
function makeScratch(layout: Layout, n: number): Scratch {
  const byIndex = layout.names.map((_, f) =>
    layout.numeric[f] ? new Float64Array(n) : new Array<string | null>(n).fill(null),
  );
  const columns = Object.fromEntries(layout.names.map((name, f) => [name, byIndex[f]]));
  const buffer = new Float64Array(n * layout.k);
  const probs =
    layout.k > 0 ? Array.from({ length: n }, (_, i) => buffer.subarray(i * layout.k, (i + 1) * layout.k)) : null;
  const predicted = layout.classifier ? new Array<string>(n).fill('') : new Float64Array(n);
  return { columns, byIndex, predicted, probs, buffer };
}
