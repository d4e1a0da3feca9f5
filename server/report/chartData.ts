/**
 * Chart data from the workspace store, in the shapes of webview/protocol.ts: one place that
 * the CLI reports, the demo and the editor panels all draw from.
 */
import type { Registry } from '../engine/registry/types';
import type { CompareData, DriftData, RunMetricsData } from '../../webview/protocol';
import { readStoredImportance } from '../engine/explain';
import { readStoredFairness } from '../engine/evaluation/evaluate';
import { compareSections } from './governanceData';

export { compareSections, explainData, fairnessData } from './governanceData';
import { lastWindowsOf, type MonitorResult } from '../engine/monitoring/monitor';

/** Loss and metrics per epoch of one or more runs. */
export function runMetricsData(registry: Registry, runIds: string[]): RunMetricsData {
  return {
    runs: runIds.map((id) => {
      const run = registry.getRun(id);
      return {
        runId: run.id,
        label:
          run.version && run.model
            ? `${run.model}@${run.version}`
            : `${run.id.slice(0, 8)}${run.model ? ` · ${run.model}` : ''}`,
        status: run.status,
        points: registry.runMetrics(run.id).map((p) => ({ step: p.step, metrics: p.metrics })),
      };
    }),
  };
}

/** Metrics of versions side by side, in the order given. */
export function compareData(registry: Registry, refs: string[]): CompareData {
  const versions = refs.map((ref) => registry.getVersion(ref));
  const names: string[] = [];
  for (const v of versions) for (const m of Object.keys(v.metrics)) if (!names.includes(m)) names.push(m);
  return {
    versions: versions.map((v) => `${v.model}@${v.version}`),
    metrics: names.map((name) => ({
      name,
      values: versions.map((v) => (typeof v.metrics[name] === 'number' ? v.metrics[name] : null)),
    })),
  };
}

/** Per-feature drift of the latest window, with the predictions as one more bar. */
export function driftData(result: MonitorResult): DriftData | null {
  if (!result.drift) return null;
  // Only the last window is built (a long log's result has 100,000).
  const last = lastWindowsOf(result, 1)[0];
  return {
    method: result.drift.method,
    threshold: result.drift.threshold,
    features: [
      ...result.drift.features.map((f) => ({
        feature: f.name,
        score: f.score,
        threshold: f.threshold,
        test: f.test,
        pValue: f.pValue,
        drifted: f.drifted,
      })),
      {
        feature: '(predictions)',
        score: result.drift.predictions.score,
        threshold: result.drift.predictions.threshold,
        test: result.drift.predictions.test,
        pValue: result.drift.predictions.pValue,
        drifted: result.drift.predictions.drifted,
      },
    ],
    window: last ? { start: last.start ?? undefined, end: last.end ?? undefined, size: last.count } : undefined,
  };
}

/** compareData with the governance sections (stored global importance and fairness). */
export async function compareDataWithGovernance(registry: Registry, refs: string[]): Promise<CompareData> {
  const base = compareData(registry, refs);
  const importance = await Promise.all(refs.map((r) => readStoredImportance(registry, r)));
  const fairness = await Promise.all(refs.map((r) => readStoredFairness(registry, r)));
  return { ...base, ...compareSections(refs.length, importance, fairness) };
}
