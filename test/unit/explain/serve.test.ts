import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startModelServer, type RunningModelServer } from '../../../server/engine/serving';
import { makeBundle, makeRows, inferBody, tempDir } from '../serving/fixtures';

let tmp: ReturnType<typeof tempDir>;
let server: RunningModelServer;

before(async () => {
  tmp = tempDir('explain-serve');
  await makeBundle(join(tmp.dir, 'a'), 1);
  server = await startModelServer({ port: 0, storeDir: join(tmp.dir, 'store'), token: 'tok-explain-1', maxWaitMs: 3 });
  await server.repository.load('weather', '1.0.0', join(tmp.dir, 'a'));
});

after(async () => {
  await server.close();
  tmp.cleanup();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(server.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

interface Row {
  output: number[];
  values: number[][];
}

test('POST …/explain answers per-class values that add up to the prediction, against a sent or profile background', async () => {
  const rows = makeRows(3, 5);
  const background = inferBody(makeRows(20, 9));
  const infer = await post('/v2/models/weather/infer', inferBody(rows));
  assert.equal(infer.status, 200);
  for (const body of [
    { ...inferBody(rows), background },
    { ...inferBody(rows), parameters: { background: 30, seed: 3 } },
  ]) {
    const r = await post('/v2/models/weather/versions/1.0.0/explain', body);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.method, 'exact');
    assert.deepEqual(r.json.features, ['temp_max', 'wind', 'season']);
    assert.deepEqual(r.json.outputs, ['fog', 'rain', 'sun']);
    assert.deepEqual(r.json.background, {
      rows: 'background' in body ? 20 : 30,
      source: 'background' in body ? 'request' : 'reference-profile',
    });
    const base = r.json.base_values as number[];
    for (const row of r.json.rows as Row[]) {
      for (let c = 0; c < 3; c++)
        assert.ok(Math.abs(base[c] + row.values.reduce((a, v) => a + v[c], 0) - row.output[c]) < 1e-6);
    }
  }
});

test('explain requests over their bounds get 413, bad ones 400, a passed deadline 504, all with JSON errors', async () => {
  const over = await post('/v2/models/weather/explain', inferBody(makeRows(101, 2)));
  assert.equal(over.status, 413);
  assert.match(String(over.json.error), /101 rows to explain; the limit is 100/);
  const bigBg = await post('/v2/models/weather/explain', {
    ...inferBody(makeRows(1, 2)),
    background: inferBody(makeRows(101, 3)),
  });
  assert.equal(bigBg.status, 413);
  assert.match(String(bigBg.json.error), /background has 101 rows/);
  assert.equal(
    (await post('/v2/models/weather/explain', { ...inferBody(makeRows(1, 2)), parameters: { background: 500 } }))
      .status,
    413,
  );
  const cost = await post('/v2/models/weather/explain', {
    ...inferBody(makeRows(100, 2)),
    parameters: { method: 'permutation', pairs: 1000, background: 100 },
  });
  assert.equal(cost.status, 413);
  assert.match(String(cost.json.error), /the limit is 4000000/);
  const bad = await post('/v2/models/weather/explain', {
    ...inferBody(makeRows(1, 2)),
    parameters: { method: 'kernel' },
  });
  assert.equal(bad.status, 400);
  assert.match(String(bad.json.error), /parameters.method/);
  assert.equal(
    (await post('/v2/models/weather/explain', { ...inferBody(makeRows(1, 2)), background: [1, 2] })).status,
    400,
  );
  assert.equal((await post('/v2/models/nosuch/explain', inferBody(makeRows(1, 2)))).status, 404);
  // A deadline of 1 ms passes before 100 rows × 100 background rows are done.
  const slow = await post('/v2/models/weather/explain', {
    ...inferBody(makeRows(100, 4)),
    parameters: { timeout_ms: 1, background: 100, method: 'permutation', pairs: 100 },
  });
  assert.equal(slow.status, 504);
  assert.match(String(slow.json.error), /did not finish within 1 ms/);
  const get = await fetch(server.url + '/v2/models/weather/explain');
  assert.equal(get.status, 405);
});
