/**
 * Editor requests on large configs: the outline keeps whole levels within its budget, the node
 * under the cursor is found by binary search (checked against a linear walk at every offset), and
 * completion deep in a long file answers as it does in a short one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAlias, isMap, isScalar, isSeq, type Document, type Node, type Pair } from 'yaml';
import { ConfigAnalyzer, complete, definition, documentSymbols, hover } from '../../../server/engine/config';
import { keyName, locate, nodeSpan, parseConfig, type PathHit } from '../../../server/engine/config/parse';
import { OUTLINE_BUDGET, type DocumentSymbol } from '../../../server/engine/config/symbols';
import type { Position } from '../../../server/engine/config/types';
import { BASE, SAMPLE_CONFIG_PATH } from './helpers';

const HEAD = `version: 1
project: scale
data:
  train: data/seattle-weather.csv
  target: weather
  features: [precipitation, temp_max, temp_min, wind]
model:
  name: weather-classifier
  task: classification
  layers:
    - { type: dense, units: 32, activation: relu }
    - { type: dense, units: 5, activation: softmax }
train:
  epochs: 40
  optimizer: adam
evaluate:
  metrics: [accuracy, f1_macro]
monitor:
  target: t0
deploy:
  targets:
`;

/** A valid config with `n` deploy targets of 6 lines each (the benchmark's shape). */
function config(n: number): string {
  let out = HEAD;
  for (let i = 0; i < n; i++)
    out += `    t${i}:\n      type: http\n      url: https://models${i}.example.com/v2\n      tokenSecret: t${i}\n      requireApproval: true\n      smokeTest: { rows: 50, tolerance: 0.000001 }\n`;
  return out;
}

const lineOf = (text: string, line: string): number => text.split('\n').indexOf(line);

function count(syms: DocumentSymbol[]): number {
  return syms.reduce((n, s) => n + 1 + count(s.children ?? []), 0);
}

function targetsOf(syms: DocumentSymbol[]): DocumentSymbol[] {
  const deploy = syms.find((s) => s.name === 'deploy');
  return deploy?.children?.find((s) => s.name === 'targets')?.children ?? [];
}

test('a large outline keeps the levels that fit whole: every target, with exact ranges, and no tail cut off', () => {
  const n = 800; // ~4,800 lines: the targets fit (~830 symbols with those above), their keys do not
  const text = config(n);
  const syms = documentSymbols(text);
  assert.ok(count(syms) <= OUTLINE_BUDGET, `${count(syms)} symbols`);
  const targets = targetsOf(syms);
  assert.equal(targets.length, n, 'every target is listed, the last included');
  assert.ok(
    targets.every((t) => t.children === undefined),
    'the level below the targets is left out whole, not for some targets only',
  );
  for (const i of [0, 1, 417, n - 1]) {
    const line = lineOf(text, `    t${i}:`);
    const t = targets[i];
    assert.equal(t.name, `t${i}`);
    assert.equal(t.kind, 'object');
    assert.deepEqual(t.selectionRange, {
      start: { line, character: 4 },
      end: { line, character: 4 + `t${i}`.length },
    });
    // The target's range runs from its key to the end of its block (the start of the next line).
    assert.deepEqual(t.range, { start: { line, character: 4 }, end: { line: line + 6, character: 0 } });
  }
  // The levels above are whole: sections, their keys, the layers.
  const model = syms.find((s) => s.name === 'model');
  assert.deepEqual(
    model?.children?.find((s) => s.name === 'layers')?.children?.map((s) => s.name),
    ['dense 32 relu', 'dense 5 softmax'],
  );
  assert.equal(syms.find((s) => s.name === 'train')?.children?.find((s) => s.name === 'epochs')?.detail, '40');
});

test('an outline within the budget is whole, down to the keys of every target', () => {
  const n = 100; // 100 targets × (1 + 5 keys + 2 smoke-test keys) = 800 symbols, and ~30 above
  const syms = documentSymbols(config(n));
  assert.ok(count(syms) <= OUTLINE_BUDGET);
  const targets = targetsOf(syms);
  assert.equal(targets.length, n);
  for (const t of targets) {
    assert.deepEqual(
      t.children?.map((c) => c.name),
      ['type', 'url', 'tokenSecret', 'requireApproval', 'smokeTest'],
    );
    assert.deepEqual(
      t.children?.[4].children?.map((c) => c.name),
      ['rows', 'tolerance'],
    );
  }
  const url = targets[99].children?.[1];
  assert.equal(url?.detail, 'https://models99.example.com/v2');
});

/** The walk `locate` did before its per-parse index: a linear scan of every map and list. */
function linearLocate(doc: Document.Parsed, offset: number): PathHit {
  const path: string[] = [];
  let node: unknown = doc.contents;
  let hit: PathHit = { path, node: null, onKey: false, pair: null };
  for (let guard = 0; guard < 200; guard++) {
    if (isMap(node)) {
      const p = node.items.find((it) => {
        const ks = nodeSpan(it.key as Node);
        const vs = nodeSpan(it.value as Node);
        const start = ks ? ks[0] : vs ? vs[0] : -1;
        const end = vs ? vs[1] : ks ? ks[1] : -1;
        return start <= offset && offset <= end;
      }) as Pair | undefined;
      if (!p) return hit;
      const k = keyName(p) ?? '';
      const ks = nodeSpan(p.key as Node);
      const tagPair = node.items.find((it) => keyName(it as Pair) === 'type') as Pair | undefined;
      const tag = tagPair && isScalar(tagPair.value) ? String(tagPair.value.value) : undefined;
      if (ks && ks[0] <= offset && offset <= ks[1])
        return { path: [...path, k], node: p.key as Node, onKey: true, pair: p, tag };
      path.push(k);
      hit = { path: [...path], node: null, onKey: false, pair: p, tag };
      node = p.value;
      continue;
    }
    if (isSeq(node)) {
      const it = node.items.find((x) => {
        const s = nodeSpan(x as Node);
        return s !== null && s[0] <= offset && offset <= s[1];
      });
      if (!it) return hit;
      path.push('[]');
      hit = { ...hit, path: [...path], node: null, onKey: false };
      node = it;
      continue;
    }
    if (isScalar(node) || isAlias(node)) {
      const s = nodeSpan(node as Node);
      if (s && s[0] <= offset && offset <= s[1]) return { ...hit, path: [...path], node: node as Node };
      return hit;
    }
    return hit;
  }
  return hit;
}

test('locate by binary search answers as a linear walk at every offset (block, flow, lists, tags, junk)', () => {
  const texts = [
    BASE,
    config(40),
    // Flow maps and lists, nested; a tagged layer with `type` after other keys; empty values;
    // duplicate and null keys; comments between items.
    `model:\n  layers: [{ units: 3, type: dense }, { type: dropout, rate: 0.1 }, [1, [2, 3]], {}]\n  name:\n  task: classification # c\n  ? complex\n  : 1\n  : bare\n  name: again\ndeploy: { targets: { a: { type: local, port: 1 }, b: {} } }\nx: [a, b, , c]\n`,
    // Syntax errors: the parser's recovery leaves odd ranges.
    `train:\n  epochs: [1, 2\n  batchSize: { a: 1\nmodel: "unterminated\n  - stray\n`,
    // Whole-document parse (anchors) and CRLF line ends.
    `base: &b { type: dense, units: 4 }\r\nmodel:\r\n  layers:\r\n    - *b\r\n    - { <<: *b, units: 2 }\r\n`,
  ];
  let compared = 0;
  for (const text of texts) {
    const analyzer = new ConfigAnalyzer();
    analyzer.analyze(text);
    for (const parsed of [analyzer.parsed(text), parseConfig(text)]) {
      const doc = parsed.doc;
      assert.ok(doc);
      for (let offset = 0; offset <= text.length + 1; offset++) {
        const want = linearLocate(doc, offset);
        const got = locate(doc, offset);
        assert.equal(got.node, want.node, `node at ${offset} of ${JSON.stringify(text.slice(0, 30))}`);
        assert.equal(got.pair, want.pair, `pair at ${offset}`);
        assert.deepEqual(got.path, want.path, `path at ${offset}`);
        assert.equal(got.onKey, want.onKey, `onKey at ${offset}`);
        assert.equal(got.tag, want.tag, `tag at ${offset}`);
        compared++;
      }
    }
  }
  assert.ok(compared > 10_000, `${compared} offsets compared`);
});

/** The position just after `needle` on the line that is exactly `line`. */
function endOf(text: string, line: string): Position {
  return { line: lineOf(text, line), character: line.length };
}

test('hover and definition deep in a long config answer as in a short one', () => {
  const long = config(800);
  const short = config(3);
  const ctx = { path: SAMPLE_CONFIG_PATH };
  const urlLong = { line: lineOf(long, '      url: https://models2.example.com/v2') + 6 * 797, character: 8 };
  assert.equal(long.split('\n')[urlLong.line], '      url: https://models799.example.com/v2');
  const h = hover(long, urlLong);
  assert.ok(h);
  assert.match(h.contents, /\*\*url\*\*/);
  assert.deepEqual(h.range, { start: { line: urlLong.line, character: 6 }, end: { line: urlLong.line, character: 9 } });
  const hs = hover(short, { line: lineOf(short, '      url: https://models2.example.com/v2'), character: 8 });
  assert.equal(h.contents, hs?.contents);
  // monitor.target names the last target: definition jumps to its key.
  const text = long.replace('  target: t0\n', '  target: t799\n');
  const d = definition(text, { line: lineOf(text, '  target: t799'), character: 12 }, ctx);
  const line = lineOf(text, '    t799:');
  assert.deepEqual(d?.range, { start: { line, character: 4 }, end: { line, character: 8 } });
});

test('completion deep in a long config answers as in a short one (keys of a target, target names)', () => {
  const ctx = { path: SAMPLE_CONFIG_PATH };
  const labels = (text: string, pos: Position, parsed = true) => {
    const analyzer = new ConfigAnalyzer();
    analyzer.analyze(text, ctx);
    return complete(text, pos, ctx, parsed ? analyzer.parsed(text) : undefined).map((c) => c.label);
  };
  // A new key in the last target, between its other keys, after a comment and a blank line.
  const withKey = (n: number) =>
    config(n).replace(
      `    t${n - 1}:\n      type: http\n`,
      `    t${n - 1}:\n      type: http\n      # a comment\n\n      re\n`,
    );
  const long = withKey(800);
  const short = withKey(3);
  const want = labels(short, endOf(short, '      re'));
  // The keys of this target not yet present (those above and below the cursor are left out).
  assert.ok(want.includes('port') && !want.includes('url') && !want.includes('requireApproval'), want.join());
  assert.deepEqual(labels(long, endOf(long, '      re')), want);
  assert.deepEqual(labels(long, endOf(long, '      re'), false), want, 'the same without a parse from the caller');
  // A key at the targets' own column, below the last one: a new target name (free key, no items)
  // and no keys of the targets above leak in.
  const sibling = config(800) + '    t\n';
  assert.deepEqual(labels(sibling, { line: sibling.split('\n').length - 2, character: 5 }), []);
  // monitor.target offers every target name, the last included.
  const names = config(800).replace('  target: t0\n', '  target: \n');
  const items = labels(names, endOf(names, '  target: '));
  assert.equal(items.length, 800);
  assert.equal(items[799], 't799');
  // A list written at its key's indentation (`layers:` then `  - `): the key at the same column is
  // the parent, across the nested lines of the items above; the long file's targets follow.
  const sameColumn = config(800).replace(
    '  layers:\n    - { type: dense, units: 32, activation: relu }\n    - { type: dense, units: 5, activation: softmax }\n',
    '  layers:\n  - type: dense\n    units: 32\n\n      # deeper comment\n  - \n',
  );
  const item = { line: sameColumn.split('\n').indexOf('  - '), character: 4 };
  assert.deepEqual(labels(sameColumn, item), ['activation', 'rate'], 'a layer item (keys of the item above left out)');
  // A flow map in the middle of the long file (a middle target's smokeTest) finds its path too.
  const flow = (n: number, i: number) =>
    config(n).replace(`    t${i}:\n      type: http\n`, `    t${i}:\n      type: http\n      smokeTest: { rows: 5, \n`);
  const line = (text: string) => text.split('\n').indexOf('      smokeTest: { rows: 5, ');
  const inFlow = (text: string) => labels(text, { line: line(text), character: '      smokeTest: { rows: 5, '.length });
  const flowShort = inFlow(flow(3, 1));
  assert.ok(flowShort.includes('tolerance') && !flowShort.includes('rows'), flowShort.join());
  assert.deepEqual(inFlow(flow(800, 400)), flowShort);
});
