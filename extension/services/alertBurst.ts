/**
 * Alerts come in bursts (one window can break a rule and drift on several features at once, and a
 * Check Drift can raise a dozen): they are collected for a moment and handed on per target, to be
 * shown as one notification (services/alerts.ts; the wording is text/alerts.ts). Pure code (no
 * `vscode`), so it is unit-tested as is.
 */

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
