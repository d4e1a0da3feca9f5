/**
 * A restarted server reloads only bundles whose files still hash to the digest recorded in its
 * state.json (the digest the workspace store names the version by); anything else is not
 * loaded, is logged with the reason and leaves the model not ready. And what the server
 * writes is its owner's only: folders 0700, files 0600.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArtifactStore } from '../../server/engine/registry/artifacts';
import { bundleDigest, startModelServer } from '../../server/engine/serving';
import { makeBundle, makeRows, inferBody, tempDir } from '../unit/serving/fixtures';

const TOKEN = 'reload-token-19be';
let tmp: ReturnType<typeof tempDir>;
let bundleA: string;
let bundleB: string;
let digestA: string;
let digestB: string;

before(async () => {
  tmp = tempDir('sec-reload');
  bundleA = join(tmp.dir, 'a');
  bundleB = join(tmp.dir, 'b');
  await makeBundle(bundleA, 1);
  await makeBundle(bundleB, 2);
  await makeBundle(join(tmp.dir, 'c'), 3);
  // The digests the workspace store gives these folders: what deploy knows for a version.
  const store = new ArtifactStore(join(tmp.dir, 'ws'));
  digestA = (await store.putDirectory(bundleA)).digest;
  digestB = (await store.putDirectory(bundleB)).digest;
});

after(() => tmp.cleanup());

const mode = (p: string) => statSync(p).mode & 0o777;
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

test('the server computes the same digest as the workspace store, and a load with another digest is refused', async () => {
  assert.equal(await bundleDigest(bundleA), digestA);
  const s = await startModelServer({ port: 0, storeDir: join(tmp.dir, 'refuse'), token: TOKEN });
  try {
    const bad = await fetch(`${s.url}/v2/repository/models/weather/versions/1.0.0/load`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ path: bundleA, digest: digestB }),
    });
    assert.equal(bad.status, 422);
    assert.match(
      ((await bad.json()) as { error: string }).error,
      new RegExp(`hashes to ${digestA}, not the expected ${digestB}`),
    );
    assert.equal(s.repository.resolve('weather', '1.0.0'), null);
    const ok = await fetch(`${s.url}/v2/repository/models/weather/versions/1.0.0/load`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ path: bundleA, digest: digestA }),
    });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { digest: string }).digest, digestA);
  } finally {
    await s.close();
  }
});

test('a bundle whose files changed since the load is not reloaded; the model is not ready and the log says why', async () => {
  const store = join(tmp.dir, 'restart');
  const served = join(tmp.dir, 'served-b');
  cpSync(bundleB, served, { recursive: true });
  const s1 = await startModelServer({ port: 0, storeDir: store, token: TOKEN });
  await s1.repository.load('weather', '1.0.0', bundleA, digestA);
  await s1.repository.load('weather', '2.0.0', served, digestB);
  await s1.repository.switchTo('weather', '2.0.0');
  await s1.close();
  const state = JSON.parse(readFileSync(join(store, 'state.json'), 'utf8')) as {
    models: { weather: { versions: Record<string, { digest: string }> } };
  };
  assert.equal(state.models.weather.versions['2.0.0'].digest, digestB);
  // Another bundle's weights now sit at the recorded path (a copied workspace, a rebuilt cache).
  copyFileSync(join(tmp.dir, 'c', 'weights.bin'), join(served, 'weights.bin'));
  const messages: string[] = [];
  const s2 = await startModelServer({
    port: 0,
    storeDir: store,
    token: TOKEN,
    onLog: (m, level) => messages.push(`${level}: ${m}`),
  });
  try {
    await s2.restored;
    assert.equal(s2.repository.resolve('weather', '2.0.0'), null, 'the changed bundle is not loaded');
    assert.ok(s2.repository.resolve('weather', '1.0.0'), 'the intact one is');
    assert.ok(
      messages.some((m) =>
        /^error: not reloading weather@2\.0\.0 .*hashes to sha256:[0-9a-f]{64}, not the expected/.test(m),
      ),
      messages.join('\n'),
    );
    // The version that served is gone: the model is not ready rather than served by 1.0.0 in its place.
    const ready = await fetch(`${s2.url}/v2/models/weather/ready`);
    assert.equal(ready.status, 404);
    assert.match(((await ready.json()) as { error: string }).error, /not the expected/);
    assert.equal(
      (
        await fetch(`${s2.url}/v2/models/weather/infer`, {
          method: 'POST',
          body: JSON.stringify(inferBody(makeRows(1))),
        })
      ).status,
      404,
    );
    assert.equal((await fetch(`${s2.url}/v2/models/weather/versions/1.0.0/ready`)).status, 200);
    const index = (await (await fetch(`${s2.url}/v2/repository/index`, { headers: auth })).json()) as Array<{
      version: string;
      state: string;
      reason?: string;
    }>;
    const b = index.find((e) => e.version === '2.0.0');
    assert.equal(b?.state, 'UNAVAILABLE');
    assert.match(String(b?.reason), /hashes to/);
  } finally {
    await s2.close();
  }
  // Still reported after another restart; an unload clears it.
  const s3 = await startModelServer({ port: 0, storeDir: store, token: TOKEN });
  try {
    await s3.restored;
    assert.equal(s3.repository.index().find((e) => e.version === '2.0.0')?.state, 'UNAVAILABLE');
    await s3.repository.unload('weather', '2.0.0');
    assert.equal(
      s3.repository.index().find((e) => e.version === '2.0.0'),
      undefined,
    );
  } finally {
    await s3.close();
  }
});

test('a state.json entry without a digest is not reloaded', async () => {
  const store = join(tmp.dir, 'legacy');
  const s0 = await startModelServer({ port: 0, storeDir: store, token: TOKEN });
  await s0.close();
  writeFileSync(
    join(store, 'state.json'),
    JSON.stringify({
      models: { weather: { active: '1.0.0', previous: null, versions: { '1.0.0': { bundleDir: bundleA } } } },
    }),
  );
  const messages: string[] = [];
  const s = await startModelServer({ port: 0, storeDir: store, token: TOKEN, onLog: (m) => messages.push(m) });
  try {
    await s.restored;
    assert.equal(s.repository.resolve('weather'), null);
    assert.ok(
      messages.some((m) => /weather@1\.0\.0.*records no digest/.test(m)),
      messages.join('\n'),
    );
  } finally {
    await s.close();
  }
});

test('the store, bundles, state and prediction logs are private: folders 0700, files 0600', async () => {
  const store = join(tmp.dir, 'perm-store');
  const s = await startModelServer({ port: 0, storeDir: store, token: TOKEN, log: { flushMs: 10 } });
  try {
    const files = Object.fromEntries(
      ['model.json', 'weights.bin', 'modelops.json'].map((f) => [f, readFileSync(join(bundleA, f)).toString('base64')]),
    );
    const up = await fetch(`${s.url}/v2/repository/models/weather/versions/1.0.0/load`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ files, digest: digestA }),
    });
    assert.equal(up.status, 200, await up.text());
    assert.equal(
      (
        await fetch(`${s.url}/v2/models/weather/infer`, {
          method: 'POST',
          body: JSON.stringify(inferBody(makeRows(1))),
        })
      ).status,
      200,
    );
    await s.log!.flush();
  } finally {
    await s.close();
  }
  assert.equal(mode(store), 0o700);
  assert.equal(mode(join(store, 'state.json')), 0o600);
  assert.equal(mode(join(store, 'bundles')), 0o700);
  assert.equal(mode(join(store, 'bundles', 'weather')), 0o700);
  assert.equal(mode(join(store, 'bundles', 'weather', '1.0.0')), 0o700);
  for (const f of ['model.json', 'weights.bin', 'modelops.json'])
    assert.equal(mode(join(store, 'bundles', 'weather', '1.0.0', f)), 0o600, f);
  assert.equal(mode(join(store, 'logs')), 0o700);
  assert.equal(mode(join(store, 'logs', 'weather')), 0o700);
  assert.equal(mode(join(store, 'logs', 'weather', 'predictions.jsonl')), 0o600);
});
