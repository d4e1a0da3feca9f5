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
