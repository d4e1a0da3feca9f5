/** `modelops explain <model>@<version> [--rows 0,5,9 | --rows-from file] [--background n] [--json]`: Shapley values and global importance. */
import { resolve } from 'node:path';
import type { CliCommand } from '../command';
import { formatNumber, paint, table } from '../output';
import { ModelOpsError } from '../../engine/errors';
import { openRegistry } from '../../engine/registry';
import { explainVersion } from '../../engine/explain';
import { abortOnSigint } from './train';
import { intFlag, onePositional, parseCli, rootFor, str } from '../shared/args';

const USAGE = `Usage: modelops explain <model>@<version|alias> [--rows 0,5,9 | --rows-from file.csv] [--background n] [--method auto|exact|permutation] [--pairs n] [--repeats n] [--seed n] [--config modelops.yaml] [--root dir] [--json]

Interventional Shapley values (as SHAP's exact explainer defines them) of test split rows
against a seeded sample of the training split; see docs/explanations.md. Without --rows it
explains the test split (its first 200 rows), computes global importance (mean |SHAP| and
permutation importance) and stores it with the version.

  --rows         0-based indexes of test split rows
  --rows-from    a CSV/JSONL file of rows to explain
  --background   background rows sampled from the training split (default 100)
  --method       exact up to 12 features under auto (default), else permutation sampling
  --pairs        antithetic pairs of feature orders per row (permutation, default 32)
  --repeats      permutation importance repeats (default 5)
  --json         print everything as JSON`;

export const explainCommand: CliCommand = {
  name: 'explain',
  summary: 'Shapley values of rows and global feature importance of a version',
  usage: USAGE,
  async run(argv, io) {
    const a = parseCli(
      argv,
      {
        json: { type: 'boolean' },
        root: { type: 'string' },
        config: { type: 'string' },
        rows: { type: 'string' },
        'rows-from': { type: 'string' },
        background: { type: 'string' },
        method: { type: 'string' },
        pairs: { type: 'string' },
        repeats: { type: 'string' },
        seed: { type: 'string' },
      },
      USAGE,
    );
    const ref = onePositional(a.positionals, 'the version to explain (model@1.2.0)', USAGE);
    const rowsArg = str(a.values.rows);
    const rowsFrom = str(a.values['rows-from']);
    if (rowsArg !== undefined && rowsFrom !== undefined)
      throw new ModelOpsError('cli-usage', 'Give --rows or --rows-from, not both.', USAGE);
    const rows = rowsArg?.split(',').map((s) => {
      const n = Number(s.trim());
      if (s.trim() === '' || !Number.isInteger(n) || n < 0)
        throw new ModelOpsError('cli-usage', `--rows must list 0-based row indexes (0,5,9); '${s}' is not one.`, USAGE);
      return n;
    });
    const method = str(a.values.method);
    if (method !== undefined && method !== 'auto' && method !== 'exact' && method !== 'permutation')
      throw new ModelOpsError('cli-usage', `--method must be auto, exact or permutation; got '${method}'.`, USAGE);
    const configPath = resolve(io.cwd, str(a.values.config) ?? 'modelops.yaml');
    const registry = openRegistry(rootFor(io, str(a.values.root), configPath));
    const sigint = abortOnSigint();
    const c = paint(io.isTTY);
    try {
      const r = await explainVersion({
        registry,
        ref,
        configPath,
        rows,
        rowsFrom: rowsFrom ? resolve(io.cwd, rowsFrom) : undefined,
        background: intFlag(str(a.values.background), '--background', 1),
        method,
        pairs: intFlag(str(a.values.pairs), '--pairs', 1),
        repeats: intFlag(str(a.values.repeats), '--repeats', 1),
        seed: intFlag(str(a.values.seed), '--seed', 0),
        signal: sigint.signal,
      });
      const name = `${r.version.model}@${r.version.version}`;
      if (a.values.json) {
        io.out(
          JSON.stringify(
            {
              version: name,
              data: r.data,
              rowIds: r.rowIds,
              inputs: r.inputs,
              shap: r.shap,
              meanAbsShap: r.meanAbsShap,
              permutation: r.permutation,
              stored: r.stored,
            },
            null,
            2,
          ),
        );
        return 0;
      }
      const s = r.shap;
      io.out(
        `${c.bold(name)}: ${s.method} Shapley values of ${s.rows.length} row(s) of ${r.data} against ${s.background} background rows${s.pairs ? ` (${s.pairs} antithetic pairs per row)` : ''}\n`,
      );
      // One table per output: the predicted class's when few rows, else every output.
      const shown = s.rows.slice(0, 20);
      s.outputs.forEach((out, k) => {
        const head = s.outputs.length > 1 ? `P(${out})` : out;
        io.out(`${c.bold(head)}: base ${formatNumber(s.base[k])}`);
        io.out(
          table(
            ['row', ...s.features, 'f(x)'],
            shown.map((row, j) => [
              r.rowIds[j],
              ...row.values.map((v, i) =>
                row.stderr ? `${formatNumber(v[k])} ±${formatNumber(row.stderr[i][k])}` : formatNumber(v[k]),
              ),
              formatNumber(row.output[k]),
            ]),
          ),
        );
        io.out('');
      });
      if (s.rows.length > shown.length) io.out(c.dim(`${s.rows.length - shown.length} more row(s): use --json.`));
      if (r.meanAbsShap && r.permutation) {
        const p = r.permutation;
        io.out(c.bold('global importance'));
        io.out(
          table(
            ['feature', 'mean |SHAP|', `perm. drop in ${p.metric}`, 'std'],
            s.features.map((f, i) => [
              f,
              formatNumber(r.meanAbsShap!.overall[i]),
              formatNumber(p.features[i].mean),
              formatNumber(p.features[i].std),
            ]),
          ),
        );
        io.out(
          c.dim(
            `permutation importance: ${p.repeats} repeats on ${p.rows} test rows, baseline ${p.metric} ${formatNumber(p.baseline)}`,
          ),
        );
        if (r.stored) io.out(c.dim(`stored in ${r.stored}`));
      }
      return 0;
    } finally {
      sigint.dispose();
      registry.close();
    }
  },
};
