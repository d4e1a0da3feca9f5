// The traffic dataset of an `http` target: a real `modelops serve` process with a token (see
// remoteTrafficFixture.ts); its log is flushed and downloaded with the target's token, and the
// refusals (wrong or no token, untrusted workspace, too few rows, endpoint down, no log) say what
// to do. Training on it end to end: fromTraffic.remote.slow.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ModelOpsError } from '../../../server/engine/errors';
import { monitor } from '../../../server/engine/monitoring/monitor';
import { buildTrafficDataset } from '../../../server/engine/training/fromTraffic';
import { remoteTraffic, TOKEN, type RemoteTraffic } from './remoteTrafficFixture';
import { csvOf } from './trafficFixture';

let rt: RemoteTraffic;
/** The remote log as our server sent it, replayed by 'other'. */
let remoteLogText = '';

before(async () => {
  rt = await remoteTraffic('traffic-remote');
});
after(async () => {
  await rt?.close();
});

test('an http target: its log is flushed and downloaded with its token, and the dataset is exactly its labelled rows', async () => {
  const { registry, loaded } = rt;
  const d = await buildTrafficDataset({ registry, loaded, target: 'remote', minRows: 10, tokenFor: rt.tokenFor() });
  assert.deepEqual([rt.predictions, rt.labelled.length], [108, 72]);
  assert.deepEqual(
    [d.traffic.predictions, d.traffic.labelled, d.traffic.unlabelled, d.traffic.unmatchedFeedback, d.rows],
    [108, 72, 36, 2, 72],
  );
  // The rows sent, with the labels sent as feedback, in the config's layout.
  assert.equal(readFileSync(d.path, 'utf8'), csvOf(rt.labelled));
  assert.deepEqual(d.source, { kind: 'http', url: rt.serve.url, bytes: d.source.bytes, flushed: true, note: null });
  assert.ok((d.source.bytes ?? 0) > 0);

  // The downloaded log is request data: owner only, as the server's own; no temporary file left.
  const cache = join(registry.storeDir, 'monitor-cache', 'remote', 'weather');
  assert.equal(statSync(cache).mode & 0o077, 0);
  assert.equal(statSync(join(cache, 'predictions.jsonl')).mode & 0o077, 0);
  assert.deepEqual(readdirSync(cache), ['predictions.jsonl']);
  remoteLogText = readFileSync(join(cache, 'predictions.jsonl'), 'utf8');
  assert.equal(Buffer.byteLength(remoteLogText), d.source.bytes);
});

test('--since downloads only the log files written from then on, and builds the same dataset', async () => {
  const { registry, loaded } = rt;
  // Split the endpoint's log as rotation would have: the traffic before `mid` into predictions.1.jsonl,
  // last written 5 s before `mid` (the fixture sends both batches within a second, and the server
  // keeps a file written up to 2 s before `since`, file times being coarse), the rest in predictions.jsonl.
  const logDir = join(rt.root, 'remote-server', 'logs', 'weather');
  const whole = readFileSync(join(logDir, 'predictions.jsonl'), 'utf8');
  assert.equal(whole, remoteLogText, 'the first test downloaded the whole log');
  const lines = whole.split(/(?<=\n)/);
  const cut = lines.findIndex((l) => (JSON.parse(l) as { time: string }).time >= rt.mid);
  assert.ok(cut > 0);
  const early = lines.slice(0, cut).join('');
  writeFileSync(join(logDir, 'predictions.1.jsonl'), early, { mode: 0o600 });
  const before = new Date(Date.parse(rt.mid) - 5000);
  utimesSync(join(logDir, 'predictions.1.jsonl'), before, before);
  writeFileSync(join(logDir, 'predictions.jsonl'), lines.slice(cut).join(''));

  const d = await buildTrafficDataset({
    registry,
    loaded,
    target: 'remote',
    since: rt.mid,
    minRows: 10,
    tokenFor: rt.tokenFor(),
  });
  // The early predictions were never sent, so none is counted as before --since.
  assert.deepEqual([d.traffic.predictions, d.traffic.beforeSince, d.rows], [60, 0, rt.late.length]);
  assert.equal(readFileSync(d.path, 'utf8'), csvOf(rt.late));
  assert.equal(d.source.bytes, Buffer.byteLength(whole) - Buffer.byteLength(early));
  // Beside the whole log, never over it: a monitor reading that one still sees everything.
  const cache = join(registry.storeDir, 'monitor-cache', 'remote', 'weather');
  assert.equal(readFileSync(join(cache, 'predictions.jsonl'), 'utf8'), whole);
  assert.equal(statSync(join(cache, 'since')).mode & 0o077, 0);
  assert.deepEqual(readdirSync(join(cache, 'since')), ['predictions.jsonl']);

  // Without --since the endpoint still sends every file, oldest first: the same bytes as before the split.
  const all = await buildTrafficDataset({ registry, loaded, target: 'remote', minRows: 10, tokenFor: rt.tokenFor() });
  assert.equal(all.source.bytes, Buffer.byteLength(whole));
  assert.equal(readFileSync(join(cache, 'predictions.jsonl'), 'utf8'), whole);
});

test('--since with a server that ignores the parameter: the whole log comes, and the time is applied here', async () => {
  const { registry, loaded } = rt;
  const seen: string[] = [];
  const old = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.method === 'GET' && req.url?.split('?')[0] === '/v2/repository/models/weather/log') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      return res.end(remoteLogText);
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'no such route' }));
  });
  await new Promise<void>((r) => old.listen(0, '127.0.0.1', () => r()));
  try {
    const url = `http://127.0.0.1:${(old.address() as AddressInfo).port}`;
    const targets = { ...loaded.config.deploy!.targets, old: { ...loaded.config.deploy!.targets.remote, url } };
    const withOld = { ...loaded, config: { ...loaded.config, deploy: { ...loaded.config.deploy!, targets } } };
    const d = await buildTrafficDataset({
      registry,
      loaded: withOld,
      target: 'old',
      since: rt.mid,
      minRows: 10,
      tokenFor: () => TOKEN,
    });
    assert.equal(seen[1], `GET /v2/repository/models/weather/log?since=${encodeURIComponent(rt.mid)}`);
    assert.equal(d.source.bytes, Buffer.byteLength(remoteLogText));
    assert.deepEqual([d.traffic.predictions, d.traffic.beforeSince, d.rows], [60, 48, rt.late.length]);
    assert.equal(readFileSync(d.path, 'utf8'), csvOf(rt.late));
  } finally {
    await new Promise<void>((r) => old.close(() => r()));
  }
});

test('a wrong token, no token, an untrusted workspace, too few rows: refused with what to do, nothing written', async () => {
  const { registry, loaded } = rt;
  const before = (await rt.trafficFiles()).length;
  await assert.rejects(
    buildTrafficDataset({ registry, loaded, target: 'remote', minRows: 10, tokenFor: rt.tokenFor('wrong-token') }),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.code === 'endpoint-auth' &&
      e.message.includes(`Target 'remote' at ${rt.serve.url} answered 403`) &&
      /token/i.test(e.hint ?? ''),
  );
  await assert.rejects(
    buildTrafficDataset({ registry, loaded, target: 'remote', minRows: 10 }),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'no-token' && /MODELOPS_TOKEN_REMOTE/.test(e.hint ?? ''),
  );

  // Untrusted: the same words as monitoring, and the token is never even looked up.
  let asked = 0;
  const counting = (target: string) => {
    asked++;
    return rt.tokenFor()(target);
  };
  const refused = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: unknown) => e,
    );
  const untrusted = await refused(
    buildTrafficDataset({ registry, loaded, target: 'remote', minRows: 10, tokenFor: counting, trusted: false }),
  );
  assert.ok(untrusted instanceof ModelOpsError && untrusted.code === 'untrusted-workspace', String(untrusted));
  assert.equal(
    untrusted.message,
    "Target 'remote' is an http endpoint; its log is not downloaded in an untrusted workspace.",
  );
  const monitored = await refused(
    monitor({ registry, config: loaded.config, target: 'remote', tokenFor: counting, trusted: false, alert: false }),
  );
  assert.ok(monitored instanceof ModelOpsError);
  assert.deepEqual([monitored.code, monitored.message], [untrusted.code, untrusted.message]);
  assert.equal(asked, 0);

  await assert.rejects(
    buildTrafficDataset({ registry, loaded, target: 'remote', minRows: 1000, tokenFor: rt.tokenFor() }),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.code === 'traffic-too-few' &&
      e.message.startsWith(
        "Only 72 labelled rows to retrain on: 108 predictions of weather on target 'remote' from ",
      ) &&
      e.message.includes('at least 1,000 are needed (2 feedback for unknown request ids ignored)'),
  );
  assert.equal((await rt.trafficFiles()).length, before);
});

test('an endpoint that is down, keeps no log or sends an empty one: an error naming the target and URL; a missing flush route is not fatal', async () => {
  const { registry, loaded, downUrl, otherUrl } = rt;
  await assert.rejects(
    buildTrafficDataset({ registry, loaded, target: 'down', minRows: 10, tokenFor: () => TOKEN }),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.code === 'endpoint-unreachable' &&
      e.message.startsWith(`Target 'down' at ${downUrl} did not answer POST /v2/repository/log/flush`) &&
      e.hint === `Start the model server at ${downUrl} (or fix deploy.targets.down.url), then try again.`,
  );

  // No flush route (404): the log is read as sent, and the dataset says it was not flushed.
  assert.ok(remoteLogText.length > 0, 'the first test downloaded the remote log');
  rt.otherRequests.length = 0;
  Object.assign(rt.otherLog, { status: 200, body: remoteLogText });
  const d = await buildTrafficDataset({ registry, loaded, target: 'other', minRows: 10, tokenFor: () => TOKEN });
  assert.equal(d.rows, 72);
  assert.equal(d.source.flushed, false);
  assert.match(
    d.source.note ?? '',
    /^not flushed first: POST \/v2\/repository\/log\/flush answered 404 \(no such route\)/,
  );
  assert.deepEqual(rt.otherRequests, ['POST /v2/repository/log/flush', 'GET /v2/repository/models/weather/log']);

  Object.assign(rt.otherLog, {
    status: 409,
    body: JSON.stringify({ error: 'The prediction log is off on this server.' }),
  });
  await assert.rejects(
    buildTrafficDataset({ registry, loaded, target: 'other', minRows: 10, tokenFor: () => TOKEN }),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.code === 'endpoint-error' &&
      e.message.includes(`Target 'other' at ${otherUrl} answered 409 to GET /v2/repository/models/weather/log`) &&
      e.message.includes('No prediction log of weather could be downloaded') &&
      /--no-log/.test(e.hint ?? ''),
  );

  Object.assign(rt.otherLog, { status: 200, body: '' });
  await assert.rejects(
    buildTrafficDataset({ registry, loaded, target: 'other', minRows: 10, tokenFor: () => TOKEN }),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.code === 'traffic-too-few' &&
      e.message.startsWith(`Target 'other' at ${otherUrl} sent an empty prediction log for weather`),
  );
});
