import { join } from 'node:path';
import type { Range } from '../../../server/engine/config/types';

export const REPO = join(__dirname, '..', '..', '..');
/** A config path next to the sample data, so `data/seattle-weather.csv` resolves. */
export const SAMPLE_CONFIG_PATH = join(REPO, 'examples', 'sample', 'modelops.yaml');

/** Zero-based range of the `occurrence`-th appearance of `needle` in `text` (single line). */
export function rangeOf(text: string, needle: string, occurrence = 0): Range {
  let at = -1;
  for (let i = 0; i <= occurrence; i++) {
    at = text.indexOf(needle, at + 1);
    if (at === -1) throw new Error(`'${needle}' not found (occurrence ${occurrence})`);
  }
  const before = text.slice(0, at);
  const line = before.split('\n').length - 1;
  const character = at - (before.lastIndexOf('\n') + 1);
  return { start: { line, character }, end: { line, character: character + needle.length } };
}

export const BASE = `version: 1
project: demo
data:
  train: data/seattle-weather.csv
  target: weather
  features: [precipitation, temp_max, temp_min, wind]
model:
  name: weather
  task: classification
  layers:
    - { type: dense, units: 16, activation: relu }
    - { type: dense, units: 5, activation: softmax }
train:
  epochs: 5
  learningRate: 0.01
evaluate:
  metrics: [accuracy, f1_macro]
  gates:
    accuracy: ">= 0.5"
deploy:
  targets:
    local: { type: local, port: 8765 }
    staging:
      type: http
      url: https://models.example.com
      tokenSecret: staging
monitor:
  target: local
`;

/** A small seeded PRNG so failures reproduce (the tests' one mulberry32). */
export { mulberry32 as prng } from '../fixtures/random';

/** Tokens the mutator inserts: YAML syntax, odd scalars, tabs, non-ASCII. */
const TOKENS = [
  ':',
  '- ',
  '[',
  ']',
  '{',
  '}',
  ',',
  '"',
  "'",
  '&a ',
  '*a',
  '!!str ',
  '#',
  '\t',
  '\n',
  '  ',
  'null',
  'true',
  '1e309',
  '-1',
  '0.5',
  '"x"',
  '~',
  '|',
  '>',
  '? ',
  '%',
  '@',
  '\u00e9',
  '\ud83d\ude00',
  '\ufffd',
];

/** A seeded mutation of a config (delete, insert, duplicate, swap, retype, re-indent), for fuzzing and benchmarks. */
export function mutate(src: string, r: () => number): string {
  let s = src;
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * (s.length + 1));
    const lines = s.split('\n');
    const li = Math.floor(r() * lines.length);
    switch (Math.floor(r() * 8)) {
      case 0: // delete chars
        s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 5));
        break;
      case 1: // insert a token
        s = s.slice(0, at) + TOKENS[Math.floor(r() * TOKENS.length)] + s.slice(at);
        break;
      case 2: // duplicate chars
        s = s.slice(0, at) + s.slice(at, at + 8) + s.slice(at);
        break;
      case 3: // delete a line
        lines.splice(li, 1);
        s = lines.join('\n');
        break;
      case 4: // duplicate a line
        lines.splice(li, 0, lines[li]);
        s = lines.join('\n');
        break;
      case 5: // swap two lines
        {
          const lj = Math.floor(r() * lines.length);
          [lines[li], lines[lj]] = [lines[lj], lines[li]];
          s = lines.join('\n');
        }
        break;
      case 6: // swap a scalar's type
        s = s.replace(
          /: ([^\n]+)/,
          (_m, v: string) =>
            `: ${['[1, 2]', '{ a: 1 }', '42', 'true', '"text"', '', '-7.5', v.toUpperCase()][Math.floor(r() * 8)]}`,
        );
        break;
      default: // re-indent a line
        lines[li] = ' '.repeat(Math.floor(r() * 6)) + lines[li].trimStart();
        s = lines.join('\n');
    }
  }
  return s;
}
