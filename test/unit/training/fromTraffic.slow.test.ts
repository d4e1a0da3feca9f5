// Retraining from traffic end to end: a real model server's log and feedback → the dataset →
// real TensorFlow.js training in a worker → gates against production → promote/deploy offered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { CliCommand, CliIO } from '../../../server/cli/command';
import { dataCommand } from '../../../server/cli/commands/data';
import { trainCommand } from '../../../server/cli/commands/train';
import { describeError } from '../../../server/engine/errors';
import type { GateReport, RunRecord, VersionRecord } from '../../../server/engine/registry/types';
import type { NextCommand, TrafficDataset } from '../../../server/engine/training/fromTraffic';
import { configText, csvOf, trafficWorkspace, type TrafficWorkspace } from './trafficFixture';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

let ws: TrafficWorkspace;

before(async () => {
  ws = await trafficWorkspace('traffic-train');
});
after(async () => {
  await ws.close();
});

async function run(cmd: CliCommand, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { cwd: ws.root, out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false, env: {} };
  try {
    return { code: await cmd.run(argv, io), out: out.join('\n'), err: err.join('\n') };
  } catch (e) {
    return { code: 1, out: out.join('\n'), err: describeError(e) };
  }
}

test('train --from-traffic --since --mix: a version trained on the stored traffic dataset, judged against production, with promote and deploy offered', async () => {
  const r = await run(trainCommand, ['--from-traffic', 'local', '--since', ws.mid, '--mix', 'original:0.5', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as {
    run: RunRecord;
    version: VersionRecord;
    gates: GateReport;
    fromTraffic: TrafficDataset;
    next: NextCommand[];
  };
  const d = j.fromTraffic;
  assert.deepEqual(
    [d.traffic.predictions, d.traffic.labelled, d.original?.rows, d.rows],
    [80, ws.late.length, ws.late.length, 2 * ws.late.length],
  );
  const ref = `weather@${j.version.version}`;
  assert.notEqual(j.version.version, '1.0.0');

  // Lineage: the traffic dataset is the version's train data, and the run says where it came from.
  assert.deepEqual(
    j.version.datasets.filter((x) => x.role === 'train'),
    [{ role: 'train', path: d.displayPath, digest: d.digest }],
  );
  const params = ws.registry.getRun(j.run.id).params as { fromTraffic?: Record<string, unknown>; data?: string };
  assert.deepEqual(params.fromTraffic, {
    target: 'local',
    model: 'weather',
    since: ws.mid,
    mix: 0.5,
    dataset: d.digest,
    rows: d.rows,
    labelled: ws.late.length,
  });
  assert.equal(params.data, d.path);
  assert.match(
    j.version.note ?? '',
    new RegExp(
      `retrained on traffic:local: ${ws.late.length} labelled predictions since .*, ${ws.late.length} from data/train\\.csv`,
    ),
  );

  // The gates compared with production (1.0.0, which recorded accuracy 0.5 on other data) scored on
  // this version's own test split, and passed: promote and deploy are offered.
  assert.equal(j.gates.passed, true);
  const [gate] = j.gates.results;
  assert.deepEqual([gate.metric, gate.reference?.version], ['accuracy', '1.0.0']);
  const same = /\(production 1\.0\.0 on the same rows: (\d\.\d{4})\)$/.exec(gate.message);
  assert.ok(same, gate.message);
  assert.ok(Math.abs((gate.threshold ?? NaN) - (Number(same[1]) - 0.5)) < 1e-4, gate.message);
  assert.deepEqual(
    j.next.map((n) => n.command),
    [
      `modelops versions promote ${ref} --alias production --reason 'retrained from traffic:local'`,
      `modelops deploy ${ref} --target local`,
    ],
  );

  // The data the version was trained on restores to the exact bytes.
  const trained = readFileSync(d.path, 'utf8');
  assert.equal(
    trained
      .split('\n')
      .slice(0, ws.late.length + 1)
      .join('\n') + '\n',
    csvOf(ws.late),
  );
  const co = await run(dataCommand, ['checkout', ref, '--role', 'train', '--out', 'restored', '--json']);
  assert.equal(co.code, 0, co.err);
  const [restored] = JSON.parse(co.out) as Array<{ out: string; digest: string }>;
  assert.equal(restored.digest, d.digest);
  assert.equal(readFileSync(restored.out, 'utf8'), trained);
});

test('a version that fails its gates is registered but promote and deploy are not offered', async () => {
  writeFileSync(join(ws.root, 'strict.yaml'), configText('">= production + 1"'));
  const r = await run(trainCommand, ['--from-traffic', 'local', '--config', 'strict.yaml']);
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.err,
    /traffic on 'local' \(weather, \S+ … \S+\): 140 predictions, 94 with labels \(46 without feedback left out\)\n {2}3 feedback for unknown request ids ignored\ndataset \.modelops\/traffic\/\S+\.csv: 94 rows, stored as sha256:[0-9a-f]{64}/,
  );
  assert.match(r.out, /gates: FAILED/);
  assert.match(r.out, /failed its gates: not offering promote or deploy/);
  assert.doesNotMatch(r.out, /modelops versions promote/);
});
