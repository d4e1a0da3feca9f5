/**
 * Chart data of the governance views (explain, fairness, the compare sections) from engine
 * results. Types only from the engine, so the extension can build the same data without
 * bundling the engine.
 */
import type { CompareData, ExplainData, FairnessData } from '../../webview/protocol';
import type { GateReport } from '../engine/registry/types';
import type { FairnessReport } from '../engine/evaluation/fairness';
import type { StoredFairness } from '../engine/evaluation/evaluate';
import type { StoredImportance } from '../engine/explain';
import type { ExplainSummary } from '../protocol/governance';

/** The explain panel's data from an explanation (the sidecar's, or one built the same way). */
export function explainData(r: ExplainSummary): ExplainData {
  return {
    ref: r.ref,
    data: r.data,
    method: r.method,
    features: r.features,
    outputs: r.outputs,
    base: r.base,
    background: r.background,
    rows: r.rows,
    meanAbsShap: r.meanAbsShap?.perOutput ?? null,
    permutation: r.permutation
      ? {
          metric: r.permutation.metric,
          baseline: r.permutation.baseline,
          repeats: r.permutation.repeats,
          features: r.permutation.features.map((f) => ({ feature: f.feature, mean: f.mean, std: f.std })),
        }
      : null,
  };
}

/** Per-group bars of a fairness report, with the gates recorded on the version beside its Fairlearn metrics. */
export function fairnessData(r: FairnessReport, data: string, ref: string, gates: GateReport | null): FairnessData {
  return {
    ref,
    data,
    minGroupSize: r.minGroupSize,
    metrics: r.metrics,
    breakdowns: r.breakdowns.map((b) => ({
      by: b.by,
      groups: b.groups.map((g) => ({ name: g.name, count: g.count, small: g.small, values: g.values })),
      gaps: b.gaps,
    })),
    fairness: Object.entries(r.fairness).map(([name, value]) => {
      const g = gates?.results.find((x) => x.metric === name);
      return { name, value: value ?? null, ...(g ? { gate: g.expression, passed: g.passed } : {}) };
    }),
    notes: r.notes,
  };
}

/** The compare data's "Feature importance" and "Fairness" sections from what is stored with each version. */
export function compareSections(
  versions: number,
  importance: Array<StoredImportance | null>,
  fairness: Array<StoredFairness | null>,
): Pick<CompareData, 'importance' | 'fairness'> {
  const features = [...new Set(importance.flatMap((s) => s?.meanAbsShap.features ?? []))];
  const names = [...new Set(fairness.flatMap((f) => (f ? Object.keys(f.report.fairness) : [])))].sort();
  const pad = <T>(xs: T[]): T[] => xs.slice(0, versions);
  return {
    importance: features.map((feature) => ({
      feature,
      meanAbsShap: pad(
        importance.map((s) => {
          const i = s ? s.meanAbsShap.features.indexOf(feature) : -1;
          return s && i >= 0 ? s.meanAbsShap.overall[i] : null;
        }),
      ),
      permutation: pad(importance.map((s) => s?.permutation.features.find((p) => p.feature === feature)?.mean ?? null)),
    })),
    fairness: names.map((name) => ({
      name,
      values: pad(
        fairness.map((f) =>
          f ? ((f.report.fairness as Record<string, number | null | undefined>)[name] ?? null) : null,
        ),
      ),
    })),
  };
}
