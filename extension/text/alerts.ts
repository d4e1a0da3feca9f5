/**
 * The wording of alerts: their kinds, and the one summarised notification per target a burst
 * becomes — "3 new alerts on production: 2 control chart, 1 drift". Pure code (no `vscode`), so it
 * is unit-tested as is.
 */
import type { BurstItem } from '../services/alertBurst';

export type AlertKind = 'control chart' | 'estimated performance' | 'drift' | 'other';

/** The kind of an alert by its rule name: `we1`…`we4`, `cbpe:we1`… or `dle:we1`…, `drift:<feature>`. */
export function alertKind(rule: string): AlertKind {
  if (/^we\d$/.test(rule)) return 'control chart';
  // Both estimators' rules: CBPE (classifiers) and DLE (regression models).
  if (rule.startsWith('cbpe:') || rule.startsWith('dle:')) return 'estimated performance';
  if (rule.startsWith('drift:')) return 'drift';
  return 'other';
}

const ORDER: AlertKind[] = ['control chart', 'estimated performance', 'drift', 'other'];

/** "2 control chart, 1 drift" (kinds in a fixed order, only those present). */
export function alertBreakdown(alerts: ReadonlyArray<{ rule: string }>): string {
  const counts = new Map<AlertKind, number>();
  for (const a of alerts) counts.set(alertKind(a.rule), (counts.get(alertKind(a.rule)) ?? 0) + 1);
  return ORDER.filter((k) => counts.has(k))
    .map((k) => `${counts.get(k)} ${k}`)
    .join(', ');
}

/** "3 new alerts on production: 2 control chart, 1 drift" (no target: "3 new alerts: …"). */
export function summariseAlerts(alerts: ReadonlyArray<{ rule: string }>, target?: string): string {
  const n = alerts.length;
  return `${n} new alert${n === 1 ? '' : 's'}${target ? ` on ${target}` : ''}: ${alertBreakdown(alerts)}`;
}

/** The notification text of a burst on one target: the summary, the alert when there is one, then what monitor.on did. */
export function burstMessage(target: string, items: readonly BurstItem[]): string {
  const parts = [`ModelOps: ${summariseAlerts(items, target)}`];
  if (items.length === 1) parts.push(`${items[0].model}@${items[0].version}: ${items[0].message}`);
  const done = [
    ...new Set(items.filter((i) => i.outcome && i.outcome.action !== 'notify').map((i) => i.outcome!.detail)),
  ];
  if (done.length) parts.push(`monitor.on: ${done.join('; ')}`);
  return parts.map((p) => p.replace(/\.+$/, '')).join('. ') + '.';
}
