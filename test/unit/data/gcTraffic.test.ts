import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry, type WorkspaceRegistry } from '../../../server/engine/registry';
import { dataManifest, openDataDb } from '../../../server/engine/registry/datasets';
import { recordDatasets } from '../../../server/engine/data/digest';
import { readDataset } from '../../../server/engine/data/read';
import { collectGarbage } from '../../../server/engine/data/store/gc';
import { DataStore } from '../../../server/engine/data/store/store';
import { checkoutData } from '../../../server/engine/data/store/checkout';
import type { CliIO } from '../../../server/cli/command';
import { gcCommand } from '../../../server/cli/commands/gc';
import { tempWorkspace, type TempWorkspace } from '../registry/helpers';

const HOUR = 60 * 60 * 1000;

function csv(n: number, from: number): string {
  let s = 'temp,wind,weather\n';
  for (let i = from; i < from + n; i++) s += `${i % 37},${(i * 0.1).toFixed(1)},${['sun', 'rain', 'fog'][i % 3]}\n`;
  return s;
}

/** Writes `.modelops/traffic/<name>` as retraining does; stores it as a data version unless `store` is false. */
async function traffic(reg: WorkspaceRegistry, ws: TempWorkspace, name: string, from: number, store = true) {
  const dir = join(ws.root, '.modelops', 'traffic');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, csv(2000, from));
  const rel = `.modelops/traffic/${name}`;
  if (!store) return { file, rel, digest: '' };
  const [ref] = await recordDatasets(reg, [
    { role: 'train', dataset: await readDataset(file, { format: 'csv', displayName: rel }), displayPath: rel },
  ]);
  return { file, rel, digest: ref.digest };
}

test('gc deletes traffic CSVs whose data version stays stored and can be checked out, and keeps the only copies', async () => {
  const ws = tempWorkspace('modelops-gc-traffic-');
  try {
    const reg = openRegistry(ws.root);
    const used = await traffic(reg, ws, '2026-01-01T00-00-00Z.csv', 0);
    const unused = await traffic(reg, ws, '2026-01-02T00-00-00Z.csv', 10_000);
    const broken = await traffic(reg, ws, '2026-01-03T00-00-00Z.csv', 20_000);
    const never = await traffic(reg, ws, '2026-01-04T00-00-00Z.csv', 30_000, false);
    ws.file('m.pt', 'weights');
    await reg.registerVersion({
      model: 'weather',
      source: join(ws.root, 'm.pt'),
      version: '1.0.0',
      datasets: [
        { role: 'train', path: used.rel, digest: used.digest },
        { role: 'validation', path: broken.rel, digest: broken.digest },
      ],
    });
    const original = readFileSync(used.file);
    const d = openDataDb(join(ws.root, '.modelops'), false);
    const s = new DataStore(join(ws.root, '.modelops'));
    try {
      // `broken` lost a chunk: its data version cannot rebuild the file, so the file stays.
      rmSync(s.chunkPath(dataManifest(d.db, broken.digest)!.chunks[0].digest));

      // Young files are kept whatever their data version.
      const young = collectGarbage(d, s, { dryRun: true });
      assert.deepEqual(young.traffic, []);
      assert.equal(young.trafficKept.length, 4);
      assert.ok(young.trafficKept.every((k) => /written less than 60 minutes ago/.test(k.reason)));

      const later = Date.now() + 3 * HOUR;
      const dry = collectGarbage(d, s, { dryRun: true, now: later });
      assert.deepEqual(
        dry.traffic.map((t) => [t.path, t.digest, t.size]),
        [[used.rel, used.digest, original.length]],
      );
      const why = new Map(dry.trafficKept.map((k) => [k.path, k.reason]));
      assert.match(why.get(unused.rel) ?? '', /not stored: this file is the only copy/, 'freed by this gc');
      assert.match(why.get(broken.rel) ?? '', /cannot be checked out/);
      assert.match(why.get(never.rel) ?? '', /not stored/);
      assert.ok(existsSync(used.file), 'a dry run deletes nothing');
      // --keep-days covers files younger than it.
      assert.deepEqual(collectGarbage(d, s, { dryRun: true, now: later, keepDays: 1 }).traffic, []);

      const real = collectGarbage(d, s, { now: later });
      assert.deepEqual(
        real.traffic.map((t) => t.path),
        [used.rel],
      );
      assert.ok(!existsSync(used.file));
      for (const f of [unused.file, broken.file, never.file]) assert.ok(existsSync(f), f);
      // The deleted file comes back, byte for byte, from its data version.
      const out = join(ws.root, 'restored.csv');
      await checkoutData(s, dataManifest(d.db, used.digest)!, out);
      assert.deepEqual(readFileSync(out), original);
      // The unused one's data version was freed, so its file is now the only copy and stays.
      assert.equal(dataManifest(d.db, unused.digest), null);
      assert.deepEqual(collectGarbage(d, s, { now: later }).traffic, []);
    } finally {
      d.close();
      reg.close();
    }
  } finally {
    ws.cleanup();
  }
});

test('modelops gc reports the traffic CSVs it deletes (and would, with --dry-run)', async () => {
  const ws = tempWorkspace('modelops-gc-traffic-cli-');
  try {
    ws.file('modelops.yaml', 'version: 1\n');
    const reg = openRegistry(ws.root);
    // Stored just now (kept by the grace period), but the file itself was written two hours ago.
    const t = await traffic(reg, ws, '2026-02-01T00-00-00Z.csv', 0);
    reg.close();
    const old = new Date(Date.now() - 2 * HOUR);
    utimesSync(t.file, old, old);
    const run = async (argv: string[]) => {
      const out: string[] = [];
      const io: CliIO = { cwd: ws.root, out: (x) => out.push(x), err: () => undefined, isTTY: false, env: {} };
      const code = await gcCommand.run(argv, io);
      return { code, text: out.join('\n') };
    };
    const dry = await run(['--dry-run', '--json']);
    assert.equal(dry.code, 0);
    const report = JSON.parse(dry.text) as { traffic: Array<{ path: string; digest: string }> };
    assert.deepEqual(
      report.traffic.map((x) => [x.path, x.digest]),
      [[t.rel, t.digest]],
    );
    assert.ok(existsSync(t.file));
    const text = (await run([])).text;
    assert.match(text, /deleted 1 traffic CSV \([^)]+\) whose data version is stored:/);
    assert.ok(text.includes(t.rel));
    assert.ok(!existsSync(t.file));
  } finally {
    ws.cleanup();
  }
});
