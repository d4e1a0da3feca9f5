/**
 * Background samples. From data: a seeded sample without replacement of training rows (SHAP's
 * `shap.sample`). From a reference profile (the model server, which holds no training rows):
 * rows drawn column by column — numeric values from the profile's stored sample, categories in
 * proportion to their counts — so the background follows each column's distribution but not
 * the correlations between columns.
 */
import { ModelOpsError } from '../errors';
import { seededPermutation, seededRandom } from '../data/split';
import type { ReferenceProfile } from '../model/types';
import type { RawRow } from './model';

export function sampleRows<T>(rows: readonly T[], n: number, seed = 0): T[] {
  if (rows.length <= n) return [...rows];
  const p = seededPermutation(rows.length, seed);
  return Array.from(p.subarray(0, n))
    .sort((a, b) => a - b)
    .map((i) => rows[i]);
}

export function backgroundFromProfile(
  profile: ReferenceProfile,
  features: readonly string[],
  n: number,
  seed = 0,
): RawRow[] {
  const rnd = seededRandom(seed);
  const draws = features.map((f) => {
    const p = profile.features[f];
    if (!p)
      throw new ModelOpsError(
        'explain-no-background',
        `The version's reference profile has no column '${f}', so no background can be drawn from it.`,
        'Send background rows in the request ("background": {"inputs": [...]}).',
      );
    if (p.kind === 'numeric') {
      if (p.sample.length === 0)
        throw new ModelOpsError(
          'explain-no-background',
          `The reference profile of column '${f}' has no sample values.`,
          'Send background rows in the request.',
        );
      return () => p.sample[Math.floor(rnd() * p.sample.length)];
    }
    const cats = Object.entries(p.counts).filter(([, c]) => c > 0);
    const total = cats.reduce((a, [, c]) => a + c, 0);
    if (total === 0)
      throw new ModelOpsError(
        'explain-no-background',
        `The reference profile of column '${f}' has no category counts.`,
        'Send background rows in the request.',
      );
    return () => {
      let u = rnd() * total;
      for (const [cat, c] of cats) if ((u -= c) < 0) return cat;
      return cats[cats.length - 1][0];
    };
  });
  return Array.from({ length: n }, () => Object.fromEntries(features.map((f, i) => [f, draws[i]()])));
}
