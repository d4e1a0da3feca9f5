/**
 * State files in the workspace are not trusted blindly: a committed .modelops/serving/<target>.json
 * cannot redirect the local target, an impostor on the configured port gets nothing, a relay from
 * another port fails the identity proof, a token file others can read is refused, and stopping a
 * server never signals a process that did not prove it is ours.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry } from '../../server/engine/registry';
import type { Registry } from '../../server/engine/registry/types';
import type { ModelOpsConfig } from '../../server/engine/config/types';
import {
  deploy,
  listEndpoints,
  readLocalToken,
  recordPath,
  stopLocalServer,
  verifyLocalServer,
} from '../../server/engine/deploy';
import { startModelServer } from '../../server/engine/serving';
import { freePort } from '../../server/engine/net';
import { makeBundle, makeRows, tempDir, writeCsv } from '../unit/serving/fixtures';
import { localTarget, runConfig } from '../unit/fixtures/config';
import { serveCommand } from '../unit/fixtures/serve';
import { leaks, listen } from './helpers';

let tmp: ReturnType<typeof tempDir>;
let registry: Registry;

function configFor(port: number): ModelOpsConfig {
  return runConfig({
    project: 'sec',
    data: { train: 'data/val.csv', validation: 'data/val.csv', split: { seed: 42 } },
    targets: { local: localTarget({ port }) },
  });
}

function writeRecord(record: unknown): void {
  mkdirSync(join(registry.storeDir, 'serving'), { recursive: true });
  writeFileSync(recordPath(registry.storeDir, 'local'), JSON.stringify(record));
}

before(async () => {
  tmp = tempDir('sec-local');
  mkdirSync(join(tmp.dir, 'data'));
  writeCsv(
    join(tmp.dir, 'data', 'val.csv'),
    makeRows(30, 5).map((r, i) => ({ ...r, weather: ['rain', 'sun', 'fog'][i % 3] })),
  );
  await makeBundle(join(tmp.dir, 'bundle'), 1);
  registry = openRegistry(tmp.dir);
  await registry.registerVersion({
    model: 'weather',
    source: join(tmp.dir, 'bundle'),
    version: '1.0.0',
    format: 'modelops-tfjs',
  });
});

after(() => {
  registry.close();
  tmp.cleanup();
});

test('a committed record pointing at another port is ignored: listing and deploy never talk to it', async () => {
  const attacker = await listen();
  const port = await freePort();
  const config = configFor(port);
  try {
    writeRecord({ pid: 1, url: attacker.url, port: attacker.port, startedAt: new Date().toISOString() });
    const [ep] = await listEndpoints({ registry, config, tokenFor: () => null });
    assert.equal(ep.live, false);
    const r = await deploy({
      registry,
      config,
      tokenFor: () => null,
      serveCommand,
      ref: 'weather@1.0.0',
      target: 'local',
      configDir: tmp.dir,
    });
    assert.equal(new URL(r.url).port, String(port), 'a fresh server on the configured port');
    assert.equal(attacker.requests.length, 0);
  } finally {
    await stopLocalServer(registry.storeDir, 'local');
    await attacker.close();
  }
});

test('an impostor on the configured port with a live pid gets no token and no data', async () => {
  const impostor = await listen();
  const config = configFor(impostor.port);
  try {
    writeRecord({ pid: process.pid, url: impostor.url, port: impostor.port, startedAt: new Date().toISOString() });
    const token = readLocalToken(registry.storeDir, 'local')!;
    await assert.rejects(
      deploy({
        registry,
        config,
        tokenFor: () => null,
        serveCommand,
        ref: 'weather@1.0.0',
        target: 'local',
        configDir: tmp.dir,
      }),
      /cannot prove it is this workspace's model server/,
    );
    assert.deepEqual(leaks(impostor, token), []);
    assert.ok(
      impostor.requests.every((r) => r.method === 'GET' && r.authorization === undefined),
      'only health and identity probes, no credentials, no rows',
    );
  } finally {
    await impostor.close();
  }
});

test('a process that holds the configured port but does not answer is refused before any server is started', async () => {
  // A TCP listener that accepts and never replies: the health probe times out.
  const silent = createNetServer((socket) => socket.on('error', () => {}));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const port = (silent.address() as AddressInfo).port;
  try {
    writeRecord({ pid: process.pid, url: `http://127.0.0.1:${port}`, port, startedAt: new Date().toISOString() });
    await assert.rejects(
      deploy({
        registry,
        config: configFor(port),
        tokenFor: () => null,
        serveCommand,
        ref: 'weather@1.0.0',
        target: 'local',
        configDir: tmp.dir,
      }),
      (e: Error) =>
        /cannot prove it is this workspace's model server/.test(e.message) && !/did not start/.test(e.message),
    );
  } finally {
    silent.close();
  }
});

test('a relay from another port fails the identity proof', async () => {
  const token = 'relay-token-51e0c2';
  const real = await startModelServer({ port: 0, storeDir: join(tmp.dir, 'real-store'), token, allowPathLoads: false });
  const relay = await listen((req, res) => {
    void fetch(real.url + (req.url ?? '/')).then(async (r) => {
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(await r.text());
    });
  });
  try {
    assert.ok(await verifyLocalServer(real.url, token), 'the real server proves itself');
    assert.equal(await verifyLocalServer(relay.url, token), null, 'the relay does not');
    assert.equal(await verifyLocalServer(real.url, 'another-token'), null, 'nor does a server holding another token');
  } finally {
    await relay.close();
    await real.close();
  }
});

test('a token file that others can read is refused', () => {
  const file = join(registry.storeDir, 'serving', 'local.token');
  writeFileSync(file, 'committed-token\n');
  chmodSync(file, 0o644);
  assert.throws(() => readLocalToken(registry.storeDir, 'local'), /can be read by other users \(mode 644\)/);
  chmodSync(file, 0o600);
  assert.equal(readLocalToken(registry.storeDir, 'local'), 'committed-token');
});

test('stopping a target never signals a process that did not prove it is our server', async () => {
  const bystander = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  const impostor = await listen();
  try {
    writeRecord({ pid: bystander.pid, url: impostor.url, port: impostor.port, startedAt: new Date().toISOString() });
    assert.equal(await stopLocalServer(registry.storeDir, 'local'), false);
    assert.equal(bystander.exitCode, null);
    assert.doesNotThrow(() => process.kill(bystander.pid!, 0), 'the bystander is still alive');
  } finally {
    bystander.kill();
    await impostor.close();
  }
});
