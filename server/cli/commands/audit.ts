/** `modelops audit`: the hash-chained audit trail, and `modelops audit verify`. */
import type { CliCommand } from '../command';
import { paint, printable, table } from '../output';
import { ModelOpsError } from '../../engine/errors';
import type { AuditEntry } from '../../engine/registry';

import { findWorkspaceRoot, parseCli } from '../shared/args';
import { openForRead } from '../shared/registry';

const USAGE = `modelops audit [--model <name>] [--since <date>] [--limit n] [--json | --csv] [--root DIR]
modelops audit verify [--json] [--root DIR]

Lists the audit trail (oldest first): who changed what, when, before and after.
verify walks the hash chain and exits 1 naming the first entry that was edited,
deleted or reordered.`;

const CSV_COLUMNS = [
  'seq',
  'at',
  'actor',
  'action',
  'subject',
  'model',
  'version',
  'alias',
  'target',
  'before',
  'after',
  'prevHash',
  'hash',
] as const;

/** RFC 4180 field; a leading = + - @ is prefixed with ' so a spreadsheet does not run it as a formula. */
export function csvField(v: unknown): string {
  let s = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function short(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}

export const auditCommand: CliCommand = {
  name: 'audit',
  summary: 'Show the tamper-evident audit trail, or verify its hash chain',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseCli(
      argv,
      {
        model: { type: 'string' },
        since: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
        csv: { type: 'boolean' },
        root: { type: 'string' },
      },
      USAGE,
    );
    const sub = positionals[0];
    if (sub !== undefined && sub !== 'verify')
      throw new ModelOpsError('cli-usage', `Unknown audit subcommand '${sub}'.`, `Usage:\n${USAGE}`);
    if (values.json && values.csv)
      throw new ModelOpsError('cli-usage', 'Pass --json or --csv, not both.', `Usage:\n${USAGE}`);
    const root = findWorkspaceRoot(io.cwd, values.root);
    // Verification and listing write nothing; open read-only unless the schema must be upgraded first.
    const reg = openForRead(root);
    const c = paint(io.isTTY);
    try {
      if (sub === 'verify') {
        const r = reg.verifyAudit();
        if (values.json) io.out(JSON.stringify(r, null, 2));
        else if (r.ok) {
          io.out(
            `${c.green('✓')} audit trail intact: ${r.entries} entr${r.entries === 1 ? 'y' : 'ies'}${r.head ? `, head #${r.head.seq} ${r.head.hash}` : ''}`,
          );
          if (r.anchor !== 'checked')
            io.out(
              c.dim(
                `  the head anchor (.modelops/audit-head.json) is ${r.anchor}: deletions from the end cannot be detected`,
              ),
            );
        } else {
          io.out(
            `${c.red('✗')} audit trail broken at entry #${r.firstBad?.seq}: ${printable(r.firstBad?.problem ?? '')}`,
          );
          io.out(
            `  ${r.entries} entr${r.entries === 1 ? 'y' : 'ies'} before it verified${r.head ? ` (last good #${r.head.seq} ${r.head.hash})` : ''}.`,
          );
          io.out('  Restore .modelops/registry.db from a backup, or keep it as evidence; nothing was changed.');
        }
        return r.ok ? 0 : 1;
      }
      let limit: number | undefined;
      if (values.limit !== undefined) {
        limit = Number(values.limit);
        if (!Number.isInteger(limit) || limit < 1)
          throw new ModelOpsError(
            'cli-usage',
            `--limit '${String(values.limit)}' is not a positive whole number.`,
            `Usage:\n${USAGE}`,
          );
      }
      const entries: AuditEntry[] = reg.auditLog({ model: values.model, since: values.since, limit });
      if (values.json) io.out(JSON.stringify(entries, null, 2));
      else if (values.csv) {
        io.out(CSV_COLUMNS.join(','));
        for (const e of entries) io.out(CSV_COLUMNS.map((k) => csvField(e[k])).join(','));
      } else if (entries.length === 0) io.out('No audit entries.');
      else
        io.out(
          table(
            ['#', 'at', 'actor', 'action', 'subject', 'before', 'after'],
            entries.map((e) => [e.seq, e.at, e.actor, e.action, e.subject, short(e.before), short(e.after)]),
          ),
        );
      return 0;
    } finally {
      reg.close();
    }
  },
};
