/**
 * `modelops optimize quantize <model@version> --dtype float16|uint8` and
 * `modelops optimize prune <model@version> --sparsity 0.5 [--epochs n] [--schedule polynomial|constant]`:
 * a quantised or pruned child version, scored and measured against its parent and gated
 * (optimize.gates, default `<task metric> >= parent - 0.005`). Exit 1 when the gates fail.
 */
import { resolve } from 'node:path';
import type { CliCommand, CliIO } from '../command';
import { formatNumber, paint, progressBar, table } from '../output';
import { ModelOpsError } from '../../engine/errors';
import { openRegistry } from '../../engine/registry';
import {
  MEASUREMENT_KEYS,
  pruneVersion,
  quantizeVersion,
  type OptimizeProgress,
  type OptimizeResult,
  type PruneResult,
} from '../../engine/optimize';
import { abortOnSigint, gateTable } from './train';
import { intFlag, need, numFlag, parseCli, rootFor, str } from '../shared/args';

const USAGE = `Usage:
  modelops optimize quantize <model>@<version|alias> --dtype float16|uint8 [--config modelops.yaml] [--root dir] [--json]
  modelops optimize prune <model>@<version|alias> --sparsity 0.5 [--epochs 2] [--schedule polynomial|constant] [--config modelops.yaml] [--root dir] [--json]

Makes a quantised or pruned child of a version, evaluates both on the config's test split,
measures size, load time and p50 latency (batch 1 and 256), and registers the child as the
next minor version with the parent as its lineage, gated by optimize.gates (default:
accuracy, or r2, ">= parent - 0.005"). Exit 1 when a gate fails (the version stays registered).

  quantize  TF.js bundles: float16 or uint8 weights (TF.js-native quantised manifest);
            ONNX versions: float16 weights (Cast after each initializer) or dynamic uint8
            (MatMul/Gemm weights as uint8, inputs quantised at run time, MatMulInteger).
  prune     TF.js only: magnitude pruning of dense kernels to --sparsity (0 < s < 1), with
            --epochs of fine-tuning on the training split (0: one-shot) under a polynomial
            (TF-MOT PolynomialDecay) or constant schedule; weights stored gzip-compressed.`;

export const optimizeCommand: CliCommand = {
  name: 'optimize',
  summary: 'Quantise or prune a version into a gated child version (size, latency, metrics vs the parent)',
  usage: USAGE,
  async run(argv, io) {
    const a = parseCli(
      argv,
      {
        json: { type: 'boolean' },
        root: { type: 'string' },
        config: { type: 'string' },
        dtype: { type: 'string' },
        sparsity: { type: 'string' },
        epochs: { type: 'string' },
        schedule: { type: 'string' },
      },
      USAGE,
    );
    const [verb, ref, extra] = a.positionals;
    if (verb !== 'quantize' && verb !== 'prune') {
      // The version first and the method after it: say the order rather than "unknown".
      const swapped = ref === 'quantize' || ref === 'prune';
      throw new ModelOpsError(
        'cli-usage',
        swapped
          ? `The optimisation comes first: modelops optimize ${ref} ${verb}${extra !== undefined ? ' …' : ''}.`
          : verb
            ? `Unknown optimisation '${verb}': quantize or prune.`
            : 'Missing the optimisation: quantize or prune.',
        USAGE,
      );
    }
    need(ref, 'the version to optimise (model@1.2.0)', USAGE);
    if (extra !== undefined) throw new ModelOpsError('cli-usage', `Unexpected argument '${extra}'.`, USAGE);
    const only = (flags: string[], what: string) => {
      for (const f of flags)
        if (a.values[f as keyof typeof a.values] !== undefined)
          throw new ModelOpsError('cli-usage', `--${f} belongs to ${what}.`, USAGE);
    };
    const configPath = resolve(io.cwd, str(a.values.config) ?? 'modelops.yaml');
    const registry = openRegistry(rootFor(io, str(a.values.root), configPath));
    const sigint = abortOnSigint();
    const json = a.values.json === true;
    const onProgress =
      json || !io.isTTY
        ? undefined
        : (p: OptimizeProgress) => process.stderr.write(`\r${progressBar(p.fraction)} ${p.message}\x1b[K`);
    try {
      if (verb === 'quantize') {
        only(['sparsity', 'epochs', 'schedule'], 'optimize prune');
        const dtype = need(str(a.values.dtype), '--dtype float16|uint8', USAGE);
        const r = await quantizeVersion({ registry, ref, configPath, dtype, onProgress, signal: sigint.signal });
        return report(io, r, json, (d) => ({
          dtype: d.dtype,
          format: d.format,
          weightBytes: [d.bytesBefore, d.bytesAfter],
        }));
      }
      only(['dtype'], 'optimize quantize');
      const sparsity = need(numFlag(str(a.values.sparsity), '--sparsity'), '--sparsity (0 < s < 1)', USAGE);
      const epochs = intFlag(str(a.values.epochs), '--epochs', 0);
      const r = await pruneVersion({
        registry,
        ref,
        configPath,
        sparsity,
        epochs,
        schedule: str(a.values.schedule),
        onProgress,
        signal: sigint.signal,
      });
      return report(io, r, json, (d) => d, pruneText);
    } finally {
      if (onProgress) process.stderr.write('\n');
      sigint.dispose();
      registry.close();
    }
  },
};

function report<D>(
  io: CliIO,
  r: OptimizeResult<D>,
  json: boolean,
  summary: (d: D) => unknown,
  extraText?: (d: D) => string,
): number {
  const code = r.gates.passed ? 0 : 1;
  if (json) {
    io.out(
      JSON.stringify(
        {
          version: r.child.ref,
          parent: r.parent,
          child: r.child,
          gates: r.gates,
          details: summary(r.details),
          run: r.run.id,
          notes: r.notes,
        },
        null,
        2,
      ),
    );
    return code;
  }
  const c = paint(io.isTTY);
  io.out(`${c.bold(r.child.ref)} registered from ${r.parent.ref} (run ${r.run.id})\n`);
  const ratio = (p: number, q: number) => (p > 0 && q > 0 ? `${(q / p).toFixed(3)}×` : '—');
  const rows: Array<Array<string | number>> = MEASUREMENT_KEYS.map((k) => [
    k,
    formatNumber(r.parent.measurement[k]),
    formatNumber(r.child.measurement[k]),
    ratio(r.parent.measurement[k], r.child.measurement[k]),
  ]);
  for (const m of Object.keys(r.child.metrics)) {
    const p = r.parent.metrics[m];
    const q = r.child.metrics[m];
    rows.push([
      m,
      formatNumber(p),
      formatNumber(q),
      p !== undefined ? `${q - p >= 0 ? '+' : ''}${formatNumber(q - p)}` : '—',
    ]);
  }
  io.out(table(['', r.parent.ref, r.child.ref, 'child / parent (Δ for metrics)'], rows));
  if (extraText) io.out('\n' + extraText(r.details));
  for (const n of r.notes) io.out(c.dim(n));
  io.out(`\ngates: ${r.gates.passed ? c.green('passed') : c.red('FAILED (the version is registered, marked failed)')}`);
  io.out(gateTable(r.gates, false));
  return code;
}

function pruneText(d: PruneResult): string {
  const rows: Array<Array<string | number>> = d.rate.layers.map((l) => [
    l.layer,
    l.kernel,
    l.bias,
    l.pruned,
    formatNumber(l.kernelSparsity),
    formatNumber(l.rate),
  ]);
  rows.push(['all parameters', '', '', d.rate.pruned, '', formatNumber(d.rate.rate)]);
  return (
    table(['layer', 'kernel', 'bias', 'pruned', 'kernel sparsity', 'pruning rate'], rows) +
    `\npruning rate = pruned / all parameters (biases and other weights count as not pruned); ${d.steps} fine-tuning steps, ${d.schedule.kind} schedule` +
    `\nweights ${d.weightBytes} bytes, ${d.compressedBytes} gzip-compressed`
  );
}
