import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

// The command modules import `vscode`, which only exists inside the editor, so the table of
// commands in extension/commands/index.ts is read as source: the `id` of every object literal in
// the array that `allCommands` returns.
const REPO = join(__dirname, '..', '..', '..');
const INDEX = join(REPO, 'extension', 'commands', 'index.ts');

interface Manifest {
  contributes: {
    commands: Array<{ command: string }>;
    menus: Record<string, Array<{ command?: string; when?: string }>>;
    viewsWelcome: Array<{ contents: string }>;
    walkthroughs: Array<{ steps: Array<{ description: string }> }>;
  };
}
const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as Manifest;
const contributed = manifest.contributes.commands.map((c) => c.command);

interface Declared {
  id: string;
  requiresTrust: boolean;
}

function declaredCommands(): Declared[] {
  const source = ts.createSourceFile(INDEX, readFileSync(INDEX, 'utf8'), ts.ScriptTarget.Latest, true);
  const fn = source.statements.find(
    (s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name?.text === 'allCommands',
  );
  assert.ok(fn?.body, `${INDEX} declares function allCommands`);
  const ret = fn.body.statements.find((s): s is ts.ReturnStatement => ts.isReturnStatement(s));
  assert.ok(ret?.expression && ts.isArrayLiteralExpression(ret.expression), 'allCommands returns an array literal');
  return ret.expression.elements.map((el) => {
    assert.ok(
      ts.isObjectLiteralExpression(el),
      `an entry of allCommands is not an object literal: ${el.getText(source)}`,
    );
    const prop = (name: string) =>
      el.properties.find(
        (p): p is ts.PropertyAssignment =>
          ts.isPropertyAssignment(p) && ts.isIdentifier(p.name) && p.name.text === name,
      );
    const id = prop('id');
    assert.ok(
      id && ts.isStringLiteral(id.initializer),
      `an entry of allCommands has no literal id: ${el.getText(source).slice(0, 80)}`,
    );
    const trust = prop('requiresTrust');
    return { id: id.initializer.text, requiresTrust: trust?.initializer.kind === ts.SyntaxKind.TrueKeyword };
  });
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

test('the commands the extension registers are exactly the commands package.json contributes', () => {
  const ids = declaredCommands().map((c) => c.id);
  assert.ok(ids.length > 10, `only ${ids.length} commands found in ${INDEX}`);
  assert.deepEqual(
    ids.filter((id, i) => ids.indexOf(id) !== i),
    [],
    'no command id is declared twice',
  );
  assert.deepEqual(
    contributed.filter((id, i) => contributed.indexOf(id) !== i),
    [],
    'no command is contributed twice',
  );
  assert.deepEqual([...ids].sort(), [...contributed].sort());
});

test('allCommands is the only place that registers commands', () => {
  // registerCommands (command.ts) registers each spec by its id; any other registerCommand call
  // would add an id this table does not show.
  const calls = sources(join(REPO, 'extension')).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(/\bregisterCommand\(([^,]*),/g)].map((m) => `${relative(REPO, file)}: ${m[1]}`);
  });
  assert.deepEqual(calls, ['extension/commands/command.ts: spec.id']);
});

test('every modelops command the extension or the manifest refers to is registered', () => {
  const ids = new Set(declaredCommands().map((c) => c.id));
  const refs: string[] = [];
  for (const file of sources(join(REPO, 'extension'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:executeCommand\(|\bcommand:\s*)['"`](modelops\.[\w.]+)['"`]/g))
      refs.push(`${relative(REPO, file)} → ${m[1]}`);
  }
  const c = manifest.contributes;
  for (const [menu, items] of Object.entries(c.menus))
    for (const i of items) if (i.command) refs.push(`menus.${menu} → ${i.command}`);
  const links = [
    ...c.viewsWelcome.map((v) => v.contents),
    ...c.walkthroughs.flatMap((w) => w.steps.map((s) => s.description)),
  ];
  for (const text of links)
    for (const m of text.matchAll(/\(command:(modelops\.[\w.]+)\)/g)) refs.push(`manifest link → ${m[1]}`);
  assert.ok(refs.length > 20, `only ${refs.length} references found`);
  assert.deepEqual(
    refs.filter((r) => !ids.has(r.split(' → ')[1])),
    [],
    'references to commands that are not registered',
  );
});

test('commands refused in Restricted Mode are hidden from the palette there, and only those', () => {
  const needTrust = declaredCommands()
    .filter((c) => c.requiresTrust)
    .map((c) => c.id)
    .sort();
  assert.ok(needTrust.length > 0);
  const palette = manifest.contributes.menus.commandPalette ?? [];
  const gated = palette
    .filter((i) => i.command && /\bisWorkspaceTrusted\b/.test(i.when ?? ''))
    .map((i) => i.command)
    .sort();
  assert.deepEqual(gated, needTrust);
});
