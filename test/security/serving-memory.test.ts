/**
 * The model server's memory is bounded by the server, not by its clients: bodies in flight
 * share a budget (503 + Retry-After beyond it), connections are capped, slow headers and slow
 * bodies are cut off within seconds of their timeout, and a large bundle upload is streamed to
 * disk rather than held in memory.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { startModelServer, type RunningModelServer } from '../../server/engine/serving';
import { makeBundle, makeRows, inferBody, tempDir } from '../unit/serving/fixtures';
import { peakRss, startServeChild } from '../unit/serving/child';

const TOKEN = 'memory-token-77a1';
let tmp: ReturnType<typeof tempDir>;
let bundle: string;

before(async () => {
  tmp = tempDir('sec-mem');
  bundle = join(tmp.dir, 'bundle');
  await makeBundle(bundle, 1);
});

after(() => tmp.cleanup());

async function withServer(
  options: Partial<Parameters<typeof startModelServer>[0]>,
  fn: (s: RunningModelServer) => Promise<void>,
): Promise<void> {
  const s = await startModelServer({
    port: 0,
    storeDir: join(tmp.dir, `store-${Math.random().toString(36).slice(2)}`),
    token: TOKEN,
    ...options,
  });
  try {
    await s.repository.load('weather', '1.0.0', bundle);
    await fn(s);
  } finally {
    await s.close();
  }
}

const infer = async (s: RunningModelServer): Promise<number> => {
  const r = await fetch(`${s.url}/v2/models/weather/infer`, {
    method: 'POST',
    body: JSON.stringify(inferBody(makeRows(1))),
  });
  await r.arrayBuffer();
  return r.status;
};

/** Waits until the server closes `socket` (end, close or reset); resolves with the ms it took, or null at `maxMs`. */
function closedWithin(socket: Socket, maxMs: number): Promise<number | null> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const done = (v: number | null) => {
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => done(null), maxMs);
    socket.on('end', () => done(Date.now() - t0));
    socket.on('close', () => done(Date.now() - t0));
    socket.on('error', () => done(Date.now() - t0));
  });
}

test('uploads beyond the in-flight body budget get 503 with Retry-After; small requests keep being answered', async () => {
  await withServer({ maxInflightBodyBytes: 8 * 1024 * 1024 }, async (s) => {
    const size = 3 * 1024 * 1024;
    // Twenty clients announce 3 MB bodies and send only the first bytes: at most two fit the budget.
    const clients = Array.from({ length: 20 }, () => {
      const req = httpRequest(`${s.url}/v2/models/weather/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': size },
      });
      const answer = new Promise<{ status: number; retryAfter: string | undefined } | null>((resolve) => {
        req.on('response', (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined });
        });
        req.on('error', () => resolve(null));
      });
      req.write(Buffer.alloc(64 * 1024, 0x20));
      return { req, answer };
    });
    const first = await Promise.race([
      Promise.all(clients.slice(2).map((c) => c.answer)),
      new Promise<null>((r) => setTimeout(() => r(null), 10_000)),
    ]);
    const busy = (first ?? []).filter((a) => a?.status === 503);
    assert.ok(busy.length >= 18, `503s: ${JSON.stringify(first)}`);
    assert.ok(busy.every((a) => a?.retryAfter === '1'));
    // The server still answers small requests while the two held bodies use most of the budget.
    assert.equal(await infer(s), 200);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.ok(Number(/^modelops_http_busy_total (\d+)$/m.exec(metrics)?.[1]) >= 18);
    for (const c of clients) c.req.destroy();
    // Aborted bodies give their budget back: a full-size body is accepted again.
    await new Promise((r) => setTimeout(r, 200));
    const big = await fetch(`${s.url}/v2/models/weather/infer`, {
      method: 'POST',
      body: ' '.repeat(7 * 1024 * 1024) + JSON.stringify(inferBody(makeRows(1))),
    });
    assert.equal(big.status, 200, await big.text());
  });
});

test('a connection limit: connections beyond it are closed at once and the server keeps answering', async () => {
  await withServer({ maxConnections: 20 }, async (s) => {
    const sockets = await Promise.all(
      Array.from(
        { length: 40 },
        () =>
          new Promise<Socket>((resolve) => {
            const sock = connect(s.port, '127.0.0.1', () => resolve(sock));
            sock.on('error', () => undefined);
          }),
      ),
    );
    const closed = await Promise.all(sockets.map((sock) => closedWithin(sock, 3000)));
    assert.ok(closed.filter((c) => c !== null).length >= 20, `closed: ${closed.filter((c) => c !== null).length}`);
    for (const sock of sockets) sock.destroy();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await infer(s), 200);
  });
});

test('a slow body and slow headers are cut off within seconds of their timeouts', async () => {
  await withServer({ bodyTimeoutMs: 1500, headersTimeoutMs: 1500, requestTimeoutMs: 4000 }, async (s) => {
    // A body trickled one byte at a time.
    const slowBody = connect(s.port, '127.0.0.1');
    slowBody.on('error', () => undefined);
    slowBody.write(
      `POST /v2/models/weather/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`,
    );
    const trickle = setInterval(() => slowBody.writable && slowBody.write(' '), 200);
    // Headers that never finish.
    const slowHeaders = connect(s.port, '127.0.0.1');
    slowHeaders.on('error', () => undefined);
    slowHeaders.write('GET /v2/health/live HTTP/1.1\r\nHost: x\r\n');
    const trickleHeaders = setInterval(() => slowHeaders.writable && slowHeaders.write('X-A: b\r\n'), 200);
    try {
      // Generous bounds: timeout + 6 s; before, the checks ran every 30 s (cut after 60–90 s).
      const [body, headers] = await Promise.all([closedWithin(slowBody, 7500), closedWithin(slowHeaders, 7500)]);
      assert.notEqual(body, null, 'the slow body was not cut off');
      assert.notEqual(headers, null, 'the slow headers were not cut off');
    } finally {
      clearInterval(trickle);
      clearInterval(trickleHeaders);
      slowBody.destroy();
      slowHeaders.destroy();
    }
    assert.equal(await infer(s), 200);
  });
});

test('a large bundle upload is streamed to disk: the server process does not hold it in memory', async (t) => {
  const server = await startServeChild(['--store', join(tmp.dir, 'child-store')], { token: TOKEN });
  try {
    const model = readFileSync(join(bundle, 'model.json'));
    const manifest = readFileSync(join(bundle, 'modelops.json'));
    // 120 MB of weights (a multiple of 3 bytes per chunk, so the base64 pieces concatenate).
    const piece = Buffer.alloc(3 * 64 * 1024);
    for (let i = 0; i < piece.length; i++) piece[i] = (i * 31) & 0xff;
    const pieces = 640;
    const weightsSize = piece.length * pieces;
    const weightsHash = createHash('sha256');
    for (let i = 0; i < pieces; i++) weightsHash.update(piece);
    const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
    // What the workspace store would name this folder (see registry/artifacts.ts).
    const expected = sha(
      Buffer.from(
        JSON.stringify({
          kind: 'modelops-directory/1',
          files: {
            'model.json': { digest: sha(model), size: model.length },
            'modelops.json': { digest: sha(manifest), size: manifest.length },
            'weights.bin': { digest: `sha256:${weightsHash.digest('hex')}`, size: weightsSize },
          },
        }),
      ),
    );
    const before = await peakRss(server.pid);
    const wrongDigest = `sha256:${'0'.repeat(64)}`;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${server.url}/v2/repository/models/weather/versions/9.0.0/load`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      const parts: Array<string | (() => string | null)> = [
        `{"digest":"${wrongDigest}","files":{"model.json":"${model.toString('base64')}","modelops.json":"${manifest.toString('base64')}","weights.bin":"`,
      ];
      let sent = 0;
      const b64 = piece.toString('base64');
      parts.push(() => (sent++ < pieces ? b64 : null));
      parts.push('"}}');
      let i = 0;
      const pump = () => {
        while (i < parts.length) {
          const p = parts[i];
          const chunk = typeof p === 'string' ? p : p();
          if (chunk === null || typeof p === 'string') i++;
          if (chunk === null) continue;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    // The whole upload reached the disk: the server hashed exactly these bytes, then refused the digest.
    assert.equal(answer.status, 422, answer.body);
    assert.ok(answer.body.includes(expected), `the server hashed the uploaded files: ${answer.body}`);
    const growth = (await peakRss(server.pid)) - before;
    t.diagnostic(
      `peak RSS ${Math.round(before / 1048576)} MB before, +${Math.round(growth / 1048576)} MB after the upload`,
    );
    // The body is 160 MB of base64; buffered it costs several times that.
    assert.ok(
      growth < 80 * 1024 * 1024,
      `peak RSS grew by ${Math.round(growth / 1048576)} MB for a ${Math.round((weightsSize * 4) / 3 / 1048576)} MB upload`,
    );
    assert.equal((await fetch(`${server.url}/v2/health/live`)).status, 200);
  } finally {
    await server.stop();
  }
});
