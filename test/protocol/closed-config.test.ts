/** Diagnostics for the workspace's modelops.yaml while it is not open, over JSON-RPC against the built sidecar. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Diagnostic } from 'vscode-languageserver-protocol';
import { core } from '../../server/protocol';
import { ensureBuilt, REPO, startSidecar } from './client';

const SAMPLE = readFileSync(join(REPO, 'examples', 'sample', 'modelops.yaml'), 'utf8');
const DATA = join(REPO, 'examples', 'sample', 'data');
const BROKEN = SAMPLE.replace('epochs: 40', 'epocs: 40');

interface Published {
  uri: string;
  version?: number;
  diagnostics: Diagnostic[];
}
const codes = (p: Published) => p.diagnostics.map((d) => String(d.code)).sort();

before(() => ensureBuilt());

test('a broken modelops.yaml that was never opened is reported at start-up, re-checked on change and cleared on delete', async (t) => {
  assert.notEqual(BROKEN, SAMPLE);
  const c = await startSidecar({ files: { 'modelops.yaml': BROKEN }, copy: { data: DATA } });
  t.after(() => c.close());
  const uri = c.uri('modelops.yaml');
  const PUBLISHED = 'textDocument/publishDiagnostics';

  const broken = await c.waitFor<Published>(
    PUBLISHED,
    (p) => p.uri === uri && p.diagnostics.some((d) => d.code === 'unknown-key'),
  );
  const unknown = broken.diagnostics.find((d) => d.code === 'unknown-key');
  assert.equal(unknown?.message, "Unknown key 'epocs' in train. Did you mean 'epochs'?");
  assert.equal(unknown?.severity, 1);
  assert.equal(unknown?.source, 'modelops');
  assert.equal(broken.version, undefined, 'a closed file has no document version');

  // Fixed on disk: the watched-file notification re-reads it; only the sample's information hint remains.
  writeFileSync(join(c.workspace, 'modelops.yaml'), SAMPLE);
  await c.connection.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri, type: 2 }] });
  const fixed = await c.waitFor<Published>(
    PUBLISHED,
    (p) => p.uri === uri && !p.diagnostics.some((d) => d.severity === 1),
  );
  assert.deepEqual(codes(fixed), ['alias-missing']);

  // Deleted: nothing left to list.
  rmSync(join(c.workspace, 'modelops.yaml'));
  await c.connection.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri, type: 3 }] });
  const cleared = await c.waitFor<Published>(PUBLISHED, (p) => p.uri === uri && p.diagnostics.length === 0);
  assert.deepEqual(cleared.diagnostics, []);

  // Other YAML files are not ours, open or not.
  writeFileSync(join(c.workspace, 'other.yaml'), 'epocs: 1\n');
  await c.connection.sendNotification('workspace/didChangeWatchedFiles', {
    changes: [{ uri: c.uri('other.yaml'), type: 1 }],
  });
  await c.request(core.status, {}); // in order after the notification: its publish has arrived
  assert.equal(c.diagnosticsFor('other.yaml'), undefined);
});

test('opening the config hands over to the editor text; closing it goes back to the text on disk', async (t) => {
  const c = await startSidecar({ files: { 'modelops.yml': BROKEN }, copy: { data: DATA } });
  t.after(() => c.close());
  const uri = c.uri('modelops.yml');
  const PUBLISHED = 'textDocument/publishDiagnostics';
  await c.waitFor<Published>(PUBLISHED, (p) => p.uri === uri && p.diagnostics.some((d) => d.code === 'unknown-key'));

  // The editor holds fixed, unsaved text: that is what is checked while it is open.
  const open = await c.open('modelops.yml', SAMPLE);
  assert.deepEqual(
    open.diagnostics.map((d) => d.code),
    ['alias-missing'],
  );
  // A change on disk while open does not override the open document's diagnostics.
  await c.connection.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri, type: 2 }] });
  await c.request(core.status, {}); // in order after the notification: its publish has arrived
  assert.deepEqual(
    c.diagnosticsFor('modelops.yml')?.map((d) => d.code),
    ['alias-missing'],
  );

  // Closed without saving: the file on disk is what Train reads, so its errors come back.
  c.closeDocument('modelops.yml');
  await c.request(core.status, {});
  assert.ok(
    c.diagnosticsFor('modelops.yml')?.some((d) => d.code === 'unknown-key'),
    JSON.stringify(c.diagnosticsFor('modelops.yml')),
  );
});
