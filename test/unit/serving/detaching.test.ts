/**
 * A model server with logging and live monitoring on never detaches an ArrayBuffer. Detaching
 * one (what a postMessage transfer does) invalidates V8's ArrayBufferDetaching protector for the
 * thread's isolate, and from then on every typed-array access there checks for a detached buffer:
 * about twice the cost per access, on the request thread's HTTP, Buffer and model code. The live
 * monitor's batches are in shared memory for that reason (serving/liveScorer.ts). V8 says when the
 * protector goes with --trace-protector-invalidation, which this test reads from a real
 * `modelops serve` process (dist/cli.js: `npm test` builds first).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { inferBody, makeBundle, makeRows, tempDir } from './fixtures';
import { startServeChild } from './child';

const TOKEN = 'detaching-test-token';
const FLAG = '--trace-protector-invalidation';
const SIGN = 'Invalidating protector cell ArrayBufferDetaching';

test('the trace flag shows a detach (the check below can see one)', () => {
  const out = execFileSync(
    process.execPath,
    [FLAG, '-e', 'const b = new ArrayBuffer(8); structuredClone(b, { transfer: [b] });'],
    { encoding: 'utf8' },
  );
  assert.ok(out.includes(SIGN), out);
});

test('serving with logging and live monitoring detaches no ArrayBuffer, on the request thread or the monitor worker', async () => {
  const tmp = tempDir('detach');
  await makeBundle(join(tmp.dir, 'bundle'), 3);
  const server = await startServeChild(['--store', join(tmp.dir, 'store')], {
    token: TOKEN,
    nodeFlags: [FLAG],
    // The bundled CLI, as deployed: tsx's module loader detaches buffers of its own.
    built: true,
  });
  const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  try {
    const load = await fetch(`${server.url}/v2/repository/models/weather/versions/1.0.0/load`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ path: join(tmp.dir, 'bundle') }),
    });
    assert.equal(load.status, 200, await load.text());
    const rows = makeRows(60, 9);
    let windows = 0;
    // Several hand-overs, so batches go to the worker and their memory comes back to be packed again.
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 60; i++) {
        const res = await fetch(`${server.url}/v2/models/weather/infer`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify(inferBody([rows[i]], `r${round}-${i}`)),
        });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
      const feedback = await fetch(`${server.url}/v2/models/weather/feedback`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify(rows.slice(0, 30).map((_, i) => ({ id: `r${round}-${i}`, label: 'sun' }))),
      });
      assert.ok(feedback.status < 300, await feedback.text());
      const status = (await (await fetch(`${server.url}/v2/models/weather/monitor`, { headers: auth })).json()) as {
        events: Array<{ event: string }>;
      };
      windows = status.events.filter((e) => e.event === 'window').length;
    }
    assert.ok(windows >= 1, `live windows were scored: ${windows}`);
  } finally {
    await server.stop();
    tmp.cleanup();
  }
  assert.ok(!server.stdout().includes(SIGN), `an ArrayBuffer was detached:\n${server.stdout().slice(0, 2000)}`);
});
