// Retraining from the traffic of an `http` target end to end: a real `modelops serve` process with
// a token (remoteTrafficFixture.ts) → its log downloaded with the target's token → real TensorFlow.js
// training on exactly its labelled rows → gates → promote/deploy offered for that target; through
// the CLI too, with the token from the environment bound to the endpoint's origin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { CliIO } from '../../../server/cli/command';
import { trainCommand } from '../../../server/cli/commands/train';
import { describeError } from '../../../server/engine/errors';
import type { VersionRecord } from '../../../server/engine/registry/types';
import type { TrafficDataset } from '../../../server/engine/training/fromTraffic';
import { trainFromTraffic } from '../../../server/engine/training/fromTraffic';
import { remoteTraffic, TOKEN, type RemoteTraffic } from './remoteTrafficFixture';
import { csvOf } from './trafficFixture';

let rt: RemoteTraffic;

before(async () => {
  rt = await remoteTraffic('traffic-remote-train');
});
after(async () => {
  await rt?.close();
});

test('trainFromTraffic on an http target trains a version on exactly its labelled rows, with the endpoint in its lineage', async () => {
  const { registry, loaded } = rt;
  const r = await trainFromTraffic(loaded, {
    registry,
    target: 'remote',
    tokenFor: rt.tokenFor(),
    minRows: 10,
    trusted: true,
  });
  const d = r.dataset;
  assert.deepEqual([d.traffic.predictions, d.traffic.labelled, d.rows], [108, 72, 72]);
  assert.equal(readFileSync(d.path, 'utf8'), csvOf(rt.labelled));
  assert.equal(d.source.flushed, true);

  assert.notEqual(r.train.version.version, '1.0.0');
  assert.deepEqual(
    r.train.version.datasets.filter((x) => x.role === 'train'),
    [{ role: 'train', path: d.displayPath, digest: d.digest }],
  );
  const params = registry.getRun(r.train.run.id).params as { fromTraffic?: Record<string, unknown> };
  assert.deepEqual(params.fromTraffic, {
    target: 'remote',
    model: 'weather',
    since: null,
    mix: null,
    dataset: d.digest,
    rows: 72,
    labelled: 72,
    endpoint: rt.serve.url,
  });
  assert.equal(r.train.gates?.passed, true);
  const ref = `weather@${r.train.version.version}`;
  assert.deepEqual(
    r.next.map((x) => x.command),
    [
      `modelops versions promote ${ref} --alias production --reason 'retrained from traffic:remote'`,
      `modelops deploy ${ref} --target remote`,
    ],
  );
});

test('modelops train --from-traffic <http target>: the token from the environment, sent only to the origin it is bound to', async () => {
  const run = async (env: NodeJS.ProcessEnv, extra: string[] = []) => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = { cwd: rt.root, out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false, env };
    try {
      const code = await trainCommand.run(
        ['--from-traffic', 'remote', '--since', rt.mid, '--min-rows', '10', ...extra],
        io,
      );
      return { code, out: out.join('\n'), err: err.join('\n') };
    } catch (e) {
      return { code: 1, out: out.join('\n'), err: describeError(e) };
    }
  };
  // A token not bound to the endpoint's origin is not sent.
  const unbound = await run({ MODELOPS_TOKEN_REMOTE: TOKEN });
  assert.equal(unbound.code, 1);
  assert.match(unbound.err, /The token 'remote' is not allowed to go to http:\/\/127\.0\.0\.1:\d+ \(target 'remote'\)/);

  const r = await run({ MODELOPS_TOKEN_REMOTE: TOKEN }, ['--token-origin', rt.serve.url, '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { version: VersionRecord; fromTraffic: TrafficDataset };
  assert.deepEqual(
    [j.fromTraffic.rows, j.fromTraffic.source.kind, j.fromTraffic.source.url],
    [rt.late.length, 'http', rt.serve.url],
  );
  assert.equal(readFileSync(j.fromTraffic.path, 'utf8'), csvOf(rt.late));
});
