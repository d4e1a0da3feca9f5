/** Formatting shared by the CLI and the editor, so both say the same thing the same way. */

/** Bytes in binary units, one decimal below 100: "512 B", "1.5 KiB", "47.1 KiB", "137 MiB". */
export function formatBytes(n: number): string {
  // A difference of sizes (a comparison's change column) keeps its sign.
  if (n < 0) return `-${formatBytes(-n)}`;
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** A version archive's file name (`modelops versions export`): `<model>-<version>.modelops.tgz`. */
export function archiveFileName(model: string, version: string): string {
  return `${model}-${version}.modelops.tgz`;
}

/** A run's kind as output names it: "training run", "evaluation run", "optimisation run". */
export function runKindName(kind: 'train' | 'evaluate' | 'optimize'): string {
  return kind === 'train' ? 'training run' : kind === 'evaluate' ? 'evaluation run' : 'optimisation run';
}

/** The predictions file written beside a scored file: `days.csv` → `days.predictions.csv`. */
export function predictionsFileName(dataFileName: string): string {
  const dot = dataFileName.lastIndexOf('.');
  return `${dot > 0 ? dataFileName.slice(0, dot) : dataFileName}.predictions.csv`;
}

/** "3 rows without a prediction (a missing feature the version does not impute: lines 4, 9, 12)"; '' for none. */
export function unpredictedText(skipped: { rows: number; lines: readonly number[] }): string {
  if (skipped.rows === 0) return '';
  const { rows, lines } = skipped;
  return `${rows} row${rows === 1 ? '' : 's'} without a prediction (a missing feature the version does not impute: line${lines.length === 1 ? '' : 's'} ${lines.join(', ')}${rows > lines.length ? ', …' : ''})`;
}

/** What a batch of predictions came to: rows per class (classifier), or the values' range and mean. */
export type PredictionSummary =
  { classes: Record<string, number> } | { min: number | null; max: number | null; mean: number | null };

/** "sun 55% · rain 43% · snow <1%", or "mean 3.21 (min 0.4, max 9.9)"; '' when nothing was predicted. */
export function predictionSummaryText(r: { predicted: number; summary: PredictionSummary }): string {
  if (r.predicted === 0) return '';
  if ('classes' in r.summary) {
    return Object.entries(r.summary.classes)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([label, n]) => `${label} ${n / r.predicted < 0.005 ? '<1' : Math.round((n / r.predicted) * 100)}%`)
      .join(' · ');
  }
  const { min, max, mean } = r.summary;
  const num = (v: number | null): string => (v === null ? '—' : String(Number(v.toPrecision(4))));
  return `mean ${num(mean)} (min ${num(min)}, max ${num(max)})`;
}

/** What an estimate made before labels is called: "estimated accuracy (CBPE, before labels)". */
export function estimateTitle(e: { metric: string; method: string }): string {
  return `estimated ${e.metric} (${e.method.toUpperCase()}, before labels)`;
}

/**
 * What an estimate made before labels rests on when the inputs moved: CBPE trusts the model's
 * probabilities, DLE its loss model, on inputs unlike the reference's — where a model is often
 * confidently wrong, so the estimate can stay level or rise while accuracy falls. '' without drift.
 */
export function estimateCaveat(e: { method: string }, drifted: readonly string[]): string {
  if (drifted.length === 0) return '';
  const trusts = e.method === 'cbpe' ? "the model's probabilities stay calibrated" : 'its loss model still holds';
  return `the ${e.method.toUpperCase()} estimate assumes ${trusts} on the drifted inputs (${drifted.join(', ')}): confirm it with labels`;
}
