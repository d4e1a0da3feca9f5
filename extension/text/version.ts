/** How a version is named and its gates are summed up in pickers, messages and markdown. */
import type { VersionRecord } from '../../server/engine/registry/types';
import { gateLabel, gateProblem, gateState } from '../../shared/gateState';

export function ref(v: Pick<VersionRecord, 'model' | 'version'>): string {
  return `${v.model}@${v.version}`;
}

export function gateSummary(v: VersionRecord): string {
  switch (gateState(v.gates)) {
    case 'none':
      return 'gates: none recorded';
    case 'passed':
      return 'gates: passed';
    default:
      // failed, not evaluated, overridden: never worded as a pass.
      return `${gateLabel(v.gates)} — ${gateProblem(v.gates)}`;
  }
}
