import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ModelOpsError } from '../../../server/engine/errors';
import { readDataset } from '../../../server/engine/data/read';
import { loadRuntime, writeOnnxBundle } from '../../../server/engine/runtime';
import {
  explainModelOf,
  explainRuntime,
  meanAbsShap,
  permutationImportance,
  sampleRows,
  shapValues,
  type ExplainModel,
  type RawRow,
  type ShapResult,
} from '../../../server/engine/explain';
import type { BatchResult } from '../../../server/engine/runtime/types';
import { loadTfjsRuntime, type TfjsRuntime } from '../../../server/engine/runtime/tfjs';
import { makeBundle, makeRows, tempDir } from '../serving/fixtures';

const ROOT = join(__dirname, '..', '..', '..');
const FIX = join(ROOT, 'test', 'fixtures', 'onnx');
const WEATHER = join(ROOT, 'examples', 'sample', 'data', 'seattle-weather.csv');

/** A model over numeric raw columns computing `f` per row; `owners` gives it a manifest (assembled hybrids). */
function numericModel(features: string[], f: (x: number[]) => number, owners: boolean): ExplainModel {
  const m = features.length;
  const rt = {
    task: 'regression' as const,
    predict: () => Promise.reject(new Error('unused')),
    encode: (rows: ReadonlyArray<RawRow>) => Float32Array.from(rows.flatMap((r) => features.map((c) => Number(r[c])))),
    predictBatch: (x: Float32Array, n: number): Promise<BatchResult> => {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = f(Array.from(x.subarray(i * m, (i + 1) * m)));
      return Promise.resolve({ outputs: out, width: 1 });
    },
  };
  const manifest = owners
    ? {
        format: 'modelops-tfjs/1',
        features: features.map((name) => ({ name, kind: 'numeric', mean: 0, std: 1, impute: null })),
      }
    : null;
  return explainModelOf(rt, features, manifest, m);
}

/** Small integers: exact in float32, so the closed forms hold to rounding of the sums alone. */
function grid(n: number, m: number, seed: number): RawRow[] {
  let s = seed;
  const next = () => ((s = (s * 48271) % 2147483647) % 9) - 4;
  return Array.from({ length: n }, () => Object.fromEntries(Array.from({ length: m }, (_, i) => [`f${i}`, next()])));
}

function assertAdditive(r: ShapResult, tol = 1e-6): void {
  for (const row of r.rows) {
    for (let c = 0; c < r.outputs.length; c++) {
      const sum = r.base[c] + row.values.reduce((a, v) => a + v[c], 0);
      assert.ok(
        Math.abs(sum - row.output[c]) <= tol,
        `base + Σφ = ${sum}, f(x) = ${row.output[c]} (output ${r.outputs[c]})`,
      );
    }
  }
}

test('exact values of a linear model are w_i (x_i − mean_B x_i), on assembled and raw hybrids alike', async () => {
  const features = ['f0', 'f1', 'f2', 'f3', 'f4'];
  const w = [1.5, -2, 0.25, 3, 0];
  const f = (x: number[]) => 0.7 + x.reduce((a, v, i) => a + w[i] * v, 0);
  const xs = grid(6, 5, 3);
  const bg = grid(20, 5, 11);
  for (const owners of [true, false]) {
    const r = await shapValues(numericModel(features, f, owners), xs, bg, { method: 'exact' });
    assert.equal(r.method, 'exact');
    assert.equal(r.encoding, owners ? 'assembled' : 'raw');
    assertAdditive(r);
    r.rows.forEach((row, j) => {
      features.forEach((c, i) => {
        const meanB = bg.reduce((a, b) => a + Number(b[c]), 0) / bg.length;
        assert.ok(Math.abs(row.values[i][0] - w[i] * (Number(xs[j][c]) - meanB)) < 1e-9, `${c} of row ${j}`);
      });
    });
  }
});

/** Shapley values by their permutation definition (all M! orders), for checking the subset weights. */
async function byAllOrders(f: (x: number[]) => number, x: number[], bg: number[][]): Promise<number[]> {
  const m = x.length;
  const v = (s: Set<number>) => bg.reduce((a, b) => a + f(b.map((bv, i) => (s.has(i) ? x[i] : bv))), 0) / bg.length;
  const phi = new Array<number>(m).fill(0);
  let count = 0;
  const perms = (rest: number[], acc: number[]): void => {
    if (rest.length === 0) {
      const s = new Set<number>();
      for (const i of acc) {
        const before = v(s);
        s.add(i);
        phi[i] += v(s) - before;
      }
      count++;
      return;
    }
    rest.forEach((r, j) => perms([...rest.slice(0, j), ...rest.slice(j + 1)], [...acc, r]));
  };
  perms(
    Array.from({ length: m }, (_, i) => i),
    [],
  );
  return phi.map((p) => p / count);
}

test('exact values of a model with interactions equal the average over all feature orders', async () => {
  const features = ['f0', 'f1', 'f2', 'f3'];
  const f = (x: number[]) => x[0] * x[1] + Math.max(x[2], x[3]) ** 2 - x[0] * x[2] * x[3];
  const xs = grid(3, 4, 5);
  const bg = grid(7, 4, 9);
  const r = await shapValues(numericModel(features, f, true), xs, bg, { method: 'exact' });
  assertAdditive(r);
  for (let j = 0; j < xs.length; j++) {
    const want = await byAllOrders(
      f,
      features.map((c) => Number(xs[j][c])),
      bg.map((b) => features.map((c) => Number(b[c]))),
    );
    want.forEach((p, i) =>
      assert.ok(
        Math.abs(r.rows[j].values[i][0] - p) < 1e-9,
        `row ${j} feature ${i}: ${r.rows[j].values[i][0]} vs ${p}`,
      ),
    );
  }
});

test('symmetry and dummy axioms: interchangeable features get equal values, an unused one gets zero', async () => {
  const features = ['a', 'b', 'c', 'unused'];
  // f is symmetric in a and b; 'unused' never reaches the output.
  const f = (x: number[]) => Math.tanh(x[0] + x[1]) * x[2] + (x[0] * x[1]) ** 2;
  const xs = [
    { a: 2, b: 2, c: -1, unused: 4 },
    { a: -3, b: -3, c: 2, unused: -4 },
  ];
  // A background symmetric in a and b (each row with its mirror).
  const half = grid(6, 4, 17).map((r) => ({ a: r.f0, b: r.f1, c: r.f2, unused: r.f3 }));
  const bg = [...half, ...half.map((r) => ({ ...r, a: r.b, b: r.a }))];
  for (const method of ['exact', 'permutation'] as const) {
    const r = await shapValues(numericModel(features, f, true), xs, bg, { method, pairs: 16, seed: 4 });
    assertAdditive(r);
    for (const row of r.rows) {
      assert.ok(Math.abs(row.values[3][0]) < 1e-12, `${method}: dummy feature got ${row.values[3][0]}`);
      if (method === 'exact')
        assert.ok(
          Math.abs(row.values[0][0] - row.values[1][0]) < 1e-9,
          `exact: a ${row.values[0][0]} ≠ b ${row.values[1][0]}`,
        );
    }
  }
});

test('permutation sampling: additive for every row, seeded, within a few standard errors of the exact values', async () => {
  const features = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'];
  const f = (x: number[]) => x[0] * x[1] - x[2] * Math.abs(x[3]) + 0.5 * x[4] * x[5] * x[0];
  const model = numericModel(features, f, true);
  const xs = grid(4, 6, 21);
  const bg = grid(15, 6, 23);
  const exact = await shapValues(model, xs, bg, { method: 'exact' });
  const a = await shapValues(model, xs, bg, { method: 'permutation', pairs: 200, seed: 9 });
  const b = await shapValues(model, xs, bg, { method: 'permutation', pairs: 200, seed: 9 });
  assert.deepEqual(a.rows, b.rows);
  assert.equal(a.pairs, 200);
  assertAdditive(a);
  let within = 0;
  let total = 0;
  a.rows.forEach((row, j) =>
    row.values.forEach((v, i) => {
      const se = row.stderr![i][0];
      assert.ok(Number.isFinite(se) && se >= 0);
      total++;
      if (Math.abs(v[0] - exact.rows[j].values[i][0]) <= 4 * se + 1e-12) within++;
    }),
  );
  assert.ok(within >= total - 1, `${within} of ${total} values within 4 standard errors`);
  // With two features an order and its reverse are all the orders: the estimate is exact.
  const two = numericModel(['f0', 'f1'], (x) => x[0] * x[1] + x[0], true);
  const e2 = await shapValues(two, grid(3, 2, 1), grid(5, 2, 2), { method: 'exact' });
  const p2 = await shapValues(two, grid(3, 2, 1), grid(5, 2, 2), { method: 'permutation', pairs: 3 });
  p2.rows.forEach((row, j) =>
    row.values.forEach((v, i) =>
      assert.ok(Math.abs(v[0] - e2.rows[j].values[i][0]) < 1e-12 && row.stderr![i][0] < 1e-12),
    ),
  );
});

test('bounds: exact is refused beyond 16 features, auto switches to sampling, an empty background is an error', async () => {
  const features = Array.from({ length: 17 }, (_, i) => `f${i}`);
  const model = numericModel(features, (x) => x.reduce((a, v) => a + v, 0), true);
  const xs = grid(1, 17, 3);
  await assert.rejects(
    shapValues(model, xs, grid(2, 17, 4), { method: 'exact' }),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'explain-too-wide' && e.message.includes('17 features'),
  );
  const r = await shapValues(model, xs, grid(2, 17, 4), { pairs: 2 });
  assert.equal(r.method, 'permutation');
  assertAdditive(r);
  await assert.rejects(
    shapValues(model, xs, []),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'explain-no-background',
  );
  await assert.rejects(
    shapValues(model, xs, grid(2, 17, 4), { method: 'permutation', pairs: 1 }),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'explain-bad-pairs',
  );
  await assert.rejects(
    shapValues(model, xs, grid(2, 17, 4), { pairs: 2, deadline: Date.now() - 1 }),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'explain-timeout',
  );
});

test('permutation importance: an unused feature drops nothing, used ones drop R², seeded', async () => {
  const features = ['f0', 'f1', 'f2'];
  const model = numericModel(features, (x) => 3 * x[0] + x[1], true);
  const rows = grid(60, 3, 31);
  const truth = rows.map((r) => 3 * Number(r.f0) + Number(r.f1));
  const p = await permutationImportance(model, rows, truth, { repeats: 4, seed: 2 });
  assert.equal(p.metric, 'r2');
  assert.ok(Math.abs(p.baseline - 1) < 1e-12);
  assert.equal(p.features[2].mean, 0);
  assert.equal(p.features[2].std, 0);
  assert.ok(p.features[0].mean > p.features[1].mean && p.features[1].mean > 0);
  assert.equal(p.features[0].drops.length, 4);
  assert.deepEqual(await permutationImportance(model, rows, truth, { repeats: 4, seed: 2 }), p);
  // The raw path gives the same numbers.
  const raw = await permutationImportance(
    numericModel(features, (x) => 3 * x[0] + x[1], false),
    rows,
    truth,
    { repeats: 4, seed: 2 },
  );
  assert.deepEqual(raw.features, p.features);
});

async function weatherRows(): Promise<RawRow[]> {
  return (
    await readDataset(WEATHER, {
      types: { precipitation: 'number', temp_max: 'number', temp_min: 'number', wind: 'number' },
    })
  ).rows;
}

test('real ONNX fixtures: per-class values, additive to 1e-6, classes summing to zero, through the runtime layer', async () => {
  const { dir, cleanup } = tempDir('explain-onnx');
  try {
    const data = await weatherRows();
    const bg = sampleRows(data, 30, 1);
    const xs = data.slice(0, 5);
    const cases: Array<{ file: string; spec: Parameters<typeof writeOnnxBundle>[2]; features: string[] }> = [
      { file: 'weather-mlp-v1.onnx', spec: {}, features: ['precipitation', 'temp_max', 'temp_min', 'wind'] },
      { file: 'weather-mlp-label-probs.onnx', spec: {}, features: ['precipitation', 'temp_max', 'temp_min', 'wind'] },
      { file: 'weather-logreg-per-column.onnx', spec: {}, features: ['precipitation', 'temp_max', 'temp_min', 'wind'] },
      {
        file: 'weather-mlp-6in.onnx',
        spec: { derived: { month: 'month(date)', day_of_year: 'dayofyear(date)' } },
        features: ['precipitation', 'temp_max', 'temp_min', 'wind', 'date'],
      },
      { file: 'temp-max-regressor.onnx', spec: {}, features: ['precipitation', 'temp_min', 'wind'] },
    ];
    for (const c of cases) {
      const bdir = join(dir, c.file);
      await writeOnnxBundle(bdir, join(FIX, c.file), c.spec);
      const rt = await loadRuntime(bdir);
      try {
        const model = explainRuntime(rt);
        assert.deepEqual([...model.features], c.features, c.file);
        const r = await shapValues(model, xs, bg, { method: 'exact' });
        assert.equal(r.encoding, 'assembled', `${c.file}: the owner map should hold`);
        assertAdditive(r);
        // f(x) is what the runtime predicts for the row.
        const preds = await rt.predict(xs);
        preds.forEach((p, j) =>
          (p.probabilities ?? [Number(p.value)]).forEach((v, k) => assert.ok(Math.abs(v - r.rows[j].output[k]) < 1e-6)),
        );
        if (rt.task === 'classification') {
          assert.equal(r.outputs.length, 5);
          for (const row of r.rows)
            for (const v of row.values)
              assert.ok(
                Math.abs(v.reduce((a, b) => a + b, 0)) < 1e-5,
                `${c.file}: class values of a feature sum to ${v.reduce((a, b) => a + b, 0)}`,
              );
        }
        // The raw path (encode the raw hybrids) gives the same values.
        const raw = await shapValues({ ...model, owner: null }, xs.slice(0, 2), bg.slice(0, 10), { method: 'exact' });
        const asm = await shapValues(model, xs.slice(0, 2), bg.slice(0, 10), { method: 'exact' });
        assert.equal(raw.encoding, 'raw');
        raw.rows.forEach((row, j) =>
          row.values.forEach((v, i) => v.forEach((x, k) => assert.ok(Math.abs(x - asm.rows[j].values[i][k]) < 1e-9))),
        );
        const g = meanAbsShap(r);
        assert.equal(g.overall.length, c.features.length);
        assert.ok(g.overall.every((v) => v >= 0));
      } finally {
        rt.dispose();
      }
    }
  } finally {
    cleanup();
  }
});

test('a TF.js bundle with a one-hot column: additive per class, the categorical column one player', async () => {
  const { dir, cleanup } = tempDir('explain-tfjs');
  try {
    await makeBundle(dir, 3);
    const rt = await loadRuntime(dir);
    try {
      const model = explainRuntime(rt);
      assert.deepEqual([...model.features], ['temp_max', 'wind', 'season']);
      assert.deepEqual(Array.from(model.owner!), [0, 1, 2, 2]);
      const rows = makeRows(40, 5);
      const r = await shapValues(model, rows.slice(0, 8), rows.slice(8), { method: 'exact' });
      assert.equal(r.encoding, 'assembled');
      assertAdditive(r);
      assert.deepEqual(r.outputs, ['fog', 'rain', 'sun']);
      const truth = Int32Array.from(rows, (row) => (row.season === 'summer' ? 2 : 1));
      const p = await permutationImportance(model, rows, truth, { repeats: 3, seed: 1 });
      assert.equal(p.metric, 'accuracy');
      assert.equal(p.features.length, 3);
    } finally {
      rt.dispose();
    }
  } finally {
    cleanup();
  }
});

test('a TF.js version explained through the compiled pass gives the values TF.js gives', async () => {
  const { dir, cleanup } = tempDir('explain-compiled');
  try {
    await makeBundle(dir, 5);
    const fast = await loadTfjsRuntime(dir);
    const slow = await loadTfjsRuntime(dir, { compiled: false });
    try {
      const rows = makeRows(60, 9);
      const xs = rows.slice(0, 12);
      const bg = rows.slice(20);
      const a = await shapValues(explainRuntime(fast), xs, bg, { method: 'exact' });
      const b = await shapValues(explainRuntime(slow), xs, bg, { method: 'exact' });
      assert.equal(fast.forwardPath.path, 'compiled', fast.forwardPath.reason);
      assert.equal(slow.forwardPath.path, 'tfjs');
      assertAdditive(a);
      assertAdditive(b);
      a.base.forEach((v, c) => assert.ok(Math.abs(v - b.base[c]) < 1e-6));
      let moved = 0;
      a.rows.forEach((row, j) => {
        row.output.forEach((v, c) => assert.ok(Math.abs(v - b.rows[j].output[c]) < 1e-6));
        row.values.forEach((v, i) =>
          v.forEach((phi, c) => {
            moved = Math.max(moved, Math.abs(phi));
            assert.ok(Math.abs(phi - b.rows[j].values[i][c]) < 1e-6, `row ${j} feature ${i} class ${c}`);
          }),
        );
      });
      assert.ok(moved > 0.01, 'the values are not all zero');
      const sa = await permutationMeans(fast, rows);
      const sb = await permutationMeans(slow, rows);
      assert.deepEqual(sa, sb);
    } finally {
      fast.dispose();
      slow.dispose();
    }
  } finally {
    cleanup();
  }
});

/** Permutation importance (accuracy against the model's own labels), seeded: the same on both passes. */
async function permutationMeans(rt: TfjsRuntime, rows: RawRow[]): Promise<number[]> {
  const model = explainRuntime(rt);
  const truth = await model.classesEncoded!(model.encode!(rows), rows.length);
  const p = await permutationImportance(model, rows, truth, { repeats: 3, seed: 2 });
  return p.features.map((f) => f.mean);
}
