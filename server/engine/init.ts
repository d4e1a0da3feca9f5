/** `modelops init`: a commented starter modelops.yaml and the sample dataset in a folder. */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ModelOpsError } from './errors';
import { starterConfig } from './config/starter';

export interface InitResult {
  /** Absolute paths of the files written. */
  written: string[];
  configPath: string;
}

const DATA_README = `# Seattle weather (sample dataset)

\`seattle-weather.csv\`: 1,461 daily observations for Seattle, 2012–2015 — date, precipitation,
temp_max, temp_min, wind and weather (drizzle, fog, rain, snow, sun).

Source: the vega-datasets npm package, version 3.2.1, file \`data/seattle-weather.csv\`
(BSD-3-Clause license). The observations come from NOAA (public-domain U.S. government data).
`;

/**
 * The examples/ folder, found from the built bundle (dist/cli.js → ../examples) or from the
 * source tree (server/engine/init.ts → ../../examples), whichever exists.
 */
export function examplesDir(): string {
  const here = typeof __dirname === 'string' ? __dirname : process.cwd();
  const candidates = [
    join(here, '..', 'examples'),
    join(here, '..', '..', 'examples'),
    join(process.cwd(), 'examples'),
  ];
  for (const c of candidates) if (existsSync(join(c, 'sample', 'data', 'seattle-weather.csv'))) return c;
  throw new ModelOpsError(
    'examples-missing',
    `The sample dataset was not found (looked in ${candidates.join(', ')}).`,
    'Reinstall ModelOps; the examples/ folder ships with it.',
  );
}

export function initWorkspace(dir: string, options: { force?: boolean } = {}): InitResult {
  const root = resolve(dir);
  const configPath = join(root, 'modelops.yaml');
  if (existsSync(configPath) && !options.force) {
    throw new ModelOpsError(
      'config-exists',
      `${configPath} already exists; not overwriting it.`,
      'Use --force to replace it with the starter config, or edit it.',
    );
  }
  const source = join(examplesDir(), 'sample', 'data', 'seattle-weather.csv');
  mkdirSync(join(root, 'data'), { recursive: true });
  const csv = join(root, 'data', 'seattle-weather.csv');
  const readme = join(root, 'data', 'README.md');
  copyFileSync(source, csv);
  writeFileSync(readme, DATA_README);
  mkdirSync(dirname(configPath), { recursive: true });
  writeFileSync(configPath, starterConfig());
  return { written: [configPath, csv, readme], configPath };
}
