// GET /v2/repository/models/{m}/log/files and …/log/files/{id}?from=: a real server over a log of
// rotated files. Each file is named by its first line, so the id survives rotation; a file is
// sent from any byte on; an id no file has is 404, a `from` past the end 416, a bad one 400; the
// routes want the token. The client's calls over the same server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { startModelServer, type RunningModelServer } from '../../../server/engine/serving';
import { ModelServerClient } from '../../../server/engine/deploy/client';
import { tempDir } from './fixtures';

const TOKEN = 'log-files-token-8c2f41';
const auth = { authorization: `Bearer ${TOKEN}` };

let tmp: ReturnType<typeof tempDir>;
let server: RunningModelServer;
let dir: string;

const line = (id: string): string =>
  JSON.stringify({ type: 'prediction', id, time: '2026-11-27T10:00:00.000Z', version: '1.0.0' }) + '\n';
const idOf = (text: string): string =>
  createHash('sha256')
    .update(text.slice(0, text.indexOf('\n') + 1))
    .digest('hex')
    .slice(0, 32);

interface Listed {
  id: string;
  size: number;
  modified: string;
}
async function list(headers: Record<string, string> = auth): Promise<{ status: number; files: Listed[] }> {
  const res = await fetch(`${server.url}/v2/repository/models/weather/log/files`, { headers });
  const json = (await res.json()) as { files?: Listed[] };
  return { status: res.status, files: json.files ?? [] };
}
async function get(id: string, query = ''): Promise<{ status: number; body: string }> {
  const res = await fetch(`${server.url}/v2/repository/models/weather/log/files/${id}${query}`, { headers: auth });
  return { status: res.status, body: await res.text() };
}

const older = line('a1') + line('a2');
const current = line('b1');

before(async () => {
  tmp = tempDir('log-files');
  server = await startModelServer({ port: 0, storeDir: join(tmp.dir, 'store'), token: TOKEN, log: { flushMs: 20 } });
  dir = server.log!.dirOf('weather');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'predictions.1.jsonl'), older, { mode: 0o600 });
  writeFileSync(join(dir, 'predictions.jsonl'), current, { mode: 0o600 });
  writeFileSync(join(dir, 'predictions.2.jsonl'), '', { mode: 0o600 });
});

after(async () => {
  await server.close();
  tmp.cleanup();
});

test('the files are listed oldest first by the id of their first line; an empty file is left out', async () => {
  const { status, files } = await list();
  assert.equal(status, 200);
  assert.deepEqual(
    files.map((f) => [f.id, f.size]),
    [
      [idOf(older), Buffer.byteLength(older)],
      [idOf(current), Buffer.byteLength(current)],
    ],
  );
  assert.ok(files.every((f) => Number.isFinite(Date.parse(f.modified))));
});

test('a file is sent from any byte to its end, by id, under whatever name rotation gave it', async () => {
  assert.deepEqual(await get(idOf(older)), { status: 200, body: older });
  const cut = Buffer.byteLength(line('a1'));
  assert.deepEqual(await get(idOf(older), `?from=${cut}`), { status: 200, body: line('a2') });
  assert.deepEqual(await get(idOf(older), `?from=${Buffer.byteLength(older)}`), { status: 200, body: '' });

  // Rotation renames: the id stays, and the bytes appended since come after the ones held.
  appendFileSync(join(dir, 'predictions.jsonl'), line('b2'));
  renameSync(join(dir, 'predictions.jsonl'), join(dir, 'predictions.3.jsonl'));
  assert.deepEqual(await get(idOf(current), `?from=${Buffer.byteLength(current)}`), { status: 200, body: line('b2') });
  renameSync(join(dir, 'predictions.3.jsonl'), join(dir, 'predictions.jsonl'));
});

test('an id no file has is 404, a from past the end 416, a from that is not a byte count 400; the token comes first', async () => {
  const missing = await get('0'.repeat(32));
  assert.equal(missing.status, 404);
  assert.match((JSON.parse(missing.body) as { error: string }).error, /rotated out/);
  assert.equal((await get('not-an-id')).status, 404);
  assert.equal((await get(idOf(older), '?from=999999')).status, 416);
  for (const bad of ['-1', 'x', '1.5', ''])
    assert.equal((await get(idOf(older), `?from=${encodeURIComponent(bad)}`)).status, 400, bad);
  assert.equal((await list({})).status, 401);
  assert.equal((await list({ authorization: 'Bearer wrong-token-0000' })).status, 403);
  const res = await fetch(`${server.url}/v2/repository/models/weather/log/files/${idOf(older)}`);
  assert.equal(res.status, 401);
});

test('the client lists the files and appends what a file grew by', async () => {
  const client = new ModelServerClient({ target: 'remote', url: server.url, token: TOKEN });
  const files = await client.logFiles('weather');
  assert.deepEqual(
    files?.map((f) => f.id),
    [idOf(older), idOf(current)],
  );
  const file = join(tmp.dir, 'copy.jsonl');
  writeFileSync(file, line('a1'));
  const got = await client.downloadLogFile('weather', idOf(older), Buffer.byteLength(line('a1')), file, {
    append: true,
  });
  assert.equal(got, Buffer.byteLength(line('a2')));
  assert.equal(readFileSync(file, 'utf8'), older);
  assert.equal(await client.downloadLogFile('weather', '0'.repeat(32), 0, file), null);
  assert.equal(await client.downloadLogFile('weather', idOf(older), 999_999, file), null);
});

test('a first line longer than the first read is named by all of it (up to 64 KB), as a short one', async () => {
  const { logFileId } = await import('../../../server/engine/serving/predictionLog');
  const { open } = await import('node:fs/promises');
  const long = JSON.stringify({ type: 'prediction', id: 'x'.repeat(10_000) }) + '\n' + line('c2');
  const noNewline = 'y'.repeat(70_000);
  for (const [name, text, id] of [
    ['long.jsonl', long, idOf(long)],
    ['short.jsonl', current, idOf(current)],
    [
      'unended.jsonl',
      noNewline,
      createHash('sha256')
        .update(noNewline.slice(0, 64 * 1024))
        .digest('hex')
        .slice(0, 32),
    ],
  ]) {
    writeFileSync(join(tmp.dir, name), text);
    const fh = await open(join(tmp.dir, name), 'r');
    try {
      assert.equal(await logFileId(fh), id, name);
    } finally {
      await fh.close();
    }
  }
});
