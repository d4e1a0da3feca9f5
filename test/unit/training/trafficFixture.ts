/**
 * A workspace with production traffic for retraining tests: weather@1.0.0 (a real TF.js bundle)
 * registered and promoted to production, served by a real model server on 127.0.0.1 that writes
 * its prediction log where target 'local' keeps it, and feedback sent over HTTP as a client does.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openRegistry } from '../../../server/engine/registry';
import type { Registry } from '../../../server/engine/registry/types';
import { startModelServer, type RunningModelServer } from '../../../server/engine/serving';
import { targetStoreDir } from '../../../server/engine/deploy';
import { inferBody, makeBundle, makeRows } from '../serving/fixtures';
import { tempWorkspace } from '../registry/helpers';

export type TrafficRow = { temp_max: number; wind: number; season: string; weather: string };

/** A temp workspace whose registry has weather@1.0.0 (a small real TF.js bundle) as production. */
export async function productionWorkspace(
  prefix: string,
): Promise<{ ws: ReturnType<typeof tempWorkspace>; registry: Registry; bundle: string }> {
  const ws = tempWorkspace(`modelops-${prefix}-`);
  const bundle = join(ws.root, 'bundle');
  await makeBundle(bundle, 1);
  const registry = openRegistry(ws.root);
  await registry.registerVersion({
    model: 'weather',
    source: bundle,
    version: '1.0.0',
    format: 'modelops-tfjs',
    metrics: { accuracy: 0.5 },
  });
  registry.setAlias('weather', 'production', '1.0.0');
  return { ws, registry, bundle };
}

/** `data/train.csv` of the workspace: the rows with their learnable truth as `weather`. */
export function writeTrainCsv(
  ws: ReturnType<typeof tempWorkspace>,
  rows: ReadonlyArray<{ temp_max: number; wind: number; season: string }>,
): void {
  const lines = rows.map((r) => `${r.temp_max},${r.wind},${r.season},${truthOf(r)}`);
  ws.file('data/train.csv', ['temp_max,wind,season,weather', ...lines].join('\n') + '\n');
}

/** A learnable truth, so a retrain has something to find. */
export const truthOf = (r: { temp_max: number; wind: number }): string =>
  r.temp_max > 20 ? 'sun' : r.wind > 4 ? 'rain' : 'fog';

export function configText(gate = '">= production - 0.5"'): string {
  return `version: 1
project: traffic
data:
  train: data/train.csv
  target: weather
  features: [temp_max, wind, season]
  split: { train: 0.7, validation: 0.15, test: 0.15, seed: 7 }
  missing: drop
model:
  name: weather
  task: classification
  framework: tfjs
  layers:
    - { type: dense, units: 8, activation: relu }
    - { type: dense, units: 3, activation: softmax }
train:
  epochs: 2
  batchSize: 16
  optimizer: adam
  learningRate: 0.01
  seed: 7
  classWeights: none
evaluate:
  metrics: [accuracy]
  gates:
    accuracy: ${gate}
deploy:
  targets:
    local: { type: local, host: 127.0.0.1, port: 8765, requireApproval: false }
`;
}

export interface TrafficWorkspace {
  root: string;
  registry: Registry;
  configPath: string;
  /** Rows whose request got feedback, in log order; `late` are those sent after `mid`. */
  labelled: TrafficRow[];
  late: TrafficRow[];
  /** A time between the two batches of requests. */
  mid: string;
  /** Predicted rows in all, and feedback sent for unknown request ids. */
  predictions: number;
  unknownFeedback: number;
  close(): Promise<void>;
}

/**
 * Two batches of two-row requests (`early` then, after `mid`, `late`); every third request gets
 * no feedback; three feedback messages name request ids that were never sent.
 */
export async function trafficWorkspace(prefix: string, early = 30, late = 40): Promise<TrafficWorkspace> {
  const { ws, registry, bundle } = await productionWorkspace(prefix);
  writeTrainCsv(ws, makeRows(200, 3));
  const configPath = ws.file('modelops.yaml', configText());
  const server: RunningModelServer = await startModelServer({
    port: 0,
    storeDir: targetStoreDir(registry.storeDir, 'local'),
    token: null,
    log: { flushMs: 10 },
  });
  await server.repository.load('weather', '1.0.0', bundle);

  const labelled: TrafficRow[] = [];
  const lateRows: TrafficRow[] = [];
  let predictions = 0;
  const send = async (n: number, seed: number, into: TrafficRow[][]): Promise<void> => {
    for (let k = 0; k < n; k++) {
      const rows = makeRows(2, seed + k);
      const id = `req-${seed}-${k}`;
      const res = await fetch(`${server.url}/v2/models/weather/infer`, {
        method: 'POST',
        body: JSON.stringify(inferBody(rows, id)),
      });
      if (res.status !== 200) throw new Error(`infer: ${res.status} ${await res.text()}`);
      predictions += rows.length;
      if (k % 3 === 2) continue;
      const truth = rows.map((r) => ({ ...r, weather: truthOf(r) }));
      const fb = await fetch(`${server.url}/v2/models/weather/feedback`, {
        method: 'POST',
        body: JSON.stringify({ id, labels: truth.map((r) => r.weather) }),
      });
      if (fb.status !== 202) throw new Error(`feedback: ${fb.status} ${await fb.text()}`);
      for (const list of into) list.push(...truth);
    }
  };
  await send(early, 1000, [labelled]);
  await server.log!.flush();
  await sleep(20);
  const mid = new Date().toISOString();
  await sleep(20);
  await send(late, 5000, [labelled, lateRows]);
  const unknownFeedback = 3;
  for (let k = 0; k < unknownFeedback; k++) {
    await fetch(`${server.url}/v2/models/weather/feedback`, {
      method: 'POST',
      body: JSON.stringify({ id: `never-sent-${k}`, label: 'sun' }),
    });
  }
  await server.log!.flush();
  return {
    root: ws.root,
    registry,
    configPath,
    labelled,
    late: lateRows,
    mid,
    predictions,
    unknownFeedback,
    async close() {
      await server.close();
      registry.close();
      ws.cleanup();
    },
  };
}

/** The CSV the dataset should hold for these rows (config layout: features, then the target). */
export function csvOf(rows: TrafficRow[]): string {
  return (
    ['temp_max,wind,season,weather', ...rows.map((r) => `${r.temp_max},${r.wind},${r.season},${r.weather}`)].join(
      '\n',
    ) + '\n'
  );
}
