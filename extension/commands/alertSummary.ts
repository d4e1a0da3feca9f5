/**
 * Alerts come in bursts (one window can break a rule and drift on several features at once, and a
 * Check Drift can raise a dozen): they are collected for a moment and shown as one summarised
 * notification per target — "3 new alerts on production: 2 control chart, 1 drift". Pure code (no
 * `vscode`), so it is unit-tested as is.
 */

export type AlertKind = 'control chart' | 'estimated performance' | 'drift' | 'other';

/** The kind of an alert by its rule name: `we1`…`we4`, `cbpe:we1`…, `drift:<feature>`. */
export function alertKind(rule: string): AlertKind {
  if (/^we\d$/.test(rule)) return 'control chart';
  if (rule.startsWith('cbpe:')) return 'estimated performance';
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

/** One alert in a burst; `key` identifies it across the two ways it may arrive (live notification, registry). */
export interface BurstItem {
  key: string;
  target: string;
  model: string;
  version: string;
  rule: string;
  message: string;
  /** What `monitor.on` did, when the sidecar ran the policy (live alerts). */
  outcome?: { action: 'notify' | 'retrain' | 'rollback'; detail: string; ok: boolean; rolledBackTo: string | null };
}

export interface BurstOptions {
  /** Quiet time that ends a burst (default 1500 ms). */
  quietMs?: number;
  /** A burst is shown at the latest this long after its first alert (default 5000 ms). */
  maxWaitMs?: number;
}

/**
 * Collects alerts and calls `flush` once per target when no new alert came for `quietMs` (or
 * `maxWaitMs` after the first). An alert added twice under one key is kept once, the later copy's
 * outcome winning, so a live alert and its registry record make one entry.
 */
export class AlertBurst {
  private readonly pending = new Map<string, BurstItem>();
  private quiet: ReturnType<typeof setTimeout> | null = null;
  private deadline: ReturnType<typeof setTimeout> | null = null;
  private readonly quietMs: number;
  private readonly maxWaitMs: number;

  constructor(
    private readonly flush: (target: string, items: BurstItem[]) => void,
    options: BurstOptions = {},
  ) {
    this.quietMs = options.quietMs ?? 1500;
    this.maxWaitMs = options.maxWaitMs ?? 5000;
  }

  add(item: BurstItem): void {
    const had = this.pending.get(item.key);
    this.pending.set(item.key, had ? { ...had, ...item, outcome: item.outcome ?? had.outcome } : item);
    if (this.quiet) clearTimeout(this.quiet);
    this.quiet = setTimeout(() => this.emit(), this.quietMs);
    this.deadline ??= setTimeout(() => this.emit(), this.maxWaitMs);
  }

  /** Drops a pending alert (it was shown some other way). */
  remove(key: string): void {
    this.pending.delete(key);
  }

  /** Shows what is pending now. */
  emit(): void {
    if (this.quiet) clearTimeout(this.quiet);
    if (this.deadline) clearTimeout(this.deadline);
    this.quiet = null;
    this.deadline = null;
    const byTarget = new Map<string, BurstItem[]>();
    for (const item of this.pending.values()) byTarget.set(item.target, [...(byTarget.get(item.target) ?? []), item]);
    this.pending.clear();
    for (const [target, items] of byTarget) this.flush(target, items);
  }

  dispose(): void {
    if (this.quiet) clearTimeout(this.quiet);
    if (this.deadline) clearTimeout(this.deadline);
    this.pending.clear();
  }
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
