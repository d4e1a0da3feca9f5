// Retraining from the traffic of a running local server: the server (a real `modelops serve`
// process) holds its latest log lines in memory; the dataset must still include the predictions
// and feedback it answered just before, with no wait, because the reader asks it to flush first.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../server/engine/config';
import { freePort } from '../../../server/engine/net';
import type { LoadedConfig } from '../../../server/engine/config/types';
import { ensureLocalServer, localToken, stopLocalServer, targetStoreDir } from '../../../server/engine/deploy';
import { ModelServerClient } from '../../../server/engine/deploy/client';
import type { Registry } from '../../../server/engine/registry/types';
import { logFiles } from '../../../server/engine/serving';
import { buildTrafficDataset, flushLocalServerLog } from '../../../server/engine/training/fromTraffic';
import { inferBody, makeRows } from '../serving/fixtures';
import { serveCommand } from '../fixtures/serve';
import { tempWorkspace } from '../registry/helpers';
import { configText, productionWorkspace, truthOf } from './trafficFixture';

let ws: ReturnType<typeof tempWorkspace>;
let registry: Registry;
let loaded: LoadedConfig;
let client: ModelServerClient;
let token: string;

before(async () => {
  let bundle: string;
  ({ ws, registry, bundle } = await productionWorkspace('traffic-flush'));
  ws.file('data/train.csv', 'temp_max,wind,season,weather\n');
  const port = await freePort();
  loaded = await loadConfig(ws.file('modelops.yaml', configText().replace('port: 8765', `port: ${port}`)));
  token = localToken(registry.storeDir, 'local');
  // A minute between appends: without a flush on request, nothing sent here would be on disk.
  process.env.MODELOPS_LOG_FLUSH_MS = '60000';
  try {
    const started = await ensureLocalServer({
      storeDir: registry.storeDir,
      target: 'local',
      port,
      token,
      command: serveCommand,
      startTimeoutMs: 60_000,
    });
    client = new ModelServerClient({ target: 'local', url: started.url, token });
  } finally {
    delete process.env.MODELOPS_LOG_FLUSH_MS;
  }
  await client.load('weather', '1.0.0', { path: bundle });
});

after(async () => {
  await stopLocalServer(registry.storeDir, 'local', token);
  registry.close();
  ws.cleanup();
});

test('predictions and feedback answered just before the dataset is built are in it, with no wait', async () => {
  const logDir = join(targetStoreDir(registry.storeDir, 'local'), 'logs', 'weather');
  let rows = 0;
  for (let k = 0; k < 12; k++) {
    const batch = makeRows(2, 300 + k);
    const id = `flush-${k}`;
    await client.infer('weather', null, inferBody(batch, id));
    const fb = await client.raw('POST', '/v2/models/weather/feedback', {
      id,
      labels: batch.map((r) => truthOf(r)),
    });
    assert.equal(fb.status, 202);
    rows += batch.length;
  }
  // Held in the server's memory: the minute between appends has not passed.
  assert.deepEqual(logFiles(logDir), []);
  const d = await buildTrafficDataset({ registry, loaded, target: 'local', minRows: 10 });
  assert.equal(d.traffic.predictions, rows);
  assert.equal(d.traffic.labelled, rows);
  assert.equal(d.rows, rows);
  assert.equal(logFiles(logDir).length, 1);
});

test('the flush route needs the token, and only a server that proves it is ours is asked', async () => {
  const anon = new ModelServerClient({ target: 'local', url: client.url, token: null });
  assert.equal((await anon.raw('POST', '/v2/repository/log/flush')).status, 401);
  assert.equal((await client.raw('GET', '/v2/repository/log/flush')).status, 405);
  assert.deepEqual(await client.flushLog(), { dropped: 0, lastError: null });
  assert.equal(await flushLocalServerLog(registry, loaded.config, 'local'), true);
  // Another token in the target's token file: the server cannot prove it holds it, so it is not asked.
  const file = join(registry.storeDir, 'serving', 'local.token');
  writeFileSync(file, 'not-the-servers-token\n', { mode: 0o600 });
  try {
    assert.equal(await flushLocalServerLog(registry, loaded.config, 'local'), false);
    // A configured token (tokenSecret) is the one the server holds: it is used before the file.
    assert.equal(await flushLocalServerLog(registry, loaded.config, 'local', () => token), true);
  } finally {
    writeFileSync(file, token + '\n', { mode: 0o600 });
  }
  // No server recorded for a target: nothing to ask, and no error.
  assert.equal(await flushLocalServerLog(registry, loaded.config, 'other'), false);
});
