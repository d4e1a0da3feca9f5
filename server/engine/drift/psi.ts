/**
 * Population Stability Index. Numeric columns use the reference's decile edges as bins with
 * open-ended outer bins, (−∞, q1], (q1, q2], …, (q9, +∞) (right-closed, duplicate edges
 * merged), expected proportions from the reference values; categorical columns use every
 * category seen in either sample. Empty bins get a proportion of EPSILON.
 * PSI = Σ (a − e) · ln(a / e).
 */
import type { CategoricalProfile, NumericProfile } from '../model/types';

export const PSI_EPSILON = 1e-4;

/** Interior bin edges from decile edges (min..max): drops the outer two and duplicates. */
export function binEdges(quantiles: ArrayLike<number>): Float64Array {
  const out: number[] = [];
  for (let i = 1; i < quantiles.length - 1; i++) {
    const q = quantiles[i];
    if (Number.isFinite(q) && (out.length === 0 || q > out[out.length - 1])) out.push(q);
  }
  return Float64Array.from(out);
}

/** Index of the bin holding x: the first edge ≥ x (numpy searchsorted side='left'). */
export function binIndex(edges: Float64Array, x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Counts per bin (edges.length + 1 bins); NaN values are skipped. `out` (that many entries) is
 * zeroed and filled instead of a new array, for callers that bin every window.
 */
export function binCounts(
  edges: Float64Array,
  values: ArrayLike<number>,
  start = 0,
  end = values.length,
  out?: Float64Array,
): Float64Array {
  const counts = out ? out.fill(0) : new Float64Array(edges.length + 1);
  for (let i = start; i < end; i++) {
    const v = values[i];
    if (v === v) counts[binIndex(edges, v)]++;
  }
  return counts;
}

/** PSI of two count (or proportion) vectors over the same bins. */
export function psiFromCounts(expected: ArrayLike<number>, actual: ArrayLike<number>, epsilon = PSI_EPSILON): number {
  let te = 0;
  let ta = 0;
  for (let i = 0; i < expected.length; i++) {
    te += expected[i];
    ta += actual[i];
  }
  if (te === 0 || ta === 0) return NaN;
  let psi = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] / te || epsilon;
    const a = actual[i] / ta || epsilon;
    psi += (a - e) * Math.log(a / e);
  }
  return psi;
}

/** PSI of a numeric sample against reference values, bins from the given decile edges. */
export function psiNumeric(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  quantiles: ArrayLike<number>,
): number {
  const edges = binEdges(quantiles);
  return psiFromCounts(binCounts(edges, reference), binCounts(edges, current));
}

/** PSI of categorical counts (category → count), over the union of categories. */
export function psiCategorical(reference: Record<string, number>, current: Record<string, number>): number {
  const cats = categoryUnion(reference, current);
  return psiFromCounts(
    cats.map((c) => reference[c] ?? 0),
    cats.map((c) => current[c] ?? 0),
  );
}

export function categoryUnion(reference: Record<string, number>, current: Record<string, number>): string[] {
  const cats = Object.keys(reference);
  for (const c of Object.keys(current)) if (!(c in reference)) cats.push(c);
  return cats;
}

/** Precomputed bins and expected counts of a numeric reference profile, for fast windows. */
export interface NumericReferenceBins {
  edges: Float64Array;
  expected: Float64Array;
}

export function numericReferenceBins(profile: NumericProfile): NumericReferenceBins {
  const edges = binEdges(profile.quantiles);
  return { edges, expected: binCounts(edges, profile.sample) };
}

export function psiAgainstProfile(
  profile: NumericProfile | CategoricalProfile,
  current: ArrayLike<number> | Record<string, number>,
): number {
  if (profile.kind === 'numeric') {
    const bins = numericReferenceBins(profile);
    return psiFromCounts(bins.expected, binCounts(bins.edges, current as ArrayLike<number>));
  }
  return psiCategorical(profile.counts, current as Record<string, number>);
}
