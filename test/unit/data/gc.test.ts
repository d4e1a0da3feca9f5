import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry, type WorkspaceRegistry } from '../../../server/engine/registry';
import { dataManifest, getDataVersion, openDataDb } from '../../../server/engine/registry/datasets';
import { recordDatasets } from '../../../server/engine/data/digest';
import { readDataset } from '../../../server/engine/data/read';
import { collectGarbage } from '../../../server/engine/data/store/gc';
import { DataStore } from '../../../server/engine/data/store/store';
import { checkoutData, missingChunks } from '../../../server/engine/data/store/checkout';
import { tempWorkspace, type TempWorkspace } from '../registry/helpers';
import { recordActive } from '../fixtures/deployments';

const LATER = Date.now() + 3 * 60 * 60 * 1000;

function rows(n: number, from = 0): string {
  let s = '';
  for (let i = from; i < from + n; i++) s += `${i},${(i * 0.37) % 31},${['sun', 'rain', 'fog'][i % 3]}\n`;
  return s;
}

async function store(reg: WorkspaceRegistry, ws: TempWorkspace, rel: string): Promise<string> {
  const ds = await readDataset(join(ws.root, rel));
  const [ref] = await recordDatasets(reg, [{ role: 'train', dataset: ds, displayPath: rel }]);
  return ref.digest;
}

async function version(
  reg: WorkspaceRegistry,
  ws: TempWorkspace,
  v: string,
  digest: string,
  path: string,
): Promise<void> {
  ws.file(`m${v}.pt`, `weights ${v}`);
  await reg.registerVersion({
    model: 'weather',
    source: join(ws.root, `m${v}.pt`),
    version: v,
    datasets: [{ role: 'train', path, digest }],
  });
}

/** Every stored data version rebuilds from the chunks on disk. */
async function assertConsistent(ws: TempWorkspace): Promise<number> {
  const d = openDataDb(join(ws.root, '.modelops'), true);
  const s = new DataStore(join(ws.root, '.modelops'));
  try {
    const digests = d.db.prepare(`SELECT digest FROM data_versions`).pluck().all() as string[];
    for (const digest of digests) {
      const m = dataManifest(d.db, digest);
      assert.ok(m);
      assert.deepEqual(missingChunks(s, m), [], `${digest} lost chunks`);
      const out = join(ws.root, 'check', digest.slice(7));
      await checkoutData(s, m, out, { force: true });
    }
    return digests.length;
  } finally {
    d.close();
  }
}

test('gc keeps the data of every version, alias, deployment and running run; frees the rest but never a shared chunk', async () => {
  const ws = tempWorkspace('modelops-gc-');
  try {
    const reg = openRegistry(ws.root);
    ws.file('a.csv', 'id,temp,weather\n' + rows(30_000));
    const a = await store(reg, ws, 'a.csv');
    appendFileSync(join(ws.root, 'a.csv'), rows(500, 30_000));
    const a2 = await store(reg, ws, 'a.csv'); // shares all but the tail with `a`, referenced by nothing
    ws.file('b.csv', 'id,temp,weather\n' + rows(20_000, 90_000));
    const b = await store(reg, ws, 'b.csv');
    ws.file('c.csv', 'id,temp,weather\n' + rows(20_000, 200_000));
    const c = await store(reg, ws, 'c.csv');
    ws.file('gone.csv', 'id,temp,weather\n' + rows(10_000, 400_000));
    const gone = await store(reg, ws, 'gone.csv');

    await version(reg, ws, '1.0.0', a, 'a.csv');
    await version(reg, ws, '1.1.0', b, 'b.csv');
    await version(reg, ws, '1.2.0', gone, 'gone.csv');
    reg.setAlias('weather', 'production', '1.0.0');
    recordActive(reg, 'local', 'weather@1.1.0');
    reg.deleteVersion('weather@1.2.0');
    // `c` was stored by a run that has not registered its version yet.
    const d0 = openDataDb(join(ws.root, '.modelops'), false);
    d0.db.prepare(`UPDATE data_versions SET stored_at = ?`).run(new Date(Date.now() - 60_000).toISOString());
    d0.db
      .prepare(`UPDATE data_versions SET stored_at = ? WHERE digest = ?`)
      .run(new Date(Date.now() - 10_000).toISOString(), c);
    d0.close();
    const run = reg.createRun({ kind: 'train', model: 'weather', params: {} });
    const d1 = openDataDb(join(ws.root, '.modelops'), false);
    d1.db
      .prepare(`UPDATE runs SET started_at = ? WHERE id = ?`)
      .run(new Date(Date.now() - 20_000).toISOString(), run.id);
    d1.close();

    const d = openDataDb(join(ws.root, '.modelops'), false);
    const s = new DataStore(join(ws.root, '.modelops'));
    try {
      const dry = collectGarbage(d, s, { dryRun: true, now: LATER });
      assert.deepEqual(dry.freed.map((f) => f.digest).sort(), [a2, gone].sort());
      const reasons = new Map(dry.kept.map((k) => [k.digest, k.reasons.join('; ')]));
      assert.match(reasons.get(a) ?? '', /version weather@1\.0\.0; alias weather@production/);
      assert.match(reasons.get(b) ?? '', /deployment weather@1\.1\.0 on local/);
      assert.match(reasons.get(c) ?? '', /in progress/);
      assert.equal(await assertConsistent(ws), 5, 'a dry run deletes nothing');

      // The run finishes without a version: its data goes unless --keep-days covers it.
      reg.finishRun(run.id, { status: 'failed', error: 'boom' });
      assert.ok(collectGarbage(d, s, { dryRun: true, now: LATER, keepDays: 1 }).kept.some((k) => k.digest === c));

      const aChunks = new Set(dataManifest(d.db, a)?.chunks.map((x) => x.digest));
      const real = collectGarbage(d, s, { now: LATER });
      assert.deepEqual(real.freed.map((f) => f.digest).sort(), [a2, c, gone].sort());
      // Only a2's own tail went, not the chunks it shares with `a`.
      assert.ok(real.chunks > 0);
      for (const x of aChunks) assert.ok(s.hasChunk(x));
      assert.equal(await assertConsistent(ws), 2);
      // A freed dataset keeps its record and says what happened to its bytes.
      const rec = getDataVersion(d.db, gone);
      assert.ok(rec && rec.stored === null && rec.freedAt && rec.rows === 10_000);
      // Nothing left to do.
      const again = collectGarbage(d, s, { now: LATER });
      assert.deepEqual([again.freed.length, again.chunks], [0, 0]);
    } finally {
      d.close();
      reg.close();
    }
  } finally {
    ws.cleanup();
  }
});

test('a gc interrupted between chunk deletions leaves a consistent store, and the next gc finishes the job', async () => {
  const ws = tempWorkspace('modelops-gc-');
  try {
    const reg = openRegistry(ws.root);
    ws.file('keep.csv', 'id,temp,weather\n' + rows(30_000));
    const keep = await store(reg, ws, 'keep.csv');
    await version(reg, ws, '1.0.0', keep, 'keep.csv');
    for (let i = 1; i <= 3; i++) {
      appendFileSync(join(ws.root, 'keep.csv'), rows(3_000, 100_000 * i));
      await store(reg, ws, 'keep.csv');
    }
    ws.file('other.csv', 'id,temp,weather\n' + rows(20_000, 700_000));
    await store(reg, ws, 'other.csv');
    reg.close();

    const d = openDataDb(join(ws.root, '.modelops'), false);
    const s = new DataStore(join(ws.root, '.modelops'));
    try {
      let deletions = 0;
      assert.throws(
        () =>
          collectGarbage(d, s, {
            now: LATER,
            beforeDelete: () => {
              // Simulates a kill after the rows went and one chunk file was deleted.
              if (++deletions === 2) throw new Error('killed');
            },
          }),
        /killed/,
      );
      assert.equal(await assertConsistent(ws), 1);
      const next = collectGarbage(d, s, { now: LATER });
      assert.equal(next.freed.length, 0, 'the rows were already gone');
      assert.ok(next.chunks >= 1, 'the orphaned chunks are collected');
      assert.equal(await assertConsistent(ws), 1);
      assert.equal(collectGarbage(d, s, { now: LATER }).chunks, 0);
      const m = dataManifest(d.db, keep);
      assert.ok(m);
      await checkoutData(s, m, join(ws.root, 'out.csv'));
      assert.equal(existsSync(join(ws.root, 'out.csv')), true);
      assert.equal(readFileSync(join(ws.root, 'out.csv'), 'utf8').split('\n').length, 30_002);
    } finally {
      d.close();
    }
  } finally {
    ws.cleanup();
  }
});
