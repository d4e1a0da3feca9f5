/**
 * The study chart's data (webview kind `study`) from a study and its trials, with the parameter
 * importance estimate. No vscode import: the extension, the tests and a report writer share it.
 *
 * Importance is η² (the correlation ratio) of a one-way grouping: the completed trials are put in
 * bins of each parameter (a choice: one bin per value; a range: up to ⌊√n⌋, at most 5, bins of
 * equal count over the sorted values, in log space for loguniform — equal-count bins need no
 * scale), and η² = Σ_bins n_b (ȳ_b − ȳ)² / Σ (y − ȳ)², the share of the objective's variance that
 * the bin means explain. It is a one-parameter-at-a-time estimate (no interactions, unlike
 * fANOVA), biased upwards with few trials per bin, and undefined below 3 completed trials.
 */
import type { StudyRecord, TrialRecord } from '../engine/registry/studies';
import type { StudyData } from '../../webview/protocol';

type Param = StudyData['params'][number];

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The search space as the chart draws it, from the study's canonical JSON. */
export function studyParams(space: string): Param[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(space);
  } catch {
    return [];
  }
  if (!isRecord(parsed)) return [];
  const out: Param[] = [];
  for (const [name, p] of Object.entries(parsed)) {
    if (!isRecord(p)) continue;
    if (p.type === 'choice' && Array.isArray(p.values))
      out.push({
        name,
        type: 'choice',
        values: p.values.filter((v): v is string | number => typeof v === 'string' || typeof v === 'number'),
      });
    else if (
      (p.type === 'uniform' || p.type === 'loguniform' || p.type === 'int') &&
      typeof p.low === 'number' &&
      typeof p.high === 'number'
    )
      out.push({ name, type: p.type, low: p.low, high: p.high });
  }
  return out;
}

/** η² of the objective grouped into `groups` (arrays of objective values). */
export function etaSquared(groups: number[][]): number {
  const all = groups.flat();
  if (all.length < 2) return 0;
  const mean = all.reduce((a, b) => a + b, 0) / all.length;
  const total = all.reduce((a, y) => a + (y - mean) ** 2, 0);
  if (total === 0) return 0;
  let between = 0;
  for (const g of groups) {
    if (!g.length) continue;
    const m = g.reduce((a, b) => a + b, 0) / g.length;
    between += g.length * (m - mean) ** 2;
  }
  return between / total;
}

/** Groups trials' objective values by bins of one parameter (see the header). */
export function binByParam(
  param: Param,
  trials: ReadonlyArray<{ params: Record<string, string | number>; value: number }>,
): number[][] {
  const xs = trials.filter((t) => t.params[param.name] !== undefined);
  if (param.type === 'choice') {
    const byValue = new Map<string, number[]>();
    for (const t of xs) {
      const k = String(t.params[param.name]);
      byValue.set(k, [...(byValue.get(k) ?? []), t.value]);
    }
    return [...byValue.values()];
  }
  const sorted = xs
    .filter((t) => typeof t.params[param.name] === 'number')
    .sort((a, b) => (a.params[param.name] as number) - (b.params[param.name] as number));
  const k = Math.max(1, Math.min(5, Math.floor(Math.sqrt(sorted.length))));
  const groups: number[][] = [];
  // Equal-count bins; equal parameter values never straddle two bins.
  let start = 0;
  for (let b = 0; b < k && start < sorted.length; b++) {
    let end = b === k - 1 ? sorted.length : Math.round(((b + 1) * sorted.length) / k);
    while (end < sorted.length && end > start && sorted[end].params[param.name] === sorted[end - 1].params[param.name])
      end++;
    if (end <= start) continue;
    groups.push(sorted.slice(start, end).map((t) => t.value));
    start = end;
  }
  return groups;
}

export function parameterImportance(params: Param[], trials: readonly TrialRecord[]): StudyData['importance'] {
  const done = trials.filter(
    (t): t is TrialRecord & { value: number } =>
      t.status === 'completed' && t.value !== null && Number.isFinite(t.value),
  );
  if (done.length < 3) return null;
  return params.map((p) => {
    const groups = binByParam(p, done);
    return { name: p.name, eta2: etaSquared(groups), bins: groups.length };
  });
}

/** The study chart's dataset. */
export function studyChartData(
  view: { study: StudyRecord; trials: readonly TrialRecord[] },
  budget?: number | null,
): StudyData {
  const { study, trials } = view;
  const params = studyParams(study.space);
  const b =
    budget !== undefined
      ? budget
      : isRecord(study.settings.budget) && typeof study.settings.budget.trials === 'number'
        ? study.settings.budget.trials
        : null;
  return {
    id: study.id,
    model: study.model,
    status: study.status,
    sampler: study.sampler,
    metric: study.metric,
    direction: study.direction,
    budget: b,
    registeredVersion: study.registeredVersion,
    params,
    trials: [...trials]
      .sort((x, y) => x.number - y.number)
      .map((t) => ({
        number: t.number,
        status: t.status,
        params: t.params,
        value: t.value,
        epochs: t.epochs,
        intermediate: t.intermediate,
        error: t.error,
      })),
    importance: parameterImportance(params, trials),
  };
}
