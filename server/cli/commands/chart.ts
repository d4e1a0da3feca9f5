/**
 * `modelops chart control|metrics|compare … --out file.html`: self-contained HTML chart reports
 * drawn by the same renderer as the editor's chart panels.
 */
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import type { CliCommand, CliIO } from '../command';
import { ModelOpsError } from '../../engine/errors';
import {
  buildControlChart,
  checkEstimator,
  checkSide,
  pointLimits,
  type Baseline,
  type ControlChartInputPoint,
} from '../../engine/spc';
import { writeChartReport } from '../../report';
import { compareData, runMetricsData } from '../../report/chartData';
import { findWorkspaceRoot, need, numFlag, parseCli } from '../shared/args';
import { openForRead } from '../shared/registry';

const USAGE_LINES = `  modelops chart control --values <file.json|file.csv> [--sigma 3] [--baseline 5 | --mean μ --std σ]
                         [--estimator movingRange|stddev] [--side lower|upper|both]
                         [--rules 1,2,3,4] [--p-chart] [--metric name] [--estimated-by cbpe|dle]
                         [--title text] [--out report.html] [--json]
  modelops chart metrics <runId|model@version…> --out report.html [--title text] [--root dir] [--json]
  modelops chart compare <ref> <ref>… --out report.html [--title text] [--root dir] [--json]

Writes a self-contained HTML page (no network, strict CSP) and prints its path.

control  a control chart of the values: centre line μ and UCL/LCL = μ ± Lσ (L = --sigma) from a
         baseline (the first --baseline points, or an explicit --mean/--std; default all points),
         ±1σ/±2σ zones and Western Electric rule violations (rules 1–4). With --p-chart the values
         are proportions with a window size n each, and the limits are p̄ ± L·√(p̄(1−p̄)/n).
         --estimator: σ of an individuals chart from the baseline, movingRange (MR̄/1.128, the
         textbook choice) or stddev (sample standard deviation; the default here, as before).
         --side: lower or upper reports only rule patterns below or above the centre line.
         --json without --out prints the chart as JSON (limits and σ per point) and writes no file.
         --values items may carry "estimated" (e.g. a CBPE estimate), drawn dashed beside the values;
         --estimated-by names the method that made them (cbpe or dle) in the legend and table.
         --values: JSON (an array of numbers, or of {value, n?, start?, end?}, or {"values": [...]})
         or CSV (a "value" column, optional n, start, end columns; or one column of numbers).
metrics  loss and metrics per epoch of training runs, overlaid.
compare  metrics of versions side by side (refs like model@1.2.0 or model@production).`;
const USAGE = `Usage:\n${USAGE_LINES}`;

const COMMON = {
  json: { type: 'boolean' },
  out: { type: 'string', short: 'o' },
  title: { type: 'string' },
  root: { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

const CONTROL = {
  ...COMMON,
  values: { type: 'string' },
  sigma: { type: 'string' },
  baseline: { type: 'string' },
  mean: { type: 'string' },
  std: { type: 'string' },
  rules: { type: 'string' },
  'p-chart': { type: 'boolean' },
  metric: { type: 'string' },
  estimator: { type: 'string' },
  side: { type: 'string' },
  'estimated-by': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** Reads control-chart points from JSON or CSV. */
export function readValuesFile(path: string): ControlChartInputPoint[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ModelOpsError(
      'chart-values',
      `Cannot read the values file ${path}.`,
      'Check the path given to --values.',
    );
  }
  const ext = extname(path).toLowerCase();
  const points =
    ext === '.csv' || (ext !== '.json' && !/^\s*[[{]/.test(text)) ? fromCsv(text, path) : fromJson(text, path);
  if (points.length === 0)
    throw new ModelOpsError(
      'chart-values',
      `The values file ${path} has no points.`,
      'Give at least as many values as the baseline needs.',
    );
  return points;
}

function fromJson(text: string, path: string): ControlChartInputPoint[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelOpsError(
      'chart-values',
      `${path} is not valid JSON: ${e instanceof Error ? e.message : String(e)}.`,
      'Give an array of numbers or of {value, n?, start?, end?} objects.',
    );
  }
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && Array.isArray((raw as { values?: unknown }).values))
    raw = (raw as { values: unknown[] }).values;
  if (!Array.isArray(raw))
    throw new ModelOpsError(
      'chart-values',
      `${path} holds ${typeof raw}, not an array of values.`,
      'Give an array of numbers or of {value, n?, start?, end?} objects.',
    );
  return raw.map((item, i) => {
    if (typeof item === 'number') return { value: item };
    if (item && typeof item === 'object' && typeof (item as { value?: unknown }).value === 'number') {
      const o = item as Record<string, unknown>;
      const p: ControlChartInputPoint = { value: o.value as number };
      if (typeof o.n === 'number') p.n = o.n;
      if (typeof o.start === 'string') p.start = o.start;
      if (typeof o.end === 'string') p.end = o.end;
      if (typeof o.estimated === 'number') p.estimated = o.estimated;
      return p;
    }
    throw new ModelOpsError(
      'chart-values',
      `${path}: item ${i + 1} is ${JSON.stringify(item)}, not a number or {value: number}.`,
      'Give every point a numeric value.',
    );
  });
}

function fromCsv(text: string, path: string): ControlChartInputPoint[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const cells = (l: string) => l.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
  const first = cells(lines[0]);
  const hasHeader = first.some((c) => c !== '' && !Number.isFinite(Number(c)));
  const header = hasHeader ? first.map((h) => h.toLowerCase()) : ['value'];
  const col = (name: string) => header.indexOf(name);
  const vi = col('value');
  if (vi < 0)
    throw new ModelOpsError(
      'chart-values',
      `${path}: the header ${first.join(',')} has no "value" column.`,
      'Name the column of values "value" (optional columns: n, start, end).',
    );
  return lines.slice(hasHeader ? 1 : 0).map((line, i) => {
    const c = cells(line);
    const row = i + (hasHeader ? 2 : 1);
    const value = Number(c[vi]);
    if (c[vi] === undefined || c[vi] === '' || !Number.isFinite(value)) {
      throw new ModelOpsError(
        'chart-values',
        `${path}: row ${row}, column "value" is ${JSON.stringify(c[vi] ?? '')}, not a number.`,
        'Every row needs a numeric value.',
      );
    }
    const p: ControlChartInputPoint = { value };
    if (col('n') >= 0 && c[col('n')] !== '') {
      const n = Number(c[col('n')]);
      if (!Number.isFinite(n))
        throw new ModelOpsError(
          'chart-values',
          `${path}: row ${row}, column "n" is ${JSON.stringify(c[col('n')])}, not a number.`,
          'Give n as the window size.',
        );
      p.n = n;
    }
    if (col('start') >= 0 && c[col('start')]) p.start = c[col('start')];
    if (col('end') >= 0 && c[col('end')]) p.end = c[col('end')];
    return p;
  });
}

function done(
  io: CliIO,
  json: boolean,
  result: { path: string; bytes: number },
  extra: Record<string, unknown>,
  line: string,
): number {
  if (json) io.out(JSON.stringify({ ...result, ...extra }, null, 2));
  else {
    io.out(result.path);
    if (line) io.err(line);
  }
  return 0;
}

async function control(argv: string[], io: CliIO): Promise<number> {
  const { values: o } = parseCli(argv, CONTROL, USAGE_LINES);
  const file = resolve(io.cwd, need(o.values, '--values <file.json|file.csv>', USAGE_LINES));
  // --json alone prints the chart; an HTML report needs --out.
  const out = o.json && !o.out ? null : resolve(io.cwd, need(o.out, '--out <report.html>', USAGE_LINES));
  const points = readValuesFile(file);
  const mean = numFlag(o.mean, '--mean');
  const std = numFlag(o.std, '--std');
  const k = numFlag(o.baseline, '--baseline');
  let baseline: Baseline | undefined;
  if (mean !== undefined || std !== undefined) {
    if (k !== undefined)
      throw new ModelOpsError('cli-usage', 'Give either --baseline or --mean/--std, not both.', USAGE);
    const pChart = Boolean(o['p-chart']);
    if (mean === undefined || (std === undefined && !pChart))
      throw new ModelOpsError(
        'cli-usage',
        'An explicit baseline needs both --mean and --std (a p-chart needs only --mean).',
        USAGE,
      );
    baseline = { mean, std: std ?? 0 };
  } else if (k !== undefined) baseline = k;
  const rules =
    o.rules === undefined
      ? undefined
      : String(o.rules)
          .split(',')
          .map((r) => Number(r.trim()));
  const metric = o.metric ?? null;
  const estimator = o.estimator === undefined ? undefined : checkEstimator(o.estimator);
  const side = o.side === undefined ? undefined : checkSide(o.side);
  const estimatedBy = o['estimated-by'];
  if (estimatedBy !== undefined && estimatedBy !== 'cbpe' && estimatedBy !== 'dle')
    throw new ModelOpsError(
      'cli-usage',
      `--estimated-by must be cbpe or dle (got ${JSON.stringify(estimatedBy)}).`,
      "cbpe: estimated from a classifier's probabilities; dle: from a loss model of a regression model.",
    );
  const data = buildControlChart(points, {
    chart: o['p-chart'] ? 'p' : 'individuals',
    sigma: numFlag(o.sigma, '--sigma'),
    baseline,
    rules,
    metric,
    ...(estimator ? { estimator } : {}),
    ...(side ? { side } : {}),
  });
  if (estimatedBy && data.estimated) data.estimatedBy = estimatedBy;
  const rulesFired = [...new Set(data.violations.map((v) => v.rule))];
  // σ, UCL and LCL per point, so a p-chart with unequal windows states each window's own limits;
  // the top-level ones are given only when every point shares them.
  const perPoint = data.values.map((value, i) => {
    const l = pointLimits(data, i);
    return {
      index: i,
      value,
      n: data.n?.[i] ?? null,
      std: l.std,
      ucl: l.ucl,
      lcl: l.lcl,
      ...(data.estimated ? { estimated: data.estimated[i] } : {}),
    };
  });
  const summary = {
    kind: 'control',
    chart: data.chart,
    metric: data.metric,
    centre: data.centre,
    std: data.limits ? data.limits.std : null,
    ucl: data.limits ? data.limits.ucl : null,
    lcl: data.limits ? data.limits.lcl : null,
    sigma: data.sigma,
    sigmaEstimator: data.sigmaEstimator,
    side: data.side,
    ...(data.estimatedBy ? { estimatedBy: data.estimatedBy } : {}),
    baseline: data.baseline,
    rules: data.rules,
    points: perPoint,
    violations: data.violations,
  };
  if (!out) {
    io.out(JSON.stringify(summary, null, 2));
    return 0;
  }
  const title = o.title ?? `Control chart${metric ? ` — ${metric}` : ''}`;
  const result = writeChartReport({ kind: 'control', data, title, out });
  const sigmaText = data.limits
    ? `σ ${data.std.toPrecision(6)}`
    : `σ per window (${data.std.toPrecision(6)} at the mean n)`;
  return done(
    io,
    Boolean(o.json),
    result,
    summary,
    `${data.values.length} points, μ ${data.centre.toPrecision(6)}, ${sigmaText}, ${data.violations.length} violation(s)${rulesFired.length ? ` of rule ${rulesFired.join(', ')}` : ''} (σ: ${data.sigmaEstimator}${data.side && data.side !== 'both' ? `; ${data.side} side only` : ''})`,
  );
}

async function metrics(argv: string[], io: CliIO): Promise<number> {
  const { values: o, positionals } = parseCli(argv, COMMON, USAGE_LINES);
  if (positionals.length === 0)
    throw new ModelOpsError('cli-usage', 'Give at least one run id or model@version.', USAGE);
  const out = resolve(io.cwd, need(o.out, '--out <report.html>', USAGE_LINES));
  const registry = openForRead(findWorkspaceRoot(io.cwd, o.root));
  try {
    // A version stands for the run that registered it.
    const runIds = positionals.map((p) => {
      if (!p.includes('@')) return p;
      const v = registry.getVersion(p);
      if (!v.runId)
        throw new ModelOpsError(
          'run-not-found',
          `${v.model}@${v.version} records no run: it was registered from a file, not trained or evaluated here.`,
          'Give a run id (modelops runs list), or a version trained with modelops train.',
        );
      return v.runId;
    });
    const data = runMetricsData(registry, runIds);
    const title = o.title ?? `Training metrics — ${positionals.join(', ')}`;
    const result = writeChartReport({ kind: 'runMetrics', data, title, out });
    return done(
      io,
      Boolean(o.json),
      result,
      { kind: 'runMetrics', runs: data.runs.map((r) => ({ runId: r.runId, epochs: r.points.length })) },
      '',
    );
  } finally {
    registry.close();
  }
}

async function compare(argv: string[], io: CliIO): Promise<number> {
  const { values: o, positionals } = parseCli(argv, COMMON, USAGE_LINES);
  if (positionals.length < 2) throw new ModelOpsError('cli-usage', 'Give at least two version refs to compare.', USAGE);
  const out = resolve(io.cwd, need(o.out, '--out <report.html>', USAGE_LINES));
  const registry = openForRead(findWorkspaceRoot(io.cwd, o.root));
  try {
    const data = compareData(registry, positionals);
    const title = o.title ?? `Compare versions — ${data.versions.join(' vs ')}`;
    const result = writeChartReport({ kind: 'compare', data, title, out });
    return done(
      io,
      Boolean(o.json),
      result,
      { kind: 'compare', versions: data.versions, metrics: data.metrics.map((m) => m.name) },
      '',
    );
  } finally {
    registry.close();
  }
}

export const chartCommand: CliCommand = {
  name: 'chart',
  summary: 'Write a chart as a self-contained HTML report: control, metrics, compare',
  usage: USAGE,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'control') return control(rest, io);
    if (sub === 'metrics') return metrics(rest, io);
    if (sub === 'compare') return compare(rest, io);
    throw new ModelOpsError('cli-usage', sub ? `Unknown chart '${sub}'.` : 'Missing the chart kind.', USAGE);
  },
};
