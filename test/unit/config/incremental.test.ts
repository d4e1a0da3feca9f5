import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isPair, isScalar, isSeq, type Node } from 'yaml';
import { analyzeConfig, ConfigAnalyzer, type Analysis } from '../../../server/engine/config';
import { BASE, prng, REPO, SAMPLE_CONFIG_PATH } from './helpers';

interface Seed {
  text: string;
  path: string;
}

/** A valid config with many deploy targets, so nested chunks get split (and one edit touches one target). */
function bigConfig(targets: number): string {
  let s = BASE.replace('monitor:\n  target: local\n', '');
  for (let i = 0; i < targets; i++)
    s += `    t${i}:\n      type: http\n      url: https://models${i}.example.com/v2\n      tokenSecret: t${i}\n      requireApproval: ${i % 2 === 0}\n`;
  return `${s}monitor:\n  target: t0\n  window: 100\n`;
}

/** Top-level compact lists, comments between blocks, block scalars, quoted text spanning lines. */
const ODD = `# preamble comment

version: 1
project: odd
data:
  train: data/seattle-weather.csv
  target: weather
  features:
  - precipitation
  - temp_max
# a comment at column 0 inside data
  missing: drop
model:
  name: "weather
    model"
  task: classification
  layers:
    - type: dense
      units: 5
      activation: softmax
train:
  command: |
    python train.py
      --fast

  epochs: 3
evaluate:
  metrics:
  - accuracy
  - f1_macro
  gates: { accuracy: ">= 0.5" }
# trailing comment
`;

/** Deploy targets (a split region) whose chunks end in block scalars, empty values and items, comments. */
const EDGES = bigConfig(6).replace(
  '    t0:\n',
  `    e1:
      type: http
      url: https://e1.example.com
      note: |+
        kept

    e2:
      type: http
      note: >-
        folded
        text
    e3:
      type: local
      tags:
      -
    e4:
      type: local
      extra:
    e5:
      type: local   # trailing comment
      # a comment line at the end

    e6: { type: local }
    e7:
      - a
    e8: "quoted
      over two lines"
    t0:
`,
);

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
  '#',
  '\n',
  '  ',
  'null',
  'true',
  '-1',
  '0.5',
  '~',
  '|',
  '>',
  '? ',
  '%',
  '\u00e9',
  '\ud83d\ude00',
  'x: 1',
  '\n  ',
  '\nk: ',
];
/** Things that send the analysis down the whole-text path (and CRLF line ends, which do not). */
const HOSTILE = [
  '&a ',
  '*a',
  '\t',
  '\n---\n',
  '\n...\n',
  '\r\n',
  '\r',
  '\ufeff',
  '%YAML 1.2\n',
  '!!str ',
  '!foo ',
  '? ',
];

/** Line ranges of top-level blocks (a line at column 0 that is not a comment starts one). */
function blocks(lines: string[]): Array<[number, number]> {
  const starts: number[] = [];
  lines.forEach((l, i) => {
    if (l.length > 0 && l[0] !== ' ' && l[0] !== '#') starts.push(i);
  });
  if (starts.length === 0) return [[0, lines.length]];
  return starts.map((s, k) => [k === 0 ? 0 : s, k + 1 < starts.length ? starts[k + 1] : lines.length]);
}

/** Robustness-style mutation of a piece of text. */
function mutateText(src: string, r: () => number): string {
  let s = src;
  const at = Math.floor(r() * (s.length + 1));
  const lines = s.split('\n');
  const li = Math.floor(r() * lines.length);
  switch (Math.floor(r() * 9)) {
    case 0:
      return s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 5));
    case 1:
      return s.slice(0, at) + TOKENS[Math.floor(r() * TOKENS.length)] + s.slice(at);
    case 2:
      return s.slice(0, at) + s.slice(at, at + 8) + s.slice(at);
    case 3:
      lines.splice(li, 1);
      return lines.join('\n');
    case 4:
      lines.splice(li, 0, lines[li]);
      return lines.join('\n');
    case 5: {
      const lj = Math.floor(r() * lines.length);
      [lines[li], lines[lj]] = [lines[lj], lines[li]];
      return lines.join('\n');
    }
    case 6:
      s = s.replace(
        /: ([^\n]+)/,
        (_m, v: string) =>
          `: ${['[1, 2]', '{ a: 1 }', '42', 'true', '"text"', '', '-7.5', v.toUpperCase(), '"open', "'it''s'"][Math.floor(r() * 10)]}`,
      );
      return s;
    case 7: // a value edit that keeps the text valid YAML: change a number
      return s.replace(/\b(\d+)\b/, (_m, d: string) => String(Number(d) + 1 + Math.floor(r() * 100)));
    default:
      lines[li] = ' '.repeat(Math.floor(r() * 6)) + lines[li].trimStart();
      return lines.join('\n');
  }
}

/** One editing step on the whole document. */
function edit(text: string, seed: Seed, r: () => number): string {
  const lines = text.split('\n');
  const bs = blocks(lines);
  const pick = () => bs[Math.floor(r() * bs.length)];
  const op = r();
  if (op < 0.4) {
    // edit inside one block (usually the common, benign kind of edit)
    const [a, b] = pick();
    const piece = lines.slice(a, b).join('\n');
    const benign = r() < 0.5;
    const changed = benign
      ? piece
          .replace(/\b(\d+)\b/, (_m, d: string) => String(Number(d) + 1))
          .replace(/(name|project|target): ([\w-]+)/, (_m, k: string, v: string) => `${k}: ${v}x`)
      : mutateText(piece, r);
    return [...lines.slice(0, a), ...changed.split('\n'), ...lines.slice(b)].join('\n');
  }
  if (op < 0.5) {
    // several blocks
    let t = text;
    for (let k = 0; k < 3; k++) t = edit(t, seed, () => r() * 0.4);
    return t;
  }
  if (op < 0.6) {
    // insert a copy of a block (duplicate key), or a renamed copy
    const [a, b] = pick();
    const copy = lines.slice(a, b).filter((l) => !l.startsWith('#'));
    if (r() < 0.5 && copy.length > 0) copy[0] = copy[0].replace(/^([A-Za-z_][\w.-]*)/, '$1x');
    const [at] = pick();
    return [...lines.slice(0, at), ...copy, ...lines.slice(at)].join('\n');
  }
  if (op < 0.68) {
    // delete a block
    const [a, b] = pick();
    return [...lines.slice(0, a), ...lines.slice(b)].join('\n');
  }
  if (op < 0.74) {
    // move a block
    const [a, b] = pick();
    const moved = lines.slice(a, b);
    const rest = [...lines.slice(0, a), ...lines.slice(b)];
    const at = Math.floor(r() * (rest.length + 1));
    return [...rest.slice(0, at), ...moved, ...rest.slice(at)].join('\n');
  }
  if (op < 0.8) {
    // something that must take the whole-text path
    const at = Math.floor(r() * (text.length + 1));
    const h = HOSTILE[Math.floor(r() * HOSTILE.length)];
    return h === '\r\n'
      ? text.replace(/\n/g, '\r\n')
      : h === '\ufeff'
        ? h + text
        : text.slice(0, at) + h + text.slice(at);
  }
  if (op < 0.88) return seed.text; // back to a valid document
  // edit inside a deep (nested) chunk: a line that is indented
  const deep = lines.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('    '));
  if (deep.length === 0) return mutateText(text, r);
  const [, i] = deep[Math.floor(r() * deep.length)];
  lines[i] =
    r() < 0.6
      ? lines[i].replace(/\b(\d+)\b/, (_m, d: string) => String(Number(d) + 7)).replace(/: ([a-z]+)$/, ': $1z')
      : mutateText(lines[i], r);
  return lines.join('\n');
}

/** Node kinds and [start, end) offsets of every node, in document order. */
function shape(node: unknown, out: unknown[]): unknown[] {
  if (isPair(node)) {
    out.push('pair');
    shape(node.key, out);
    shape(node.value, out);
  } else if (isMap(node) || isSeq(node)) {
    out.push(isMap(node) ? 'map' : 'seq', node.flow ?? false, node.range?.[0], node.range?.[1]);
    for (const it of node.items as unknown[]) shape(it, out);
    out.push('end');
  } else if (isScalar(node)) out.push('scalar', node.type, node.value, node.range?.[0], node.range?.[1]);
  else if (node === null || node === undefined) out.push(null);
  else out.push('other', (node as Node).range?.[0]);
  return out;
}

function plain(a: Analysis): unknown {
  try {
    return a.parsed.doc?.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return `threw ${e instanceof Error ? e.message : String(e)}`;
  }
}

function same(inc: Analysis, full: Analysis, what: string): void {
  assert.deepEqual(inc.diagnostics, full.diagnostics, `diagnostics differ for ${what}`);
  assert.deepEqual(inc.value, full.value, `values differ for ${what}`);
  assert.deepEqual(inc.config, full.config, `configs differ for ${what}`);
  assert.deepEqual(
    shape(inc.parsed.doc?.contents, []),
    shape(full.parsed.doc?.contents, []),
    `node ranges differ for ${what}`,
  );
  assert.deepEqual(plain(inc), plain(full), `toJS() differs for ${what}`);
  assert.deepEqual(
    inc.parsed.doc?.errors.map((e) => [e.code, e.pos, e.message]),
    full.parsed.doc?.errors.map((e) => [e.code, e.pos, e.message]),
    `parser errors differ for ${what}`,
  );
}

test('incremental analysis equals a fresh full analysis over 400 seeded edit sequences (~1,400 edits)', () => {
  const valid = join(REPO, 'test', 'fixtures', 'config', 'valid');
  const seeds: Seed[] = [
    { text: BASE, path: SAMPLE_CONFIG_PATH },
    { text: ODD, path: SAMPLE_CONFIG_PATH },
    { text: bigConfig(12), path: SAMPLE_CONFIG_PATH },
    { text: bigConfig(30), path: SAMPLE_CONFIG_PATH },
    { text: bigConfig(20).replace(/\n/g, '\r\n'), path: SAMPLE_CONFIG_PATH },
    { text: EDGES, path: SAMPLE_CONFIG_PATH },
    ...readdirSync(valid)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => ({ text: readFileSync(join(valid, f), 'utf8'), path: join(valid, f) })),
  ];
  // A longer soak: MODELOPS_FUZZ_SEQUENCES=20000 MODELOPS_FUZZ_SEED=7 node scripts/run-tests.mjs <this file>
  const sequences = Number(process.env.MODELOPS_FUZZ_SEQUENCES ?? 400);
  const r = prng(Number(process.env.MODELOPS_FUZZ_SEED ?? 424242));
  // Full analyses of the unedited seeds, computed once (per aliasExists answer).
  const seedFull = new Map<string, Analysis>();
  let steps = 0;
  let incremental = 0;
  let reused = 0;
  let withErrors = 0;
  for (let sq = 0; sq < sequences; sq++) {
    const si = sq % seeds.length;
    const seed = seeds[si];
    const analyzer = new ConfigAnalyzer();
    let text = seed.text;
    const ctx = { path: seed.path, aliasExists: () => sq % 2 === 0 };
    const key = `${si}:${sq % 2}`;
    if (!seedFull.has(key)) seedFull.set(key, analyzeConfig(text, ctx));
    same(analyzer.analyze(text, ctx), seedFull.get(key) as Analysis, `sequence ${sq} (seed)`);
    // Mostly short sequences (many starting points), every tenth a long one (a stale cache).
    const stepsHere = sq % 10 === 0 ? 12 : 1 + Math.floor(r() * 4);
    for (let s = 0; s < stepsHere; s++) {
      text = edit(text, seed, r);
      const before = analyzer.stats.incremental;
      const inc = analyzer.analyze(text, ctx);
      const full = analyzeConfig(text, ctx);
      try {
        same(inc, full, `sequence ${sq} step ${s}`);
      } catch (e) {
        throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- text ---\n${text}\n--- end ---`, {
          cause: e,
        });
      }
      steps++;
      if (analyzer.stats.incremental > before) incremental++;
      if (full.diagnostics.some((d) => d.severity === 'error')) withErrors++;
    }
    reused += analyzer.stats.chunksReused;
  }
  // Not a test that passes by always parsing the whole text: most steps take the fast path and
  // re-use chunks; many documents have errors, so the fall-back path is compared as well.
  assert.ok(steps > sequences * 3, `${steps} steps`);
  if (process.env.MODELOPS_FUZZ_SEQUENCES) console.log({ steps, incremental, reused, withErrors });
  assert.ok(incremental > steps * 0.3, `only ${incremental} of ${steps} steps were incremental`);
  assert.ok(reused > steps, `only ${reused} chunks re-used`);
  assert.ok(withErrors > steps * 0.2, `only ${withErrors} of ${steps} documents had errors`);
});

test('an edit inside one deploy target re-parses only that target', () => {
  const text = bigConfig(60);
  const analyzer = new ConfigAnalyzer();
  analyzer.analyze(text, { path: SAMPLE_CONFIG_PATH });
  const parsedBefore = analyzer.stats.charsParsed;
  const edited = text.replace('https://models30.example.com/v2', 'https://models30b.example.com/v2');
  const a = analyzer.analyze(edited, { path: SAMPLE_CONFIG_PATH });
  same(a, analyzeConfig(edited, { path: SAMPLE_CONFIG_PATH }), 'one target edited');
  assert.equal(analyzer.stats.incremental, 2);
  const parsed = analyzer.stats.charsParsed - parsedBefore;
  assert.ok(parsed < 200, `${parsed} characters re-parsed of ${edited.length}`);
  // A length change early in the file shifts every later chunk's ranges.
  const shifted = edited.replace('epochs: 5', 'epochs: 500');
  same(
    analyzer.analyze(shifted, { path: SAMPLE_CONFIG_PATH }),
    analyzeConfig(shifted, { path: SAMPLE_CONFIG_PATH }),
    'ranges shifted',
  );
});

test('duplicate top-level and nested keys are reported exactly as a full parse reports them', () => {
  const text = bigConfig(30).replace('    t7:', '    t3:').replace('evaluate:', 'train:\n  epochs: 2\nevaluate:');
  const analyzer = new ConfigAnalyzer();
  analyzer.analyze(bigConfig(30), { path: SAMPLE_CONFIG_PATH });
  const a = analyzer.analyze(text, { path: SAMPLE_CONFIG_PATH });
  same(a, analyzeConfig(text, { path: SAMPLE_CONFIG_PATH }), 'duplicates');
  assert.equal(analyzer.stats.incremental, 2, 'duplicates stay on the fast path');
  assert.deepEqual(
    a.diagnostics.filter((d) => d.code === 'duplicate-key').map((d) => d.message),
    [
      "Duplicate key 'train': each key may appear once in a map.",
      "Duplicate key 't3': each key may appear once in a map.",
    ],
  );
});

test('CRLF line ends stay on the fast path', () => {
  const analyzer = new ConfigAnalyzer();
  const crlf = bigConfig(30).replace(/\n/g, '\r\n');
  analyzer.analyze(crlf, { path: SAMPLE_CONFIG_PATH });
  const edited = crlf
    .replace('https://models9.example.com/v2', 'https://models9b.example.com/v2')
    .replace('epochs: 5', 'epochs: 50\r\n  batchSize: x');
  same(
    analyzer.analyze(edited, { path: SAMPLE_CONFIG_PATH }),
    analyzeConfig(edited, { path: SAMPLE_CONFIG_PATH }),
    'CRLF',
  );
  assert.equal(analyzer.stats.incremental, 2);
  assert.equal(analyzer.stats.full, 0);
});

test('anchors, tabs, directives and syntax errors take the whole-text path', () => {
  const analyzer = new ConfigAnalyzer();
  same(analyzer.analyze(BASE, { path: SAMPLE_CONFIG_PATH }), analyzeConfig(BASE, { path: SAMPLE_CONFIG_PATH }), 'base');
  assert.equal(analyzer.stats.full, 0);
  const whole = [
    BASE.replace('epochs: 5', 'epochs: &e 5'),
    BASE.replace('  epochs', '\tepochs'),
    `%YAML 1.2\n---\n${BASE}`,
    BASE.replace('epochs: 5', 'epochs: [5'),
    BASE.replace('train:', 'train:\r'),
    `\ufeff${BASE}`,
    `${BASE}---\nversion: 1\n`,
    BASE.replace('train:', '? train\n:'),
    // A syntax error without brackets or quotes still runs on: the broken compact map of
    // `project` swallows the `monitor` key after it (found by the sequences above).
    BASE.replace('project: demo\n', '').replace('    staging:\n', '    staging:\nproject: demox\n'),
  ];
  for (const t of whole) {
    const fullBefore: number = analyzer.stats.full;
    same(
      analyzer.analyze(t, { path: SAMPLE_CONFIG_PATH }),
      analyzeConfig(t, { path: SAMPLE_CONFIG_PATH }),
      JSON.stringify(t),
    );
    assert.equal(analyzer.stats.full, fullBefore + 1, JSON.stringify(t));
  }
});
