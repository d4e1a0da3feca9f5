/** `modelops monitor --target <name> [--model m]`: windows, control chart, drift and alerts. */
import { join, resolve } from 'node:path';
import type { CliCommand } from '../command';
import { formatNumber, paint, table } from '../output';
import { openRegistry } from '../../engine/registry';
import { monitor } from '../../engine/monitoring';
import { estimateChartToShow, pointLimits } from '../../engine/spc';
import { estimateCaveat, estimateTitle } from '../../../shared/format';
import { envTokenFor, openWorkspace, selfServeCommand, TOKEN_ORIGIN_OPTION, TOKEN_USAGE } from '../shared/targets';
import { parseCli } from '../shared/args';
import type { CliIO } from '../command';
import type { ModelOpsConfig, MonitorConfig } from '../../engine/config/types';
import type { Registry } from '../../engine/registry/types';
import { configSchema, withDefaults } from '../../engine/config/schema';
import { connectTarget, readLocalToken } from '../../engine/deploy';
import { ModelOpsError } from '../../engine/errors';
import { followMonitor } from '../../engine/monitoring/live/client';
import { liveConfigFromMonitor, type LiveWindow } from '../../engine/monitoring/live/window';
import { runPolicy } from '../../engine/monitoring/policy';
import {
  lastWindowsOf,
  windowCount,
  type EstimatedPerformance,
  type MonitorResult,
} from '../../engine/monitoring/monitor';
import { writeChartReport } from '../../report';
import { driftData } from '../../report/chartData';
import { parseSince } from '../../engine/monitoring/since';

const USAGE = `modelops monitor [--target <name>] [--model <model>] [--since deploy|7d|ISO time] [--last N] [--log-dir DIR] [--no-alerts] [--out DIR] [--token-origin URL]… [--config modelops.yaml] [--root DIR] [--json]
modelops monitor --follow [--target <name>] [--model <model>] [--from-start] [--json]

--follow subscribes to the model server's live monitor (GET /v2/models/<m>/monitor/stream): each
window and alert is printed as it is scored (--json: one JSON object per line), alerts are recorded
and monitor.on policies run (e.g. we1: rollback). Ctrl+C stops it. --from-start replays the
server's backlog first. See docs/monitoring.md.

Cuts the target's prediction log into windows of monitor.window predictions and shows per-window
accuracy (where feedback arrived), the prediction distribution, the control chart of
monitor.controlChart.metric with the Western Electric rules, and drift against the reference
profile of the deployed version. New alerts are recorded (and sent to monitor.alerts.webhook).
--since reads only predictions from then on — an ISO time, a duration back from now (90m, 12h,
7d, 2w), or deploy: since the target's active deployment went out, so the chart's baseline and
the estimators' reference are the serving version's own first windows. Default: monitor.since
in modelops.yaml, else the whole log. --out DIR also writes the control chart and the drift of
the latest window as self-contained HTML pages (DIR/control-chart.html, DIR/drift.html: the
editor's Check Drift panels), and the estimate's own chart (DIR/estimated-chart.html) when it
covers windows that have no labels yet.
Exit code 3 when this run raised alerts. A webhook URL named by monitor.alerts.webhookSecret is read from
MODELOPS_WEBHOOK_<NAME>.

${TOKEN_USAGE}`;

export const monitorCommand: CliCommand = {
  name: 'monitor',
  summary: 'Production windows, control chart, drift and alerts for a target',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parseCli(
      argv,
      {
        target: { type: 'string' },
        model: { type: 'string' },
        last: { type: 'string' },
        since: { type: 'string' },
        'log-dir': { type: 'string' },
        'no-alerts': { type: 'boolean' },
        out: { type: 'string' },
        config: { type: 'string' },
        root: { type: 'string' },
        json: { type: 'boolean' },
        follow: { type: 'boolean' },
        'from-start': { type: 'boolean' },
        ...TOKEN_ORIGIN_OPTION,
      },
      USAGE,
    );
    // Arguments first: a mistake in them is told before the workspace is opened.
    const sinceText = values.since as string | undefined;
    if (values.follow && sinceText !== undefined)
      throw new ModelOpsError('cli-usage', '--since applies to a read of the log, not to --follow.', USAGE);
    const since = sinceText === undefined ? undefined : sinceText === 'deploy' ? 'deploy' : parseSince(sinceText);
    const { root, config } = await openWorkspace(
      io,
      values.root as string | undefined,
      values.config as string | undefined,
    );
    const registry = openRegistry(root);
    if (values.follow && values.out !== undefined)
      throw new ModelOpsError('cli-usage', '--out writes the charts of a read of the log, not of --follow.', USAGE);
    if (values.follow) {
      try {
        return await follow(io, registry, config, {
          target: values.target as string | undefined,
          model: values.model as string | undefined,
          json: values.json === true,
          fromStart: values['from-start'] === true,
          tokenOrigins: values['token-origin'] as string[] | undefined,
        });
      } finally {
        registry.close();
      }
    }
    try {
      const last = values.last === undefined ? undefined : Number(values.last);
      const r = await monitor({
        since,
        registry,
        config,
        target: values.target as string | undefined,
        model: values.model as string | undefined,
        logDir: values['log-dir'] as string | undefined,
        lastWindows: last !== undefined && Number.isInteger(last) && last > 0 ? last : undefined,
        alert: values['no-alerts'] !== true,
        onLog: (m) => io.err(`monitor: ${m}`),
        tokenFor: envTokenFor(io.env, values['token-origin'] as string[] | undefined),
        env: io.env,
      });
      // The pages first: with --json, stdout carries the result alone (the paths go to stderr).
      const pages = values.out === undefined ? [] : writeMonitorPages(r, resolve(io.cwd, values.out as string));
      if (values.json) {
        io.out(JSON.stringify(r, null, 2));
        for (const p of pages) io.err(`wrote ${p}`);
        return r.alerts.length > 0 ? 3 : 0;
      }
      const c = paint(io.isTTY);
      io.out(
        `${c.bold(`${r.model}`)} on '${r.target}'${r.version ? ` (serving ${r.version})` : ''}: ${r.totalPredictions} predictions${r.since ? ` since ${r.since}${(sinceText ?? config.monitor?.since) === 'deploy' ? ' (the deployment)' : ''}, ${r.beforeSince} earlier left out` : ''}, ${r.labelled} with feedback, windows of ${r.window}${r.pending ? `, ${r.pending} waiting for the next window` : ''} — ${r.elapsedMs} ms`,
      );
      if (r.remote)
        io.out(
          c.dim(
            `log read from ${r.remote.url}: ${r.remote.bytes.toLocaleString('en-US')} bytes, ${r.remote.fetched === r.remote.bytes ? 'all fetched now' : `${r.remote.fetched.toLocaleString('en-US')} of them fetched now, the rest kept from earlier reads (.modelops/monitor-cache)`}`,
          ),
        );
      // Only the windows shown are built (`--json` above builds them all).
      const count = windowCount(r);
      if (count > 0) {
        const shown = lastWindowsOf(r, 20);
        const features = Object.keys(shown[shown.length - 1].drift);
        const classifier = config.model.task === 'classification';
        // The estimate made before labels (CBPE, DLE) beside the realised metric, window by window.
        const est = r.estimated;
        // The windows' own estimate of the charted metric (what the estimate's chart draws).
        const windowTable = r.windowTable;
        const firstRow = windowTable ? windowTable.length - shown.length : 0;
        io.out('');
        io.out(
          table(
            [
              'window',
              'end',
              'version',
              'n',
              'labelled',
              classifier ? 'accuracy' : 'mae',
              ...(est ? [`est. ${est.metric}`] : []),
              'top prediction',
              `pred ${r.drift?.method ?? 'drift'}`,
              ...features,
            ],
            shown.map((w, j) => {
              const top = Object.entries(w.distribution).sort((a, b) => b[1] - a[1])[0];
              return [
                w.index + 1,
                w.end ?? '—',
                w.version,
                w.count,
                w.labelled,
                formatNumber(classifier ? w.accuracy : w.mae),
                ...(est ? [formatNumber(windowTable?.estimateOf(firstRow + j, est.metric) ?? null)] : []),
                top ? `${top[0]} (${Math.round((top[1] / w.count) * 100)}%)` : formatNumber(w.meanPrediction),
                formatNumber(w.predictionDrift),
                ...features.map((f) => formatNumber(w.drift[f])),
              ];
            }),
          ),
        );
        if (count > shown.length) io.out(c.dim(`(last ${shown.length} of ${count} windows; --json for all)`));
      }
      io.out('');
      if (r.chart) {
        const ch = r.chart;
        const p = pointLimits(ch, ch.values.length - 1);
        io.out(
          `control chart (${ch.chart}) of ${ch.metric}: centre ${formatNumber(ch.centre)}, UCL ${formatNumber(p.ucl)}, LCL ${formatNumber(p.lcl)} (L = ${ch.sigma}), ${ch.violations.length} rule violation(s)`,
        );
      } else if (r.chartNote) io.out(`control chart: ${r.chartNote}`);
      const drifted = r.drift ? r.drift.features.filter((f) => f.drifted).map((f) => f.name) : [];
      if (r.estimated) {
        io.out(estimateLine(r.estimated));
        const caveat = estimateCaveat(r.estimated, drifted);
        if (caveat) io.out(c.yellow(`  ${caveat}`));
      }
      if (r.drift) {
        io.out(
          `drift (${r.drift.method}, threshold ${r.drift.threshold}) in the latest window: ${drifted.length ? c.yellow(drifted.join(', ')) : 'none'}${r.drift.predictions.drifted ? c.yellow('; predictions drifted') : ''}`,
        );
      }
      if (r.alerts.length > 0) {
        io.out('');
        io.out(c.red(`${r.alerts.length} new alert(s):`));
        for (const a of r.alerts) io.out(`  ${c.red('●')} [${a.rule}] ${a.message}`);
      }
      if (pages.length > 0) {
        io.out('');
        for (const p of pages) io.out(`wrote ${p}`);
      } else if (values.out !== undefined) io.out(c.dim('no chart to write yet (no complete window)'));
      if (r.badLines > 0) io.err(`monitor: skipped ${r.badLines} unreadable log line(s)`);
      return r.alerts.length > 0 ? 3 : 0;
    } finally {
      registry.close();
    }
  },
};

interface FollowFlags {
  target?: string;
  model?: string;
  json: boolean;
  fromStart: boolean;
  tokenOrigins?: string[];
}

const fmt = (v: number | null): string => (v === null ? '—' : formatNumber(v));

/** The control chart and the latest window's drift as HTML pages in `dir` (what exists of them); their paths. */
export function writeMonitorPages(r: MonitorResult, dir: string): string[] {
  const pages: string[] = [];
  const name = `${r.model} on ${r.target}`;
  if (r.chart)
    pages.push(
      writeChartReport({
        kind: 'control',
        data: r.chart,
        title: `${name} · control chart`,
        out: join(dir, 'control-chart.html'),
      }).path,
    );
  const estimate = estimateChartToShow(r.chart, r.estimated?.chart);
  if (estimate && r.estimated)
    pages.push(
      writeChartReport({
        kind: 'control',
        data: estimate,
        title: `${name} · ${estimateTitle(r.estimated)}`,
        out: join(dir, 'estimated-chart.html'),
      }).path,
    );
  const drift = driftData(r);
  if (drift)
    pages.push(
      writeChartReport({ kind: 'drift', data: drift, title: `${name} · drift`, out: join(dir, 'drift.html') }).path,
    );
  return pages;
}

/** The estimate made before labels: its chart, and the calibration (CBPE) or loss model (DLE) behind it. */
export function estimateLine(e: EstimatedPerformance): string {
  const what = estimateTitle(e);
  let chart: string;
  if (e.chart) {
    const p = pointLimits(e.chart, e.chart.values.length - 1);
    chart = `centre ${fmt(e.chart.centre)}, UCL ${fmt(p.ucl)}, LCL ${fmt(p.lcl)}, ${e.chart.violations.length} rule violation(s)`;
  } else chart = `no chart${e.chartNote ? ` (${e.chartNote})` : ''}`;
  let basis: string;
  if (e.method === 'cbpe') {
    const k = e.calibration;
    const rows =
      k.source === 'test split'
        ? `${k.rows} rows of the version's test split (the ${e.referenceWindows} reference windows had too few labels)`
        : `${k.rows} labelled rows of the ${e.referenceWindows} reference windows`;
    basis =
      k.method === 'isotonic'
        ? `probabilities recalibrated (isotonic) on ${rows}: ECE ${fmt(k.ece)} → ${fmt(k.eceAfter)}`
        : k.rows > 0
          ? `probabilities used as they are: ECE ${fmt(k.ece)} on ${rows}${k.note ? ` (${k.note})` : ''}`
          : `probabilities used as they are (${k.note ?? 'no labelled reference rows'})`;
  } else {
    const m = e.lossModel;
    basis = m.note
      ? `no loss model: ${m.note}`
      : m.source === 'test split'
        ? `loss model fitted on ${m.rows} rows of the version's test split (the ${e.referenceWindows} reference windows had too few labels)`
        : `loss model fitted on ${m.rows} labelled rows of the ${e.referenceWindows} reference windows`;
  }
  return `${what}: ${chart}; ${basis}`;
}

/** `--follow`: stream the live monitor, record alerts, run monitor.on; ends on SIGINT/SIGTERM. */
async function follow(io: CliIO, registry: Registry, config: ModelOpsConfig, flags: FollowFlags): Promise<number> {
  const mc =
    config.monitor ?? (withDefaults(configSchema.properties.monitor, undefined, config.model.task) as MonitorConfig);
  const target = flags.target ?? mc.target;
  if (!target)
    throw new ModelOpsError(
      'no-monitor-target',
      'No target to follow: modelops.yaml has no monitor.target.',
      'Add monitor: { target: local } or pass --target.',
    );
  const model = flags.model ?? config.model.name;
  const access = {
    registry,
    config,
    tokenFor: envTokenFor(io.env, flags.tokenOrigins),
    serveCommand: selfServeCommand(),
  };
  const client = await connectTarget(access, target, { start: false });
  if (!client)
    throw new ModelOpsError(
      'target-down',
      `Target '${target}' is not running.`,
      `Deploy to it first (modelops deploy ${model}@<version> --target ${target}).`,
    );
  const t = config.deploy?.targets?.[target];
  const token =
    (t ? await access.tokenFor(target, t) : null) ??
    (t?.type === 'local' ? readLocalToken(registry.storeDir, target) : null);
  const c = paint(io.isTTY);
  // The server scores windows as modelops.yaml says: tell it (this restarts its windows only when the settings differ).
  const active = registry.activeDeployment(target, model);
  let evaluation: number | undefined;
  if (active) {
    const m = registry.getVersion(`${model}@${active.version}`).metrics[
      mc.controlChart.metric === 'error_rate' ? 'accuracy' : mc.controlChart.metric
    ];
    if (typeof m === 'number') evaluation = m;
  }
  const wanted = liveConfigFromMonitor(mc, evaluation);
  try {
    const headers = { authorization: `Bearer ${token ?? ''}`, 'content-type': 'application/json' };
    const url = `${client.url}/v2/repository/models/${encodeURIComponent(model)}/monitor`;
    const now = (await (await fetch(url, { headers, signal: AbortSignal.timeout(5000) })).json()) as {
      config?: unknown;
    };
    if (JSON.stringify(now.config) !== JSON.stringify(wanted)) {
      const res = await fetch(url, {
        method: 'PUT',
        headers,
        body: JSON.stringify(wanted),
        signal: AbortSignal.timeout(5000),
      });
      if (res.status !== 200)
        io.err(
          `monitor: the server kept its own monitor settings (${res.status}: ${(await res.text()).slice(0, 200)})`,
        );
    }
  } catch (e) {
    io.err(
      `monitor: could not send the monitor settings (${e instanceof Error ? e.message : String(e)}); the server uses its own`,
    );
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const seen = new Set(
    registry
      .listAlerts({ target, limit: 100_000 })
      .filter((a) => a.model === model)
      .map((a) => `${a.rule}\u0000${a.message}`),
  );
  if (!flags.json)
    io.out(
      `following ${c.bold(model)} on '${target}' (${client.url}): windows of ${wanted.window}, ${wanted.metric} chart, ${wanted.drift.method} drift${wanted.drift.features ? ` (alerts for ${wanted.drift.features.join(', ')}: monitor.drift.features)` : ''} — Ctrl+C to stop`,
    );
  let alerts = 0;
  try {
    for await (const e of followMonitor({
      url: client.url,
      model,
      token,
      lastEventId: flags.fromStart ? '0' : null,
      signal: controller.signal,
    })) {
      if (e.event === 'alert') {
        alerts++;
        const outcome = await runPolicy({ ...access, target, on: mc.on, alert: e.data, seen });
        if (flags.json) {
          io.out(JSON.stringify(e));
          io.out(
            JSON.stringify({
              id: e.id,
              model,
              event: 'action',
              data: {
                rule: e.data.rule,
                action: outcome.action,
                because: outcome.because,
                ok: outcome.ok,
                detail: outcome.detail,
                deployment: outcome.deployment?.id ?? null,
                alert: outcome.alert?.id ?? null,
              },
            }),
          );
        } else {
          io.out(`${c.red('●')} [${e.data.rule}] ${e.data.message}`);
          io.out(
            `  → ${outcome.action} (monitor.on.${outcome.because}): ${outcome.ok ? outcome.detail : c.red(outcome.detail)}`,
          );
        }
      } else if (flags.json) io.out(JSON.stringify(e));
      else if (e.event === 'window') io.out(windowLine(e.data));
      else io.err(`monitor: ${e.event}: ${e.data.reason}`);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return alerts > 0 ? 3 : 0;
}

/** One live window: the chart, the CBPE estimate and each feature's drift by the test it actually got. */
export function windowLine(w: LiveWindow): string {
  const tests = new Set(Object.keys(w.drift).map((f) => w.driftTests[f] ?? w.driftMethod));
  // One test for every feature is said once; otherwise each feature names its own.
  const shared = tests.size === 1 ? [...tests][0] : null;
  // Drifted by its test and threshold, among the features watched (monitor.drift.features): said in words.
  const drifted = new Set(w.drifted);
  const drift = Object.entries(w.drift)
    .map(
      ([f, v]) =>
        `${f} ${shared ? '' : `${w.driftTests[f] ?? w.driftMethod} `}${fmt(v)}${drifted.has(f) ? ' drifted' : ''}`,
    )
    .join(', ');
  const limits = (ch: NonNullable<LiveWindow['chart']>) =>
    ` [${fmt(ch.lcl)}, ${fmt(ch.ucl)}]${ch.violations.length ? ` rule ${ch.violations.map((v) => v.rule).join(',')}` : ''}`;
  const chart = w.chart ? limits(w.chart) : '';
  const est = w.estimated;
  const estimate =
    est && est.value !== null ? `, estimated ${est.metric} ${fmt(est.value)}${est.chart ? limits(est.chart) : ''}` : '';
  return `window ${w.index + 1} ${w.end ?? ''} ${w.version}: n ${w.count}, labelled ${w.labelled}, ${w.metric} ${fmt(w.value)}${chart}${estimate}; drift ${shared ? `(${shared}) ` : ''}${drift || '—'}; p50 ${fmt(w.p50LatencyMs)} ms`;
}
