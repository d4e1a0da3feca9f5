import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeConfig, loadConfig } from '../../../server/engine/config';
import { initWorkspace } from '../../../server/engine/init';
import { isModelOpsError } from '../../../server/engine/errors';
import { initCommand } from '../../../server/cli/commands/init';
import { validateCommand } from '../../../server/cli/commands/validate';
import type { CliIO } from '../../../server/cli/command';
import { REPO } from './helpers';

function io(cwd: string): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { cwd, out: (t) => stdout.push(t), err: (t) => stderr.push(t), isTTY: false, env: {}, stdout, stderr };
}

test('initWorkspace writes a starter config that validates clean, the dataset and its README; refuses to overwrite', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-init-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = initWorkspace(dir);
  assert.deepEqual(r.written.map((p) => p.slice(dir.length + 1)).sort(), [
    'data/README.md',
    'data/seattle-weather.csv',
    'modelops.yaml',
  ]);
  assert.equal(
    readFileSync(join(dir, 'data', 'seattle-weather.csv'), 'utf8'),
    readFileSync(join(REPO, 'examples', 'sample', 'data', 'seattle-weather.csv'), 'utf8'),
  );
  assert.match(
    readFileSync(join(dir, 'data', 'README.md'), 'utf8'),
    /vega-datasets npm package, version 3\.2\.1[\s\S]*BSD-3-Clause/,
  );
  const text = readFileSync(r.configPath, 'utf8');
  assert.deepEqual(analyzeConfig(text, { path: r.configPath }).diagnostics, []);
  const loaded = await loadConfig(r.configPath);
  assert.equal(loaded.config.model.name, 'weather-classifier');
  assert.equal(loaded.config.model.layers?.at(-1)?.type, 'dense');
  assert.match(loaded.digest, /^[0-9a-f]{64}$/);
  assert.throws(
    () => initWorkspace(dir),
    (e: unknown) => isModelOpsError(e) && e.code === 'config-exists' && /--force/.test(e.hint ?? ''),
  );
  writeFileSync(r.configPath, 'changed');
  initWorkspace(dir, { force: true });
  assert.equal(readFileSync(r.configPath, 'utf8'), text);
});

test('loadConfig throws a ModelOpsError listing each error with file:line:col', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-load-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  initWorkspace(dir);
  const path = join(dir, 'modelops.yaml');
  writeFileSync(
    path,
    readFileSync(path, 'utf8').replace('epochs: 40', 'epocs: 40').replace('target: weather', 'target: wether'),
  );
  await assert.rejects(loadConfig(path), (e: unknown) => {
    assert.ok(isModelOpsError(e));
    assert.equal(e.code, 'config-invalid');
    assert.match(e.message, /has 2 errors/);
    assert.match(e.message, /modelops\.yaml:9:11 error data\.target: 'wether' is not a column/);
    assert.match(
      e.message,
      /modelops\.yaml:\d+:3 error Unknown key 'epocs' in train\. Did you mean 'epochs'\? \[unknown-key\]/,
    );
    return true;
  });
  await assert.rejects(
    loadConfig(join(dir, 'nope.yaml')),
    (e: unknown) => isModelOpsError(e) && e.code === 'config-not-found',
  );
});

test('modelops init / validate: compiler-style lines, exit codes, --json', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = io(dir);
  assert.equal(await initCommand.run(['ws'], a), 0);
  assert.match(a.stdout.join('\n'), /created ws\/modelops\.yaml/);
  const b = io(join(dir, 'ws'));
  assert.equal(await validateCommand.run([], b), 0);
  assert.deepEqual(b.stdout, ['modelops.yaml: valid']);
  const broken = io(join(REPO, 'examples', 'broken'));
  assert.equal(await validateCommand.run(['modelops.yaml'], broken), 1);
  assert.deepEqual(
    broken.stdout.slice(0, -1).map((l) => l.replace(/ .*\[/, ' … [')),
    [
      'modelops.yaml:8:55 … [unknown-column]',
      'modelops.yaml:16:29 … [last-layer-units]',
      'modelops.yaml:19:3 … [unknown-key]',
      'modelops.yaml:34:7 … [inline-secret]',
    ],
  );
  assert.equal(broken.stdout.at(-1), 'modelops.yaml: 4 errors, 0 warnings');
  assert.ok(!broken.stdout.join('\n').includes('s3cr3t'), 'the secret never appears in output');
  const j = io(join(REPO, 'examples', 'broken'));
  assert.equal(await validateCommand.run(['--json'], j), 1);
  const parsed = JSON.parse(j.stdout.join('\n')) as Array<{ code: string; range: unknown }>;
  assert.deepEqual(parsed.map((d) => d.code).sort(), [
    'inline-secret',
    'last-layer-units',
    'unknown-column',
    'unknown-key',
  ]);
  await assert.rejects(validateCommand.run([], io(dir)), /No config at/);
});
