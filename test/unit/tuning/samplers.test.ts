/** Samplers on pure objectives (no training): random, grid, and TPE against random search on known functions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TuneDirection, TuneParamConfig } from '../../../server/engine/config/types';
import { RandomSampler } from '../../../server/engine/tuning/samplers/random';
import { GridSampler } from '../../../server/engine/tuning/samplers/grid';
import {
  TpeSampler,
  gamma,
  defaultWeights,
  splitObservations,
  categoricalProbs,
  parzen,
  logPdf,
} from '../../../server/engine/tuning/samplers/tpe';
import type { Observation, Sampler } from '../../../server/engine/tuning/samplers/types';
import type { Params } from '../../../server/engine/tuning/space';

/** Runs `trials` sequential trials of `sampler` on f and returns the best value found. */
function minimise(
  sampler: Sampler,
  space: Record<string, TuneParamConfig>,
  f: (p: Params) => number,
  trials: number,
  seed: number,
  direction: TuneDirection = 'minimize',
): number {
  const history: Observation[] = [];
  for (let n = 0; n < trials; n++) {
    const params = sampler.sample({ space, direction, number: n, seed, history });
    assert.ok(params);
    history.push({ number: n, params, state: 'completed', value: f(params) });
  }
  const values = history.map((h) => h.value);
  return direction === 'minimize' ? Math.min(...values) : Math.max(...values);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('random: values stay in their ranges, ints on their step, choices from the list; same seed → same draws', () => {
  const space: Record<string, TuneParamConfig> = {
    learningRate: { type: 'loguniform', low: 1e-4, high: 1e-1 },
    'layers.0.units': { type: 'int', low: 8, high: 64, step: 8 },
    batchSize: { type: 'choice', values: [16, 32, 64] },
    'layers.1.rate': { type: 'uniform', low: 0, high: 0.5 },
  };
  const s = new RandomSampler();
  const logs: number[] = [];
  for (let n = 0; n < 300; n++) {
    const p = s.sample({ space, direction: 'minimize', number: n, seed: 7, history: [] });
    const lr = p.learningRate as number;
    assert.ok(lr >= 1e-4 && lr <= 1e-1);
    logs.push(Math.log10(lr));
    const u = p['layers.0.units'] as number;
    assert.ok(u >= 8 && u <= 64 && u % 8 === 0, `units ${u}`);
    assert.ok([16, 32, 64].includes(p.batchSize as number));
    assert.ok((p['layers.1.rate'] as number) >= 0 && (p['layers.1.rate'] as number) <= 0.5);
    assert.deepEqual(s.sample({ space, direction: 'minimize', number: n, seed: 7, history: [] }), p);
  }
  // log-uniform: the mean of log10 is near the middle of [-4, -1], not skewed to the top as a uniform draw would be
  assert.ok(Math.abs(mean(logs) + 2.5) < 0.15, `mean log10 ${mean(logs)}`);
  assert.notDeepEqual(
    s.sample({ space, direction: 'minimize', number: 0, seed: 8, history: [] }),
    s.sample({ space, direction: 'minimize', number: 0, seed: 7, history: [] }),
  );
});

test('grid: every combination once, last key fastest, log-spaced steps, then null', () => {
  const space: Record<string, TuneParamConfig> = {
    batchSize: { type: 'choice', values: [16, 32] },
    learningRate: { type: 'loguniform', low: 0.001, high: 0.1, steps: 3 },
  };
  const g = new GridSampler();
  const seen: Params[] = [];
  for (let n = 0; ; n++) {
    const p = g.sample({ space, direction: 'minimize', number: n, seed: 0, history: [] });
    if (!p) break;
    seen.push(p);
  }
  assert.equal(seen.length, 6);
  assert.deepEqual(
    seen.map((p) => [p.batchSize, Number((p.learningRate as number).toPrecision(6))]),
    [
      [16, 0.001],
      [16, 0.01],
      [16, 0.1],
      [32, 0.001],
      [32, 0.01],
      [32, 0.1],
    ],
  );
});

test('TPE: γ, weights and the good/bad split follow Optuna', () => {
  assert.deepEqual([1, 10, 11, 100, 250, 1000].map(gamma), [1, 1, 2, 10, 25, 25]);
  assert.deepEqual(defaultWeights(3), [1, 1, 1]);
  const w = defaultWeights(30);
  assert.equal(w.length, 30);
  assert.ok(Math.abs(w[0] - 1 / 30) < 1e-12 && w[4] === 1 && w[29] === 1 && w[1] > w[0]);
  const hist: Observation[] = [5, 1, 4, 2, 3, 9, 8, 7, 6, 0, 10, 11].map((v, i) => ({
    number: i,
    params: { x: v },
    state: 'completed',
    value: v,
  }));
  hist.push({ number: 12, params: { x: -1 }, state: 'pruned', value: -100 });
  const { below, above } = splitObservations(hist, 'minimize');
  // 13 trials → γ = 2: the two smallest values (0 at #9, 1 at #1); the pruned one is bad whatever it reported
  assert.deepEqual(
    below.map((o) => o.number),
    [1, 9],
  );
  assert.equal(above.length, 11);
  assert.ok(above.some((o) => o.number === 12));
  const { below: bMax } = splitObservations(hist, 'maximize');
  assert.deepEqual(
    bMax.map((o) => o.number),
    [10, 11],
  );
});

test('TPE: Parzen estimators are densities that favour the observations; categorical probabilities are smoothed', () => {
  const m = parzen([1, 1.2, 4], -10, 10, 1);
  let integral = 0;
  for (let x = -10; x <= 10; x += 0.001) integral += Math.exp(logPdf(m, x)) * 0.001;
  assert.ok(Math.abs(integral - 1) < 0.01, `∫ = ${integral}`);
  assert.ok(logPdf(m, 1.1) > logPdf(m, -8));
  const p = categoricalProbs([0, 0, 2], 3, 1);
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.ok(p[0] > p[2] && p[2] > p[1] && p[1] > 0);
});

test('TPE beats random search on (x−2)² over [−10, 10] (mean best over 10 seeds, 40 trials each)', () => {
  const space: Record<string, TuneParamConfig> = { x: { type: 'uniform', low: -10, high: 10 } };
  const f = (p: Params) => ((p.x as number) - 2) ** 2;
  const seeds = Array.from({ length: 10 }, (_, i) => i + 1);
  const tpe = mean(seeds.map((s) => minimise(new TpeSampler(), space, f, 40, s)));
  const rnd = mean(seeds.map((s) => minimise(new RandomSampler(), space, f, 40, s)));
  assert.ok(tpe < rnd, `TPE ${tpe} vs random ${rnd}`);
  assert.ok(tpe < 0.05, `TPE mean best ${tpe}`);
});

test('TPE beats random search on Branin (mean best over 10 seeds, 60 trials each; minimum 0.397887)', () => {
  const space: Record<string, TuneParamConfig> = {
    x1: { type: 'uniform', low: -5, high: 10 },
    x2: { type: 'uniform', low: 0, high: 15 },
  };
  const branin = (p: Params) => {
    const x1 = p.x1 as number;
    const x2 = p.x2 as number;
    const b = 5.1 / (4 * Math.PI ** 2);
    const c = 5 / Math.PI;
    return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
  };
  const seeds = Array.from({ length: 10 }, (_, i) => 100 + i);
  const tpe = mean(seeds.map((s) => minimise(new TpeSampler(), space, branin, 60, s)));
  const rnd = mean(seeds.map((s) => minimise(new RandomSampler(), space, branin, 60, s)));
  assert.ok(tpe < rnd, `TPE ${tpe} vs random ${rnd}`);
});

test('TPE on a log-uniform learning rate and a choice: finds the good region and the good category when maximising', () => {
  const space: Record<string, TuneParamConfig> = {
    learningRate: { type: 'loguniform', low: 1e-5, high: 1 },
    activation: { type: 'choice', values: ['relu', 'tanh', 'sigmoid', 'elu'] },
  };
  const f = (p: Params) => -((Math.log10(p.learningRate as number) + 2) ** 2) + (p.activation === 'elu' ? 1 : 0);
  const seeds = [1, 2, 3, 4, 5, 6];
  const tpe = mean(seeds.map((s) => minimise(new TpeSampler(), space, f, 40, s, 'maximize')));
  const rnd = mean(seeds.map((s) => minimise(new RandomSampler(), space, f, 40, s, 'maximize')));
  assert.ok(tpe > rnd, `TPE ${tpe} vs random ${rnd}`);
});
