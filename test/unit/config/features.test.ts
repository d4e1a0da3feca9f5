import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  ConfigAnalyzer,
  analyzeConfig,
  codeActions,
  complete,
  definition,
  documentSymbols,
  hover,
} from '../../../server/engine/config';
import type { Position } from '../../../server/engine/config/types';
import { BASE, REPO, SAMPLE_CONFIG_PATH, rangeOf } from './helpers';

/** Text with a `|` cursor marker → text without it and the cursor position. */
function at(marked: string): { text: string; pos: Position } {
  const i = marked.indexOf('|');
  const before = marked.slice(0, i);
  return {
    text: marked.slice(0, i) + marked.slice(i + 1),
    pos: { line: before.split('\n').length - 1, character: i - (before.lastIndexOf('\n') + 1) },
  };
}
const labels = (text: string, pos: Position) => complete(text, pos, { path: SAMPLE_CONFIG_PATH }).map((c) => c.label);

test('completion: keys by context, without keys already present', () => {
  const { text, pos } = at(BASE.replace('  epochs: 5\n', '  epochs: 5\n  opt|\n'));
  const got = labels(text, pos);
  assert.ok(got.includes('optimizer') && got.includes('batchSize') && got.includes('earlyStopping'));
  assert.ok(!got.includes('epochs') && !got.includes('learningRate'), 'present keys are not offered');
  const item = complete(text, pos, { path: SAMPLE_CONFIG_PATH }).find((c) => c.label === 'optimizer');
  assert.deepEqual(item?.range, { start: { line: pos.line, character: 2 }, end: pos });
  const top = at('version: 1\n|');
  assert.deepEqual(labels(top.text, top.pos).sort(), [
    'data',
    'deploy',
    'evaluate',
    'model',
    'monitor',
    'optimize',
    'project',
    'registry',
    'train',
    'tune',
  ]);
});

test('completion: keys inside a block sequence item and a flow map', () => {
  const item = at(BASE.replace('    - { type: dense, units: 16, activation: relu }', '    - type: dropout\n      |'));
  assert.deepEqual(
    labels(item.text, item.pos)
      .filter((l) => l === 'rate' || l === 'units')
      .sort(),
    ['rate', 'units'],
  );
  const flow = at(BASE.replace('  features:', '  split: { train: 0.7, | }\n  features:'));
  assert.deepEqual(labels(flow.text, flow.pos).sort(), ['seed', 'test', 'validation']);
});

test('completion: enum values, column names, metric names for the task, targets', () => {
  const e = at(BASE.replace('task: classification', 'task: |'));
  assert.deepEqual(labels(e.text, e.pos), ['classification', 'regression']);
  const c = at(BASE.replace('target: weather', 'target: w|'));
  assert.deepEqual(labels(c.text, c.pos), ['date', 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather']);
  const f = at(BASE.replace('features: [precipitation, temp_max, temp_min, wind]', 'features: [precipitation, |]'));
  assert.ok(!labels(f.text, f.pos).includes('precipitation') && labels(f.text, f.pos).includes('wind'));
  const m = at(BASE.replace('metrics: [accuracy, f1_macro]', 'metrics: [accuracy, |]'));
  const ms = labels(m.text, m.pos);
  assert.ok(ms.includes('f1_macro') && ms.includes('roc_auc') && !ms.includes('rmse') && !ms.includes('accuracy'));
  const g = at(BASE.replace('    accuracy: ">= 0.5"\n', '    accuracy: ">= 0.5"\n    |\n'));
  const gs = labels(g.text, g.pos);
  assert.ok(gs.includes('f1_macro') && !gs.includes('accuracy') && !gs.includes('mae'));
  const t = at(BASE.replace('  target: local\n', '  target: |\n'));
  assert.deepEqual(labels(t.text, t.pos), ['local', 'staging']);
  const a = at(BASE.replace('units: 16, activation: relu', 'units: 16, activation: |'));
  assert.ok(labels(a.text, a.pos).includes('softmax'));
  const p = at(BASE.replace('train: data/seattle-weather.csv', 'train: |'));
  assert.ok(labels(p.text, p.pos).includes('data/seattle-weather.csv'));
});

test('hover: docs with an example for keys and enum values', () => {
  const h = hover(BASE, rangeOf(BASE, 'learningRate').start);
  assert.ok(h);
  assert.match(h.contents, /\*\*learningRate\*\* — `number`/);
  assert.match(h.contents, /> 0/);
  assert.match(h.contents, /```yaml\nlearningRate: 0\.01\n```/);
  assert.deepEqual(h.range, rangeOf(BASE, 'learningRate'));
  const v = hover(BASE, rangeOf(BASE, 'classification').start);
  assert.match(v?.contents ?? '', /^`classification` — one of `classification`, `regression`/);
  const l = hover(BASE, rangeOf(BASE, 'units', 1).start);
  assert.match(l?.contents ?? '', /\*\*units\*\*/);
  const target = hover(BASE, rangeOf(BASE, 'staging:').start);
  assert.match(target?.contents ?? '', /\*\*staging \(target name\)\*\*/);
  assert.equal(hover(BASE, { line: 999, character: 0 }), null);
  assert.equal(
    hover(BASE, { line: 0, character: 200 })?.range.start.line,
    0,
    'a column past the end stays on its line',
  );
});

test('quick fixes: did-you-mean, add a required key, move an inline secret out, set units', () => {
  const apply = (text: string, code: string, titleRe: RegExp) => {
    const { diagnostics } = analyzeConfig(text, { path: SAMPLE_CONFIG_PATH });
    const d = diagnostics.find((x) => x.code === code);
    assert.ok(d, `no ${code}`);
    const action = codeActions(text, d.range, diagnostics).find((a) => a.diagnostic === d);
    assert.ok(action, `no action for ${code}`);
    assert.match(action.title, titleRe);
    const lines = text.split('\n');
    const offset = (p: Position) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
    let out = text;
    for (const e of [...action.edits].sort((x, y) => offset(y.range.start) - offset(x.range.start)))
      out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
    return out;
  };
  const fixed1 = apply(BASE.replace('epochs: 5', 'epocs: 5'), 'unknown-key', /Rename 'epocs' to 'epochs'/);
  assert.equal(fixed1, BASE);
  const fixed2 = apply(BASE.replace('  target: weather\n', ''), 'missing-key', /Add required key 'target'/);
  assert.deepEqual(
    analyzeConfig(fixed2, { path: SAMPLE_CONFIG_PATH }).diagnostics.filter((d) => d.code === 'missing-key'),
    [],
  );
  assert.match(fixed2, /\n  target: weather\n/);
  const fixed3 = apply(BASE.replace('tokenSecret: staging', 'token: abc123'), 'inline-secret', /tokenSecret: staging/);
  assert.equal(fixed3, BASE);
  const dupe = BASE.replace('tokenSecret: staging', 'tokenSecret: staging\n      apiKey: abc123');
  assert.equal(apply(dupe, 'inline-secret', /Remove the inline secret/), BASE);
  const fixed4 = apply(
    BASE.replace('units: 5, activation: softmax', 'units: 3, activation: softmax'),
    'last-layer-units',
    /Set units to 5/,
  );
  assert.equal(fixed4, BASE);
  const fixed5 = apply(
    BASE.replace('task: classification', 'task: clasification'),
    'invalid-enum',
    /Change to 'classification'/,
  );
  assert.equal(fixed5, BASE);
  const flow = BASE.replace('local: { type: local, port: 8765 }', 'local: { port: 8765 }');
  const fixed6 = apply(flow, 'missing-key', /Add required key 'type'/);
  assert.match(fixed6, /local: \{ port: 8765, type: local \}/);
});

test('document symbols: sections with children and named layers', () => {
  const syms = documentSymbols(BASE);
  assert.deepEqual(
    syms.map((s) => s.name),
    ['version', 'project', 'data', 'model', 'train', 'evaluate', 'deploy', 'monitor'],
  );
  const model = syms.find((s) => s.name === 'model');
  assert.equal(model?.kind, 'module');
  const layers = model?.children?.find((c) => c.name === 'layers');
  assert.deepEqual(
    layers?.children?.map((c) => c.name),
    ['dense 16 relu', 'dense 5 softmax'],
  );
  assert.deepEqual(model?.selectionRange, rangeOf(BASE, 'model', 0));
  const targets = syms.find((s) => s.name === 'deploy')?.children?.[0]?.children?.map((c) => c.name);
  assert.deepEqual(targets, ['local', 'staging']);
});

test('document symbols: a value is the detail unless it is empty or repeats the key', () => {
  const text = 'version: 1\nproject: project\nmodel:\n  name: ""\n  task: classification\n';
  const syms = documentSymbols(text);
  assert.equal(syms.find((s) => s.name === 'version')?.detail, '1');
  assert.ok(!('detail' in (syms.find((s) => s.name === 'project') ?? {})), 'project: project');
  const model = syms.find((s) => s.name === 'model')?.children;
  assert.ok(!('detail' in (model?.find((s) => s.name === 'name') ?? {})), 'name: ""');
  assert.equal(model?.find((s) => s.name === 'task')?.detail, 'classification');
});

test('definition: data paths open the file; monitor.target jumps to the target', () => {
  const d = definition(BASE, rangeOf(BASE, 'data/seattle-weather.csv').start, { path: SAMPLE_CONFIG_PATH });
  assert.equal(d?.path, join(REPO, 'examples', 'sample', 'data', 'seattle-weather.csv'));
  assert.deepEqual(d?.originRange, rangeOf(BASE, 'data/seattle-weather.csv'));
  const t = definition(BASE, rangeOf(BASE, 'local', 2).start, { path: SAMPLE_CONFIG_PATH });
  assert.equal(t?.path, undefined);
  assert.deepEqual(t?.range, rangeOf(BASE, 'local', 0));
  assert.equal(
    definition(BASE.replace('data/seattle-weather.csv', 'data/none.csv'), rangeOf(BASE, 'data/').start, {
      path: SAMPLE_CONFIG_PATH,
    }),
    null,
  );
});

test("hover and completion give the default for the file's task, and every task's when it has none", () => {
  const chart = BASE.replace(
    'monitor:\n  target: local\n',
    'monitor:\n  target: local\n  controlChart:\n    metric: accuracy\n',
  );
  const forTask = (task: string | null) => {
    const text =
      task === null
        ? chart.replace('  task: classification\n', '')
        : chart.replace('task: classification', `task: ${task}`);
    return hover(text, rangeOf(text, 'metric: accuracy').start)?.contents ?? '';
  };
  assert.match(forTask('classification'), /default `"accuracy"` \(classification\)/);
  assert.match(forTask('regression'), /default `"mae"` \(regression\)/);
  assert.doesNotMatch(forTask('regression'), /"accuracy"/);
  assert.match(forTask(null), /default `"accuracy"` \(classification\), `"mae"` \(regression\)/);
  const port = hover(BASE, rangeOf(BASE, 'port').start)?.contents ?? '';
  assert.match(port, /default `8765` when type: local/);
  const { text, pos } = at(
    BASE.replace('task: classification', 'task: regression').replace(
      'monitor:\n  target: local\n',
      'monitor:\n  target: local\n  controlChart:\n    metric: |\n',
    ),
  );
  const items = complete(text, pos, { path: SAMPLE_CONFIG_PATH });
  assert.equal(items.find((c) => c.detail === 'default')?.label, undefined, 'metric values are listed as metrics');
  assert.ok(items.some((c) => c.label === 'mae'));
});

test("editor requests read the analyzer's latest parse: after the diagnostics they parse nothing, and answer as from the text", () => {
  const analyzer = new ConfigAnalyzer();
  const ctx = { path: SAMPLE_CONFIG_PATH };
  analyzer.analyze(BASE, ctx);
  const after = { ...analyzer.stats };
  const parsed = analyzer.parsed(BASE);
  const pos = rangeOf(BASE, 'learningRate').start;
  assert.deepEqual(hover(parsed, pos), hover(BASE, pos));
  assert.deepEqual(documentSymbols(parsed), documentSymbols(BASE));
  const target = rangeOf(BASE, 'target: local').start;
  const onTarget = { line: target.line, character: target.character + 'target: '.length + 1 };
  assert.deepEqual(definition(parsed, onTarget, ctx), definition(BASE, onTarget, ctx));
  const { text, pos: cursor } = at(BASE.replace('  epochs: 5\n', '  epochs: 5\n  opt|\n'));
  analyzer.analyze(text, ctx);
  const items = complete(text, cursor, ctx, analyzer.parsed(text));
  assert.deepEqual(items, complete(text, cursor, ctx));
  assert.equal(analyzer.parsed(BASE).text, BASE, 'a text that is not the latest is parsed');
  const s = analyzer.stats;
  assert.equal(
    s.full + s.incremental,
    after.full + after.incremental + 2,
    'one parse per analysed text and one for the older text: none for the requests',
  );
});
