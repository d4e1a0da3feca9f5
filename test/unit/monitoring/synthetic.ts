/**
 * The synthetic model the monitoring equivalence tests share: three classes, a numeric feature
 * `x` (0–9.8 in steps of 0.2), a categorical `c`, and their reference profile. `extra` adds
 * numeric features to the profile (and to the model's features, before `c`).
 */
import type { MonitoredModel } from '../../../server/engine/monitoring/monitor';

export const LABELS = ['A', 'B', 'C'];

type NumericProfile = Extract<NonNullable<MonitoredModel['profile']>['features'][string], { kind: 'numeric' }>;

export function syntheticProfile(extra: Record<string, NumericProfile> = {}): NonNullable<MonitoredModel['profile']> {
  return {
    rows: 200,
    features: {
      x: {
        kind: 'numeric',
        count: 200,
        missing: 0,
        mean: 4.9,
        std: 2.9,
        min: 0,
        max: 9.8,
        quantiles: Array.from({ length: 11 }, (_, k) => k * 0.98),
        sample: Array.from({ length: 200 }, (_, i) => (i % 50) / 5),
      },
      ...extra,
      c: { kind: 'categorical', count: 200, missing: 0, counts: { red: 50, green: 50, blue: 100 } },
    },
    predictions: { kind: 'categorical', count: 200, missing: 0, counts: { A: 80, B: 70, C: 50 } },
  };
}

export function syntheticModel(extra: Record<string, NumericProfile> = {}): MonitoredModel {
  return {
    task: 'classification',
    labels: LABELS,
    features: [
      { name: 'x', kind: 'numeric' },
      ...Object.keys(extra).map((name) => ({ name, kind: 'numeric' as const })),
      { name: 'c', kind: 'categorical' },
    ],
    profile: syntheticProfile(extra),
  };
}
