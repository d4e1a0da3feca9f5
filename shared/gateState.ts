/**
 * The one reading of a version's gate report, shared by the engine (promotion, deploy), the CLI
 * and the editor (tree icon, labels, quick picks). It lives in shared/ and imports nothing: the
 * extension bundles it. It reads the fields of the registry's GateReport it needs, structurally.
 *
 * - passed: every gate held on an evaluation of this version;
 * - failed: an evaluation ran and at least one gate did not hold;
 * - overridden: it failed or was not evaluated, and someone shipped it with a written reason;
 * - not-evaluated: gates are configured but no evaluation ran, or the evaluation failed —
 *   never shown or treated as passed;
 * - none: no report at all (no gates were configured when the version was made).
 */
/** The part of a gate report (server/engine/registry/types.ts GateReport) this reads. */
export interface GateReportLike {
  passed: boolean;
  results: ReadonlyArray<{ passed: boolean; message: string }>;
  override: { reason: string; at: string } | null;
  /** Set when the gates could not be evaluated, with why. */
  notEvaluated?: string;
}

export type GateState = 'passed' | 'failed' | 'overridden' | 'not-evaluated' | 'none';

/** A gate report recorded without an evaluation carries why the gates could not be evaluated. */
export function isNotEvaluated<R extends GateReportLike>(
  report: R | null | undefined,
): report is R & { notEvaluated: string } {
  return !!report && typeof report.notEvaluated === 'string';
}

export function gateState(report: GateReportLike | null | undefined): GateState {
  if (!report) return 'none';
  if (report.passed && !isNotEvaluated(report)) return 'passed';
  if (report.override) return 'overridden';
  return isNotEvaluated(report) ? 'not-evaluated' : 'failed';
}

/** Whether promotion / a protected deploy needs a written reason (failed or not evaluated, and not yet overridden). */
export function gateNeedsReason(report: GateReportLike | null | undefined): boolean {
  const s = gateState(report);
  return s === 'failed' || s === 'not-evaluated';
}

/** Short words for the state: "gates passed", "gates failed (2)", "gates overridden", "gates not evaluated". */
export function gateLabel(report: GateReportLike | null | undefined): string {
  const s = gateState(report);
  switch (s) {
    case 'passed':
      return 'gates passed';
    case 'failed':
      return `gates failed (${report!.results.filter((r) => !r.passed).length})`;
    case 'overridden':
      return isNotEvaluated(report) ? 'gates not evaluated, overridden' : 'gates failed, overridden';
    case 'not-evaluated':
      return 'gates not evaluated';
    case 'none':
      return 'no gates';
  }
}

/** Why the gates do not hold, in one line: the failed gates' messages, or why they were not evaluated. */
export function gateProblem(report: GateReportLike | null | undefined): string {
  if (!report) return 'no gate report';
  if (isNotEvaluated(report)) return `not evaluated: ${report.notEvaluated}`;
  return report.results
    .filter((r) => !r.passed)
    .map((r) => r.message)
    .join('; ');
}
