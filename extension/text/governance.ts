/** Governance text: a version's audit history as markdown, and the CLI line a reviewer runs to approve. */
import type { HistoryResult } from '../../server/protocol/governance';
import type { AuditEntry, VersionRecord } from '../../server/engine/registry/types';
import { md } from '../tree/format';
import { ref } from './version';

/** The exact CLI command that approves `v` for `name` (what Request Approval shows). */
export function approveCommandLine(v: Pick<VersionRecord, 'model' | 'version'>, name: string): string {
  return `modelops approve ${ref(v)} --for ${name} --comment "<what you reviewed>"`;
}

function changeText(x: unknown): string {
  if (x === null || x === undefined) return '—';
  const s = typeof x === 'string' ? x : JSON.stringify(x);
  return s.length > 160 ? `${s.slice(0, 157)}…` : s;
}

function reasonOf(e: AuditEntry): string {
  const after = e.after && typeof e.after === 'object' ? (e.after as Record<string, unknown>) : {};
  return ['reason', 'forceReason', 'overrideReason', 'comment']
    .map((k) => after[k])
    .filter((x): x is string => typeof x === 'string' && x !== '')
    .join('; ');
}

/** A version's history as markdown: the verify status first, then one row per audit entry. */
export function historyMarkdown(r: HistoryResult): string {
  const cell = (s: string) => md(s).replace(/\n/g, ' ');
  const v = r.verification;
  const status = v.ok
    ? `**Audit trail verified**: ${v.entries} entries intact, head #${v.head?.seq ?? 0} \`${v.head?.hash.slice(0, 16) ?? '—'}\` (anchor ${v.anchor}).`
    : `**Audit trail BROKEN** at entry #${v.firstBad?.seq}: ${cell(v.firstBad?.problem ?? 'unknown')}. Entries from there on cannot be trusted; run \`modelops audit verify\`.`;
  const lines = [`# History of ${md(r.ref)}`, '', status, ''];
  if (!r.entries.length) lines.push('No audit entries name this version.');
  else {
    lines.push('| # | time | actor | action | before → after | reason |', '| ---: | --- | --- | --- | --- | --- |');
    for (const e of r.entries)
      lines.push(
        `| ${e.seq} | ${cell(e.at)} | ${cell(e.actor)} | ${cell(e.action)}${e.alias ? ` \`${cell(e.alias)}\`` : ''}${e.target ? ` → ${cell(e.target)}` : ''} | ${cell(changeText(e.before))} → ${cell(changeText(e.after))} | ${cell(reasonOf(e))} |`,
      );
  }
  return lines.join('\n') + '\n';
}
