/**
 * The Datasets node's text: each data version with its rows, size, whether its bytes are stored
 * (so Checkout Dataset… can restore them) and the versions that used it. Pure (no `vscode`), so
 * it is unit-tested as is; modelTree.ts turns it into tree items.
 */
import type { DatasetInfo } from '../../server/protocol/monitoring';
import { formatBytes } from '../../shared/format';

/** "stored", "freed by gc", "digest only". */
export function storedState(d: Pick<DatasetInfo, 'stored' | 'freedAt'>): string {
  if (d.stored) return 'stored';
  return d.freedAt ? 'freed by gc' : 'digest only';
}

/** "weather@1.2.0 (production), weather@1.1.0" — who trained or evaluated on this data. */
export function usedByText(d: Pick<DatasetInfo, 'usedBy'>): string {
  return d.usedBy
    .map((u) => `${u.model}@${u.version}${u.aliases.length ? ` (${u.aliases.join(', ')})` : ''}`)
    .join(', ');
}

/** The tree item's description: "1,461 rows · 45.2 KB · stored · 2 versions". */
export function datasetDescription(d: DatasetInfo): string {
  const versions = new Set(d.usedBy.map((u) => `${u.model}@${u.version}`)).size;
  return [
    `${d.rows.toLocaleString('en-US')} rows`,
    d.stored ? formatBytes(d.stored.size) : '',
    storedState(d),
    versions ? `${versions} version${versions === 1 ? '' : 's'}` : 'no version',
  ]
    .filter(Boolean)
    .join(' · ');
}

/** The tooltip, as markdown: digest, shape, storage and every use with its role. */
export function datasetTooltip(d: DatasetInfo): string {
  const md = (s: string) => s.replace(/([\\`*_{}[\]()#+\-.!|<>])/g, '\\$1');
  const lines = [
    `**${md(d.path)}**`,
    '',
    `\`${d.digest}\``,
    '',
    `${d.rows.toLocaleString('en-US')} rows, ${d.columns.length} columns: ${d.columns.map((c) => `${md(c.name)} (${c.type})`).join(', ')}`,
    '',
  ];
  if (d.stored)
    lines.push(
      `Stored: ${formatBytes(d.stored.size)} in ${d.stored.chunkCount} chunks (${d.stored.storedAt}) — *Checkout Dataset…* restores the exact bytes.`,
    );
  else if (d.freedAt)
    lines.push(`Bytes removed by \`modelops gc\` at ${d.freedAt}; only the digest and shape are recorded.`);
  else lines.push('Recorded by digest only (before data versions existed): nothing to restore.');
  lines.push('', d.usedBy.length ? 'Used by:' : 'No version uses it.');
  for (const u of d.usedBy)
    lines.push(
      `- ${u.model}@${u.version} — ${u.role}${u.aliases.length ? ` (${u.aliases.join(', ')})` : ''}${u.archived ? ', archived' : ''}`,
    );
  return lines.join('\n');
}
