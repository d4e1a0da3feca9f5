/**
 * Our model server can prove who it is: GET /v2/modelops/identity?nonce=… answers
 * HMAC-SHA256(management token, `${nonce}:${port}`), so a client holding the token can tell it
 * from an impostor, and a relay on another port fails (the port is in the proof).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { identityProof } from '../../server/engine/serving/identity';
import { startModelServer, type RunningModelServer } from '../../server/engine/serving';
import { tempDir } from '../unit/serving/fixtures';

const TOKEN = 'identity-token-a4f0';
let tmp: ReturnType<typeof tempDir>;
let server: RunningModelServer;

before(async () => {
  tmp = tempDir('sec-identity');
  server = await startModelServer({ port: 0, storeDir: join(tmp.dir, 'store'), token: TOKEN });
});

after(async () => {
  await server.close();
  tmp.cleanup();
});

test('identityProof is HMAC-SHA256(token, nonce:port) in hex', () => {
  assert.equal(
    identityProof('k', 'ab'.repeat(8), 8765),
    createHmac('sha256', 'k')
      .update(`${'ab'.repeat(8)}:8765`)
      .digest('hex'),
  );
  assert.notEqual(identityProof('k', 'ab'.repeat(8), 8765), identityProof('k', 'ab'.repeat(8), 8766));
  assert.notEqual(identityProof('k', 'ab'.repeat(8), 8765), identityProof('j', 'ab'.repeat(8), 8765));
});

test('the server answers a fresh nonce with the proof for its own port, without auth', async () => {
  const nonce = randomBytes(24).toString('hex');
  const r = await fetch(`${server.url}/v2/modelops/identity?nonce=${nonce}`);
  assert.equal(r.status, 200);
  const body = (await r.json()) as Record<string, unknown>;
  assert.deepEqual(body, {
    server: 'modelops',
    pid: process.pid,
    port: server.port,
    proof: createHmac('sha256', TOKEN).update(`${nonce}:${server.port}`).digest('hex'),
  });
  const other = (await (
    await fetch(`${server.url}/v2/modelops/identity?nonce=${randomBytes(24).toString('hex')}`)
  ).json()) as { proof: string };
  assert.notEqual(other.proof, body.proof);
  assert.ok(!JSON.stringify(body).includes(TOKEN));
});

test('a missing or malformed nonce is 400', async () => {
  for (const q of ['', '?nonce=', '?nonce=abc', `?nonce=${'z'.repeat(32)}`, `?nonce=${'a'.repeat(130)}`, '?other=1']) {
    const r = await fetch(`${server.url}/v2/modelops/identity${q}`);
    assert.equal(r.status, 400, q);
    assert.match(((await r.json()) as { error: string }).error, /nonce/);
  }
});

test('a server without a management token has no identity route (404)', async () => {
  const s = await startModelServer({ port: 0, storeDir: join(tmp.dir, 'none'), token: null });
  try {
    assert.equal((await fetch(`${s.url}/v2/modelops/identity?nonce=${randomBytes(16).toString('hex')}`)).status, 404);
  } finally {
    await s.close();
  }
});
