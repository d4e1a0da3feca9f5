/**
 * An `http` target with production traffic: a real `modelops serve` process on 127.0.0.1 with a
 * management token (its store outside the workspace's .modelops), weather@1.0.0 uploaded to it as
 * a remote deploy does, and predictions and feedback sent to it over HTTP. The workspace's config
 * names it as target 'remote'; 'other' is another protocol server (no flush route, a log route
 * whose answer a test sets) and 'down' a port nothing listens on.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../../server/engine/config';
import { freePort } from '../../../server/engine/net';
import type { LoadedConfig } from '../../../server/engine/config/types';
import { ModelServerClient } from '../../../server/engine/deploy/client';
import type { Registry } from '../../../server/engine/registry/types';
import { inferBody, makeRows } from '../serving/fixtures';
import { startServeChild, type ServeChild } from '../serving/child';
import { configText, productionWorkspace, truthOf, type TrafficRow } from './trafficFixture';

export const TOKEN = 'remote-token-0123456789abcdef';

export interface RemoteTraffic {
  root: string;
  registry: Registry;
  loaded: LoadedConfig;
  serve: ServeChild;
  otherUrl: string;
  /** What 'other' answers to GET /v2/repository/models/weather/log, and the requests it saw. */
  otherLog: { status: number; body: string };
  otherRequests: string[];
  downUrl: string;
  /** Rows whose request got feedback, in log order; `late` are those sent after `mid`. */
  labelled: TrafficRow[];
  late: TrafficRow[];
  mid: string;
  predictions: number;
  /** The workspace's traffic CSVs. */
  trafficFiles(): Promise<string[]>;
  /** The target's token for 'remote' and 'other', `token` (default the right one). */
  tokenFor(token?: string): (target: string) => string | null;
  close(): Promise<void>;
}

/**
 * Two batches of two-row requests (24, then after `mid` 30); every third request gets no
 * feedback; two feedback messages name request ids that were never sent.
 */
export async function remoteTraffic(prefix: string): Promise<RemoteTraffic> {
  const { ws, registry, bundle } = await productionWorkspace(prefix);
  ws.file('data/train.csv', 'temp_max,wind,season,weather\n');

  // A minute between log appends: what the server answered is on its disk only once it flushes.
  process.env.MODELOPS_LOG_FLUSH_MS = '60000';
  let serve: ServeChild;
  try {
    serve = await startServeChild(['--store', join(ws.root, 'remote-server')], { token: TOKEN });
  } finally {
    delete process.env.MODELOPS_LOG_FLUSH_MS;
  }
  const client = new ModelServerClient({ target: 'remote', url: serve.url, token: TOKEN });
  const files: Record<string, string> = {};
  for (const f of await readdir(bundle)) files[f] = (await readFile(join(bundle, f))).toString('base64');
  await client.load('weather', '1.0.0', { files });

  const otherLog = { status: 200, body: '' };
  const otherRequests: string[] = [];
  const other: Server = createHttpServer((req, res) => {
    otherRequests.push(`${req.method} ${req.url}`);
    if (req.method === 'GET' && req.url === '/v2/repository/models/weather/log') {
      res.writeHead(otherLog.status, { 'content-type': 'application/json' });
      return res.end(otherLog.body);
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'no such route' }));
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
  const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  const downUrl = `http://127.0.0.1:${await freePort()}`;

  const yaml =
    configText() +
    `    remote: { type: http, url: ${serve.url} }\n` +
    `    other: { type: http, url: ${otherUrl} }\n` +
    `    down: { type: http, url: ${downUrl} }\n`;
  const loaded = await loadConfig(ws.file('modelops.yaml', yaml));

  const labelled: TrafficRow[] = [];
  const late: TrafficRow[] = [];
  let predictions = 0;
  const send = async (n: number, seed: number, into: TrafficRow[][]): Promise<void> => {
    for (let k = 0; k < n; k++) {
      const rows = makeRows(2, seed + k);
      const id = `remote-${seed}-${k}`;
      await client.infer('weather', null, inferBody(rows, id));
      predictions += rows.length;
      if (k % 3 === 2) continue;
      const truth = rows.map((r) => ({ ...r, weather: truthOf(r) }));
      const fb = await client.raw('POST', '/v2/models/weather/feedback', { id, labels: truth.map((r) => r.weather) });
      if (fb.status !== 202) throw new Error(`feedback: ${fb.status}`);
      for (const list of into) list.push(...truth);
    }
  };
  await send(24, 2000, [labelled]);
  await sleep(20);
  const mid = new Date().toISOString();
  await sleep(20);
  await send(30, 7000, [labelled, late]);
  for (let k = 0; k < 2; k++)
    await client.raw('POST', '/v2/models/weather/feedback', { id: `nope-${k}`, label: 'sun' });

  return {
    root: ws.root,
    registry,
    loaded,
    serve,
    otherUrl,
    otherLog,
    otherRequests,
    downUrl,
    labelled,
    late,
    mid,
    predictions,
    async trafficFiles() {
      return readdir(join(ws.root, '.modelops', 'traffic')).catch(() => []);
    },
    tokenFor:
      (token = TOKEN) =>
      (target) =>
        target === 'remote' || target === 'other' ? token : null,
    async close() {
      await serve.stop();
      await new Promise<void>((r) => other.close(() => r()));
      registry.close();
      ws.cleanup();
    },
  };
}
