import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CliCommand } from '../command';
import { analyzeConfig, formatDiagnostic } from '../../engine/config';
import { ModelOpsError } from '../../engine/errors';
import { displayPath, paint } from '../output';

export const validateCommand: CliCommand = {
  name: 'validate',
  summary: 'Check modelops.yaml: syntax, schema and meaning (exit 1 on errors)',
  usage: [
    'Usage: modelops validate [file] [--json]',
    '',
    'Checks the config (default ./modelops.yaml) and prints one line per problem:',
    '  file:line:col severity message [code]',
    'Exit code 1 when there is an error, 0 otherwise (warnings do not fail).',
    '',
    '  --json   print the diagnostics as a JSON array (zero-based LSP ranges)',
  ].join('\n'),
  async run(argv, io) {
    const json = argv.includes('--json');
    const unknown = argv.filter((a) => a.startsWith('-') && a !== '--json');
    if (unknown.length) {
      io.err(`modelops validate: unknown option ${unknown[0]}. Run 'modelops help validate'.`);
      return 2;
    }
    const file = resolve(io.cwd, argv.find((a) => !a.startsWith('-')) ?? 'modelops.yaml');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ModelOpsError(
        'config-not-found',
        code === 'ENOENT' ? `No config at ${file}.` : `Cannot read ${file} (${code ?? 'error'}).`,
        'Run `modelops init` to create one, or pass the path: modelops validate path/to/modelops.yaml',
      );
    }
    const { diagnostics } = analyzeConfig(text, { path: file });
    const errors = diagnostics.filter((d) => d.severity === 'error').length;
    if (json) {
      io.out(JSON.stringify(diagnostics, null, 2));
      return errors ? 1 : 0;
    }
    const shown = displayPath(io.cwd, file);
    const p = paint(io.isTTY);
    const sorted = [...diagnostics].sort(
      (a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character,
    );
    for (const d of sorted) {
      const line = formatDiagnostic(shown, d);
      io.out(d.severity === 'error' ? p.red(line) : d.severity === 'warning' ? p.yellow(line) : line);
    }
    const warnings = diagnostics.filter((d) => d.severity === 'warning').length;
    io.out(
      errors || warnings
        ? `${shown}: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`
        : `${shown}: ${p.green('valid')}`,
    );
    return errors ? 1 : 0;
  },
};
