/**
 * One connection per opened registry: the studies and the data versions work on the registry's
 * own handle (commits through them are not "changes elsewhere", only one file descriptor holds
 * registry.db), and take its checks (read-only, lost database, closed) once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import { openDataDb } from '../../../server/engine/registry/datasets';
import { recordDatasets } from '../../../server/engine/data/digest';
import { readDataset } from '../../../server/engine/data/read';
import { collectGarbage } from '../../../server/engine/data/store/gc';
import { DataStore } from '../../../server/engine/data/store/store';
import { ModelOpsError } from '../../../server/engine/errors';
import { tempWorkspace } from './helpers';

const study = {
  model: 'weather',
  sampler: 'tpe',
  metric: 'val_loss',
  direction: 'minimize' as const,
  space: '{}',
  settings: {},
  configPath: null,
  configDigest: null,
};

/** File descriptors of this process open on exactly `path` (Linux). */
function fdsOn(path: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(join('/proc/self/fd', fd)) === path) n++;
    } catch {
      /* closed meanwhile */
    }
  }
  return n;
}

const code = (c: string) => (e: unknown) => e instanceof ModelOpsError && e.code === c;

test(
  'studies and data versions commit on the registry’s own connection',
  { skip: process.platform !== 'linux' && 'reads /proc/self/fd' },
  async () => {
    const ws = tempWorkspace();
    const reg = openRegistry(ws.root);
    try {
      const dbPath = join(reg.storeDir, 'registry.db');
      assert.equal(fdsOn(dbPath), 1);
      reg.changedElsewhere();

      const s = reg.studies.createStudy(study);
      reg.studies.startTrial(s.id, 0, { learningRate: 0.01 });
      reg.studies.reportEpoch(s.id, 0, 1, 0.5);
      reg.studies.finishTrial(s.id, 0, { status: 'completed', value: 0.5 });
      ws.file('a.csv', 'id,temp\n1,2\n3,4\n');
      const [ref] = await recordDatasets(reg, [
        { role: 'train', dataset: await readDataset(join(ws.root, 'a.csv')), displayPath: 'a.csv' },
      ]);
      // A commit by a second connection would move data_version for this one.
      assert.equal(reg.changedElsewhere(), false, 'a study or data write went through another connection');
      assert.equal(fdsOn(dbPath), 1);

      assert.equal(reg.studies.trials(s.id)[0].value, 0.5);
      assert.equal(reg.datasets.get(ref.digest)?.stored?.chunkCount, 1);
      assert.equal(reg.datasets.resolveDigest(ref.digest.slice(7, 15)), ref.digest);
      assert.deepEqual(
        reg.listDatasets().map((d) => d.digest),
        [ref.digest],
      );

      // The check itself sees a commit made elsewhere.
      const other = openRegistry(ws.root);
      try {
        other.studies.setStudyStatus(s.id, 'completed');
      } finally {
        other.close();
      }
      assert.equal(reg.changedElsewhere(), true);
    } finally {
      reg.close();
      ws.cleanup();
    }
  },
);

test('gc frees through the registry’s data versions under its write lock', async () => {
  const ws = tempWorkspace();
  const reg = openRegistry(ws.root);
  try {
    ws.file('a.csv', 'id,temp\n1,2\n3,4\n');
    const [ref] = await recordDatasets(reg, [
      { role: 'train', dataset: await readDataset(join(ws.root, 'a.csv')), displayPath: 'a.csv' },
    ]);
    const later = Date.now() + 3 * 60 * 60 * 1000;
    const report = collectGarbage(reg.datasets, new DataStore(reg.storeDir), { now: later });
    assert.deepEqual(
      report.freed.map((f) => f.digest),
      [ref.digest],
    );
    assert.equal(report.chunks, 1);
    const rec = reg.datasets.get(ref.digest);
    assert.equal(rec?.stored, null);
    assert.ok(rec?.freedAt);
  } finally {
    reg.close();
    ws.cleanup();
  }
});

test('a read-only registry refuses study and data writes with registry-readonly, and reads them', async () => {
  const ws = tempWorkspace();
  try {
    const w = openRegistry(ws.root);
    const s = w.studies.createStudy(study);
    w.close();
    const ro = openRegistry(ws.root, { readonly: true });
    try {
      assert.equal(ro.studies.getStudy('latest').id, s.id);
      assert.throws(() => ro.studies.createStudy(study), code('registry-readonly'));
      assert.throws(() => ro.studies.setStudyStatus(s.id, 'failed'), code('registry-readonly'));
      assert.throws(
        () =>
          ro.datasets.record({
            manifest: { digest: `sha256:${'a'.repeat(64)}`, size: 1, chunks: [] },
            path: 'x.csv',
            rows: 0,
            columns: [],
            profile: null,
          }),
        code('registry-readonly'),
      );
      assert.equal(ro.studies.getStudy(s.id).status, 'running');
    } finally {
      ro.close();
    }
  } finally {
    ws.cleanup();
  }
});

test('with no store yet, a read-only registry lists no studies and no data; a closed one refuses', () => {
  const ws = tempWorkspace();
  try {
    const ro = openRegistry(ws.root, { readonly: true });
    assert.deepEqual(ro.studies.listStudies(), []);
    assert.deepEqual(ro.datasets.list(), []);
    ro.close();
    assert.throws(() => ro.studies.listStudies(), code('registry-closed'));
    assert.throws(() => ro.datasets.list(), code('registry-closed'));
  } finally {
    ws.cleanup();
  }
});

test('while the database looks lost, study and data writes are refused with registry-lost', async () => {
  const ws = tempWorkspace();
  try {
    const w = openRegistry(ws.root);
    ws.file('m.pt', 'weights');
    await w.registerVersion({ model: 'weather', source: join(ws.root, 'm.pt') });
    w.close();
    for (const suffix of ['', '-wal', '-shm'])
      rmSync(join(ws.root, '.modelops', `registry.db${suffix}`), { force: true });
    const reg = openRegistry(ws.root);
    try {
      assert.ok(reg.lostDatabase);
      assert.throws(() => reg.studies.createStudy(study), code('registry-lost'));
      assert.throws(
        () =>
          reg.datasets.record({
            manifest: { digest: `sha256:${'b'.repeat(64)}`, size: 1, chunks: [] },
            path: 'x.csv',
            rows: 0,
            columns: [],
            profile: null,
          }),
        code('registry-lost'),
      );
      assert.throws(() => collectGarbage(reg.datasets, new DataStore(reg.storeDir), {}), code('registry-lost'));
    } finally {
      reg.close();
    }
    // Opened by itself, the store refuses a writable open the same way.
    assert.throws(() => openDataDb(join(ws.root, '.modelops'), false), code('registry-lost'));
  } finally {
    ws.cleanup();
  }
});
