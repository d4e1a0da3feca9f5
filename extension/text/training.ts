/** Training text: an evaluation (metrics, per-class scores, gates) as markdown. */
import type { EvaluateSummary } from '../../server/protocol/training';
import { ref } from './version';

/** Markdown of an evaluation: metrics, per-class scores and gates. */
export function evaluationMarkdown(s: EvaluateSummary): string {
  const lines = [
    `# Evaluation of ${ref(s.version)}`,
    '',
    `${s.rows} rows from \`${s.data}\`, run \`${s.run.id}\`.`,
    '',
    '| metric | value |',
    '| --- | ---: |',
  ];
  for (const [k, x] of Object.entries(s.metrics)) lines.push(`| ${k} | ${x.toFixed(6)} |`);
  const r = s.report;
  if (r.task === 'classification') {
    lines.push(
      '',
      '## Per class',
      '',
      '| class | precision | recall | F1 | support |',
      '| --- | ---: | ---: | ---: | ---: |',
    );
    for (const c of r.perClass)
      lines.push(
        `| ${c.label} | ${c.precision.toFixed(4)} | ${c.recall.toFixed(4)} | ${c.f1.toFixed(4)} | ${c.support} |`,
      );
  }
  if (s.gates) {
    lines.push('', '## Gates', '');
    for (const g of s.gates.results) lines.push(`- ${g.passed ? '✔' : '✘'} ${g.message}`);
  }
  if (r.notes.length) lines.push('', '## Notes', '', ...r.notes.map((n) => `- ${n}`));
  return lines.join('\n') + '\n';
}
