import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import { monitor, type MonitorResult } from '../../../server/engine/monitoring/monitor';
import { readPredictionLog } from '../../../server/engine/monitoring/readLog';
import { makeBundle, tempDir } from '../serving/fixtures';
import { serverFeedback, serverPrediction } from './logLines';
import { runConfig } from '../fixtures/config';
import { LABELS, syntheticModel } from './synthetic';

// Monitoring streams the log: windows are scored as rows arrive, get their labels once no more
// feedback can reach them, and rows are discarded. These tests check that the result does not
// depend on how the log is cut into blocks or on the pending bound (while feedback is within
// it), that feedback beyond the bound is counted late and ignored, and that what is retained
// does not grow with the log.

const CATS = ['red', 'green', 'blue', 'grey'];

const model = syntheticModel();

/**
 * `requests` requests of 5 rows; the feedback of request q comes after request q + delay(q)
 * (or never, for every 7th), so labels arrive out of order; drift sets in half-way.
 */
function writeLog(dir: string, requests: number, delay: (q: number) => number): void {
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  const due = new Map<number, string[]>();
  for (let q = 0; q < requests; q++) {
    const rows = Array.from({ length: 5 }, (_, k) => q * 5 + k);
    const shift = q > requests / 2 ? 3 : 0;
    const pred = rows.map((i) => LABELS[(i * 7) % 3]);
    const probs = rows.map((i) => {
      const p = [0.2, 0.2, 0.2];
      p[(i * 7) % 3] = 0.6;
      return p;
    });
    lines.push(
      serverPrediction({
        id: `r${q}`,
        time: new Date(Date.UTC(2026, 0, 1) + q * 1000).toISOString(),
        version: '1.0.0',
        latencyMs: (q % 13) / 4,
        inputs: {
          x: rows.map((i) => ((i * 37) % 100) / 10 + shift),
          c: rows.map((i) => CATS[(i + (shift ? 1 : 0)) % 4]),
        },
        outputs: { label: pred, probabilities: probs },
      }),
    );
    if (q % 7 !== 6) {
      const at = q + delay(q);
      const fb = serverFeedback({
        id: `r${q}`,
        time: '2026-01-02T00:00:00.000Z',
        labels: rows.map((i) => LABELS[(i * 7 + (i % 4 === 0 ? 1 : 0)) % 3]),
      });
      due.set(at, [...(due.get(at) ?? []), fb]);
    }
    for (const fb of due.get(q) ?? []) lines.push(fb);
    due.delete(q);
  }
  for (const fbs of due.values()) lines.push(...fbs);
  writeFileSync(join(dir, 'predictions.jsonl'), lines.join('\n') + '\n');
}

async function setup(name: string) {
  const tmp = tempDir('monitor-stream');
  const registry = openRegistry(join(tmp.dir, 'ws'));
  await makeBundle(join(tmp.dir, 'bundle'), 1);
  await registry.registerVersion({
    model: 'weather',
    source: join(tmp.dir, 'bundle'),
    version: '1.0.0',
    format: 'modelops-tfjs',
  });
  const config = runConfig({
    project: name,
    monitor: {
      target: 'local',
      window: 100,
      controlChart: { metric: 'accuracy', sigma: 3, baseline: 5, rules: [1, 2, 3, 4] },
      drift: { test: 'auto', window: 300 },
      alerts: { notify: false },
    },
  });
  return { tmp, registry, config, logDir: join(tmp.dir, 'log') };
}

const strip = (r: MonitorResult) => ({ ...r, elapsedMs: 0, feedback: null });

test('streaming in small blocks with a small pending bound gives the whole-log result while feedback is within the bound', async () => {
  const { tmp, registry, config, logDir } = await setup('stream-eq');
  try {
    // 2,000 requests × 5 rows; feedback up to 40 requests (200 rows) late, some in reverse order.
    writeLog(logDir, 2000, (q) => (q * 13) % 41);
    const run = (extra: { pendingRows?: number; readChunkBytes?: number; lastWindows?: number }) =>
      monitor({
        registry,
        config,
        target: 'local',
        model: 'weather',
        logDir,
        alert: false,
        manifestFor: async () => model,
        ...extra,
      });
    const whole = await run({});
    const streamed = await run({ pendingRows: 600, readChunkBytes: 8192 });
    assert.equal(whole.windows.length, 100);
    assert.ok(
      whole.windows.some((w) => w.labelled > 0 && w.labelled < w.count),
      'some windows are partly labelled',
    );
    assert.ok(whole.estimated?.chart, 'CBPE ran');
    assert.ok(whole.drift, 'drift summary');
    assert.deepEqual(strip(streamed), strip(whole));
    assert.deepEqual(streamed.feedback, whole.feedback);
    assert.equal(whole.feedback.late, 0);
    assert.equal(whole.feedback.applied, 2000 - Math.floor(2000 / 7));
    // --last: the reported windows are the last N; the chart's baseline and the CBPE reference
    // are the first `baseline` of them (as without --last, so a drop among them can alert).
    const lastWhole = await run({ lastWindows: 12 });
    const lastStreamed = await run({ lastWindows: 12, pendingRows: 600, readChunkBytes: 8192 });
    assert.equal(lastWhole.windows.length, 12);
    assert.equal(lastWhole.estimated?.referenceWindows, 5);
    assert.deepEqual(lastWhole.estimated?.chart?.baseline, { kind: 'points', count: 5 });
    assert.equal(lastWhole.windows[0].index, 88);
    assert.deepEqual(strip(lastStreamed), strip(lastWhole));
    assert.deepEqual(
      lastWhole.windows,
      whole.windows.slice(88).map((w, i) => ({
        ...w,
        estimatedAccuracy: lastWhole.windows[i].estimatedAccuracy,
        estimatedF1: lastWhole.windows[i].estimatedF1,
      })),
    );
  } finally {
    registry.close();
    tmp.cleanup();
  }
});

test('feedback beyond the pending bound is counted late and ignored; within it, it is applied', async () => {
  const { tmp, registry, config, logDir } = await setup('stream-late');
  try {
    // Request 0's feedback comes after 400 more requests (2,000 rows); all others come at once.
    writeLog(logDir, 600, (q) => (q === 0 ? 400 : 0));
    const run = (pendingRows: number) =>
      monitor({
        registry,
        config,
        target: 'local',
        model: 'weather',
        logDir,
        alert: false,
        manifestFor: async () => model,
        pendingRows,
        readChunkBytes: 4096,
      });
    const wide = await run(5000);
    const narrow = await run(1000);
    assert.equal(wide.feedback.late, 0);
    assert.equal(narrow.feedback.late, 1);
    assert.equal(narrow.feedback.applied, wide.feedback.applied - 1);
    // Window 0 holds request 0's 5 rows: labelled there only when the feedback was in time.
    assert.equal(wide.windows[0].labelled - narrow.windows[0].labelled, 5);
    // Other windows keep their labelled metrics and drift; CBPE estimates may move, since window
    // 0 is in the reference period the calibration is fitted on.
    const noEstimates = (r: MonitorResult) =>
      r.windows.slice(1).map(({ estimatedAccuracy: _a, estimatedF1: _f, ...w }) => w);
    assert.deepEqual(noEstimates(narrow), noEstimates(wide));
    // Feedback for an id never predicted is unmatched.
    writeFileSync(
      join(logDir, 'predictions.1.jsonl'),
      serverFeedback({ id: 'nobody', time: '2026-01-01T00:00:00.000Z', labels: ['A'] }) + '\n',
    );
    assert.equal((await run(5000)).feedback.unmatched, 1);
  } finally {
    registry.close();
    tmp.cleanup();
  }
});

test('retained rows and pending request ids do not grow with the log', async () => {
  const tmp = tempDir('monitor-stream');
  try {
    const retained = async (requests: number) => {
      const dir = join(tmp.dir, `log-${requests}`);
      writeLog(dir, requests, (q) => q % 30);
      let rows = 0;
      let ids = 0;
      let total = 0;
      const cols = await readPredictionLog(dir, model.features, 'classification', LABELS, {
        probabilities: true,
        stream: {
          pendingRows: 1000,
          chunkBytes: 16_384,
          onBlock: (b) => {
            rows = Math.max(rows, b.cols.count);
            ids = Math.max(ids, b.pendingIds);
            total = b.total;
            b.discard(b.total);
          },
        },
      });
      assert.equal(total, requests * 5);
      assert.ok(cols.count <= 1000, `${cols.count} rows retained at the end`);
      return { rows, ids };
    };
    const small = await retained(2000);
    const large = await retained(16_000);
    // At most the pending rows plus one block (16 KB of lines: < 400 rows of these), whatever the log's length.
    assert.ok(large.rows <= 1000 + 400, `retained ${large.rows} rows`);
    assert.ok(large.rows <= small.rows + 100, `retained ${large.rows} rows for 80,000 vs ${small.rows} for 10,000`);
    // Ids are evicted in bulk: at most twice what the pending rows hold, or the table's floor.
    assert.ok(large.ids <= 4096, `${large.ids} pending ids`);
    assert.ok(large.ids < 16_000, 'fewer ids than requests');
  } finally {
    tmp.cleanup();
  }
});
