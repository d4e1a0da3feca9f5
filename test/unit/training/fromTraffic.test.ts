import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { CliCommand, CliIO } from '../../../server/cli/command';
import { dataCommand } from '../../../server/cli/commands/data';
import { trainCommand } from '../../../server/cli/commands/train';
import { loadConfig } from '../../../server/engine/config';
import type { LoadedConfig } from '../../../server/engine/config/types';
import { describeError, ModelOpsError } from '../../../server/engine/errors';
import { runPolicy } from '../../../server/engine/monitoring/policy';
import { buildTrafficDataset, nextCommands, parseMix, splitMinimum } from '../../../server/engine/training/fromTraffic';
import { parseSince } from '../../../server/engine/monitoring/since';
import { csvOf, trafficWorkspace, type TrafficWorkspace } from './trafficFixture';
import { recordActive } from '../fixtures/deployments';

let ws: TrafficWorkspace;
let loaded: LoadedConfig;

before(async () => {
  ws = await trafficWorkspace('traffic');
  loaded = await loadConfig(ws.configPath);
});
after(async () => {
  await ws.close();
});

async function run(
  cmd: CliCommand,
  argv: string[],
): Promise<{ code: number; out: string; err: string; error: ModelOpsError | null }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { cwd: ws.root, out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false, env: {} };
  try {
    return { code: await cmd.run(argv, io), out: out.join('\n'), err: err.join('\n'), error: null };
  } catch (e) {
    return { code: 1, out: out.join('\n'), err: describeError(e), error: e instanceof ModelOpsError ? e : null };
  }
}

const trafficFiles = (): string[] =>
  existsSync(join(ws.root, '.modelops', 'traffic')) ? readdirSync(join(ws.root, '.modelops', 'traffic')) : [];

test('the dataset holds labelled traffic only, in the config layout, counts what it left out, and checks out to the same bytes', async () => {
  const d = await buildTrafficDataset({ registry: ws.registry, loaded, target: 'local' });
  // 70 two-row requests; every third one without feedback; three feedback for ids never sent.
  assert.equal(ws.predictions, 140);
  assert.equal(ws.labelled.length, 94);
  assert.deepEqual(
    {
      predictions: d.traffic.predictions,
      labelled: d.traffic.labelled,
      unlabelled: d.traffic.unlabelled,
      unmatched: d.traffic.unmatchedFeedback,
      rows: d.rows,
    },
    { predictions: 140, labelled: 94, unlabelled: 46, unmatched: 3, rows: 94 },
  );
  assert.deepEqual(d.columns, ['temp_max', 'wind', 'season', 'weather']);
  assert.match(d.displayPath, /^\.modelops\/traffic\/\d{4}-\d\d-\d\dT[\d-]+Z\.csv$/);
  const bytes = readFileSync(d.path, 'utf8');
  assert.equal(bytes, csvOf(ws.labelled));
  assert.equal(statSync(d.path).mode & 0o077, 0, 'request data is owner-only');
  assert.equal(d.original, null);

  // A data version: listed with its rows, and restored to the exact bytes.
  const show = await run(dataCommand, ['show', d.digest, '--json']);
  assert.equal(show.code, 0, show.err);
  assert.equal((JSON.parse(show.out) as { rows: number }).rows, 94);
  const co = await run(dataCommand, ['checkout', d.digest, '--out', 'restored', '--json']);
  assert.equal(co.code, 0, co.err);
  const [restored] = JSON.parse(co.out) as Array<{ out: string }>;
  assert.equal(readFileSync(restored.out, 'utf8'), bytes);
});

test('--since keeps the predictions requested from then on; a duration counts back from now', async () => {
  const late = await buildTrafficDataset({ registry: ws.registry, loaded, target: 'local', since: ws.mid });
  assert.equal(late.since, ws.mid);
  assert.deepEqual(
    [late.traffic.predictions, late.traffic.labelled, late.traffic.beforeSince],
    [80, ws.late.length, 60],
  );
  assert.equal(readFileSync(late.path, 'utf8'), csvOf(ws.late));
  assert.ok(late.traffic.period && late.traffic.period.first >= ws.mid);

  const hour = await buildTrafficDataset({ registry: ws.registry, loaded, target: 'local', since: '1h' });
  assert.equal(hour.rows, 94);
  // The same bytes are one data version.
  assert.equal(hour.digest, (await buildTrafficDataset({ registry: ws.registry, loaded, target: 'local' })).digest);
});

test('--since deploy: from when the active deployment went out; refused, naming the target, when there is none', async () => {
  await assert.rejects(
    buildTrafficDataset({ registry: ws.registry, loaded, target: 'local', since: 'deploy' }),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.code === 'no-deployment' &&
      e.message === "--since deploy: weather has no active deployment on 'local'.",
  );
  // A deployment recorded at ws.mid: the same rows as --since ws.mid.
  const d = recordActive(ws.registry, 'local', 'weather@1.0.0');
  // Moved back to ws.mid in the registry file itself (the registry stamps a deployment with now).
  const db = new Database(join(ws.registry.storeDir, 'registry.db'));
  db.prepare('UPDATE deployments SET at = ? WHERE id = ?').run(ws.mid, d.id);
  try {
    const r = await buildTrafficDataset({ registry: ws.registry, loaded, target: 'local', since: 'deploy' });
    assert.equal(r.since, new Date(ws.mid).toISOString());
    assert.equal(r.traffic.beforeSince, 60);
  } finally {
    db.prepare('DELETE FROM deployments WHERE id = ?').run(d.id);
    db.close();
  }
});

test('too few labelled rows: a refusal that says how many, over which period, and how many are needed; nothing is written', async () => {
  const before = trafficFiles().length;
  await assert.rejects(
    buildTrafficDataset({ registry: ws.registry, loaded, target: 'local', since: ws.mid, minRows: 100 }),
    (e: unknown) => {
      assert.ok(e instanceof ModelOpsError);
      assert.equal(e.code, 'traffic-too-few');
      assert.match(
        e.message,
        new RegExp(
          `Only ${ws.late.length} labelled rows to retrain on: 80 predictions of weather on target 'local' since ${ws.mid.replace(/[.]/g, '\\.')} \\(--since .+\\), ${ws.late.length} with labels; at least 100 are needed \\(3 feedback for unknown request ids ignored\\)`,
        ),
      );
      assert.match(e.hint ?? '', /POST \/v2\/models\/weather\/feedback/);
      assert.match(e.hint ?? '', /widen --since/);
      assert.match(e.hint ?? '', /--min-rows/);
      return true;
    },
  );
  // The default minimum (50) with an hour in the future: no rows at all.
  await assert.rejects(
    buildTrafficDataset({
      registry: ws.registry,
      loaded,
      target: 'local',
      since: new Date(Date.now() + 3_600_000).toISOString(),
    }),
    /Only 0 labelled rows .* at least 50 are needed/,
  );
  // One labelled request (2 rows) with --min-rows 1: the split needs 3 rows.
  await assert.rejects(
    buildTrafficDataset({ registry: ws.registry, loaded, target: 'local', from: 0, to: 2, minRows: 1 }),
    /Only 2 rows to retrain on .*data\.split needs at least 3/,
  );
  // A target modelops.yaml does not name: refused as such, not counted as an empty log.
  await assert.rejects(
    buildTrafficDataset({ registry: ws.registry, loaded, target: 'nowhere' }),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'unknown-target',
  );
  assert.equal(trafficFiles().length, before);
});

test('--mix original:F makes F of the rows original ones, drawn with the split seed, capped by data.train', async () => {
  const a = await buildTrafficDataset({ registry: ws.registry, loaded, target: 'local', since: ws.mid, mix: 0.5 });
  const b = await buildTrafficDataset({ registry: ws.registry, loaded, target: 'local', since: ws.mid, mix: 0.5 });
  assert.deepEqual(a.original, { requested: 0.5, rows: ws.late.length, fraction: 0.5, path: 'data/train.csv' });
  assert.equal(a.rows, 2 * ws.late.length);
  assert.equal(readFileSync(a.path, 'utf8'), readFileSync(b.path, 'utf8'), 'the same seed picks the same rows');
  const lines = readFileSync(a.path, 'utf8').trim().split('\n');
  assert.equal(lines.slice(0, ws.late.length + 1).join('\n') + '\n', csvOf(ws.late));
  const original = new Set(readFileSync(join(ws.root, 'data/train.csv'), 'utf8').trim().split('\n').slice(1));
  const mixed = lines.slice(ws.late.length + 1);
  assert.ok(mixed.every((l) => original.has(l)));
  assert.equal(new Set(mixed).size, mixed.length, 'drawn without replacement');

  // 0.8 of 94 traffic rows would be 376 original rows; data.train has 200.
  const capped = await buildTrafficDataset({ registry: ws.registry, loaded, target: 'local', mix: 0.8 });
  assert.deepEqual([capped.original?.rows, capped.rows], [200, 294]);
  assert.ok(Math.abs(capped.original!.fraction - 200 / 294) < 1e-12);

  // --out: written there, never over an existing file.
  const out = join(ws.root, 'retrain.csv');
  const there = await buildTrafficDataset({ registry: ws.registry, loaded, target: 'local', out });
  assert.equal(there.displayPath, 'retrain.csv');
  writeFileSync(join(ws.root, 'taken.csv'), 'x\n');
  await assert.rejects(
    buildTrafficDataset({ registry: ws.registry, loaded, target: 'local', out: join(ws.root, 'taken.csv') }),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'data-out-exists',
  );
  assert.equal(readFileSync(join(ws.root, 'taken.csv'), 'utf8'), 'x\n');
});

test('--since, --mix and the split minimum parse strictly', () => {
  const now = new Date('2024-05-08T12:00:00Z');
  assert.equal(new Date(parseSince('7d', now)).toISOString(), '2024-05-01T12:00:00.000Z');
  assert.equal(new Date(parseSince('12h', now)).toISOString(), '2024-05-08T00:00:00.000Z');
  assert.equal(new Date(parseSince('90m', now)).toISOString(), '2024-05-08T10:30:00.000Z');
  assert.equal(new Date(parseSince('2024-05-01T06:00:00Z', now)).toISOString(), '2024-05-01T06:00:00.000Z');
  for (const bad of ['7', 'yesterday', '7y', '-1d', '2024-13-45'])
    assert.throws(
      () => parseSince(bad, now),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'bad-since',
      bad,
    );
  assert.equal(parseMix('original:0.5'), 0.5);
  assert.equal(parseMix('original:0'), 0);
  for (const bad of ['original:1', 'original:1.5', '0.5', 'traffic:0.5', 'original:-0.1', 'original:'])
    assert.throws(
      () => parseMix(bad),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'bad-mix',
      bad,
    );
  const split = loaded.config.data;
  assert.equal(splitMinimum(split), 3);
  assert.equal(splitMinimum({ ...split, split: { train: 1, validation: 0, test: 0, seed: 1 } }), 1);
  assert.deepEqual(
    nextCommands('weather@1.1.0', 'local', 'conf/my models.yaml').map((c) => c.command),
    [
      "modelops versions promote weather@1.1.0 --alias production --reason 'retrained from traffic:local'",
      "modelops deploy weather@1.1.0 --target local --config 'conf/my models.yaml'",
    ],
  );
});

test('modelops train --from-traffic: flags are checked, and the refusal reaches the terminal before any training', async () => {
  const misuse = await run(trainCommand, ['--since', '7d']);
  assert.equal(misuse.error?.code, 'cli-usage');
  assert.match(misuse.err, /--since applies to --from-traffic <target> only/);
  assert.equal(
    (await run(trainCommand, ['--from-traffic', 'local', '--data', 'data/train.csv'])).error?.code,
    'cli-usage',
  );
  assert.equal((await run(trainCommand, ['--from-traffic', 'local', '--mix', '0.5'])).error?.code, 'bad-mix');
  assert.equal((await run(trainCommand, ['--from-traffic', 'local', '--min-rows', '0'])).error?.code, 'cli-usage');
  const few = await run(trainCommand, ['--from-traffic', 'local', '--min-rows', '1000']);
  assert.equal(few.error?.code, 'traffic-too-few');
  assert.match(
    few.err,
    /Only 94 labelled rows to retrain on: 140 predictions of weather on target 'local' from \S+ to \S+, 94 with labels; at least 1,000 are needed/,
  );
  assert.equal(ws.registry.listRuns().length, 0, 'no run was started');
});

test("the retrain policy's command is one the CLI runs", async () => {
  const outcome = await runPolicy({
    registry: ws.registry,
    config: loaded.config,
    tokenFor: () => null,
    target: 'local',
    on: { alert: 'retrain' },
    alert: {
      model: 'weather',
      version: '1.0.0',
      window: 3,
      rule: 'we1',
      metric: 'accuracy',
      value: 0.2,
      message: 'one point beyond 3σ',
    },
  });
  const cmd = /`(modelops train [^`]+)`/.exec(outcome.detail)?.[1];
  assert.ok(cmd, outcome.detail);
  const argv = cmd.split(' ').slice(2);
  // Asked for more rows than exist, it gets as far as counting the traffic.
  const r = await run(trainCommand, [...argv, '--min-rows', '1000']);
  assert.equal(r.error?.code, 'traffic-too-few', r.err);
});
