/** `modelops monitor --target <name> [--model m]`: windows, control chart, drift and alerts. */
import type { CliCommand } from '../command';
import { formatNumber, paint, table } from '../output';
import { openRegistry } from '../../engine/registry';
import { monitor } from '../../engine/monitoring';
import { pointLimits } from '../../engine/spc';
import { envTokenFor, openWorkspace, parseCli, TOKEN_ORIGIN_OPTION, TOKEN_USAGE } from '../shared/targets';

const USAGE = `modelops monitor [--target <name>] [--model <model>] [--last N] [--log-dir DIR] [--no-alerts] [--token-origin URL]… [--config modelops.yaml] [--root DIR] [--json]

Cuts the target's prediction log into windows of monitor.window predictions and shows per-window
accuracy (where feedback arrived), the prediction distribution, the control chart of
monitor.controlChart.metric with the Western Electric rules, and drift against the reference
profile of the deployed version. New alerts are recorded (and sent to monitor.alerts.webhook).
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
        'log-dir': { type: 'string' },
        'no-alerts': { type: 'boolean' },
        config: { type: 'string' },
        root: { type: 'string' },
        json: { type: 'boolean' },
        ...TOKEN_ORIGIN_OPTION,
      },
      USAGE,
    );
    const { root, config } = await openWorkspace(io, values.root as string | undefined, values.config as string | undefined);
    const registry = openRegistry(root);
    try {
      const last = values.last === undefined ? undefined : Number(values.last);
      const r = await monitor({
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
      if (values.json) {
        io.out(JSON.stringify(r, null, 2));
        return r.alerts.length > 0 ? 3 : 0;
      }
      const c = paint(io.isTTY);
      io.out(`${c.bold(`${r.model}`)} on '${r.target}'${r.version ? ` (serving ${r.version})` : ''}: ${r.totalPredictions} predictions, ${r.labelled} with feedback, windows of ${r.window}${r.pending ? `, ${r.pending} waiting for the next window` : ''} — ${r.elapsedMs} ms`);
      if (r.windows.length > 0) {
        const shown = r.windows.slice(-20);
        const features = Object.keys(shown[shown.length - 1].drift);
        io.out('');
        io.out(
          table(
            ['window', 'end', 'version', 'n', 'labelled', 'accuracy', 'top prediction', `pred ${r.drift?.method ?? 'drift'}`, ...features],
            shown.map((w) => {
              const top = Object.entries(w.distribution).sort((a, b) => b[1] - a[1])[0];
              return [
                w.index + 1,
                w.end ?? '—',
                w.version,
                w.count,
                w.labelled,
                formatNumber(w.accuracy ?? w.mae),
                top ? `${top[0]} (${Math.round((top[1] / w.count) * 100)}%)` : formatNumber(w.meanPrediction),
                formatNumber(w.predictionDrift),
                ...features.map((f) => formatNumber(w.drift[f])),
              ];
            }),
          ),
        );
        if (r.windows.length > shown.length) io.out(c.dim(`(last ${shown.length} of ${r.windows.length} windows; --json for all)`));
      }
      io.out('');
      if (r.chart) {
        const ch = r.chart;
        const p = pointLimits(ch, ch.values.length - 1);
        io.out(`control chart (${ch.chart}) of ${ch.metric}: centre ${formatNumber(ch.centre)}, UCL ${formatNumber(p.ucl)}, LCL ${formatNumber(p.lcl)} (L = ${ch.sigma}), ${ch.violations.length} rule violation(s)`);
      } else if (r.chartNote) io.out(`control chart: ${r.chartNote}`);
      if (r.drift) {
        const drifted = r.drift.features.filter((f) => f.drifted).map((f) => f.name);
        io.out(`drift (${r.drift.method}, threshold ${r.drift.threshold}) in the latest window: ${drifted.length ? c.yellow(drifted.join(', ')) : 'none'}${r.drift.predictions.drifted ? c.yellow('; predictions drifted') : ''}`);
      }
      if (r.alerts.length > 0) {
        io.out('');
        io.out(c.red(`${r.alerts.length} new alert(s):`));
        for (const a of r.alerts) io.out(`  ${c.red('●')} [${a.rule}] ${a.message}`);
      }
      if (r.badLines > 0) io.err(`monitor: skipped ${r.badLines} unreadable log line(s)`);
      return r.alerts.length > 0 ? 3 : 0;
    } finally {
      registry.close();
    }
  },
};
