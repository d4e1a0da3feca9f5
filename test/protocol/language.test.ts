import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type {
  CodeAction,
  CompletionItem,
  DocumentSymbol,
  Hover,
  Location,
  TextEdit,
} from 'vscode-languageserver-protocol';
import { core } from '../../server/protocol';
import { ensureBuilt, REPO, startSidecar } from './client';

const SAMPLE = readFileSync(join(REPO, 'examples', 'sample', 'modelops.yaml'), 'utf8');
const DATA = join(REPO, 'examples', 'sample', 'data');

before(() => ensureBuilt());

function find(text: string, needle: string, occurrence = 0) {
  let at = -1;
  for (let i = 0; i <= occurrence; i++) at = text.indexOf(needle, at + 1);
  const before = text.slice(0, at);
  const line = before.split('\n').length - 1;
  const character = at - (before.lastIndexOf('\n') + 1);
  return { start: { line, character }, end: { line, character: character + needle.length } };
}

test('initialize announces the language features; didOpen/didChange publish diagnostics with exact ranges', async (t) => {
  const c = await startSidecar({ copy: { data: DATA } });
  t.after(() => c.close());
  assert.equal(c.initializeResult.capabilities.hoverProvider, true);

  // The sample's relative gate gets an information hint, not a warning: in a fresh workspace no
  // version holds 'production' yet (the sidecar asks the registry), and a new user's first file
  // is clean.
  const clean = await c.open('modelops.yaml', SAMPLE);
  assert.deepEqual(
    clean.diagnostics.map((d) => [d.code, d.severity]),
    [['alias-missing', 3]],
  );
  assert.match(String(clean.diagnostics[0].message), /no version of 'weather-classifier' holds alias 'production' yet/);
  assert.deepEqual(clean.diagnostics[0].range, find(SAMPLE, '">= production - 0.02"'));
  assert.equal(clean.count, 1);

  const broken = SAMPLE.replace('epochs: 40', 'epocs: 40').replace(
    'units: 5, activation: softmax',
    'units: 4, activation: softmax',
  );
  const v = await c.change('modelops.yaml', broken);
  assert.equal(v.version, 2);
  const byCode = Object.fromEntries(v.diagnostics.map((d) => [String(d.code), d]));
  assert.deepEqual(byCode['unknown-key'].range, find(broken, 'epocs'));
  assert.equal(byCode['unknown-key'].message, "Unknown key 'epocs' in train. Did you mean 'epochs'?");
  assert.equal(byCode['unknown-key'].severity, 1);
  assert.equal(byCode['unknown-key'].source, 'modelops');
  const units = find(broken, 'units: 4');
  assert.deepEqual(byCode['last-layer-units'].range, {
    start: { line: units.start.line, character: units.start.character + 7 },
    end: units.end,
  });
  assert.match(String(byCode['last-layer-units'].message), /has 4 units but target 'weather' has 5 classes/);

  // Only modelops.yaml documents are handled: other YAML gets no diagnostics from us.
  await c.connection.sendNotification('textDocument/didOpen', {
    textDocument: { uri: c.uri('other.yaml'), languageId: 'yaml', version: 1, text: 'epocs: 1' },
  });
  const fixed = await c.change('modelops.yaml', SAMPLE);
  assert.deepEqual(
    fixed.diagnostics.map((d) => d.code),
    ['alias-missing'],
  );
  assert.equal(c.diagnosticsFor('other.yaml'), undefined);
  const status = await c.request(core.status, {});
  assert.equal(status.trusted, true);
});

test('completion, hover, codeAction, documentSymbol and definition over LSP', async (t) => {
  const c = await startSidecar({ copy: { data: DATA } });
  t.after(() => c.close());
  const text = SAMPLE.replace('  target: weather ', '  target: wether ');
  const v = await c.open('modelops.yaml', text);
  const uri = c.uri('modelops.yaml');
  const unknownColumn = v.diagnostics.find((d) => d.code === 'unknown-column');
  assert.ok(unknownColumn);
  assert.deepEqual(unknownColumn.range, find(text, 'wether'));

  const pos = find(text, 'wether').end;
  const items = (await c.connection.sendRequest('textDocument/completion', {
    textDocument: { uri },
    position: pos,
  })) as CompletionItem[];
  assert.deepEqual(
    items.map((i) => i.label),
    ['date', 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather'],
  );
  assert.deepEqual((items[5].textEdit as TextEdit).range, find(text, 'wether'));

  const hover = (await c.connection.sendRequest('textDocument/hover', {
    textDocument: { uri },
    position: find(text, 'optimizer').start,
  })) as Hover;
  assert.match((hover.contents as { value: string }).value, /\*\*optimizer\*\*[\s\S]*```yaml\noptimizer: adam\n```/);

  const actions = (await c.connection.sendRequest('textDocument/codeAction', {
    textDocument: { uri },
    range: unknownColumn.range,
    context: { diagnostics: v.diagnostics },
  })) as CodeAction[];
  const fix = actions.find((a) => a.title === "Change to 'weather'");
  assert.ok(fix, JSON.stringify(actions.map((a) => a.title)));
  assert.deepEqual(fix.edit?.changes?.[uri], [{ range: find(text, 'wether'), newText: 'weather' }]);

  const symbols = (await c.connection.sendRequest('textDocument/documentSymbol', {
    textDocument: { uri },
  })) as DocumentSymbol[];
  assert.deepEqual(
    symbols.map((s) => s.name),
    ['version', 'project', 'data', 'model', 'train', 'evaluate', 'deploy', 'monitor'],
  );

  const def = (await c.connection.sendRequest('textDocument/definition', {
    textDocument: { uri },
    position: find(text, 'data/seattle-weather.csv').start,
  })) as Location;
  assert.equal(def.uri, pathToFileURL(join(c.workspace, 'data', 'seattle-weather.csv')).href);
});

test('a long config over LSP: the outline lists every target and is sent again unchanged; hover and definition find the last target', async (t) => {
  const c = await startSidecar({ copy: { data: DATA } });
  t.after(() => c.close());
  const n = 800; // ~4,800 lines: past the outline's budget for the targets' own keys
  // The sample with its one deploy target replaced by n of them, the last one monitored.
  let text = SAMPLE.replace(/\ndeploy:\n(?: .*\n|\n)*/, '\n').replace('  target: local', `  target: t${n - 1}`);
  text += '\ndeploy:\n  targets:\n';
  for (let i = 0; i < n; i++)
    text += `    t${i}:\n      type: http\n      url: https://models${i}.example.com/v2\n      tokenSecret: t${i}\n      requireApproval: true\n      smokeTest: { rows: 50, tolerance: 0.000001 }\n`;
  await c.open('modelops.yaml', text);
  const uri = c.uri('modelops.yaml');
  const outline = async () =>
    (await c.connection.sendRequest('textDocument/documentSymbol', { textDocument: { uri } })) as DocumentSymbol[];
  const first = await outline();
  const targets = first.find((s) => s.name === 'deploy')?.children?.find((s) => s.name === 'targets')?.children;
  assert.equal(targets?.length, n);
  const last = find(text, `    t${n - 1}:`);
  assert.deepEqual(targets?.[n - 1].selectionRange, {
    start: { line: last.start.line, character: 4 },
    end: { line: last.start.line, character: 4 + `t${n - 1}`.length },
  });
  assert.deepEqual(await outline(), first, 'the outline kept for this parse');

  const url = find(text, `url: https://models${n - 1}.example.com`);
  const hover = (await c.connection.sendRequest('textDocument/hover', {
    textDocument: { uri },
    position: { line: url.start.line, character: url.start.character + 1 },
  })) as Hover;
  assert.match((hover.contents as { value: string }).value, /\*\*url\*\*/);
  assert.deepEqual(hover.range, {
    start: url.start,
    end: { line: url.start.line, character: url.start.character + 3 },
  });
  const target = find(text, `target: t${n - 1}`);
  const def = (await c.connection.sendRequest('textDocument/definition', {
    textDocument: { uri },
    position: { line: target.start.line, character: target.end.character - 1 },
  })) as Location;
  assert.equal(def.uri, uri);
  assert.deepEqual(def.range, targets?.[n - 1].selectionRange);

  // An edit is a new parse: the outline sent after it is the edited text's.
  await c.change('modelops.yaml', text.replace(`    t${n - 1}:\n`, '    last:\n'));
  const edited = (await outline()).find((s) => s.name === 'deploy')?.children?.[0]?.children;
  assert.equal(edited?.[n - 1].name, 'last');
});

test('a referenced data file changing re-validates open configs', async (t) => {
  const c = await startSidecar({ copy: { data: DATA } });
  t.after(() => c.close());
  const text = SAMPLE.replace('data/seattle-weather.csv', 'data/later.csv');
  const first = await c.open('modelops.yaml', text);
  assert.ok(first.diagnostics.some((d) => d.code === 'file-not-found'));
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(c.workspace, 'data', 'later.csv'), readFileSync(join(DATA, 'seattle-weather.csv')));
  const again = c.waitFor<{ uri: string; diagnostics: number }>(
    core.validated.method,
    (p) => p.uri === c.uri('modelops.yaml'),
  );
  await c.connection.sendNotification('workspace/didChangeWatchedFiles', {
    changes: [{ uri: pathToFileURL(join(c.workspace, 'data', 'later.csv')).href, type: 1 }],
  });
  const v = await again;
  assert.equal(v.diagnostics, 1, 'only the alias-missing warning is left');
});

test('binary junk and a huge document get one diagnostic each and the server keeps answering', async (t) => {
  const c = await startSidecar();
  t.after(() => c.close());
  let junk = '';
  for (let i = 0; i < 20_000; i++) junk += String.fromCharCode((i * 7919) % 256);
  const j = await c.open('modelops.yaml', junk);
  assert.equal(j.diagnostics.length, 1);
  assert.equal(j.diagnostics[0].code, 'binary-content');
  const huge = 'project: ' + 'x'.repeat(6 * 1024 * 1024);
  const h = await c.change('modelops.yaml', huge);
  assert.equal(h.diagnostics.length, 1);
  assert.equal(h.diagnostics[0].code, 'too-large');
  const deep = await c.change('modelops.yaml', 'data: ' + '{a: '.repeat(10_000));
  assert.equal(deep.diagnostics[0].code, 'too-deep');
  const status = await c.request(core.status, {});
  assert.equal(typeof status.version, 'string');
});

test('an opened config is validated at once; edits still wait for the debounce', async (t) => {
  // A debounce far longer than the waits below: only the open may skip it.
  const c = await startSidecar({ copy: { data: DATA }, initializationOptions: { validationDelayMs: 600_000 } });
  t.after(() => c.close());
  const opened = await c.open('modelops.yaml', SAMPLE.replace('epochs: ', 'epocs: '));
  assert.equal(opened.version, 1);
  assert.ok(opened.diagnostics.some((d) => d.code === 'unknown-key'));

  const uri = c.uri('modelops.yaml');
  let edited = false;
  void c
    .waitFor<{ uri: string; version: number }>(core.validated.method, (p) => p.uri === uri && p.version === 2, 600_000)
    .then(() => (edited = true))
    .catch(() => undefined);
  await c.connection.sendNotification('textDocument/didChange', {
    textDocument: { uri, version: 2 },
    contentChanges: [{ text: SAMPLE }],
  });
  // Requests after the change are answered while its validation still waits.
  await c.connection.sendRequest('textDocument/documentSymbol', { textDocument: { uri } });
  await c.request(core.status, {});
  assert.equal(edited, false, 'the edit is debounced');
});
