import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ks2samp,
  kolmogn,
  smirnov,
  psiNumeric,
  psiCategorical,
  chiSquareCategorical,
  gammaP,
  gammaQ,
  binEdges,
  binIndex,
  PSI_EPSILON,
} from '../../../server/engine/drift';

type GenSpec = { seed?: number; n: number; scale?: number; shift?: number; grid?: number; even?: boolean };
type Spec = GenSpec | number[] | { zeros: number; then: GenSpec };

const ref = JSON.parse(readFileSync(join(__dirname, '../../fixtures/drift/reference.json'), 'utf8')) as {
  epsilon: number;
  ks: Array<{ name: string; a: Spec; b: Spec; statistic: number; pvalue: number }>;
  kstwo: Array<{ n: number; x: number; sf: number; smirnov: number }>;
  psi_numeric: Array<{ name: string; reference: Spec; current: Spec; quantiles: number[]; psi: number }>;
  categorical: Array<{
    name: string;
    reference: Record<string, number>;
    current: Record<string, number>;
    psi: number;
    chi2: number;
    chi2_pvalue: number;
  }>;
  gamma: Array<{ a: number; x: number; q: number; p: number }>;
};

const M = 2 ** 31 - 1;
function gen(spec: Spec): number[] {
  if (Array.isArray(spec)) return spec;
  if ('zeros' in spec) return [...new Array<number>(spec.zeros).fill(0), ...gen(spec.then)];
  const { n, scale = 1, shift = 0, grid = 0 } = spec;
  const out: number[] = [];
  if (spec.even) {
    for (let i = 0; i < n; i++) out.push(((i + 0.5) / n) * scale + shift);
    return out;
  }
  let s = spec.seed ?? 1;
  for (let i = 0; i < n; i++) {
    s = (s * 48271) % M;
    let u = s / M;
    if (grid) u = Math.floor(u * grid) / grid;
    out.push(u * scale + shift);
  }
  return out;
}

const close = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs scipy ${expected} (tol ${tol})`);

test('the epsilon matches the fixture', () => assert.equal(PSI_EPSILON, ref.epsilon));

test('two-sample KS statistic and p-value equal scipy.stats.ks_2samp', () => {
  for (const c of ref.ks) {
    const r = ks2samp(gen(c.a), gen(c.b));
    close(r.statistic, c.statistic, 1e-9, `${c.name} D`);
    // p-values: absolute 1e-6, and relative 1e-6 for the tiny ones so they are tested too.
    close(r.pValue, c.pvalue, Math.max(1e-12, Math.min(1e-6, Math.abs(c.pvalue) * 1e-6)), `${c.name} p`);
  }
});

test('ks2samp picks the exact method up to 10,000 values and the asymptotic one above', () => {
  assert.equal(ks2samp(gen({ seed: 1, n: 10000 }), gen({ seed: 2, n: 50 })).method, 'exact');
  assert.equal(ks2samp(gen({ seed: 1, n: 10001 }), gen({ seed: 2, n: 50 })).method, 'asymp');
  assert.throws(() => ks2samp([], [1]));
});

test('kstwo.sf and smirnov equal scipy on a grid', () => {
  for (const c of ref.kstwo) {
    close(kolmogn(c.n, c.x, false), c.sf, 1e-9, `kstwo.sf(${c.x}, ${c.n})`);
    close(smirnov(c.n, c.x), c.smirnov, 1e-9, `smirnov(${c.n}, ${c.x})`);
  }
});

test('numeric PSI equals the numpy formula (decile bins, open outer bins, epsilon)', () => {
  for (const c of ref.psi_numeric)
    close(psiNumeric(gen(c.reference), gen(c.current), c.quantiles), c.psi, 1e-9, c.name);
});

test('categorical PSI and chi-square equal numpy / scipy.stats.chisquare', () => {
  for (const c of ref.categorical) {
    close(psiCategorical(c.reference, c.current), c.psi, 1e-9, `${c.name} psi`);
    const chi = chiSquareCategorical(c.reference, c.current);
    close(chi.statistic, c.chi2, 1e-9 * Math.max(1, c.chi2), `${c.name} chi2`);
    close(chi.pValue, c.chi2_pvalue, 1e-6, `${c.name} chi2 p`);
  }
});

test('regularised incomplete gamma equals scipy.special.gammainc/gammaincc', () => {
  for (const c of ref.gamma) {
    close(gammaQ(c.a, c.x), c.q, 1e-10, `Q(${c.a}, ${c.x})`);
    close(gammaP(c.a, c.x), c.p, 1e-10, `P(${c.a}, ${c.x})`);
  }
});

test('bins: duplicate decile edges merge and outer bins are open', () => {
  const edges = binEdges([0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual([...edges], [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(binIndex(edges, -100), 0);
  assert.equal(binIndex(edges, 0), 0);
  assert.equal(binIndex(edges, 0.5), 1);
  assert.equal(binIndex(edges, 1e9), 7);
  assert.equal(psiNumeric([1, 2, 3], [1, 2, 3], [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]), 0);
});
