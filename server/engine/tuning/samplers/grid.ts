/**
 * Grid search: every combination of the parameters' values, trial n taking the n-th in
 * mixed-radix order over the sorted keys (the last key changes fastest). Ranges contribute
 * their `steps` evenly spaced points (in log space for loguniform). Null once the grid is done.
 */
import type { TuneParamConfig } from '../../config/types';
import { ModelOpsError } from '../../errors';
import { gridPoints, spaceKeys, type ParamValue, type Params } from '../space';
import type { SampleRequest, Sampler } from './types';

export function gridOf(space: Record<string, TuneParamConfig>): {
  keys: string[];
  points: ParamValue[][];
  size: number;
} {
  const keys = spaceKeys(space);
  const points = keys.map((k) => {
    const p = gridPoints(space[k]);
    if (p.length === 0)
      throw new ModelOpsError(
        'config-invalid',
        `tune.space.${k}: sampler grid needs a finite set of values.`,
        'Add steps (e.g. steps: 4) to the range, or use type: choice.',
      );
    return p;
  });
  return { keys, points, size: points.reduce((a, p) => a * p.length, 1) };
}

export class GridSampler implements Sampler {
  readonly name = 'grid' as const;

  sample(req: SampleRequest): Params | null {
    const { keys, points, size } = gridOf(req.space);
    if (req.number >= size) return null;
    const out: Params = {};
    let rest = req.number;
    for (let i = keys.length - 1; i >= 0; i--) {
      out[keys[i]] = points[i][rest % points[i].length];
      rest = Math.floor(rest / points[i].length);
    }
    return out;
  }
}
