// The traffic dataset of an `http` target: a real `modelops serve` process with a token (see
// remoteTrafficFixture.ts); its log is flushed and downloaded with the target's token, and the
// refusals (wrong or no token, untrusted workspace, too few rows, endpoint down, no log) say what
// to do. Training on it end to end: fromTraffic.remote.slow.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { ModelOpsError } from '../../../server/engine/errors';
import { monitor } from '../../../server/engine/monitoring/monitor';
import { downloadRemoteLog } from '../../../server/engine/monitoring/logSource';
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
  assert.deepEqual(d.source, {
    kind: 'http',
    url: rt.serve.url,
    bytes: d.source.bytes,
    fetched: d.source.bytes,
    flushed: true,
    note: null,
  });
  assert.ok((d.source.bytes ?? 0) > 0);

  // The log is mirrored file by file, byte for byte, as request data: owner only, as the server's
  // own; no temporary file left.
  const cache = join(registry.storeDir, 'monitor-cache', 'remote', 'weather');
  for (const dir of [cache, join(cache, 'files'), join(cache, 'views')]) assert.equal(statSync(dir).mode & 0o077, 0);
  const mirrored = readdirSync(join(cache, 'files'));
  assert.equal(mirrored.length, 1);
  assert.match(mirrored[0], /^[0-9a-f]{32}\.jsonl$/);
  assert.equal(statSync(join(cache, 'files', mirrored[0])).mode & 0o077, 0);
  remoteLogText = readFileSync(join(cache, 'files', mirrored[0]), 'utf8');
  assert.equal(
    remoteLogText,
    readFileSync(join(rt.root, 'remote-server', 'logs', 'weather', 'predictions.jsonl'), 'utf8'),
  );
  assert.equal(Buffer.byteLength(remoteLogText), d.source.bytes);
});

test('a mirrored log: a second read fetches only what the endpoint appended, and a read keeps its own copy', async () => {
  const { registry, loaded } = rt;
  const logFile = join(rt.root, 'remote-server', 'logs', 'weather', 'predictions.jsonl');
  const first = await downloadRemoteLog(
    { registry, config: loaded.config, tokenFor: rt.tokenFor() },
    'remote',
    'weather',
  );
  assert.equal(first.downloaded, 0, 'nothing new since the first test');
  assert.equal(first.bytes, Buffer.byteLength(remoteLogText));
  assert.equal(readFileSync(join(first.dir, 'predictions.jsonl'), 'utf8'), remoteLogText);

  // Two more lines on the endpoint (as its log appends them): only they are fetched.
  const more = remoteLogText
    .split(/(?<=\n)/)
    .slice(0, 2)
    .join('')
    .replace(/"id":"/g, '"id":"again-');
  appendFileSync(logFile, more);
  const second = await downloadRemoteLog(
    { registry, config: loaded.config, tokenFor: rt.tokenFor() },
    'remote',
    'weather',
  );
  assert.equal(second.downloaded, Buffer.byteLength(more));
  assert.equal(readFileSync(join(second.dir, 'predictions.jsonl'), 'utf8'), remoteLogText + more);
  // The first read's folder still holds what it read, and the next read gets a folder of its own.
  assert.notEqual(second.dir, first.dir);
  assert.equal(readFileSync(join(first.dir, 'predictions.jsonl'), 'utf8'), remoteLogText);

  // The endpoint rotates: the same file under its rotated name is not fetched again.
  renameSync(logFile, join(dirname(logFile), 'predictions.1.jsonl'));
  const next = more.replace(/again-/g, 'after-rotation-');
  writeFileSync(logFile, next, { mode: 0o600 });
  const third = await downloadRemoteLog(
    { registry, config: loaded.config, tokenFor: rt.tokenFor() },
    'remote',
    'weather',
  );
  assert.equal(third.downloaded, Buffer.byteLength(next));
  assert.deepEqual(readdirSync(third.dir).sort(), ['predictions.1.jsonl', 'predictions.jsonl']);
  assert.equal(readFileSync(join(third.dir, 'predictions.1.jsonl'), 'utf8'), remoteLogText + more);
  // A whole-log download from before the endpoint listed its files is removed once it is an hour
  // old (no read uses it); a recent one is left (a reader of an older version may hold it).
  const cache = join(registry.storeDir, 'monitor-cache', 'remote', 'weather');
  const old = Date.now() / 1000 - 2 * 3600;
  writeFileSync(join(cache, 'predictions.jsonl'), remoteLogText);
  mkdirSync(join(cache, 'since'));
  writeFileSync(join(cache, 'since', 'predictions.jsonl'), remoteLogText);
  for (const p of [join(cache, 'predictions.jsonl'), join(cache, 'since')]) utimesSync(p, old, old);
  await downloadRemoteLog({ registry, config: loaded.config, tokenFor: rt.tokenFor() }, 'remote', 'weather');
  assert.deepEqual(readdirSync(cache).sort(), ['files', 'views']);
  writeFileSync(join(cache, 'predictions.jsonl'), remoteLogText);
  await downloadRemoteLog({ registry, config: loaded.config, tokenFor: rt.tokenFor() }, 'remote', 'weather');
  assert.deepEqual(readdirSync(cache).sort(), ['files', 'predictions.jsonl', 'views']);
  rmSync(join(cache, 'predictions.jsonl'));

  // The endpoint as it was for the next tests.
  rmSync(logFile);
  writeFileSync(logFile, remoteLogText, { mode: 0o600 });
  rmSync(join(dirname(logFile), 'predictions.1.jsonl'));
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
  // Only the late file was fetched; the mirror of the whole log, which starts as the early file does, is left as it was.
  const files = join(registry.storeDir, 'monitor-cache', 'remote', 'weather', 'files');
  const mirrored = () => readdirSync(files).map((f) => readFileSync(join(files, f), 'utf8'));
  const held = mirrored();
  assert.equal(held.length, 2);
  assert.ok(held.includes(lines.slice(cut).join('')));
  assert.ok(
    held.some((t) => t.startsWith(early) && t.length > early.length),
    'the copy of the longer file is left as it was',
  );

  // Without --since every file is read: the early one is now shorter than the copy, so it is fetched again whole.
  const all = await buildTrafficDataset({ registry, loaded, target: 'remote', minRows: 10, tokenFor: rt.tokenFor() });
  assert.equal(all.source.bytes, Buffer.byteLength(whole));
  assert.deepEqual(mirrored().sort(), [early, lines.slice(cut).join('')].sort());
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
    // No file listing there (404): the whole log, as before.
    assert.deepEqual(seen.slice(1), [
      'GET /v2/repository/models/weather/log/files',
      `GET /v2/repository/models/weather/log?since=${encodeURIComponent(rt.mid)}`,
    ]);
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
  assert.deepEqual(rt.otherRequests, [
    'POST /v2/repository/log/flush',
    'GET /v2/repository/models/weather/log/files',
    'GET /v2/repository/models/weather/log',
  ]);

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
