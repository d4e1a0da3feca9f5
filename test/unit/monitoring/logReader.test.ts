import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PredictionLogReader, type LogColumns } from '../../../server/engine/monitoring/readLog';
import { PredictionLog } from '../../../server/engine/serving/predictionLog';
import { tempDir } from '../serving/fixtures';
import { serverFeedback, serverPrediction } from './logLines';

const FEATURES = [
  { name: 'x', kind: 'numeric' as const },
  { name: 'c', kind: 'categorical' as const, categories: ['a', 'b'] },
];
const LABELS = ['fog', 'rain', 'sun'];

/** Every column of a read, as plain arrays (NaN kept), with codes turned back into strings. */
function plain(c: LogColumns): unknown {
  return {
    count: c.count,
    badLines: c.badLines,
    x: [...c.numeric.x],
    c: [...c.categorical.c].map((k) => (k < 0 ? null : c.dictionaries.c.values[k])),
    predicted: [...c.predictedLabel!].map((k) => c.labels.values[k]),
    truth: [...c.truthLabel!].map((k) => (k < 0 ? null : c.labels.values[k])),
    labels: c.labels.values,
    version: [...c.version].map((k) => c.versions.values[k]),
    time: [...c.time],
    latency: [...c.latencyMs],
    probabilities: c.probabilities ? [...c.probabilities] : null,
  };
}

async function read(dir: string): Promise<{ cols: LogColumns; reader: PredictionLogReader }> {
  const reader = new PredictionLogReader(FEATURES, 'classification', LABELS, { probabilities: true });
  return { cols: await reader.read(dir), reader };
}

test("lines written by the server's own formatter and writer all take the fast path", async () => {
  const tmp = tempDir('logreader-fast');
  const log = new PredictionLog(tmp.dir, { flushMs: 10 });
  try {
    for (let q = 0; q < 50; q++) {
      log.appendText(
        'm',
        serverPrediction({
          id: `r${q}`,
          time: new Date(Date.UTC(2026, 0, 1) + q * 1500).toISOString(),
          version: q < 25 ? '1.0.0' : '1.1.0',
          latencyMs: q / 8,
          inputs: { x: [q / 3, -q, null], c: ['a', q % 2 ? 'b' : 'zz', 'a'] },
          outputs: {
            label: ['sun', 'rain', q % 5 ? 'fog' : 'hail'],
            probabilities: [
              [0.1, 0.2, 0.7],
              [0.25, 0.5, 0.25],
              [1e-7, 0.5, 0.4999999],
            ],
          },
        }),
      );
      if (q % 3 === 0)
        log.append('m', {
          type: 'feedback',
          id: `r${q}`,
          time: '2026-01-02T00:00:00.000Z',
          labels: ['sun', 'fog', 'rain'],
        });
    }
    await log.close();
    const { cols, reader } = await read(log.dirOf('m'));
    assert.equal(cols.count, 150);
    assert.equal(cols.badLines, 0);
    assert.deepEqual(reader.lines, { fast: 50 + 17, fallback: 0 });
    assert.deepEqual(cols.labels.values, ['fog', 'rain', 'sun', 'hail']);
    assert.deepEqual(
      [...cols.truthLabel!.subarray(0, 6)].map((k) => (k < 0 ? null : LABELS[k])),
      ['sun', 'fog', 'rain', null, null, null],
    );
    // The test helper writes what the writer writes.
    assert.equal(
      readFileSync(join(log.dirOf('m'), 'predictions.jsonl'), 'utf8').split('\n')[1],
      serverFeedback({ id: 'r0', time: '2026-01-02T00:00:00.000Z', labels: ['sun', 'fog', 'rain'] }),
    );
  } finally {
    await log.close();
    tmp.cleanup();
  }
});

test('unusual but valid lines (keys reordered, spaces) take the JSON.parse fallback and read the same', async () => {
  const tmp = tempDir('logreader-fallback');
  try {
    const lines: string[] = [];
    for (let q = 0; q < 20; q++) {
      lines.push(
        serverPrediction({
          id: `r${q}`,
          time: `2026-01-01T00:00:${String(q).padStart(2, '0')}.250Z`,
          version: '1.0.0',
          latencyMs: 0.5 + q,
          inputs: { x: [q * 0.1, 7], c: ['b', 'new'] },
          outputs: {
            label: ['rain', q % 4 ? 'sun' : 'drizzle'],
            probabilities: [
              [0.2, 0.3, 0.5],
              [0.6, 0.3, 0.1],
            ],
          },
        }),
      );
      if (q % 2) lines.push(serverFeedback({ id: `r${q}`, time: '2026-01-01T00:01:00.000Z', labels: ['fog', 'sun'] }));
    }
    const fastDir = join(tmp.dir, 'fast');
    const oddDir = join(tmp.dir, 'odd');
    const write = (dir: string, text: string[]) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'predictions.jsonl'), text.join('\n') + '\n');
    };
    write(fastDir, lines);
    // The same values: every object's keys in reverse order, and JSON.stringify's indentation turned into spaces.
    const reorder = (v: unknown): unknown =>
      v && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(
            Object.entries(v)
              .reverse()
              .map(([k, x]) => [k, reorder(x)]),
          )
        : v;
    const odd = lines.map((l, i) =>
      i % 2 ? JSON.stringify(reorder(JSON.parse(l))) : JSON.stringify(JSON.parse(l), null, 1).replace(/\n/g, ' '),
    );
    write(oddDir, odd);
    const a = await read(fastDir);
    const b = await read(oddDir);
    assert.deepEqual(a.reader.lines, { fast: lines.length, fallback: 0 });
    assert.deepEqual(b.reader.lines, { fast: 0, fallback: lines.length });
    assert.deepEqual(plain(b.cols), plain(a.cols));
    assert.equal(a.cols.count, 40);
  } finally {
    tmp.cleanup();
  }
});

test("a regressor's numeric feedback labels take the fast path and read as JSON.parse reads them", async () => {
  const tmp = tempDir('logreader-regression');
  try {
    const lines: string[] = [];
    for (let q = 0; q < 12; q++) {
      lines.push(
        serverPrediction({
          id: `r${q}`,
          time: `2026-01-01T00:00:${String(q).padStart(2, '0')}.000Z`,
          version: '1.0.0',
          latencyMs: 1,
          inputs: { x: [q, q / 2], c: ['a', 'b'] },
          outputs: { value: [q * 1.5, -q] },
        }),
      );
      // Numbers in every JSON form, and text labels (a client may send them): both as JSON.parse gives them.
      const labels = q % 4 === 0 ? ['3.25', '-1'] : q % 4 === 1 ? [-0, 1e-7] : q % 4 === 2 ? [2.5e3, 17] : [0.1, 'x'];
      lines.push(serverFeedback({ id: `r${q}`, time: '2026-01-01T00:01:00.000Z', labels }));
    }
    // A null label is the JSON path's to read (it keeps null).
    lines.push('{"type":"feedback","id":"r0","time":"2026-01-01T00:02:00.000Z","labels":[null,1]}');
    const dir = join(tmp.dir, 'fast');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'predictions.jsonl'), lines.join('\n') + '\n');
    const reader = new PredictionLogReader(FEATURES, 'regression', [], {});
    const cols = await reader.read(dir);
    assert.deepEqual(reader.lines, { fast: lines.length - 1, fallback: 1 });
    const parsed = new PredictionLogReader(FEATURES, 'regression', [], {});
    const odd = join(tmp.dir, 'odd');
    mkdirSync(odd, { recursive: true });
    // The same lines with spaces: all through JSON.parse.
    writeFileSync(
      join(odd, 'predictions.jsonl'),
      lines.map((l) => JSON.stringify(JSON.parse(l), null, 1).replace(/\n/g, ' ')).join('\n') + '\n',
    );
    const ref = await parsed.read(odd);
    assert.equal(parsed.lines.fast, 0);
    assert.deepEqual([...cols.truthValue!], [...ref.truthValue!]);
    assert.deepEqual([...cols.predictedValue!], [...ref.predictedValue!]);
    assert.equal(cols.count, 24);
  } finally {
    tmp.cleanup();
  }
});
