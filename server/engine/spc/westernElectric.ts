/**
 * Western Electric rules on a series measured in σ from the centre line:
 *   1. one point beyond the control limits (Lσ, 3σ by default);
 *   2. two of three consecutive points beyond 2σ on the same side;
 *   3. four of five consecutive points beyond 1σ on the same side;
 *   4. eight consecutive points on one side of the centre line.
 * "Beyond" is strict: a point exactly on 2σ is not beyond 2σ, a point on the centre line is on
 * neither side. A violation is reported on the point that completes its pattern, so a pattern
 * is reported once, when it appears; a longer run (e.g. nine on one side) reports each new point.
 */
import { ModelOpsError } from '../errors';
import { zOf } from '../../../shared/spc/points';
import type { RuleSide, Side, Violation, WesternElectricRule } from '../../../shared/spc/types';

export const ALL_RULES: readonly WesternElectricRule[] = [1, 2, 3, 4];

export interface WesternElectricOptions {
  /** Rules to evaluate. Default: all four. */
  rules?: readonly number[];
  /** L: rule 1 fires beyond ±L σ. Default 3. */
  sigma?: number;
  /** One-sided rules: `lower` reports only patterns below the centre, `upper` only above. Default `both`. */
  side?: RuleSide;
}

export function checkSide(side: string | undefined): RuleSide {
  if (side === undefined) return 'both';
  if (side !== 'lower' && side !== 'upper' && side !== 'both') {
    throw new ModelOpsError(
      'spc-side',
      `The rule side ${JSON.stringify(side)} does not exist.`,
      'Use lower (only drops matter), upper (only rises) or both.',
    );
  }
  return side;
}

export function checkRules(rules: readonly number[] | undefined): WesternElectricRule[] {
  if (rules === undefined) return [...ALL_RULES];
  const out: WesternElectricRule[] = [];
  for (const r of rules) {
    if (r !== 1 && r !== 2 && r !== 3 && r !== 4) {
      throw new ModelOpsError(
        'spc-rules',
        `Western Electric rule ${JSON.stringify(r)} does not exist.`,
        'Choose rules among 1, 2, 3 and 4.',
      );
    }
    if (!out.includes(r)) out.push(r);
  }
  return out.sort();
}

/** z-score of each value against a centre and a σ (one σ for all, or one per point). */
export function zScores(values: readonly number[], centre: number, std: number | readonly number[]): number[] {
  return values.map((v, i) => zOf(v, centre, typeof std === 'number' ? std : std[i]));
}

const sideOf = (z: number, beyond: number): Side | null => (z > beyond ? 'above' : z < -beyond ? 'below' : null);

/**
 * "k of m": fires at i when point i is beyond `beyond` σ on a side and at least k − 1 of the
 * previous m − 1 points are beyond it on the same side.
 */
function kOfM(
  z: readonly number[],
  i: number,
  k: number,
  m: number,
  beyond: number,
  rule: WesternElectricRule,
): Violation | null {
  const side = sideOf(z[i], beyond);
  if (!side) return null;
  const involved: number[] = [];
  for (let j = Math.max(0, i - (m - 1)); j < i; j++) if (sideOf(z[j], beyond) === side) involved.push(j);
  if (involved.length < k - 1) return null;
  return { index: i, rule, side, points: [...involved, i] };
}

/** Violations of the enabled rules on a series of z-scores, ordered by index then rule. */
export function westernElectricZ(z: readonly number[], options: WesternElectricOptions = {}): Violation[] {
  const rules = checkRules(options.rules);
  const L = options.sigma ?? 3;
  const side = checkSide(options.side);
  // A one-sided chart keeps the patterns on its side only (the rules themselves are unchanged).
  const wanted: Side | null = side === 'lower' ? 'below' : side === 'upper' ? 'above' : null;
  const out: Violation[] = [];
  let runSide: Side | null = null;
  let runLength = 0;
  for (let i = 0; i < z.length; i++) {
    const s = sideOf(z[i], 0);
    if (s && s === runSide) runLength++;
    else {
      runSide = s;
      runLength = s ? 1 : 0;
    }
    for (const rule of rules) {
      let v: Violation | null = null;
      if (rule === 1) {
        const side = sideOf(z[i], L);
        if (side) v = { index: i, rule, side, points: [i] };
      } else if (rule === 2) v = kOfM(z, i, 2, 3, 2, rule);
      else if (rule === 3) v = kOfM(z, i, 4, 5, 1, rule);
      else if (runSide && runLength >= 8) {
        v = { index: i, rule, side: runSide, points: Array.from({ length: 8 }, (_, j) => i - 7 + j) };
      }
      if (v && (wanted === null || v.side === wanted)) out.push(v);
    }
  }
  return out;
}

/** Violations of a series of values against a centre line and σ (one, or one per point). */
export function westernElectric(
  values: readonly number[],
  centre: { mean: number; std: number | readonly number[] },
  options: WesternElectricOptions = {},
): Violation[] {
  return westernElectricZ(zScores(values, centre.mean, centre.std), options);
}
