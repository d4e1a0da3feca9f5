// The traffic dataset of an `http` target: a real `modelops serve` process with a token (see
// remoteTrafficFixture.ts); its log is flushed and downloaded with the target's token, and the
// refusals (wrong or no token, untrusted workspace, too few rows, endpoint down, no log) say what
// to do. Training on it end to end: fromTraffic.remote.slow.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
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

test('--since keeps the remote predictions requested from then on (the whole log is downloaded, the time applied here)', async () => {
  const { registry, loaded } = rt;
  const d = await buildTrafficDataset({
    registry,
    loaded,
    target: 'remote',
    since: rt.mid,
    minRows: 10,
    tokenFor: rt.tokenFor(),
  });
  assert.deepEqual([d.traffic.predictions, d.traffic.beforeSince, d.rows], [60, 48, rt.late.length]);
  assert.equal(readFileSync(d.path, 'utf8'), csvOf(rt.late));
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
