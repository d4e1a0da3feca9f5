import { test, before, after, mock } from 'node:test';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { startModelServer, type RunningModelServer } from '../../../server/engine/serving';
import { loadModelBundle } from '../../../server/engine/model/bundle';
import { makeBundle, makeRows, inferBody, tempDir } from './fixtures';

const TOKEN = 'test-token-8f2c1e';
let tmp: ReturnType<typeof tempDir>;
let server: RunningModelServer;
let bundleA: string;
let bundleB: string;

before(async () => {
  tmp = tempDir('serving');
  bundleA = join(tmp.dir, 'a');
  bundleB = join(tmp.dir, 'b');
  await makeBundle(bundleA, 1);
  await makeBundle(bundleB, 2);
  server = await startModelServer({
    port: 0,
    storeDir: join(tmp.dir, 'store'),
    token: TOKEN,
    log: { flushMs: 20 },
    maxWaitMs: 3,
  });
  await server.repository.load('weather', '1.0.0', bundleA);
});

after(async () => {
  await server.close();
  tmp.cleanup();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(server.url + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: res.status, json };
}
const auth = { authorization: `Bearer ${TOKEN}` };

test('health, server metadata and model metadata', async () => {
  await server.restored;
  assert.equal((await call('GET', '/v2/health/live')).status, 200);
  assert.equal((await call('GET', '/v2/health/ready')).status, 200);
  const meta = await call('GET', '/v2');
  assert.equal(meta.json.name, 'modelops');
  const m = await call('GET', '/v2/models/weather');
  assert.equal(m.status, 200);
  assert.equal(m.json.version, '1.0.0');
  assert.deepEqual(
    (m.json.inputs as Array<{ name: string }>).map((i) => i.name),
    ['temp_max', 'wind', 'season'],
  );
  assert.equal((await call('GET', '/v2/models/weather/ready')).status, 200);
  assert.equal((await call('GET', '/v2/models/weather/versions/1.0.0/ready')).status, 200);
  assert.equal((await call('GET', '/v2/models/weather/versions/9.9.9/ready')).status, 404);
  assert.equal((await call('GET', '/v2/models/nosuch')).status, 404);
  assert.equal(server.host, '127.0.0.1');
});

test('infer returns the local predictions, echoes the id and passes parameters through', async () => {
  const rows = makeRows(7, 3);
  const local = await loadModelBundle(bundleA);
  const expected = await local.predict(rows);
  local.dispose();
  const r = await call('POST', '/v2/models/weather/infer', { ...inferBody(rows, 'req-1'), parameters: { trace: 'x' } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.id, 'req-1');
  assert.deepEqual(r.json.parameters, { trace: 'x' });
  assert.equal(r.json.model_version, '1.0.0');
  const outputs = r.json.outputs as Array<{ name: string; shape: number[]; data: unknown[]; datatype: string }>;
  const label = outputs.find((o) => o.name === 'label')!;
  const probs = outputs.find((o) => o.name === 'probabilities')!;
  assert.equal(label.datatype, 'BYTES');
  assert.deepEqual(probs.shape, [7, 3]);
  assert.deepEqual(
    label.data,
    expected.map((p) => p.value),
  );
  expected.forEach((p, i) =>
    p.probabilities!.forEach((q, j) => assert.ok(Math.abs((probs.data[i * 3 + j] as number) - q) < 1e-6)),
  );
  // Shape [n] and a generated id.
  const flat = inferBody(rows.slice(0, 2));
  for (const t of flat.inputs as Array<{ shape: number[] }>) t.shape = [2];
  const r2 = await call('POST', '/v2/models/weather/versions/1.0.0/infer', flat);
  assert.equal(r2.status, 200);
  assert.match(String(r2.json.id), /^[0-9a-f-]{36}$/);
});

test('malformed bodies get 4xx JSON errors and the server stays up', async () => {
  const rows = makeRows(2, 5);
  const cases: Array<[string, unknown, number, RegExp]> = [];
  const wrongShape = inferBody(rows) as { inputs: Array<{ shape: number[] }> };
  wrongShape.inputs[0].shape = [2, 2];
  cases.push(['wrong shape', wrongShape, 400, /shape/]);
  const wrongCount = inferBody(rows) as { inputs: Array<{ shape: number[] }> };
  wrongCount.inputs[1].shape = [3, 1];
  cases.push(['row count mismatch', wrongCount, 400, /rows/]);
  const wrongType = inferBody(rows) as { inputs: Array<{ datatype: string }> };
  wrongType.inputs[0].datatype = 'BYTES';
  cases.push(['wrong datatype', wrongType, 400, /datatype/]);
  const textInNumeric = inferBody([{ ...rows[0], temp_max: 'hot' }]);
  cases.push(['text in a numeric input', textInNumeric, 400, /finite number/]);
  const missing = inferBody(rows) as { inputs: unknown[] };
  missing.inputs.pop();
  cases.push(['missing input', missing, 400, /season.*missing/]);
  cases.push(['unseen category', inferBody([{ ...rows[0], season: 'monsoon' }]), 400, /not seen in training/]);
  cases.push([
    'NaN literal',
    JSON.stringify(inferBody(rows)).replace(/"data":\[([0-9.]+)/, '"data":[NaN'),
    400,
    /not valid JSON/,
  ]);
  cases.push(['not JSON', '{"inputs": [', 400, /not valid JSON/]);
  cases.push(['no inputs', { id: 'x' }, 400, /inputs/]);
  cases.push(['empty body', '', 400, /empty/]);
  for (const [what, body, status, message] of cases) {
    const r = await call('POST', '/v2/models/weather/infer', body);
    assert.equal(r.status, status, `${what}: ${JSON.stringify(r.json)}`);
    assert.match(String(r.json.error), message, what);
  }
  // A missing value is allowed where the feature has an imputation value (wind).
  assert.equal((await call('POST', '/v2/models/weather/infer', inferBody([{ ...rows[0], wind: null }]))).status, 200);
  assert.equal((await call('GET', '/v2/health/live')).status, 200);
});

test('a 50 MB body is refused with 413 and the server keeps serving', async () => {
  const big =
    '{"inputs":[{"name":"temp_max","shape":[1],"datatype":"FP32","data":[' + '1,'.repeat(25 * 1024 * 1024) + '1]}]}';
  const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(
      server.url + '/v2/models/weather/infer',
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(big) } },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(big);
  });
  assert.equal(status.status, 413);
  assert.match(JSON.parse(status.body).error as string, /limit/);
  // Same again without a content-length (chunked): the stream is cut at the limit.
  const chunked = await new Promise<number>((resolve) => {
    const req = httpRequest(
      server.url + '/v2/models/weather/infer',
      { method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(-1));
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let sent = 0;
    const pump = () => {
      while (sent < 50) {
        sent++;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
  assert.ok(chunked === 413 || chunked === -1, `chunked oversize got ${chunked}`);
  assert.equal((await call('POST', '/v2/models/weather/infer', inferBody(makeRows(1)))).status, 200);
});

test('the management API needs the bearer token: 401 missing, 403 wrong', async () => {
  assert.equal((await call('GET', '/v2/repository/index')).status, 401);
  const wrong = await call('GET', '/v2/repository/index', undefined, { authorization: 'Bearer nope' });
  assert.equal(wrong.status, 403);
  assert.ok(!JSON.stringify(wrong.json).includes(TOKEN));
  assert.equal(
    (await call('POST', '/v2/repository/models/weather/versions/2.0.0/load', { path: bundleB })).status,
    401,
  );
  const ok = await call('GET', '/v2/repository/index', undefined, auth);
  assert.equal(ok.status, 200);
});

test('the route table: 405 with Allow for a known path, 404 otherwise, the token before either under /v2/repository', async () => {
  const res = await fetch(server.url + '/v2/models/weather/infer');
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'POST');
  assert.match(
    String(((await res.json()) as { error: string }).error),
    /No route for GET \/v2\/models\/weather\/infer/,
  );
  const mon = await fetch(server.url + '/v2/repository/models/weather/monitor', { method: 'DELETE', headers: auth });
  assert.equal(mon.status, 405);
  assert.equal(mon.headers.get('allow'), 'GET, PUT');
  assert.equal((await call('GET', '/v2/models/weather/versions')).status, 404);
  assert.equal((await call('POST', '/v2/models/weather/versions/1.0.0/feedback', {})).status, 404);
  // The management prefix says nothing, not even 404 or 405, without the token.
  assert.equal((await call('GET', '/v2/repository/no/such/route')).status, 401);
  assert.equal((await call('GET', '/v2/repository/models/weather/versions/1.0.0/load')).status, 401);
  assert.equal((await call('GET', '/v2/repository/no/such/route', undefined, auth)).status, 404);
  // A name is checked after the token, and before the handler.
  assert.equal((await call('GET', '/v2/repository/models/Bad')).status, 401);
  assert.equal((await call('GET', '/v2/repository/models/Bad', undefined, auth)).status, 400);
});

test('POST /v2/repository/log/flush answers once the buffered lines are in the file', async () => {
  // A minute between appends: only the flush route can have put the line on disk.
  const s = await startModelServer({
    port: 0,
    storeDir: join(tmp.dir, 'flush'),
    token: TOKEN,
    log: { flushMs: 60_000 },
  });
  try {
    await s.repository.load('weather', '1.0.0', bundleA);
    const infer = await fetch(s.url + '/v2/models/weather/infer', {
      method: 'POST',
      body: JSON.stringify(inferBody(makeRows(1, 5), 'flush-me')),
    });
    assert.equal(infer.status, 200);
    const file = join(s.log!.dirOf('weather'), 'predictions.jsonl');
    assert.equal((await fetch(s.url + '/v2/repository/log/flush', { method: 'POST' })).status, 401);
    const r = await fetch(s.url + '/v2/repository/log/flush', { method: 'POST', headers: auth });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { flushed: true, dropped: 0, lastError: null });
    assert.match(readFileSync(file, 'utf8'), /"id":"flush-me"/);
  } finally {
    await s.close();
  }
  const off = await startModelServer({ port: 0, storeDir: join(tmp.dir, 'flush-off'), token: TOKEN, logging: false });
  try {
    assert.equal((await fetch(off.url + '/v2/repository/log/flush', { method: 'POST', headers: auth })).status, 409);
  } finally {
    await off.close();
  }
});

test('load, switch (previous stays loaded), switch back, unload', async () => {
  const load = await call('POST', '/v2/repository/models/weather/versions/2.0.0/load', { path: bundleB }, auth);
  assert.equal(load.status, 200, JSON.stringify(load.json));
  assert.equal(load.json.active, false);
  const sw = await call('POST', '/v2/repository/models/weather/switch', { version: '2.0.0' }, auth);
  assert.deepEqual(sw.json, { previous: '1.0.0', active: '2.0.0' });
  const r = await call('POST', '/v2/models/weather/infer', inferBody(makeRows(1)));
  assert.equal(r.json.model_version, '2.0.0');
  assert.equal((await call('POST', '/v2/models/weather/versions/1.0.0/infer', inferBody(makeRows(1)))).status, 200);
  const info = await call('GET', '/v2/repository/models/weather', undefined, auth);
  assert.deepEqual(info.json, { name: 'weather', active: '2.0.0', previous: '1.0.0', versions: ['1.0.0', '2.0.0'] });
  assert.equal((await call('POST', '/v2/repository/models/weather/versions/2.0.0/unload', {}, auth)).status, 409);
  await call('POST', '/v2/repository/models/weather/switch', { version: '1.0.0' }, auth);
  assert.equal((await call('POST', '/v2/repository/models/weather/versions/2.0.0/unload', {}, auth)).status, 200);
  assert.equal((await call('POST', '/v2/models/weather/versions/2.0.0/infer', inferBody(makeRows(1)))).status, 404);
  // Upload as files (what http targets do).
  const files = Object.fromEntries(
    ['model.json', 'weights.bin', 'modelops.json'].map((f) => [f, readFileSync(join(bundleB, f)).toString('base64')]),
  );
  const up = await call('POST', '/v2/repository/models/weather/versions/2.0.1/load', { files }, auth);
  assert.equal(up.status, 200, JSON.stringify(up.json));
  assert.equal((await call('POST', '/v2/models/weather/versions/2.0.1/infer', inferBody(makeRows(1)))).status, 200);
});

test('path traversal in model, version or file names is rejected', async () => {
  // Raw requests: fetch would normalise dot segments before they reach the server.
  const raw = (method: string, path: string, body = '') =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: server.port, path, method, headers: { 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const body = JSON.stringify(inferBody(makeRows(1)));
  for (const path of [
    '/v2/models/..%2F..%2Fetc/infer',
    '/v2/models/%2e%2e/infer',
    '/v2/models/../infer',
    '/v2/models/weather/versions/..%2F1.0.0/infer',
    '/v2/models/weather/versions/../infer',
    '/v2/models/Weather/infer',
    '/v2/models/%252e%252e/infer',
    '/v2/models/weather%2F..%2F..%2Fx/infer',
    '/v2/models/weather/versions/1.0.0%2F..%2F..%2Fx/infer',
    '/v2/models/%00/infer',
    '/v2/models/weather%5C..%5Cx/infer',
  ]) {
    const r = await raw('POST', path, body);
    assert.equal(r.status, 400, path);
    assert.match(String(JSON.parse(r.body).error), /Invalid (model|version) name/);
  }
  for (const path of ['/%2e%2e/v2', '/v2/%2e%2e/metrics', '/v2/models/weather/%2e%2e/infer', '/v2/models/%E0%A4%A']) {
    const r = await raw('GET', path);
    assert.ok(r.status === 400 || r.status === 404, `${path}: ${r.status}`);
    assert.equal(typeof JSON.parse(r.body).error, 'string');
  }
  const files = { 'model.json': '', 'weights.bin': '', 'modelops.json': '', '../../evil.json': 'eA==' };
  const up = await call('POST', '/v2/repository/models/weather/versions/3.0.0/load', { files }, auth);
  assert.equal(up.status, 400);
  assert.equal(
    (await call('POST', '/v2/repository/models/weather/versions/..%2F..%2Fx/load', { path: bundleB }, auth)).status,
    400,
  );
});

test('concurrent requests are micro-batched and /metrics counts them', async () => {
  const before = await (await fetch(server.url + '/metrics')).text();
  const batches = (t: string) => Number(/^modelops_batches_total (\d+)/m.exec(t)![1]);
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, i) => call('POST', '/v2/models/weather/infer', inferBody(makeRows(1, i + 1)))),
  );
  assert.ok(results.every((r) => r.status === 200));
  const text = await (await fetch(server.url + '/metrics')).text();
  assert.ok(batches(text) - batches(before) < 40, 'some requests shared a model call');
  assert.match(text, /modelops_inference_requests_total\{model="weather",version="1.0.0",code="200"\} \d+/);
  assert.match(text, /modelops_inference_requests_total\{model="weather",version="1.0.0",code="400"\} \d+/);
  assert.match(text, /modelops_inference_duration_seconds_bucket\{model="weather",version="1.0.0",le="\+Inf"\} \d+/);
  assert.match(text, /# TYPE modelops_inference_duration_seconds histogram/);
});

test('predictions and feedback are logged; unknown feedback bodies are refused', async () => {
  const r = await call('POST', '/v2/models/weather/infer', inferBody(makeRows(2, 99), 'fb-1'));
  assert.equal(r.status, 200);
  assert.equal(
    (await call('POST', '/v2/models/weather/feedback', { id: 'fb-1', labels: ['rain', 'sun'] })).status,
    202,
  );
  assert.equal((await call('POST', '/v2/models/weather/feedback', [{ id: 'fb-1', label: 'rain' }])).status, 202);
  assert.equal((await call('POST', '/v2/models/weather/feedback', { id: 'fb-1' })).status, 400);
  assert.equal((await call('POST', '/v2/models/nosuch/feedback', { id: 'fb-1', label: 'x' })).status, 404);
  // Synthetic traffic (smoke tests) can ask to stay out of the log.
  assert.equal(
    (
      await call('POST', '/v2/models/weather/infer', {
        ...inferBody(makeRows(1), 'not-logged'),
        parameters: { modelops_log: false },
      })
    ).status,
    200,
  );
  await server.log!.flush();
  const lines = readFileSync(join(server.log!.dirOf('weather'), 'predictions.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const pred = lines.find((l) => l.id === 'fb-1' && l.type === 'prediction')!;
  assert.deepEqual(Object.keys(pred.inputs as object), ['temp_max', 'wind', 'season']);
  assert.equal((pred.outputs as { label: string[] }).label.length, 2);
  assert.equal(typeof pred.latencyMs, 'number');
  assert.equal(pred.version, '1.0.0');
  assert.ok(!lines.some((l) => l.id === 'not-logged'));
  const fb = lines.filter((l) => l.id === 'fb-1' && l.type === 'feedback');
  assert.deepEqual(
    fb.map((l) => l.labels),
    [['rain', 'sun'], ['rain']],
  );
});

test('a larger request is logged from its body text: the same values, answer and probabilities as JSON.stringify gives', async () => {
  const rows = makeRows(40, 5);
  const body = inferBody(rows, 'big-1');
  const r = await call('POST', '/v2/models/weather/infer', body);
  assert.equal(r.status, 200);
  const out = r.json.outputs as Array<{ name: string; data: unknown[]; shape: number[] }>;
  await server.log!.flush();
  const text = readFileSync(join(server.log!.dirOf('weather'), 'predictions.jsonl'), 'utf8')
    .trim()
    .split('\n');
  const line = text.find((l) => l.includes('"id":"big-1"') && l.startsWith('{"type":"prediction"'))!;
  const pred = JSON.parse(line) as {
    inputs: Record<string, unknown[]>;
    outputs: { label: string[]; probabilities: number[][] };
  };
  const sent = Object.fromEntries(
    (body.inputs as Array<{ name: string; data: unknown[] }>).map((t) => [t.name, t.data.flat()]),
  );
  assert.deepEqual(pred.inputs, { temp_max: sent.temp_max, wind: sent.wind, season: sent.season });
  assert.deepEqual(pred.outputs.label, out.find((o) => o.name === 'label')!.data);
  const k = out.find((o) => o.name === 'probabilities')!.shape[1];
  const flat = out.find((o) => o.name === 'probabilities')!.data;
  assert.deepEqual(
    pred.outputs.probabilities,
    rows.map((_, i) => flat.slice(i * k, (i + 1) * k)),
  );
  // The line is what JSON.stringify writes, key for key (readLog's fast scanner expects that shape).
  assert.equal(line, JSON.stringify(JSON.parse(line)));
});

test('the prediction log rotates and keeps disk use bounded', async () => {
  const store = join(tmp.dir, 'rot');
  const s = await startModelServer({
    port: 0,
    storeDir: store,
    token: null,
    log: { maxBytes: 4096, keep: 2, flushMs: 5 },
  });
  try {
    await s.repository.load('weather', '1.0.0', bundleA);
    for (let i = 0; i < 120; i++) {
      assert.equal(
        (
          await fetch(s.url + '/v2/models/weather/infer', {
            method: 'POST',
            body: JSON.stringify(inferBody(makeRows(1, i + 1))),
          })
        ).status,
        200,
      );
      if (i % 10 === 0) await s.log!.flush();
    }
    await s.log!.flush();
    const dir = s.log!.dirOf('weather');
    const files = readdirSync(dir).sort();
    assert.deepEqual(files, ['predictions.1.jsonl', 'predictions.2.jsonl', 'predictions.jsonl']);
    const total = files.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    assert.ok(total <= 3 * 4096 + 4096, `disk use ${total}`);
    // The management API is off without a token.
    assert.equal((await fetch(s.url + '/v2/repository/index', { headers: auth })).status, 403);
  } finally {
    await s.close();
  }
});

test('a restarted server reloads its versions and which one serves', async () => {
  const store = join(tmp.dir, 'restart');
  const s1 = await startModelServer({ port: 0, storeDir: store, token: TOKEN });
  await s1.repository.load('weather', '1.0.0', bundleA);
  await s1.repository.load('weather', '2.0.0', bundleB);
  await s1.repository.switchTo('weather', '2.0.0');
  await s1.close();
  const s2 = await startModelServer({ port: 0, storeDir: store, token: TOKEN });
  try {
    await s2.restored;
    assert.deepEqual(s2.repository.modelInfo('weather'), {
      name: 'weather',
      active: '2.0.0',
      previous: '1.0.0',
      versions: ['1.0.0', '2.0.0'],
    });
  } finally {
    await s2.close();
  }
});

test('220 malformed infer bodies each get a 400 with a JSON error, and the server stays up', async () => {
  const valid = JSON.stringify(inferBody(makeRows(3, 17), 'm-1'));
  const bodies: string[] = [];
  // Every truncation of a valid body at 200 spread positions is invalid JSON.
  for (let i = 0; i < 200; i++) bodies.push(valid.slice(0, 1 + Math.floor((i * (valid.length - 2)) / 199)));
  bodies.push(
    'null',
    '1',
    '"x"',
    '[]',
    '[{}]',
    '{}',
    '{"inputs":{}}',
    '{"inputs":[]}',
    '{"inputs":[1]}',
    '{"inputs":[{"name":1}]}',
  );
  bodies.push(
    '{"id":5,"inputs":[]}',
    '{"parameters":[],"inputs":[]}',
    '\u0000\u0001',
    '{"inputs":[{"name":"temp_max","shape":"x"}]}',
    valid.replace('"FP32"', '"FP64X"'),
  );
  bodies.push(
    valid.replace(/"shape":\[3,1\]/, '"shape":[-3,1]'),
    valid.replace(/"shape":\[3,1\]/, '"shape":[1e9,1]'),
    valid.replace('"summer"', '5').replace('"winter"', '5'),
    '{"inputs":[{"name":"__proto__"}]}',
    valid + 'x',
  );
  assert.equal(bodies.length, 220);
  for (const [i, body] of bodies.entries()) {
    const r = await call('POST', '/v2/models/weather/infer', body);
    assert.equal(r.status, 400, `body ${i} ${JSON.stringify(body.slice(0, 60))}: ${JSON.stringify(r.json)}`);
    assert.equal(typeof r.json.error, 'string', `body ${i}`);
  }
  assert.equal((await call('GET', '/v2/health/live')).status, 200);
  assert.equal((await call('POST', '/v2/models/weather/infer', JSON.parse(valid))).status, 200);
});

test('1,000 concurrent infer requests all get 200', async () => {
  const results = await Promise.all(
    Array.from({ length: 1000 }, (_, i) =>
      fetch(server.url + '/v2/models/weather/infer', {
        method: 'POST',
        body: JSON.stringify(inferBody(makeRows(1, i + 1))),
      }).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      }),
    ),
  );
  assert.equal(results.filter((s) => s === 200).length, 1000);
});

test('the token is compared in constant time: equal-length digests through timingSafeEqual, whatever was sent', async () => {
  const calls: Array<[number, number]> = [];
  const spy = mock.method(crypto, 'timingSafeEqual', (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
    calls.push([a.byteLength, b.byteLength]);
    return (
      Buffer.compare(
        Buffer.from(a.buffer, a.byteOffset, a.byteLength),
        Buffer.from(b.buffer, b.byteOffset, b.byteLength),
      ) === 0
    );
  });
  try {
    for (const given of ['x', TOKEN.slice(0, -1), TOKEN + 'x', 'y'.repeat(500), TOKEN.toUpperCase()]) {
      assert.equal(
        (await call('GET', '/v2/repository/index', undefined, { authorization: `Bearer ${given}` })).status,
        403,
        given,
      );
    }
    assert.equal((await call('GET', '/v2/repository/index', undefined, auth)).status, 200);
  } finally {
    spy.mock.restore();
  }
  assert.equal(calls.length, 6, 'every check goes through timingSafeEqual');
  assert.ok(
    calls.every(([a, b]) => a === 32 && b === 32),
    JSON.stringify(calls),
  );
});
