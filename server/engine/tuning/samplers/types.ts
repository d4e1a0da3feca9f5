/** What every sampler sees and returns. */
import type { TuneDirection, TuneParamConfig } from '../../config/types';
import { seededRandom } from '../../data/split';
import type { ParamValue, Params } from '../space';

/** A finished trial as the samplers see it. */
export interface Observation {
  number: number;
  params: Params;
  /** completed: the objective; pruned: the last value it reported (treated as bad by TPE). */
  state: 'completed' | 'pruned';
  value: number;
}

export interface SampleRequest {
  space: Record<string, TuneParamConfig>;
  direction: TuneDirection;
  /** The trial's number (0-based): with the seed, it fixes the trial's random draws. */
  number: number;
  seed: number;
  /** Finished trials, in any order (samplers sort by number). */
  history: readonly Observation[];
}

export interface Sampler {
  readonly name: 'random' | 'grid' | 'tpe';
  /** The trial's params, or null when the sampler has nothing left (a finished grid). */
  sample(req: SampleRequest): Params | null;
}

/** The random stream of one trial: the same (seed, trial number) gives the same draws, whatever ran before. */
export function trialRandom(seed: number, number: number): () => number {
  const mixed = Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(number + 1, 0x85ebca6b);
  const rnd = seededRandom(mixed >>> 0);
  rnd(); // the first draw of mulberry32 after a nearby seed is correlated; skip it
  return rnd;
}

/** One value from a parameter's prior (uniform over its range, or over the choices). */
export function drawPrior(p: TuneParamConfig, rnd: () => number): ParamValue {
  switch (p.type) {
    case 'choice':
      return p.values[Math.min(p.values.length - 1, Math.floor(rnd() * p.values.length))];
    case 'int': {
      const step = p.step ?? 1;
      const n = Math.floor((p.high - p.low) / step) + 1;
      return p.low + step * Math.min(n - 1, Math.floor(rnd() * n));
    }
    case 'uniform':
      return p.low + rnd() * (p.high - p.low);
    case 'loguniform':
      return Math.exp(Math.log(p.low) + rnd() * (Math.log(p.high) - Math.log(p.low)));
  }
}
