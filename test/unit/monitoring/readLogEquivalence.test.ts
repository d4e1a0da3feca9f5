import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPredictionLog, type LogColumns } from '../../../server/engine/monitoring';
import { logFiles } from '../../../server/engine/serving/predictionLog';
import type { FeatureTransform } from '../../../server/engine/model/types';
import { tempDir } from '../serving/fixtures';

// The reader scans the server's own line shape in place (dictionary matching, a per-minute
// time cache, hashed request ids, labels joined after reading, 4 MB chunks in two buffers).
// This reference reads the same files the plain way: whole files, JSON.parse per line.
interface Ref {
  count: number;
  numeric: Record<string, number[]>;
  categorical: Record<string, string[]>;
  categoryOrder: Record<string, string[]>;
  predictedLabel: string[];
  predictedValue: number[];
  labelOrder: string[];
  truth: Array<string | number | null>;
  version: string[];
  versionOrder: string[];
  time: number[];
  latencyMs: number[];
  badLines: number;
}

function reference(
  dir: string,
  features: FeatureTransform[],
  task: 'classification' | 'regression',
  labelOrder: string[],
): Ref {
  const order = (initial: string[]) => {
    const values = [...initial];
    return { values, code: (v: string) => (values.includes(v) ? v : (values.push(v), v)) };
  };
  const cats = Object.fromEntries(
    features
      .filter((f) => f.kind === 'categorical')
      .map((f) => [f.name, order(f.kind === 'categorical' ? f.categories : [])]),
  );
  const labels = order(labelOrder);
  const versions = order([]);
  const r: Ref = {
    count: 0,
    numeric: {},
    categorical: {},
    categoryOrder: {},
    predictedLabel: [],
    predictedValue: [],
    labelOrder: [],
    truth: [],
    version: [],
    versionOrder: [],
    time: [],
    latencyMs: [],
    badLines: 0,
  };
  for (const f of features) (f.kind === 'numeric' ? r.numeric : r.categorical)[f.name] = [];
  const requests = new Map<string, [number, number]>();
  const feedback: Array<[string, unknown[]]> = [];
  for (const file of logFiles(dir)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      let o: {
        type?: string;
        id?: unknown;
        time?: string;
        version?: unknown;
        latencyMs?: unknown;
        inputs?: Record<string, unknown[]>;
        outputs?: { label?: unknown[]; value?: unknown[] };
        labels?: unknown[];
      };
      try {
        o = JSON.parse(line);
      } catch {
        r.badLines++;
        continue;
      }
      if (o.type === 'feedback') {
        if (typeof o.id === 'string' && Array.isArray(o.labels)) feedback.push([o.id, o.labels]);
        continue;
      }
      const out = task === 'classification' ? o.outputs?.label : o.outputs?.value;
      if (o.type !== 'prediction' || !o.inputs || !Array.isArray(out)) {
        r.badLines++;
        continue;
      }
      const n = out.length;
      for (const f of features) {
        const vals = o.inputs[f.name];
        for (let i = 0; i < n; i++) {
          const v = vals?.[i];
          if (f.kind === 'numeric') r.numeric[f.name].push(typeof v === 'number' ? v : NaN);
          else r.categorical[f.name].push(typeof v === 'string' ? cats[f.name].code(v) : '∅');
        }
      }
      for (let i = 0; i < n; i++) {
        if (task === 'classification') r.predictedLabel.push(labels.code(String(out[i])));
        else r.predictedValue.push(Number(out[i]));
        r.version.push(versions.code(String(o.version)));
        r.time.push(o.time ? Date.parse(o.time) : NaN);
        r.latencyMs.push(typeof o.latencyMs === 'number' ? o.latencyMs : NaN);
      }
      if (typeof o.id === 'string') requests.set(o.id, [r.count, n]);
      r.count += n;
    }
  }
  r.truth = new Array(r.count).fill(null);
  for (const [id, values] of feedback) {
    const req = requests.get(id);
    if (!req) continue;
    for (let i = 0; i < Math.min(req[1], values.length); i++)
      r.truth[req[0] + i] = task === 'classification' ? labels.code(String(values[i])) : Number(values[i]);
  }
  r.labelOrder = labels.values;
  r.versionOrder = versions.values;
  for (const f of features) if (f.kind === 'categorical') r.categoryOrder[f.name] = cats[f.name].values;
  return r;
}

function same(cols: LogColumns, ref: Ref, features: FeatureTransform[], task: 'classification' | 'regression'): void {
  assert.equal(cols.count, ref.count);
  assert.equal(cols.badLines, ref.badLines);
  for (const f of features) {
    if (f.kind === 'numeric') assert.deepEqual([...cols.numeric[f.name]], ref.numeric[f.name], f.name);
    else {
      assert.deepEqual(cols.dictionaries[f.name].values, ref.categoryOrder[f.name], `${f.name} dictionary order`);
      assert.deepEqual(
        [...cols.categorical[f.name]].map((c) => (c < 0 ? '∅' : cols.dictionaries[f.name].values[c])),
        ref.categorical[f.name],
        f.name,
      );
    }
  }
  if (task === 'classification') {
    assert.deepEqual(cols.labels.values, ref.labelOrder, 'label dictionary order');
    assert.deepEqual(
      [...cols.predictedLabel!].map((c) => cols.labels.values[c]),
      ref.predictedLabel,
    );
    assert.deepEqual(
      [...cols.truthLabel!].map((c) => (c < 0 ? null : cols.labels.values[c])),
      ref.truth,
    );
  } else {
    assert.deepEqual([...cols.predictedValue!], ref.predictedValue);
    assert.deepEqual(
      [...cols.truthValue!],
      ref.truth.map((t) => (t === null ? NaN : t)),
    );
  }
  assert.deepEqual(cols.versions.values, ref.versionOrder);
  assert.deepEqual(
    [...cols.version].map((c) => cols.versions.values[c]),
    ref.version,
  );
  assert.deepEqual([...cols.time], ref.time);
  assert.deepEqual([...cols.latencyMs], ref.latencyMs);
}

const line = (o: unknown) => JSON.stringify(o);
const pred = (
  id: string,
  time: string,
  version: string,
  inputs: Record<string, unknown[]>,
  label: unknown[],
  extra: Record<string, unknown> = {},
) =>
  line({
    type: 'prediction',
    id,
    time,
    version,
    latencyMs: 0.5,
    inputs,
    outputs: { label, probabilities: label.map(() => [0.5, 0.5]) },
    ...extra,
  });

test('reader and a JSON.parse reference agree: times, versions, dictionaries, feedback order, chunk boundaries', async () => {
  const tmp = tempDir('readlog-eq');
  try {
    const many = Array.from({ length: 40 }, (_, i) => `cat-${i}`);
    const features: FeatureTransform[] = [
      { name: 'x', kind: 'numeric', mean: 0, std: 1, impute: 0 },
      { name: 'c', kind: 'categorical', categories: ['a', 'b'], impute: null },
      { name: 'many', kind: 'categorical', categories: many.slice(0, 35), impute: null },
    ];
    const rotated: string[] = [];
    // Times: the server's shape across minute changes, and shapes that must go to Date.parse.
    const times = [
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:59.999Z',
      '2026-01-01T00:01:00.001Z',
      '2026-03-31T23:59:07.250Z',
      '2026-01-01T00:00:00Z',
      '2026-01-01T24:00:00.000Z',
      '2026-01-01T24:00:05.000Z',
      '2026-13-01T00:00:00.000Z',
      '2026-01-01T00:00:60.000Z',
      '2026-02-30T10:00:00.000Z',
      'not a time',
    ];
    times.forEach((t, i) => rotated.push(pred(`t${i}`, t, '1.0.0', { x: [i], c: ['a'], many: [many[i]] }, ['sun'])));
    // Feedback before its prediction; a label first seen in feedback ('hail'), then predicted
    // later; a duplicate request id (the later one wins); numeric labels (the JSON.parse path).
    rotated.push(line({ type: 'feedback', id: 'early', time: '2026-01-01T00:00:00.000Z', labels: ['hail', 'sun'] }));
    rotated.push(
      pred('early', '2026-01-01T00:00:01.000Z', '1.1.0', { x: [1, 2], c: ['b', 'zz'], many: [many[39], many[0]] }, [
        'rain',
        'sun',
      ]),
    );
    rotated.push(pred('dup', '2026-01-01T00:00:02.000Z', '1.1.0', { x: [3], c: ['a'], many: [many[38]] }, ['fog']));
    rotated.push(
      pred('dup', '2026-01-01T00:00:03.000Z', '1.0.0', { x: [4, 5], c: ['b', 'b'], many: [many[37], 'new-one'] }, [
        'sun',
        'hail',
      ]),
    );
    rotated.push(
      line({ type: 'feedback', id: 'dup', time: '2026-01-01T00:00:04.000Z', labels: ['fog', 'snow', 'extra'] }),
    );
    rotated.push(line({ type: 'feedback', id: 't1', time: '2026-01-01T00:00:04.000Z', labels: [7] }));
    rotated.push(line({ type: 'feedback', id: 'nobody', time: '2026-01-01T00:00:04.000Z', labels: ['sun'] }));
    rotated.push('{"type":"prediction", broken');
    // The rotated file has no final newline.
    writeFileSync(join(tmp.dir, 'predictions.1.jsonl'), rotated.join('\n'));

    // The current file: > 8 MB of lines with multi-byte categories, so 4 MB chunks split
    // lines and UTF-8 sequences, and one line longer than a whole chunk.
    const parts: string[] = [];
    const exotic = ['é', '日本', '🌧 rain', 'a'];
    let bytes = 0;
    for (let i = 0; bytes < 9_000_000; i++) {
      const l = pred(
        `r${i}`,
        `2026-01-02T0${i % 10}:${String(i % 60).padStart(2, '0')}:0${i % 10}.${String(i % 1000).padStart(3, '0')}Z`,
        i % 1000 < 500 ? '2.0.0' : '2.1.0',
        {
          x: [i / 7, -i, 1e-7 * i],
          c: [exotic[i % 4], 'a', exotic[(i + 1) % 4]],
          many: [many[i % 40], many[(i * 7) % 40], many[(i * 3) % 40]],
        },
        ['sun', 'rain', i % 97 === 0 ? 'drizzle' : 'fog'],
      );
      parts.push(l);
      if (i % 3 === 0)
        parts.push(
          line({
            type: 'feedback',
            id: `r${i}`,
            time: '2026-01-02T00:00:00.000Z',
            labels: ['rain', exotic[i % 4], 'fog'],
          }),
        );
      bytes += l.length + 80;
      if (i === 20_000) {
        const n = 300_000;
        parts.push(
          pred(
            'huge',
            '2026-01-02T00:00:00.000Z',
            '2.0.0',
            {
              x: Array.from({ length: n }, (_, k) => k + 0.25),
              c: Array.from({ length: n }, (_, k) => exotic[k % 4]),
              many: Array.from({ length: n }, () => 'cat-1'),
            },
            Array.from({ length: n }, (_, k) => (k % 2 ? 'sun' : 'rain')),
          ),
        );
      }
    }
    const current = parts.join('\n') + '\n';
    assert.ok(
      Buffer.byteLength(current) > 2 * 4 * 1024 * 1024 && current.split('\n').some((l) => l.length > 4 * 1024 * 1024),
    );
    writeFileSync(join(tmp.dir, 'predictions.jsonl'), current);

    const labelOrder = ['fog', 'rain', 'sun'];
    const cols = await readPredictionLog(tmp.dir, features, 'classification', labelOrder);
    same(cols, reference(tmp.dir, features, 'classification', labelOrder), features, 'classification');
    // The cases above are present: 'hail' got its code from the prediction, not the earlier feedback.
    assert.deepEqual(cols.labels.values.slice(0, 5), ['fog', 'rain', 'sun', 'hail', 'drizzle']);
    assert.ok(Number.isNaN(cols.time[7]) && cols.time[5] === Date.parse('2026-01-01T24:00:00.000Z'));
  } finally {
    tmp.cleanup();
  }
});

test('reader and the reference agree for regression (values, numeric and string feedback)', async () => {
  const tmp = tempDir('readlog-eq-reg');
  try {
    const features: FeatureTransform[] = [{ name: 'x', kind: 'numeric', mean: 0, std: 1, impute: 0 }];
    const lines: string[] = [];
    for (let i = 0; i < 500; i++) {
      lines.push(
        line({
          type: 'prediction',
          id: `q${i}`,
          time: `2026-01-01T00:0${i % 10}:00.000Z`,
          version: '1.0.0',
          latencyMs: i / 10,
          inputs: { x: [i * 0.1, null] },
          outputs: { value: [i * 1.5, -i] },
        }),
      );
      if (i % 2)
        lines.push(
          line({
            type: 'feedback',
            id: `q${i}`,
            time: '2026-01-01T00:00:00.000Z',
            labels: i % 4 === 1 ? [i, 'n/a'] : [String(i * 2), null],
          }),
        );
    }
    writeFileSync(join(tmp.dir, 'predictions.jsonl'), lines.join('\n') + '\n');
    const cols = await readPredictionLog(tmp.dir, features, 'regression');
    same(cols, reference(tmp.dir, features, 'regression', []), features, 'regression');
  } finally {
    tmp.cleanup();
  }
});
