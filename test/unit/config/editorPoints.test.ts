/**
 * Issue 16, point 8 and 11: metric messages name the task's metrics with "Did you mean" first, a
 * missing data file offers the nearest existing files as quick fixes, key completion on an empty
 * line under `train:`, and opening a document costs one parse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  analyzeConfig,
  codeActions,
  complete,
  ConfigAnalyzer,
  REGRESSION_METRICS,
} from '../../../server/engine/config';
import { BASE, rangeOf } from './helpers';

test('an unknown metric lists only the task\'s metrics, "Did you mean" before the list', () => {
  for (const [text, code, prefix] of [
    [
      BASE.replace('metrics: [accuracy, f1_macro]', 'metrics: [accuracy, f1_macr]'),
      'invalid-enum',
      'evaluate\\.metrics\\[1\\]: ',
    ],
    [BASE.replace('    accuracy: ">= 0.5"', '    acuracy: ">= 0.5"'), 'unknown-metric', ''],
  ] as const) {
    const d = analyzeConfig(text, { noFileChecks: true }).diagnostics.find((x) => x.code === code);
    assert.ok(d, `a ${code} diagnostic`);
    assert.match(
      d.message,
      new RegExp(
        `^${prefix}'(f1_macr|acuracy)' is not a classification metric\\. Did you mean '(f1_macro|accuracy)'\\? Metrics for classification: `,
      ),
    );
    for (const m of REGRESSION_METRICS)
      assert.ok(!new RegExp(`\\b${m}\\b`).test(d.message), `no regression metric '${m}' in: ${d.message}`);
    assert.ok(
      codeActions(text, d.range, [d]).some((a) => a.isPreferred),
      'the suggestion is a quick fix',
    );
  }
});

test('a missing data file gets quick fixes offering the nearest existing data files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-nearest-'));
  try {
    mkdirSync(join(dir, 'data', 'raw'), { recursive: true });
    const csv = 'a,b,weather\n1,2,sun\n';
    for (const f of [
      'data/seattle-weather.csv',
      'data/raw/seattle_weather_2016.csv',
      'data/holdout.csv',
      'other.jsonl',
      'notes.txt',
    ])
      writeFileSync(join(dir, f), csv);
    const text = BASE.replace('train: data/seattle-weather.csv', 'train: data/seatle-weather.csv');
    const ctx = { path: join(dir, 'modelops.yaml') };
    const d = analyzeConfig(text, ctx).diagnostics.find((x) => x.code === 'file-not-found');
    assert.ok(d, 'a file-not-found diagnostic');
    assert.deepEqual(d.range, rangeOf(text, 'data/seatle-weather.csv'));
    assert.match(d.message, /Nearest data files: data\/seattle-weather\.csv, /);
    const actions = codeActions(text, d.range, [d]);
    assert.deepEqual(actions.map((a) => a.title).slice(0, 2), [
      "Change to 'data/seattle-weather.csv'",
      "Change to 'data/raw/seattle_weather_2016.csv'",
    ]);
    assert.equal(actions.length, 3, 'at most three');
    assert.ok(!actions.some((a) => a.title.includes('notes.txt')), 'only data files');
    assert.equal(actions[0].isPreferred, true);
    assert.equal(actions[1].isPreferred, false);
    const [edit] = actions[0].edits;
    const lines = text.split('\n');
    const fixed = lines
      .map((l, i) =>
        i === edit.range.start.line
          ? l.slice(0, edit.range.start.character) + edit.newText + l.slice(edit.range.end.character)
          : l,
      )
      .join('\n');
    assert.equal(
      analyzeConfig(fixed, ctx).diagnostics.filter((x) => x.code === 'file-not-found').length,
      0,
      'the fix resolves it',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no data files under the folder: the message adds nothing and there is no fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-nearest-'));
  try {
    const text = BASE.replace('train: data/seattle-weather.csv', 'train: data/x.csv');
    const d = analyzeConfig(text, { path: join(dir, 'modelops.yaml') }).diagnostics.find(
      (x) => x.code === 'file-not-found',
    );
    assert.ok(d);
    assert.doesNotMatch(d.message, /Nearest/);
    assert.deepEqual(codeActions(text, d.range, [d]), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Ctrl+Space on an empty line under train: offers train's keys, without those present", () => {
  for (const [text, line, character] of [
    [BASE.replace('train:\n', 'train:\n  \n'), 'train:', 2],
    [BASE.replace('  learningRate: 0.01\n', '  learningRate: 0.01\n  \n'), 'learningRate', 2],
    ['version: 1\ntrain:\n  \n', 'train:', 2],
    ['version: 1\ntrain:\r\n  \r\n  epochs: 3\r\n', 'train:', 2],
  ] as const) {
    const at = {
      line: text.split('\n').findIndex((l) => l.replace(/\r$/, '') === line || l.startsWith(`  ${line}:`)) + 1,
      character,
    };
    const labels = complete(text, at).map((c) => c.label);
    assert.ok(
      labels.includes('optimizer') && labels.includes('batchSize'),
      `${JSON.stringify(text.split('\n')[at.line])}: ${labels.join(', ')}`,
    );
    assert.ok(!labels.includes('version') && !labels.includes('data'), 'no top-level keys');
    if (text.includes('epochs: 5') || text.includes('epochs: 3'))
      assert.ok(!labels.includes('epochs'), 'present keys are left out');
  }
});

test('opening a document costs one parse: the analysis parses each character once and requests none', () => {
  const rows = Array.from(
    { length: 1500 },
    (_, i) => `    t${i}: { type: http, url: https://m${i}.example.com, tokenSecret: s${i} }`,
  ).join('\n');
  const text = BASE.replace('  targets:\n', `  targets:\n${rows}\n`);
  const analyzer = new ConfigAnalyzer();
  analyzer.analyze(text, { noFileChecks: true });
  analyzer.parsed(text);
  const s = analyzer.stats;
  assert.equal(s.full + s.incremental, 1, 'one parse');
  assert.equal(s.charsParsed, text.length, 'each character handed to the parser once');
});
