/**
 * The sidecar's workspace state lives in the ServerContext (server/lsp/workspaceServices.ts), not
 * in handler-module globals: each context has its own registry, config paths and alias lookup.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createWorkspaceServices, type WorkspaceServices } from '../../server/lsp/workspaceServices';
import { openRegistry } from '../../server/engine/registry';
import { ModelOpsError } from '../../server/engine/errors';

const HANDLERS = join(__dirname, '..', '..', 'server', 'lsp', 'handlers');

function services(root: string | null, notes: string[] = []): WorkspaceServices {
  return createWorkspaceServices({
    workspaceRoot: () => root,
    log: () => undefined,
    notify: (type) => notes.push(type.method),
  });
}

function workspace(): string {
  return mkdtempSync(join(tmpdir(), 'modelops-ctx-'));
}

test('configPath: the root modelops.yaml by default, file: URIs, absolute and root-relative paths', () => {
  const root = workspace();
  try {
    const s = services(root);
    assert.equal(s.configPath(), resolve(root, 'modelops.yaml'));
    assert.equal(s.configPath(''), resolve(root, 'modelops.yaml'));
    assert.equal(
      s.configPath(pathToFileURL(join(root, 'sub', 'modelops.yml')).href),
      join(root, 'sub', 'modelops.yml'),
    );
    assert.equal(s.configPath('/elsewhere/modelops.yaml'), '/elsewhere/modelops.yaml');
    assert.equal(s.configPath('sub/modelops.yaml'), join(root, 'sub', 'modelops.yaml'));
    assert.equal(s.requireRoot(), root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('without a workspace folder: no-workspace errors, and the alias lookup does not warn', () => {
  const s = services(null);
  const noWorkspace = (e: unknown) => e instanceof ModelOpsError && e.code === 'no-workspace';
  assert.throws(() => s.configPath(), noWorkspace);
  assert.throws(
    () => s.registry(),
    (e: unknown) => noWorkspace(e) && e instanceof ModelOpsError && e.message.includes('no model registry'),
  );
  assert.throws(() => s.readRegistry(), noWorkspace);
  assert.equal(s.aliasExists('weather', 'production'), true);
});

test('each context has its own registry: reads create no store, aliases are looked up in its workspace', async () => {
  const a = workspace();
  const b = workspace();
  const sa = services(a);
  const sb = services(b);
  try {
    // Reading an empty workspace opens a stand-in and leaves the folder untouched.
    assert.deepEqual(sa.readRegistry().listModels(), []);
    assert.equal(existsSync(join(a, '.modelops')), false);
    assert.equal(sa.aliasExists('weather', 'staging'), false);

    writeFileSync(join(a, 'm.pt'), 'weights');
    const reg = sa.registry();
    assert.equal(sa.registry(), reg, 'one shared instance per context');
    assert.equal(sa.readRegistry(), reg, 'reads use it once it is open');
    await reg.registerVersion({ model: 'weather', source: 'm.pt' });
    reg.setAlias('weather', 'staging', '1.0.0');
    assert.equal(sa.aliasExists('weather', 'staging'), true);
    assert.equal(sa.aliasExists('weather', 'production'), false);
    // The other context sees its own (empty) workspace, not a module-wide registry.
    assert.equal(sb.aliasExists('weather', 'staging'), false);
    assert.notEqual(sb.readRegistry(), reg);

    // After closing, the next call opens a fresh instance of the same store.
    sa.closeRegistry();
    const again = sa.registry();
    assert.notEqual(again, reg);
    assert.equal(again.listModels()[0]?.aliases.staging, '1.0.0');
  } finally {
    sa.closeRegistry();
    sb.closeRegistry();
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

test('the store created by another process is picked up: reads switch from the stand-in to it', async () => {
  const root = workspace();
  const s = services(root);
  try {
    const stand = s.readRegistry();
    writeFileSync(join(root, 'm.pt'), 'weights');
    const other = openRegistry(root); // as the CLI would
    await other.registerVersion({ model: 'weather', source: 'm.pt' });
    other.close();
    const reg = s.readRegistry();
    assert.notEqual(reg, stand);
    assert.deepEqual(
      reg.listModels().map((m) => m.name),
      ['weather'],
    );
  } finally {
    s.closeRegistry();
    rmSync(root, { recursive: true, force: true });
  }
});

test('handler modules keep no workspace state in module globals', () => {
  for (const name of readdirSync(HANDLERS).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(HANDLERS, name), 'utf8');
    // Top-level mutable bindings and per-context side tables belong in ServerContext.
    assert.doesNotMatch(text, /^(export )?(let|var) /m, `${name} has a module-level let/var`);
    assert.doesNotMatch(text, /^(export )?const \w+ = new (Weak)?Map\b/m, `${name} has a module-level map`);
    assert.doesNotMatch(text, /export function set[A-Z]\w*\(/, `${name} exports a setter for module state`);
  }
});
