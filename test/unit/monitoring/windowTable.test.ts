import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildReference,
  lastWindowsOf,
  windowCount,
  windowStats,
  WindowScratch,
  WindowTable,
  type MonitorResult,
} from '../../../server/engine/monitoring/monitor';
import { readPredictionLog } from '../../../server/engine/monitoring/readLog';
import { binCounts } from '../../../server/engine/drift/psi';
import { buildControlChart, buildControlChartColumns, type ControlChartInputPoint } from '../../../server/engine/spc';
import type { DriftTestChoice } from '../../../server/engine/drift/select';
import { serverPrediction } from './logLines';
import { LABELS, syntheticModel } from './synthetic';

// The batch monitor scores each window straight into its WindowTable (`score`) instead of
// building a `windowStats` object and pushing it; these check the two give the same window
// under every drift test, and that the columnar chart builder and the few-window readers give
// what the object paths gave.

const model = syntheticModel({
  // Three distinct values: tested as categories by the count tests.
  few: {
    kind: 'numeric',
    count: 200,
    missing: 0,
    mean: 1,
    std: 0.8,
    min: 0,
    max: 2,
    quantiles: [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2],
    sample: Array.from({ length: 200 }, (_, i) => i % 3),
  },
});

async function logColumns(dir: string) {
  const lines: string[] = [];
  for (let q = 0; q < 120; q++) {
    const rows = Array.from({ length: 5 }, (_, k) => q * 5 + k);
    lines.push(
      serverPrediction({
        id: `r${q}`,
        // Some requests without a usable time, so a window's start or end can be null.
        time: q % 17 === 3 ? 'not a time' : new Date(Date.UTC(2026, 0, 1) + q * 1000).toISOString(),
        version: q < 60 ? '1.0.0' : '1.1.0',
        latencyMs: q % 11 === 0 ? null : (q % 13) / 4,
        inputs: {
          x: rows.map((i) => (i % 9 === 0 ? null : ((i * 37) % 100) / 10 + (q > 60 ? 3 : 0))),
          few: rows.map((i) => (i * 5) % 4),
          c: rows.map((i) => ['red', 'green', 'blue', 'grey'][(i + (q > 60 ? 1 : 0)) % 4]),
        },
        outputs: { label: rows.map((i) => LABELS[(i * 7) % 3]) },
      }),
    );
  }
  writeFileSync(join(dir, 'predictions.jsonl'), lines.join('\n') + '\n');
  return readPredictionLog(dir, model.features, 'classification', LABELS);
}

test('WindowTable.score gives the window windowStats gives, under every drift test', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-window-table-'));
  try {
    const cols = await logColumns(dir);
    const tests: DriftTestChoice[] = ['psi', 'ks', 'wasserstein', 'jensenshannon', 'chisquare', 'ztest', 'auto'];
    for (const choice of tests) {
      for (const legacy of [false, true]) {
        const ref = buildReference(model, cols, choice, legacy);
        const table = new WindowTable();
        const expected = [];
        const scratch = new WindowScratch(40);
        for (let w = 0; (w + 1) * 40 <= cols.count; w++) {
          const start = w * 40;
          const end = start + 40;
          const dStart = Math.max(0, end - 100);
          const version = cols.versions.values[cols.version[end - 1]];
          expected.push(windowStats(cols, 'classification', start, end, dStart, w, version, ref, scratch));
          table.score(cols, 'classification', start, end, dStart, w, version, ref, scratch);
        }
        assert.equal(table.length, expected.length);
        assert.deepEqual(table.toArray(), expected, `${choice}${legacy ? ' (method)' : ''}`);
        assert.ok(expected.some((w) => w.start === null) && expected.some((w) => w.p50LatencyMs !== null));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('buildControlChartColumns gives what buildControlChart gives for the same points', () => {
  const points: ControlChartInputPoint[] = Array.from({ length: 30 }, (_, i) => ({
    value: 0.8 + ((i * 7) % 5) / 50 - (i > 24 ? 0.3 : 0),
    n: 100 - (i % 3),
    ...(i % 4 ? { start: `2026-01-0${1 + (i % 9)}T00:00:00.000Z` } : {}),
    ...(i % 5 ? { estimated: 0.81 } : {}),
  }));
  for (const chart of ['p', 'individuals'] as const) {
    const options = { chart, baseline: 5, rules: [1, 2, 3, 4], metric: 'accuracy' };
    const columns = buildControlChartColumns(
      {
        values: points.map((p) => p.value),
        n: points.map((p) => p.n ?? null),
        start: points.map((p) => p.start ?? null),
        end: points.map(() => null),
        estimated: points.map((p) => p.estimated ?? null),
      },
      options,
    );
    assert.deepEqual(columns, buildControlChart(points, options));
    assert.ok(columns.violations.length > 0 && columns.start && !('end' in columns));
  }
  // A p-chart point without n is named as before.
  assert.throws(
    () => buildControlChartColumns({ values: [0.5, 0.6], n: [10, null] }, { chart: 'p' }),
    /Point 2 has no sample size n/,
  );
});

test('lastWindowsOf and windowCount read the table, or the windows of a result read back from JSON', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-window-table-'));
  try {
    const cols = await logColumns(dir);
    const ref = buildReference(model, cols, 'psi', false);
    const table = new WindowTable();
    const scratch = new WindowScratch(20);
    for (let w = 0; w < 30; w++)
      table.score(cols, 'classification', w * 20, w * 20 + 20, w * 20, w, '1.0.0', ref, scratch);
    const all = table.toArray();
    const fromTable = { windowTable: table, windows: [] } as unknown as MonitorResult;
    assert.equal(windowCount(fromTable), 30);
    assert.deepEqual(lastWindowsOf(fromTable, 20), all.slice(-20));
    assert.deepEqual(lastWindowsOf(fromTable, 1)[0], all[29]);
    const fromJson = { windows: all } as MonitorResult;
    assert.equal(windowCount(fromJson), 30);
    assert.deepEqual(lastWindowsOf(fromJson, 20), all.slice(-20));
    assert.deepEqual(lastWindowsOf({ windows: [] }, 1), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('binCounts into a reused buffer counts as a new one does', () => {
  const edges = Float64Array.of(1, 2, 3);
  const values = [0, 1, 1.5, 2, NaN, 9, 3, 2.5];
  const out = new Float64Array(4).fill(7);
  assert.deepEqual(binCounts(edges, values, 1, 7, out), binCounts(edges, values, 1, 7));
  assert.deepEqual([...out], [1, 2, 1, 1]);
});
