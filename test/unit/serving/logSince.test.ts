// GET /v2/repository/models/{m}/log?since=: a real server over a log with rotated files of
// different mtimes (set with fs.utimes). Files last written before `since` are left out, the
// others sent byte for byte; a bad `since` is 400; the route still wants the token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startModelServer, type RunningModelServer } from '../../../server/engine/serving';
import { ModelServerClient } from '../../../server/engine/deploy/client';
import { tempDir } from './fixtures';

const TOKEN = 'log-since-token-5d1e7a';
const auth = { authorization: `Bearer ${TOKEN}` };
const HOUR = 3_600_000;

let tmp: ReturnType<typeof tempDir>;
let server: RunningModelServer;
/** Log files oldest first, with the time each was last written. */
let files: Array<{ name: string; text: string; mtime: number }>;
const now = Date.now();

const line = (id: string, at: number): string =>
  JSON.stringify({ type: 'prediction', id, time: new Date(at).toISOString(), version: '1.0.0' }) + '\n';

before(async () => {
  tmp = tempDir('log-since');
  server = await startModelServer({ port: 0, storeDir: join(tmp.dir, 'store'), token: TOKEN, log: { flushMs: 20 } });
  const dir = server.log!.dirOf('weather');
  mkdirSync(dir, { recursive: true });
  // As rotation leaves them: predictions.3 the oldest, predictions.jsonl the one written now.
  files = [3, 2, 1, 0].map((n) => {
    const mtime = now - n * HOUR;
    const text =
      line(`p${n}-a`, mtime - 20 * 60_000) +
      line(`p${n}-b`, mtime - 1000) +
      JSON.stringify({ type: 'feedback', id: `p${n}-a`, time: new Date(mtime - 500).toISOString(), labels: ['sun'] }) +
      '\n';
    return { name: n === 0 ? 'predictions.jsonl' : `predictions.${n}.jsonl`, text, mtime };
  });
  for (const f of files) {
    writeFileSync(join(dir, f.name), f.text, { mode: 0o600 });
    utimesSync(join(dir, f.name), new Date(f.mtime), new Date(f.mtime));
  }
});

after(async () => {
  await server.close();
  tmp.cleanup();
});

async function getLog(
  query: string,
  headers: Record<string, string> = auth,
): Promise<{ status: number; body: string }> {
  const res = await fetch(`${server.url}/v2/repository/models/weather/log${query}`, { headers });
  return { status: res.status, body: await res.text() };
}

const texts = (from: number): string =>
  files
    .slice(from)
    .map((f) => f.text)
    .join('');

test('since leaves out the files last written before it and sends the others byte for byte', async () => {
  const whole = await getLog('');
  assert.equal(whole.status, 200);
  assert.equal(whole.body, texts(0));

  // 90 minutes back: predictions.3 (3 h) and .2 (2 h) are out; .1 is sent whole, its line from
  // 80 minutes back included (the client filters lines by time).
  const since = new Date(now - 1.5 * HOUR).toISOString();
  const recent = await getLog(`?since=${encodeURIComponent(since)}`);
  assert.equal(recent.status, 200);
  assert.equal(recent.body, texts(2));
  assert.ok(Buffer.byteLength(recent.body) < Buffer.byteLength(whole.body));

  // A date (UTC midnight) and an offset are times too.
  assert.equal((await getLog('?since=2000-01-01')).body, texts(0));
  const offset = new Date(now - 2.5 * HOUR + 2 * HOUR).toISOString().replace('Z', '+02:00');
  assert.equal((await getLog(`?since=${encodeURIComponent(offset)}`)).body, texts(1));

  // Nothing written since: an empty log, not an error.
  const future = await getLog(`?since=${encodeURIComponent(new Date(now + HOUR).toISOString())}`);
  assert.deepEqual(future, { status: 200, body: '' });
});

test('a file written just before since is kept: file times may lag the clock by up to two seconds', async () => {
  const mtime1 = files[2].mtime;
  const at = (ms: number) => `?since=${encodeURIComponent(new Date(ms).toISOString())}`;
  assert.equal((await getLog(at(mtime1 + 1500))).body, texts(2));
  assert.equal((await getLog(at(mtime1 + 2500))).body, texts(3));
});

test('the client passes since and writes what the server sent', async () => {
  const client = new ModelServerClient({ target: 'remote', url: server.url, token: TOKEN });
  const file = join(tmp.dir, 'download', 'predictions.jsonl');
  const bytes = await client.downloadLog('weather', file, { since: new Date(now - 1.5 * HOUR).toISOString() });
  assert.equal(readFileSync(file, 'utf8'), texts(2));
  assert.equal(bytes, Buffer.byteLength(texts(2)));
  assert.equal(await client.downloadLog('weather', file), Buffer.byteLength(texts(0)));
});

test('a since that is not a time is 400 naming the parameter and the form; the token comes first', async () => {
  for (const bad of ['yesterday', '', '2024-05-01T12:00:00', '2024-13-01', '1714564800000', '7d']) {
    const r = await getLog(`?since=${encodeURIComponent(bad)}`);
    assert.equal(r.status, 400, bad);
    const error = (JSON.parse(r.body) as { error: string }).error;
    assert.equal(
      error,
      `since '${bad}' is not a time: send ?since=<ISO 8601 time, e.g. 2024-05-01 or 2024-05-01T12:00:00Z>.`,
    );
  }
  const since = `?since=${encodeURIComponent(new Date(now).toISOString())}`;
  assert.equal((await getLog(since, {})).status, 401);
  assert.equal((await getLog('?since=yesterday', {})).status, 401);
  assert.equal((await getLog(since, { authorization: 'Bearer wrong-token-0000' })).status, 403);
});
