import { resolve } from 'node:path';
import type { CliCommand } from '../command';
import { initWorkspace } from '../../engine/init';
import { displayPath, paint } from '../output';

export const initCommand: CliCommand = {
  name: 'init',
  summary: 'Create a starter modelops.yaml and a sample dataset',
  usage: [
    'Usage: modelops init [dir] [--force]',
    '',
    'Writes a commented modelops.yaml and data/seattle-weather.csv (with data/README.md',
    'stating its source and license) into dir (default: the current folder).',
    '',
    '  --force   overwrite an existing modelops.yaml',
  ].join('\n'),
  async run(argv, io) {
    const force = argv.includes('--force');
    const unknown = argv.filter((a) => a.startsWith('-') && a !== '--force');
    if (unknown.length) {
      io.err(`modelops init: unknown option ${unknown[0]}. Run 'modelops help init'.`);
      return 2;
    }
    const dir = argv.find((a) => !a.startsWith('-')) ?? '.';
    const r = initWorkspace(resolve(io.cwd, dir), { force });
    const p = paint(io.isTTY);
    for (const f of r.written) io.out(`${p.green('created')} ${displayPath(io.cwd, f)}`);
    io.out(`Next: modelops validate ${displayPath(io.cwd, r.configPath)}`);
    return 0;
  },
};
