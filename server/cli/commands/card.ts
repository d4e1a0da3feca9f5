/** `modelops card <model@version> [--out card.md|card.html]`: a model card (Mitchell et al., 2019). */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import type { CliCommand } from '../command';
import { ModelOpsError } from '../../engine/errors';
import { loadConfig } from '../../engine/config';
import { buildModelCard, renderCardHtml, renderCardMarkdown } from '../../engine/governance/card';

import { findWorkspaceRoot, parseCli } from '../shared/args';
import { openForRead } from '../shared/registry';

const USAGE = `modelops card <model@version|alias> [--out card.md|card.html] [--config modelops.yaml] [--root DIR]

Writes the version's model card: details and lineage, intended and out-of-scope uses
(model.card in modelops.yaml), data, metrics and gates, ethical considerations, caveats,
approvals, audit entries and deployments. Markdown to stdout without --out; an .html
--out is one self-contained page with a strict Content-Security-Policy.`;

export const cardCommand: CliCommand = {
  name: 'card',
  summary: 'Write a model card for a version (Markdown or self-contained HTML)',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parseCli(
      argv,
      { out: { type: 'string' }, config: { type: 'string' }, root: { type: 'string' } },
      USAGE,
    );
    const ref = positionals[0];
    if (!ref) throw new ModelOpsError('cli-usage', 'Missing the version reference.', `Usage:\n${USAGE}`);
    const out = values.out;
    const ext = out ? extname(out).toLowerCase() : '.md';
    if (!['.md', '.markdown', '.html', '.htm'].includes(ext)) {
      throw new ModelOpsError(
        'cli-usage',
        `--out ${out} must end in .md or .html.`,
        'Name the file card.md (Markdown) or card.html (a self-contained page).',
      );
    }
    const root = findWorkspaceRoot(io.cwd, values.root);
    const configPath = values.config ? join(io.cwd, values.config) : join(root, 'modelops.yaml');
    let workspaceCard;
    if (existsSync(configPath)) {
      try {
        workspaceCard = (await loadConfig(configPath)).config.model.card;
      } catch {
        workspaceCard = undefined; // the card still reports what the registry knows
      }
    }
    const reg = openForRead(root);
    try {
      const card = await buildModelCard(reg, ref, { workspaceCard });
      const text = ext === '.html' || ext === '.htm' ? renderCardHtml(card) : renderCardMarkdown(card);
      if (!out) {
        io.out(text);
        return 0;
      }
      const path = resolve(io.cwd, out);
      await writeFile(path, text);
      io.out(`wrote the model card of ${card.version.model}@${card.version.version} to ${path}`);
      return 0;
    } finally {
      reg.close();
    }
  },
};
