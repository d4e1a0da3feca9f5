/** Text of a comparison of two versions: the compare tab's title and the details as markdown. */
import type { VersionComparison } from '../../server/engine/registry/types';
import { md, shortDigest } from '../tree/format';
import { gateSummary, ref } from './version';

/** The compare tab's title: `weather@1.0.0 ↔ 1.1.0 · compare` (one model), else both references. */
export function compareTitle(c: Pick<VersionComparison, 'a' | 'b'>): string {
  return `${ref(c.a)} ↔ ${c.a.model === c.b.model ? c.b.version : ref(c.b)} · compare`;
}

/** Markdown table of two versions' metrics: a, b and the difference. */
export function comparisonMarkdown(c: VersionComparison): string {
  const a = ref(c.a);
  const b = ref(c.b);
  const fmt = (x: number | null): string => (x === null ? '—' : x.toFixed(4));
  const sign = (x: number | null): string => (x === null ? '—' : `${x > 0 ? '+' : ''}${x.toFixed(4)}`);
  const rows = Object.entries(c.metrics).map(([m, [x, y, d]]) => `| ${m} | ${fmt(x)} | ${fmt(y)} | ${sign(d)} |`);
  return [
    `# ${a} vs ${b}`,
    '',
    `| metric | ${c.a.version} | ${c.b.version} | Δ |`,
    '| --- | ---: | ---: | ---: |',
    ...(rows.length ? rows : ['| (no metrics) | | | |']),
    '',
    `- Signature: ${c.signatureChanged ? '**changed** (inputs or outputs differ)' : 'same'}`,
    `- Artifact: ${c.sameArtifact ? 'identical bytes' : `${shortDigest(c.a.artifactDigest)} → ${shortDigest(c.b.artifactDigest)}`}`,
    `- Config: ${c.a.configDigest === c.b.configDigest ? 'same' : `${shortDigest(c.a.configDigest)} → ${shortDigest(c.b.configDigest)}`}`,
    `- Data: ${dataLine(c)}`,
    `- Aliases: ${c.a.version} ${c.a.aliases.join(', ') || '—'}; ${c.b.version} ${c.b.aliases.join(', ') || '—'}`,
    `- ${gateSummary(c.a).replace(/^gates/, `Gates of ${c.a.version}`)}`,
    `- ${gateSummary(c.b).replace(/^gates/, `Gates of ${c.b.version}`)}`,
    '',
  ].join('\n');
}

/** Whether the metrics come from the same training data (and so the same test split). */
function dataLine(c: VersionComparison): string {
  const data = (v: VersionComparison['a']) => {
    const d = v.datasets.find((x) => x.role === 'train');
    return d ? `${md(d.path)} (${shortDigest(d.digest)})` : 'not recorded';
  };
  if (c.sameData === true) return `same, ${data(c.a)}`;
  const both = `${c.a.version} ${data(c.a)}; ${c.b.version} ${data(c.b)}`;
  return c.sameData === false
    ? `**different** — ${both}: each version's metrics come from its own test split`
    : `not comparable — ${both}`;
}
