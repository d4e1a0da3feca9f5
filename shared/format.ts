/** Formatting shared by the CLI and the editor, so both say the same thing the same way. */

/** Bytes in binary units: "512 B", "1.5 KiB", "37 MiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** What an estimate made before labels is called: "estimated accuracy (CBPE, before labels)". */
export function estimateTitle(e: { metric: string; method: string }): string {
  return `estimated ${e.metric} (${e.method.toUpperCase()}, before labels)`;
}
