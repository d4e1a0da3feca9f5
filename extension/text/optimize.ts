/** Optimisation text: an optimised version beside its parent as markdown, and the checks of the Prune… inputs. */
import type { OptimizeSummary } from '../../server/protocol/optimize';
import { formatBytes } from '../../shared/format';

/** A number to `digits` significant digits; — when missing or not finite. */
export const num = (v: number | null | undefined, digits = 4) =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : Number(v.toPrecision(digits)).toString();

/** Metrics an optimisation stores besides the model's quality (measurements, the parent's copies, pruning rates). */
export function isQualityMetric(name: string): boolean {
  return !/^(parent_|pruning_rate|sparsity_target$|size_bytes$|load_ms$|latency_p50_ms_)/.test(name);
}

/** Markdown of an optimised version beside its parent: size, load time, latency, metrics, gates. */
export function optimizeMarkdown(s: OptimizeSummary): string {
  const p = s.parent.measurement;
  const c = s.child.measurement;
  const ratio = (a: number, b: number) =>
    a > 0 ? `${b / a < 1 ? '−' : '+'}${Math.abs((1 - b / a) * 100).toFixed(1)} %` : '—';
  const ms = (v: number) => `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
  const rows = [
    `| size on disk | ${formatBytes(p.size_bytes)} | ${formatBytes(c.size_bytes)} | ${ratio(p.size_bytes, c.size_bytes)} |`,
    `| load time | ${ms(p.load_ms)} | ${ms(c.load_ms)} | ${ratio(p.load_ms, c.load_ms)} |`,
    `| p50 latency, batch 1 | ${ms(p.latency_p50_ms_b1)} | ${ms(c.latency_p50_ms_b1)} | ${ratio(p.latency_p50_ms_b1, c.latency_p50_ms_b1)} |`,
    `| p50 latency, batch 256 | ${ms(p.latency_p50_ms_b256)} | ${ms(c.latency_p50_ms_b256)} | ${ratio(p.latency_p50_ms_b256, c.latency_p50_ms_b256)} |`,
  ];
  const names = [...new Set([...Object.keys(s.parent.metrics), ...Object.keys(s.child.metrics)])]
    .filter(isQualityMetric)
    .sort();
  const metricRows = names.map((m) => {
    const a = s.parent.metrics[m];
    const b = s.child.metrics[m];
    const d = a !== undefined && b !== undefined ? b - a : null;
    return `| ${m} | ${num(a ?? null, 6)} | ${num(b ?? null, 6)} | ${d === null ? '—' : `${d > 0 ? '+' : ''}${num(d, 3)}`} |`;
  });
  const d = s.details;
  const method =
    d.method === 'quantize'
      ? [
          `${d.dtype} quantisation (${d.format}): ${d.weights} weights, ${formatBytes(d.bytesBefore)} → ${formatBytes(d.bytesAfter)} of weights.`,
        ]
      : [
          `Pruning rate ${(d.rate.rate * 100).toFixed(1)} % of ${d.rate.total} parameters (${d.rate.pruned} zero); weights ${formatBytes(d.weightBytes)}, stored gzip-compressed in ${formatBytes(d.compressedBytes)}.`,
          '',
          '| layer | pruned | kernel | rate | kernel sparsity |',
          '| --- | ---: | ---: | ---: | ---: |',
          ...d.rate.layers.map(
            (l) =>
              `| ${l.layer} | ${l.pruned} | ${l.kernel} | ${(l.rate * 100).toFixed(1)} % | ${(l.kernelSparsity * 100).toFixed(1)} % |`,
          ),
        ];
  return [
    `# ${s.child.ref} vs its parent ${s.parent.ref}`,
    '',
    ...method,
    '',
    `| | ${s.parent.ref} | ${s.child.ref} | change |`,
    '| --- | ---: | ---: | ---: |',
    ...rows,
    ...metricRows,
    '',
    '## Gates',
    '',
    ...s.gates.results.map((g) => `- ${g.passed ? '✔' : '✘'} ${g.message}`),
    ...(s.notes.length ? ['', '## Notes', '', ...s.notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
}

/** The sparsity input's check: a number strictly between 0 and 1 (undefined: valid). */
export function sparsityProblem(text: string): string | undefined {
  const x = Number(text.trim());
  if (!text.trim() || !Number.isFinite(x)) return 'Enter a number, e.g. 0.5';
  if (x <= 0 || x >= 1)
    return 'The sparsity must be strictly between 0 and 1 (the fraction of dense-layer weights set to zero).';
  return undefined;
}

export function epochsProblem(text: string): string | undefined {
  const x = Number(text.trim());
  if (!text.trim() || !Number.isInteger(x) || x < 0 || x > 10000)
    return 'Enter a whole number from 0 (one-shot pruning) to 10000.';
  return undefined;
}
