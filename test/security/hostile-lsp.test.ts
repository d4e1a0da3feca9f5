/**
 * Hostile documents against every language feature, not only diagnostics: completion, hover,
 * document symbols, code actions and definition must answer (possibly with nothing) for binary
 * junk, invalid UTF-8, deep nesting, alias bombs, huge lines and positions off the document —
 * never throw a TypeError at the user. Engine-level fuzz for breadth, then the built sidecar
 * over JSON-RPC for the wiring.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeConfig, codeActions, complete, definition, documentSymbols, hover } from '../../server/engine/config';
import type { ConfigDiagnostic, Position, Range } from '../../server/engine/config/types';
import { BASE, prng, REPO, SAMPLE_CONFIG_PATH } from '../unit/config/helpers';
import { ensureBuilt, startSidecar } from '../protocol/client';

type Rng = () => number;

function binaryJunk(r: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(r() * 256));
  return s;
}

/** Random bytes decoded as UTF-8, the way an editor opens a binary file: U+FFFD and stray controls. */
function invalidUtf8(r: Rng, n: number): string {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return Buffer.concat([Buffer.from('version: 1\nproject: caf'), b]).toString('utf8');
}

const ALIAS_BOMB = [
  'version: 1',
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
  'project: { x: *g }',
  'data:',
  '  train: ',
].join('\n');

/** The fixed junk corpus: each one broke, hung or stressed some parser or regex. */
function corpus(r: Rng): Record<string, string> {
  return {
    'binary junk': binaryJunk(r, 20_000),
    'binary junk with a key line': 'data:\n  train: ' + binaryJunk(r, 2_000),
    'invalid UTF-8': invalidUtf8(r, 4_000),
    'lone surrogates and separators': 'model:\n  name: \ud800x\udfff\u2028\u2029\r\r\u0085\n  ',
    NULs: '\u0000'.repeat(100),
    '10,000-deep flow': 'data: ' + '['.repeat(10_000) + ']'.repeat(10_000),
    '4,000 unclosed braces': 'model:\n  layers: ' + '{'.repeat(4_000),
    '4,000 unclosed brackets under a key': 'model:\n  layers: - ' + '['.repeat(4_000),
    '3,000-deep blocks': Array.from({ length: 3_000 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + '\n',
    '10,000 dashes': '- '.repeat(10_000) + 'x',
    'alias bomb': ALIAS_BOMB,
    'huge line (1 MB)': 'data:\n  train: ' + 'y'.repeat(1024 * 1024) + ' \n  ',
    'huge whitespace run': 'project: x' + ' '.repeat(200_000) + 'y\nmodel:\n  ',
    'over 5 MB': 'project: ' + 'x'.repeat(5 * 1024 * 1024 + 10),
    '200,000 lines': 'data:\n' + '  x: 1\n'.repeat(200_000) + '  ',
    CRLF: BASE.replace(/\n/g, '\r\n'),
    'lone CRs': BASE.replace(/\n/g, '\r'),
    empty: '',
  };
}

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
  '\r',
  '\u0000',
  '\u2028',
  '\ufffd',
  '\ud800',
  '{{{{',
  '[[[[',
];

function mutate(src: string, r: Rng): string {
  let s = src;
  for (let k = 1 + Math.floor(r() * 4); k > 0; k--) {
    const at = Math.floor(r() * (s.length + 1));
    const roll = r();
    if (roll < 0.4) s = s.slice(0, at) + TOKENS[Math.floor(r() * TOKENS.length)] + s.slice(at);
    else if (roll < 0.7) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 8));
    else if (roll < 0.9) s = s.slice(0, at) + binaryJunk(r, 1 + Math.floor(r() * 16)) + s.slice(at);
    else s = s.slice(0, at) + s.slice(at, at + 40) + s.slice(at);
  }
  return s;
}

/** Positions in the document, past its end, negative, fractional and not numbers at all. */
function positions(text: string, r: Rng): Position[] {
  const lines = text.split('\n');
  const line = Math.floor(r() * lines.length);
  const inDoc = { line, character: Math.floor(r() * ((lines[line]?.length ?? 0) + 1)) };
  return [
    inDoc,
    { line: lines.length - 1, character: lines[lines.length - 1].length },
    { line: 0, character: 0 },
    { line: lines.length + 5, character: 3 },
    { line, character: 1e9 },
    { line: -1, character: -1 },
    { line: 0, character: -20 },
    { line: 1.5, character: 2.25 },
    { line: Number.NaN, character: Number.POSITIVE_INFINITY },
    {} as Position,
  ];
}

function assertRange(r: Range, what: string): void {
  for (const p of [r.start, r.end]) {
    assert.ok(
      Number.isInteger(p.line) && p.line >= 0 && Number.isInteger(p.character) && p.character >= 0,
      `${what}: bad position ${JSON.stringify(r)}`,
    );
  }
}

/** Every feature the language server offers, on one text and position; throws what they throw. */
function allFeatures(text: string, pos: Position, own: ConfigDiagnostic[], stale: ConfigDiagnostic[]): void {
  for (const c of complete(text, pos, { path: SAMPLE_CONFIG_PATH })) assertRange(c.range, 'completion');
  const h = hover(text, pos);
  if (h) assertRange(h.range, 'hover');
  const d = definition(text, pos, { path: SAMPLE_CONFIG_PATH });
  if (d) assertRange(d.range, 'definition');
  // Code actions get the diagnostics the client holds: this text's, or a stale set from another text.
  for (const diags of [own, stale]) {
    for (const a of codeActions(text, { start: pos, end: pos }, diags))
      for (const e of a.edits) assertRange(e.range, 'code action');
    codeActions(text, { start: { line: 0, character: 0 }, end: { line: 1e6, character: 0 } }, diags);
  }
}

function symbols(text: string): void {
  const walk = (syms: ReturnType<typeof documentSymbols>) => {
    for (const s of syms) {
      assertRange(s.range, 'symbol');
      if (s.children) walk(s.children);
    }
  };
  walk(documentSymbols(text));
}

function check(name: string, text: string, places: Position[], stale: ConfigDiagnostic[]): void {
  let where = 'analysis';
  try {
    const own = analyzeConfig(text, { path: SAMPLE_CONFIG_PATH }).diagnostics;
    where = 'document symbols';
    symbols(text);
    for (const pos of places) {
      where = JSON.stringify(pos);
      allFeatures(text, pos, own, stale);
    }
  } catch (e) {
    const shown =
      text.length > 300 ? `${JSON.stringify(text.slice(0, 300))}… (${text.length} chars)` : JSON.stringify(text);
    assert.fail(`${name} at ${where} threw ${e instanceof Error ? e.stack : String(e)}\n--- document: ${shown}`);
  }
}

/** Diagnostics of the valid fixtures, with quick-fix data: sent back against other texts they are stale. */
function staleDiagnostics(): ConfigDiagnostic[] {
  const broken =
    BASE.replace('epochs: 5', 'epocs: 5').replace('units: 5, activation: softmax', 'units: 4, activation: relu') +
    '  targets:\n    prod:\n      kind: http\n      url: https://x.example\n      token: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n';
  const diags = analyzeConfig(broken, { path: SAMPLE_CONFIG_PATH }).diagnostics.filter((d) => d.data);
  // Moved far down, as after the user deleted most of the document; and malformed, as a buggy client sends.
  const moved = diags.map((d) => ({
    ...d,
    range: {
      start: { line: d.range.start.line + 500, character: d.range.start.character },
      end: { line: d.range.end.line + 500, character: d.range.end.character },
    },
  }));
  const malformed = [
    { code: 'missing-key', data: { insert: 'x' } },
    { code: 'inline-secret', data: { replace: true }, range: { start: { line: 2 }, end: null } },
    null,
  ] as unknown as ConfigDiagnostic[];
  return [...diags, ...moved, ...malformed];
}

test('every language feature answers on the hostile corpus at every kind of position', () => {
  const r = prng(4242);
  const stale = staleDiagnostics();
  for (const [name, text] of Object.entries(corpus(r))) check(name, text, positions(text, r), stale);
});

test('fuzz: 200 mutated configs × 10 positions through completion, hover, symbols, code actions, definition', () => {
  const valid = join(REPO, 'test', 'fixtures', 'config', 'valid');
  const seeds = [
    BASE,
    ...readdirSync(valid)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => readFileSync(join(valid, f), 'utf8')),
  ];
  const r = prng(20250101);
  const stale = staleDiagnostics();
  for (let i = 0; i < 200; i++) {
    const text = mutate(seeds[i % seeds.length], r);
    check(`document ${i}`, text, positions(text, r), stale);
  }
});

test('the built sidecar answers every language request on a binary modelops.yaml and stays alive', async (t) => {
  ensureBuilt();
  const r = prng(99);
  const junk = binaryJunk(r, 20_000);
  const c = await startSidecar({ files: { 'modelops.yaml': junk } });
  t.after(() => c.close());
  const v = await c.open('modelops.yaml', junk);
  assert.deepEqual(
    v.diagnostics.map((d) => d.code),
    ['binary-content'],
  );
  const textDocument = { uri: c.uri('modelops.yaml') };
  const lines = junk.split('\n');
  const places: Position[] = [
    { line: 0, character: 0 },
    { line: 2, character: 4 },
    { line: lines.length - 1, character: lines[lines.length - 1].length },
    { line: lines.length + 100, character: 1_000_000 },
    { line: 3, character: 1_000_000 },
  ];
  for (const position of places) {
    const completion = await c.connection.sendRequest('textDocument/completion', { textDocument, position });
    assert.ok(
      Array.isArray(completion) || completion === null,
      `completion at ${JSON.stringify(position)}: ${JSON.stringify(completion)}`,
    );
    const h = await c.connection.sendRequest('textDocument/hover', { textDocument, position });
    assert.equal(h, null);
    const def = await c.connection.sendRequest('textDocument/definition', { textDocument, position });
    assert.equal(def, null);
    const range = { start: position, end: position };
    const actions = await c.connection.sendRequest('textDocument/codeAction', {
      textDocument,
      range,
      context: { diagnostics: v.diagnostics },
    });
    assert.deepEqual(actions, []);
  }
  assert.deepEqual(await c.connection.sendRequest('textDocument/documentSymbol', { textDocument }), []);
  // Invalid UTF-8 the editor decoded to U+FFFD, then the client sends nonsense positions.
  const bad = invalidUtf8(r, 2_000);
  await c.change('modelops.yaml', bad);
  for (const position of [
    { line: -1, character: -1 },
    { line: 1, character: 12 },
  ]) {
    const completion = await c.connection.sendRequest('textDocument/completion', { textDocument, position });
    assert.ok(Array.isArray(completion) || completion === null);
    await c.connection.sendRequest('textDocument/hover', { textDocument, position });
  }
  // Still alive and answering after all that.
  assert.equal(c.process.exitCode, null);
  const again = await c.change('modelops.yaml', BASE);
  assert.ok(Array.isArray(again.diagnostics));
});
