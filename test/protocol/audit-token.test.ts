/** Endpoint tokens set and cleared on the sidecar leave a trace in the audit trail, never the token. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { core, deploy } from '../../server/protocol';
import { ensureBuilt, REPO, startSidecar, type SidecarClient } from './client';

const TOKEN = 'audit-token-9c41e0b7f2';
const OTHER = 'audit-token-second-55d1aa';
const CLI = join(REPO, 'dist', 'cli.js');

interface Entry {
  seq: number;
  action: string;
  after: unknown;
}

before(() => ensureBuilt());

async function setToken(
  c: SidecarClient,
  token: string | null,
  origins: string[] = ['http://127.0.0.1:8080'],
): Promise<void> {
  await c.connection.sendNotification(deploy.setToken.method, { secret: 'staging', token, origins });
  await c.request(core.status, {}); // handled in order: the notification is done when this answers
}

function tokenEntries(root: string): Entry[] {
  const out = execFileSync(process.execPath, [CLI, 'audit', '--json', '--root', root], { encoding: 'utf8' });
  const parsed = JSON.parse(out) as Entry[] | { entries: Entry[] };
  return (Array.isArray(parsed) ? parsed : parsed.entries).filter((e) => e.action.startsWith('token.'));
}

/** Every byte of the store (database, WAL, anchor), to look for the token in. */
function storeBytes(root: string): string {
  const dir = join(root, '.modelops');
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => readFileSync(join(d.parentPath, d.name)).toString('latin1'))
    .join('\n');
}

test('setToken records token.set / token.cleared with the secret name, only on a change, never the token', async (t) => {
  const c = await startSidecar();
  t.after(() => c.close());

  await setToken(c, TOKEN);
  await setToken(c, TOKEN); // the same token again: not a change
  await setToken(c, OTHER); // a new value
  await setToken(c, null);
  await setToken(c, null); // already cleared
  const entries = tokenEntries(c.workspace);
  assert.deepEqual(
    entries.map((e) => e.action),
    ['token.set', 'token.set', 'token.cleared'],
  );
  assert.deepEqual(entries[0].after, { tokenSecret: 'staging', origins: 'http://127.0.0.1:8080' });
  assert.deepEqual(entries[2].after, { tokenSecret: 'staging' });
  const bytes = storeBytes(c.workspace);
  assert.ok(bytes.includes('tokenSecret'), 'the store holds the entries');
  assert.ok(!bytes.includes(TOKEN) && !bytes.includes(OTHER), 'a token value reached the store');
});

test('a restarted sidecar sent the same token again (the start-up resend) does not record it twice', async (t) => {
  const keep = mkdtempSync(join(tmpdir(), 'modelops-audit-'));
  t.after(() => rmSync(keep, { recursive: true, force: true }));
  const first = await startSidecar();
  await setToken(first, TOKEN);
  // The start-up resend for a target without a token: clearing what was never set is no change.
  await first.connection.sendNotification(deploy.setToken.method, { secret: 'production', token: null, origins: [] });
  cpSync(join(first.workspace, '.modelops'), join(keep, '.modelops'), { recursive: true });
  await first.close();

  const c = await startSidecar({ copy: { '.modelops': join(keep, '.modelops') } });
  t.after(() => c.close());
  await setToken(c, TOKEN); // what the extension sends on start
  assert.deepEqual(
    tokenEntries(c.workspace).map((e) => e.action),
    ['token.set'],
  );
  await setToken(c, TOKEN, ['http://127.0.0.1:9090']); // bound to another origin: a change
  assert.deepEqual(
    tokenEntries(c.workspace).map((e) => e.action),
    ['token.set', 'token.set'],
  );
});

test('an untrusted workspace records nothing and creates no store', async (t) => {
  const c = await startSidecar({ initializationOptions: { trusted: false } });
  t.after(() => c.close());
  await setToken(c, TOKEN);
  await setToken(c, null);
  assert.equal(existsSync(join(c.workspace, '.modelops')), false);
});
