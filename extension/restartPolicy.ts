/** When the sidecar is restarted after a crash. Free of `vscode` so it is unit-tested. */

/** 1 s, 2 s, 4 s … capped at 30 s; give up after more than 5 crashes within 3 minutes. */
export const RESTART_POLICY = { firstDelayMs: 1000, maxDelayMs: 30_000, maxCrashes: 5, windowMs: 3 * 60_000 } as const;

/** Delay before the next restart, given how many crashes happened inside the window (≥ 1). */
export function backoffDelay(crashesInWindow: number): number {
  const exp = Math.max(0, crashesInWindow - 1);
  return Math.min(RESTART_POLICY.firstDelayMs * 2 ** exp, RESTART_POLICY.maxDelayMs);
}

/**
 * Records a crash at `now` and says what to do: restart after `delayMs`, or give up. `crashes`
 * holds earlier crash times; the returned list replaces it.
 */
export function onCrash(
  crashes: readonly number[],
  now: number,
): { crashes: number[]; action: 'restart' | 'give-up'; delayMs: number } {
  const recent = crashes.filter((t) => now - t < RESTART_POLICY.windowMs).concat(now);
  if (recent.length > RESTART_POLICY.maxCrashes) return { crashes: recent, action: 'give-up', delayMs: 0 };
  return { crashes: recent, action: 'restart', delayMs: backoffDelay(recent.length) };
}
