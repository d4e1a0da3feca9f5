/** `modelops evaluate <model>@<version> [--data file] [--gate]`: metrics and quality gates, for CI. */
import { resolve } from 'node:path';
import type { CliCommand } from '../command';
import { formatNumber, paint, table } from '../output';
import { openRegistry } from '../../engine/registry';
import { evaluateVersion } from '../../engine/evaluation/evaluate';
import type { FairnessReport } from '../../engine/evaluation/fairness';
import { abortOnSigint, gateTable } from './train';
import { onePositional, parseCli, rootFor, str } from '../shared/args';

const USAGE = `Usage: modelops evaluate <model>@<version|alias> [--data file] [--gate] [--config modelops.yaml] [--root dir] [--json]

Computes the metrics of a registered version on the config's held-out test split (or on
--data), checks evaluate.gates and stores the gate report with the version.

  --gate   exit 1 and print a table of the failed gates when any gate fails (for CI)
  --data   evaluate on this CSV/JSONL file instead of the test split
  --json   print the metrics, report and gates as JSON`;

export const evaluateCommand: CliCommand = {
  name: 'evaluate',
  summary: 'Evaluate a version on the test split or a file; --gate fails on failed quality gates',
  usage: USAGE,
  async run(argv, io) {
    const a = parseCli(
      argv,
      {
        json: { type: 'boolean' },
        root: { type: 'string' },
        config: { type: 'string' },
        data: { type: 'string' },
        gate: { type: 'boolean' },
      },
      USAGE,
    );
    const ref = onePositional(a.positionals, 'the version to evaluate (model@1.2.0)', USAGE);
    const configPath = resolve(io.cwd, str(a.values.config) ?? 'modelops.yaml');
    const registry = openRegistry(rootFor(io, str(a.values.root), configPath));
    const sigint = abortOnSigint();
    const c = paint(io.isTTY);
    try {
      const dataPath = str(a.values.data);
      const r = await evaluateVersion({
        registry,
        ref,
        configPath,
        dataPath: dataPath ? resolve(io.cwd, dataPath) : undefined,
        gate: true,
        signal: sigint.signal,
      });
      const failed = a.values.gate === true && r.gates !== null && !r.gates.passed;
      if (a.values.json) {
        io.out(
          JSON.stringify(
            {
              version: `${r.version.model}@${r.version.version}`,
              data: r.data,
              rows: r.rows,
              metrics: r.metrics,
              report: r.report,
              gates: r.gates,
              fairness: r.fairness,
              run: r.run.id,
            },
            null,
            2,
          ),
        );
        return failed ? 1 : 0;
      }
      io.out(`${c.bold(`${r.version.model}@${r.version.version}`)} on ${r.data}: ${r.rows} rows (run ${r.run.id})\n`);
      io.out(
        table(
          ['metric', 'value'],
          Object.entries(r.metrics).map(([k, v]) => [k, formatNumber(v)]),
        ),
      );
      const report = r.report;
      if (report.task === 'classification') {
        io.out(
          '\n' +
            table(
              ['class', 'precision', 'recall', 'f1', 'support'],
              report.perClass.map((p) => [
                p.label,
                formatNumber(p.precision),
                formatNumber(p.recall),
                formatNumber(p.f1),
                p.support,
              ]),
            ),
        );
        io.out(
          '\nconfusion matrix (rows: true, columns: predicted)\n' +
            table(
              ['', ...report.labels],
              report.labels.map((l, i) => [l, ...report.confusion[i]]),
            ),
        );
      }
      for (const n of report.notes) io.out(c.dim(n));
      if (r.fairness) io.out(fairnessText(r.fairness, c.dim));
      if (r.gates) {
        if (a.values.gate) {
          if (failed) {
            io.out(`\n${c.red(`${r.gates.results.filter((g) => !g.passed).length} gate(s) failed:`)}`);
            io.out(gateTable(r.gates, true));
          } else io.out(`\n${c.green('all gates passed')} (${r.gates.results.length})`);
        } else {
          io.out(`\ngates: ${r.gates.passed ? c.green('passed') : c.red('FAILED')}`);
          io.out(gateTable(r.gates, false));
        }
      } else if (a.values.gate) io.out(c.dim('\nNo gates are configured (evaluate.gates).'));
      return failed ? 1 : 0;
    } finally {
      sigint.dispose();
      registry.close();
    }
  },
};

/** Per-group tables (each sensitive column, then their intersection) with the gaps, then the Fairlearn metrics. */
export function fairnessText(f: FairnessReport, dim: (s: string) => string): string {
  const num = (v: number | null | undefined) => (typeof v === 'number' ? formatNumber(v) : '—');
  const out: string[] = [`\nfairness (groups under ${f.minGroupSize} rows are marked * and left out of the gaps)`];
  for (const b of f.breakdowns) {
    const rows: Array<Array<string | number>> = b.groups.map((g) => [
      g.small ? `${g.name} *` : g.name,
      g.count,
      ...f.metrics.map((m) => num(g.values[m])),
    ]);
    if (f.metrics.length) {
      rows.push(['difference (max − min)', '', ...f.metrics.map((m) => num(b.gaps[m]?.difference))]);
      rows.push(['ratio (min / max)', '', ...f.metrics.map((m) => num(b.gaps[m]?.ratio))]);
    }
    out.push('\n' + table([b.by.join(' × '), 'rows', ...f.metrics], rows));
  }
  const fm = Object.entries(f.fairness);
  if (fm.length) {
    out.push(
      `\n${f.positiveLabel !== null ? `positive class: ${f.positiveLabel}` : 'each class one-vs-rest, worst class'}; over ${f.sensitive.join(' × ')}`,
    );
    out.push(
      table(
        ['fairness metric', 'value'],
        fm.map(([m, v]) => [m, num(v)]),
      ),
    );
  }
  for (const n of f.notes) out.push(dim(n));
  return out.join('\n');
}
