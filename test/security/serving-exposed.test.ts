/**
 * A model server listening beyond this machine (0.0.0.0) needs the bearer token on every route
 * but the health checks and the identity proof, says so when it starts, and refuses to start
 * on such an address without a token. Loopback servers stay open as before.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isLoopbackHost, startModelServer, type RunningModelServer } from '../../server/engine/serving';
import { isModelOpsError } from '../../server/engine/errors';
import { makeBundle, makeRows, inferBody, tempDir } from '../unit/serving/fixtures';

const TOKEN = 'exposed-token-3c9b';
let tmp: ReturnType<typeof tempDir>;
let server: RunningModelServer;
const messages: string[] = [];

before(async () => {
  tmp = tempDir('sec-exposed');
  await makeBundle(join(tmp.dir, 'bundle'), 1);
  server = await startModelServer({
    host: '0.0.0.0',
    port: 0,
    storeDir: join(tmp.dir, 'store'),
    token: TOKEN,
    onLog: (m, level) => messages.push(`${level ?? 'info'}: ${m}`),
  });
  await server.repository.load('weather', '1.0.0', join(tmp.dir, 'bundle'));
});

after(async () => {
  await server.close();
  tmp.cleanup();
});

const base = () => `http://127.0.0.1:${server.port}`;

async function status(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<number> {
  const r = await fetch(base() + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await r.arrayBuffer();
  return r.status;
}

test('bound to 0.0.0.0, every route but the health checks needs the token (401 without, 403 wrong)', async () => {
  const infer = inferBody(makeRows(1), 'exposed-1');
  const routes: Array<[string, string, unknown?]> = [
    ['GET', '/v2'],
    ['GET', '/metrics'],
    ['GET', '/v2/models/weather'],
    ['GET', '/v2/models/weather/ready'],
    ['GET', '/v2/models/weather/versions/1.0.0'],
    ['POST', '/v2/models/weather/infer', infer],
    ['POST', '/v2/models/weather/versions/1.0.0/infer', infer],
    ['POST', '/v2/models/weather/feedback', { id: 'exposed-1', label: 'rain' }],
    ['GET', '/v2/repository/index'],
    ['GET', '/v2/no/such/route'],
  ];
  for (const [method, path, body] of routes) {
    assert.equal(await status(method, path, {}, body), 401, `${method} ${path} without a token`);
    assert.equal(
      await status(method, path, { authorization: 'Bearer wrong' }, body),
      403,
      `${method} ${path} with a wrong token`,
    );
  }
  const auth = { authorization: `Bearer ${TOKEN}` };
  assert.equal(await status('GET', '/v2', auth), 200);
  assert.equal(await status('GET', '/metrics', auth), 200);
  assert.equal(await status('POST', '/v2/models/weather/infer', auth, infer), 200);
  assert.equal(await status('POST', '/v2/models/weather/feedback', auth, { id: 'exposed-1', label: 'rain' }), 202);
  // Probes stay open: they say nothing about the models.
  assert.equal(await status('GET', '/v2/health/live'), 200);
  assert.equal(await status('GET', '/v2/health/ready'), 200);
});

test('the server says at start that every request needs the token', () => {
  assert.ok(
    messages.some((m) => /^warn: .*0\.0\.0\.0.*every request .*needs the bearer token/.test(m)),
    messages.join('\n'),
  );
  assert.ok(!messages.some((m) => m.includes(TOKEN)));
});

test('a non-loopback address without a token is refused at start; loopback names are recognised', async () => {
  await assert.rejects(
    startModelServer({ host: '0.0.0.0', port: 0, storeDir: join(tmp.dir, 'no-token'), token: null }),
    (e: unknown) => isModelOpsError(e) && e.code === 'no-token' && /0\.0\.0\.0/.test(e.message),
  );
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
    assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '::ffff:10.0.0.1'])
    assert.equal(isLoopbackHost(h), false, h);
});

test('on loopback, inference and metadata stay open as before', async () => {
  const s = await startModelServer({ port: 0, storeDir: join(tmp.dir, 'loop'), token: TOKEN });
  try {
    await s.repository.load('weather', '1.0.0', join(tmp.dir, 'bundle'));
    assert.equal((await fetch(`${s.url}/v2/models/weather`)).status, 200);
    assert.equal((await fetch(`${s.url}/metrics`)).status, 200);
    assert.equal((await fetch(`${s.url}/v2/repository/index`)).status, 401);
  } finally {
    await s.close();
  }
});
