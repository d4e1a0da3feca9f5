import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_LIVE_CONFIG,
  WindowAccumulator,
  type LiveEvent,
  type LiveModel,
  type LiveMonitorConfig,
} from '../../../server/engine/monitoring/live/window';
import {
  LiveScorer,
  ObservationPacker,
  scoredEvent,
  type FromScorer,
  type ScoredEvent,
} from '../../../server/engine/serving/liveScorer';
import { LiveMonitorHub, type LiveStreamEvent } from '../../../server/engine/serving/liveMonitor';
import type { Prediction } from '../../../server/engine/model/types';

const LABELS = ['fog', 'rain', 'sun'];

function numericProfile(sample: number[]) {
  const mean = sample.reduce((a, b) => a + b, 0) / sample.length;
  const std = Math.sqrt(sample.reduce((a, b) => a + (b - mean) ** 2, 0) / sample.length);
  const min = sample[0];
  const max = sample[sample.length - 1];
  const quantiles = Array.from({ length: 11 }, (_, i) => min + ((max - min) * i) / 10);
  return { kind: 'numeric' as const, count: sample.length, missing: 0, mean, std, min, max, quantiles, sample };
}
const MODEL: LiveModel = {
  task: 'classification',
  labels: LABELS,
  features: [
    { name: 'temp', kind: 'numeric' },
    { name: 'city', kind: 'categorical' },
    { name: 'day', kind: 'date' },
  ],
  // A reference, so every column's values reach the events (drift per feature and of the predictions).
  profile: {
    rows: 10,
    features: {
      temp: numericProfile([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5]),
      city: { kind: 'categorical', count: 10, missing: 0, counts: { a: 4, b: 3, c: 3 } },
    },
    predictions: { kind: 'categorical', count: 10, missing: 0, counts: { fog: 3, rain: 3, sun: 4 } },
  },
};
const REGRESSOR: LiveModel = {
  task: 'regression',
  features: [
    { name: 'x', kind: 'numeric' },
    { name: 'shop', kind: 'categorical' },
  ],
  profile: {
    rows: 10,
    features: {
      x: numericProfile([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]),
      shop: { kind: 'categorical', count: 10, missing: 0, counts: { s0: 5, s1: 5 } },
    },
    predictions: numericProfile([0, 3, 6, 9, 12, 15, 18, 21, 24, 27]),
  },
};
const CONFIG: LiveMonitorConfig = { ...DEFAULT_LIVE_CONFIG, window: 10, baseline: 2 };

interface Request {
  model: string;
  version: string;
  m: LiveModel;
  id: string;
  columns: Record<string, unknown[]>;
  preds: Prediction[];
  latencyMs: number;
  timeMs: number;
}

/** Traffic with what packing must keep: several rows per request, a request across two windows, missing values and probabilities, odd types. */
function traffic(): Request[] {
  const out: Request[] = [];
  for (let r = 0; r < 60; r++) {
    const n = r % 7 === 0 ? 3 : 1;
    const rows = Array.from({ length: n }, (_, i) => r * 3 + i);
    const p = (k: number): number[] | undefined =>
      k % 5 === 0
        ? undefined
        : k % 11 === 0
          ? [0.5, 0.5]
          : [0.2, 0.3, 0.5].map((v, c) => (c === k % 3 ? v + 0.3 : v) / 1.3);
    out.push({
      model: 'm',
      version: r < 40 ? '1.0.0' : '1.1.0',
      m: MODEL,
      // Ids go over as UTF-8 bytes: some are not ASCII.
      id: r % 5 === 0 ? `c${r}-ü☃` : `c${r}`,
      columns: {
        temp: rows.map((k) => (k % 9 === 0 ? null : k % 13 === 0 ? 'warm' : k / 4)),
        city: rows.map((k) => (k % 8 === 0 ? null : k % 6 === 0 ? '' : k % 10 === 0 ? 7 : ['a', 'b', 'c'][k % 3])),
        day: rows.map(() => '2026-11-27'),
      },
      preds: rows.map((k) => ({ value: LABELS[k % 3], ...(p(k) ? { probabilities: p(k) } : {}) })),
      latencyMs: 0.5 + r / 100,
      timeMs: 1_800_000_000_000 + r * 1000,
    });
    out.push({
      model: 'r',
      version: '2.0.0',
      m: REGRESSOR,
      id: `g${r}`,
      columns: { x: rows.map((k) => k / 3), shop: rows.map((k) => (k % 4 === 0 ? undefined : `s${k % 2}`)) },
      preds: rows.map((k) => ({ value: k % 7 === 0 ? String(k / 2) : k / 2 })),
      latencyMs: 1,
      timeMs: 1_800_000_000_000 + r * 1000,
    });
  }
  return out;
}

/** A request fed to an accumulator directly, as the scorer feeds what it unpacks. */
function observeDirect(acc: WindowAccumulator, q: Request): void {
  const values = q.preds.map((p) => p.value as string | number);
  acc.observe(
    q.version,
    q.m,
    q.id,
    q.columns,
    values,
    q.latencyMs,
    q.timeMs,
    q.preds.map((p) => p.probabilities),
  );
}

test('packed requests scored by a LiveScorer give the same events as the accumulator fed directly', () => {
  const direct: Array<{ model: string; e: LiveEvent }> = [];
  const accs = new Map(
    ['m', 'r'].map((model) => [model, new WindowAccumulator(model, CONFIG, (e) => direct.push({ model, e }))]),
  );
  const packed: ScoredEvent[] = [];
  // Each scored batch's memory goes back to the packer, which packs a later batch into it.
  const returned = new Set<ArrayBufferLike>();
  let reused = 0;
  const scorer = new LiveScorer((m: FromScorer) => {
    if (m.type === 'events') packed.push(...m.events);
    else if (m.type === 'spent') {
      returned.add(m.meta).add(m.numbers).add(m.texts).add(m.ids);
      packer.recycle(m);
    }
  });
  const packer = new ObservationPacker((m) => scorer.handle(m));
  const handOver = () => {
    const batch = packer.take();
    if (!batch) return;
    if ([batch.meta, batch.numbers, batch.ids].some((a) => returned.has(a.buffer))) reused++;
    scorer.handle(batch);
  };
  for (const model of ['m', 'r']) scorer.handle({ type: 'configure', model, config: CONFIG });
  traffic().forEach((q, i) => {
    observeDirect(accs.get(q.model)!, q);
    packer.add(q.model, q.version, q.m, q.id, q.columns, q.preds, q.latencyMs, q.timeMs);
    // Batches of uneven sizes, and feedback after the batch that holds its request.
    if (i % 9 === 8 || i % 4 === 0) handOver();
    if (i % 4 === 0) {
      const labels = q.preds.map((p, k) => (q.model === 'm' ? LABELS[(k + i) % 3] : Number(p.value) + 1));
      accs.get(q.model)!.feedback(q.id, labels);
      scorer.handle({ type: 'feedback', items: [{ model: q.model, id: q.id, labels }] });
    }
  });
  handOver();
  assert.ok(reused >= 10, `batches packed into a spent batch's memory: ${reused}`);
  assert.ok(direct.filter((x) => x.e.type === 'window').length >= 12, 'windows of both models were scored');
  // The scorer sends each event's data as JSON, once: the same text as the direct event's.
  assert.deepEqual(
    packed,
    direct.map(({ model, e }) => scoredEvent(model, e)),
  );
  assert.ok(
    packed.some((x) => x.type === 'alert' && x.rule),
    'alerts carry their rule',
  );
});

// Ids carry the hub's boot, and times the clock of each run: compare what was scored.
const clockFree = (v: unknown): unknown => JSON.parse(JSON.stringify(v).replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'T'));
const feedbackOf = (q: Request, i: number): string[] => q.preds.map((_, k) => LABELS[(k + i) % 3]);

test('the hub scores in a worker thread: the events of the same traffic are the inline events, in order', async () => {
  const run = async (thread: 'worker' | 'inline'): Promise<LiveStreamEvent[]> => {
    const hub = new LiveMonitorHub({ thread, heartbeatMs: 3_600_000, defaults: CONFIG });
    const events: LiveStreamEvent[] = [];
    hub.on('event', (e: LiveStreamEvent) => events.push(e));
    traffic().forEach((q, i) => {
      hub.observe(q.model, q.version, q.m, q.id, q.columns, q.preds, q.latencyMs);
      if (i % 4 === 0) hub.feedback(q.model, q.id, feedbackOf(q, i));
    });
    await hub.settled();
    hub.close();
    return events.map((e) => ({ ...e, id: '', data: clockFree(e.data) as LiveStreamEvent['data'] }));
  };
  const inline = await run('inline');
  const worker = await run('worker');
  assert.ok(inline.length > 10);
  assert.deepEqual(worker, inline);
  // The hub holds feedback until the next request or hand-over: the order is still the order it
  // came in, as accumulators fed one call at a time see it.
  const direct: Array<{ model: string; event: string; data: unknown }> = [];
  const accs = new Map(
    ['m', 'r'].map((model) => [
      model,
      new WindowAccumulator(model, CONFIG, (e) => direct.push({ model, event: e.type, data: clockFree(e.data) })),
    ]),
  );
  traffic().forEach((q, i) => {
    const acc = accs.get(q.model)!;
    observeDirect(acc, q);
    if (i % 4 === 0) acc.feedback(q.id, feedbackOf(q, i));
  });
  for (const model of ['m', 'r'])
    assert.deepEqual(
      inline.filter((e) => e.model === model).map(({ model: m, event, data }) => ({ model: m, event, data })),
      direct.filter((e) => e.model === model),
    );
});

test('feedback held by the hub still reaches its window before requests that came after it', () => {
  const hub = new LiveMonitorHub({ thread: 'inline', heartbeatMs: 3_600_000, defaults: { ...CONFIG, window: 2 } });
  const windows: LiveStreamEvent[] = [];
  hub.on('event', (e: LiveStreamEvent) => {
    if (e.event === 'window') windows.push(e);
  });
  const ask = (id: string) =>
    hub.observe('m', '1.0.0', MODEL, id, { temp: [1], city: ['a'], day: ['2026-11-27'] }, [{ value: 'sun' }], 1);
  ask('a');
  ask('b');
  hub.feedback('m', 'a', ['sun']);
  hub.feedback('m', 'b', ['sun']);
  // These fill the next window: had the feedback gone after them, the first window would be
  // scored when they filled it, with one label instead of two.
  ask('c');
  ask('d');
  hub.drain();
  hub.close();
  const first = windows[0].data as { labelled: number; closedBy: string; accuracy: number | null };
  assert.equal(first.labelled, 2);
  assert.equal(first.closedBy, 'labels');
  assert.equal(first.accuracy, 1);
});

test('a run of feedback goes to the scorer as one message', () => {
  const hub = new LiveMonitorHub({ thread: 'inline', heartbeatMs: 3_600_000, defaults: CONFIG });
  // What the hub hands its scorer (a private method: counted here, nothing else changed).
  const sent: string[] = [];
  const internals = hub as unknown as { send(m: { type: string }): void };
  const send = internals.send.bind(hub);
  internals.send = (m) => {
    sent.push(m.type);
    send(m);
  };
  const ask = (id: string) =>
    hub.observe('m', '1.0.0', MODEL, id, { temp: [1], city: ['a'], day: ['2026-11-27'] }, [{ value: 'sun' }], 1);
  for (let i = 0; i < 50; i++) ask(`q${i}`);
  for (let i = 0; i < 50; i++) hub.feedback('m', `q${i}`, ['sun']);
  ask('after');
  hub.drain();
  hub.close();
  assert.deepEqual(
    sent.filter((t) => t !== 'configure' && t !== 'model'),
    ['observe', 'feedback', 'observe'],
  );
});
