import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeConfig, complete, documentSymbols, hover } from '../../../server/engine/config';
import { BASE, mutate, prng, REPO, SAMPLE_CONFIG_PATH } from './helpers';

// Timing lives in bench/config/run.ts (per-document time against the yaml parser alone).
test('fuzz: 10,000 mutated configs never throw and give well-formed diagnostics', () => {
  const valid = join(REPO, 'test', 'fixtures', 'config', 'valid');
  const seeds = [
    BASE,
    ...readdirSync(valid)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => readFileSync(join(valid, f), 'utf8')),
  ];
  const r = prng(20240601);
  let withErrors = 0;
  for (let i = 0; i < 10_000; i++) {
    const doc = mutate(seeds[i % seeds.length], r);
    let a;
    try {
      a = analyzeConfig(doc, { path: SAMPLE_CONFIG_PATH, aliasExists: () => i % 2 === 0 });
      if (i % 10 === 0) {
        // The editor features run on the same broken text.
        const line = Math.floor(r() * 40);
        complete(doc, { line, character: Math.floor(r() * 30) }, { path: SAMPLE_CONFIG_PATH });
        hover(doc, { line, character: Math.floor(r() * 30) });
        documentSymbols(doc);
      }
    } catch (e) {
      assert.fail(`document ${i} threw ${e instanceof Error ? e.stack : String(e)}\n---\n${doc}`);
    }
    for (const d of a.diagnostics) {
      assert.ok(d.range.start.line >= 0 && d.range.start.character >= 0 && d.message.length > 0 && d.code.length > 0);
      assert.ok(
        d.range.end.line > d.range.start.line ||
          (d.range.end.line === d.range.start.line && d.range.end.character >= d.range.start.character),
      );
    }
    if (a.diagnostics.some((d) => d.severity === 'error')) withErrors++;
  }
  // The mutations are not trivial: most documents come out broken.
  assert.ok(withErrors > 5000, `only ${withErrors} mutated documents had errors`);
});

test('binary junk gets one diagnostic', () => {
  const r = prng(7);
  let junk = '';
  for (let i = 0; i < 200_000; i++) junk += String.fromCharCode(Math.floor(r() * 256));
  const value = analyzeConfig(junk);
  assert.equal(value.diagnostics.length, 1);
  assert.equal(value.diagnostics[0].code, 'binary-content');
});

test('a 50 MB document is refused with one diagnostic', () => {
  const huge = 'project: ' + 'x'.repeat(50 * 1024 * 1024);
  const value = analyzeConfig(huge);
  assert.equal(value.diagnostics.length, 1);
  assert.equal(value.diagnostics[0].code, 'too-large');
  assert.match(value.diagnostics[0].message, /50\.0 MB; the limit is 5 MB/);
  assert.deepEqual(documentSymbols(huge), []);
  assert.equal(hover(huge, { line: 0, character: 2 }), null);
});

test('10,000-deep nesting (flow, dashes) and 3,000-deep blocks gets one diagnostic', () => {
  const flow = 'data: ' + '['.repeat(10_000) + ']'.repeat(10_000);
  const a = analyzeConfig(flow);
  assert.equal(a.diagnostics.length, 1);
  assert.equal(a.diagnostics[0].code, 'too-deep');
  assert.deepEqual(a.diagnostics[0].range, { start: { line: 0, character: 70 }, end: { line: 0, character: 71 } });
  let block = '';
  for (let i = 0; i < 3_000; i++) block += `${' '.repeat(i)}k${i}:\n`;
  const b = analyzeConfig(block);
  assert.equal(b.diagnostics.length, 1);
  assert.equal(b.diagnostics[0].code, 'too-deep');
  const dashes = analyzeConfig('- '.repeat(10_000) + 'x');
  assert.equal(dashes.diagnostics[0].code, 'too-deep');
});

test('a billion-laughs alias bomb is stopped with one alias-limit diagnostic', () => {
  const bomb = [
    'version: 1',
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
    'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
    'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
    'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
    'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
    'h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]',
    'project: { x: *h }',
    '',
  ].join('\n');
  const value = analyzeConfig(bomb);
  const limit = value.diagnostics.filter((d) => d.code === 'alias-limit');
  assert.equal(limit.length, 1);
  assert.ok(value.diagnostics.length < 50);
});

test('invalid UTF-8 decoded to U+FFFD gets one diagnostic at the bad byte', () => {
  const bytes = Buffer.concat([Buffer.from('version: 1\nproject: caf'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
  const text = bytes.toString('utf8');
  const a = analyzeConfig(text);
  assert.equal(a.diagnostics.length, 1);
  assert.equal(a.diagnostics[0].code, 'invalid-utf8');
  assert.deepEqual(a.diagnostics[0].range, { start: { line: 1, character: 12 }, end: { line: 1, character: 13 } });
});

test('UTF-16 columns: ranges after astral characters count code units', () => {
  const text = BASE.replace('project: demo', 'project: "😀 demo"').replace('epochs: 5', 'epochs: 5\n  😀x: 1');
  const d = analyzeConfig(text, { path: SAMPLE_CONFIG_PATH }).diagnostics.find((x) => x.code === 'unknown-key');
  assert.ok(d);
  // "😀" is two UTF-16 code units, so the key spans characters 2..5.
  assert.deepEqual(d.range, { start: { line: 14, character: 2 }, end: { line: 14, character: 5 } });
});
