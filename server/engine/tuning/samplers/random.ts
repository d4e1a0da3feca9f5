/** Random search: every parameter drawn from its prior, independently, from the trial's own seeded stream. */
import { spaceKeys, type Params } from '../space';
import { drawPrior, trialRandom, type SampleRequest, type Sampler } from './types';

export class RandomSampler implements Sampler {
  readonly name = 'random' as const;

  sample(req: SampleRequest): Params {
    const rnd = trialRandom(req.seed, req.number);
    const out: Params = {};
    for (const key of spaceKeys(req.space)) out[key] = drawPrior(req.space[key], rnd);
    return out;
  }
}
