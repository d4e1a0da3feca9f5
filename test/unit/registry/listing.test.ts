import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openRegistry, compareSemver } from '../../../server/engine/registry';
import { tempWorkspace } from './helpers';
import { mulberry32 } from '../fixtures/random';

interface Seed {
  version: string;
  accuracy: number | null;
  created: string;
  tags: string[];
  note: string;
}

test('sorting, paging and filtering 10,000 versions of one model', async () => {
  const ws = tempWorkspace();
  try {
    // One real registration creates the model and its artifact; the other 9,999 rows are bulk-inserted
    // through SQL (registering 10,000 artifacts one by one takes longer than a unit test may).
    let reg = openRegistry(ws.root);
    ws.file('m.pt', 'w');
    const first = await reg.registerVersion({
      model: 'big',
      source: 'm.pt',
      version: '0.0.1',
      metrics: { accuracy: 0.5 },
      note: 'seed',
    });
    reg.close();
    const rand = mulberry32(42);
    const seeds: Seed[] = [{ version: '0.0.1', accuracy: 0.5, created: first.createdAt, tags: [], note: 'seed' }];
    for (let i = 1; i < 10_000; i++) {
      seeds.push({
        version: `${Math.floor(i / 1000) + 1}.${Math.floor(i / 100) % 10}.${i % 100}`,
        accuracy: i % 7 === 0 ? null : Math.round(rand() * 1e6) / 1e6,
        created: new Date(Date.UTC(2025, 0, 1) + Math.floor(rand() * 1e10)).toISOString(),
        tags: i % 10 === 0 ? ['milestone'] : [],
        note: i % 1000 === 0 ? `50% better run ${i}` : `run ${i}`,
      });
    }
    const db = new Database(join(ws.root, '.modelops', 'registry.db'));
    const insert = db.prepare(
      `INSERT INTO versions (model, version, major, minor, patch, artifact_digest, artifact_kind, format, size_bytes, metrics, tags, note, created_at, parent_version)
       VALUES ('big', ?, ?, ?, ?, ?, 'file', 'onnx', 1, ?, ?, ?, ?, NULL)`,
    );
    // Insert in shuffled order so row ids say nothing about version order.
    const order = seeds.slice(1).sort(() => rand() - 0.5);
    db.transaction(() => {
      for (const s of order) {
        const [a, b, c] = s.version.split('.').map(Number);
        insert.run(
          s.version,
          a,
          b,
          c,
          first.artifactDigest,
          JSON.stringify(s.accuracy === null ? {} : { accuracy: s.accuracy }),
          JSON.stringify(s.tags),
          s.note,
          s.created,
        );
      }
    })();
    db.close();

    reg = openRegistry(ws.root);
    try {
      reg.setAlias('big', 'production', '7.3.42');
      const versionsDesc = seeds.map((s) => s.version).sort((x, y) => compareSemver(y, x));
      // Latency is measured by bench/registry (listing.ts in-process, run.ts over LSP), not here.
      const q = (query: Parameters<typeof reg.listVersions>[0]) => reg.listVersions(query);

      const page1 = q({ model: 'big', limit: 50 });
      assert.equal(page1.total, 10_000);
      assert.deepEqual(
        page1.items.map((v) => v.version),
        versionsDesc.slice(0, 50),
      );
      // Paging through everything yields each version exactly once, in order.
      const all: string[] = [];
      for (let off = 0; off < 10_000; off += 1000)
        all.push(...q({ model: 'big', offset: off, limit: 1000 }).items.map((v) => v.version));
      assert.deepEqual(all, versionsDesc);
      assert.equal(q({ model: 'big', offset: 9_990, limit: 50 }).items.length, 10);
      assert.deepEqual(
        q({ model: 'big', order: 'asc', limit: 3 }).items.map((v) => v.version),
        ['0.0.1', '1.0.1', '1.0.2'],
      );

      // By metric: best first, versions without the metric last in either direction.
      const byAcc = (dir: 1 | -1) =>
        [...seeds].sort((x, y) => {
          if (x.accuracy === null || y.accuracy === null)
            return (x.accuracy === null ? 1 : 0) - (y.accuracy === null ? 1 : 0);
          return dir * (x.accuracy - y.accuracy) || dir * compareSemver(x.version, y.version);
        });
      const accDesc = q({ model: 'big', sort: 'accuracy', limit: 1000 }).items;
      assert.deepEqual(
        accDesc.map((v) => v.version),
        byAcc(-1)
          .slice(0, 1000)
          .map((s) => s.version),
      );
      const accAscTail = q({ model: 'big', sort: 'accuracy', order: 'asc', offset: 9_990, limit: 10 }).items;
      assert.ok(accAscTail.every((v) => v.metrics.accuracy === undefined));
      assert.deepEqual(
        q({ model: 'big', sort: 'accuracy', order: 'asc', limit: 5 }).items.map((v) => v.version),
        byAcc(1)
          .slice(0, 5)
          .map((s) => s.version),
      );

      const created = q({ model: 'big', sort: 'created', order: 'asc', limit: 5 }).items.map((v) => v.createdAt);
      assert.deepEqual(
        created,
        seeds
          .map((s) => s.created)
          .sort()
          .slice(0, 5),
      );

      // Filter: case-insensitive substring of version, tag, alias or note; LIKE wildcards are literal.
      assert.equal(q({ model: 'big', filter: 'MILESTONE' }).total, 999);
      assert.deepEqual(
        q({ model: 'big', filter: 'production' }).items.map((v) => [v.version, v.aliases]),
        [['7.3.42', ['production']]],
      );
      assert.equal(q({ model: 'big', filter: '50%' }).total, 9);
      assert.equal(q({ model: 'big', filter: '_' }).total, 0);
      assert.equal(q({ model: 'big', filter: '10.9.9' }).total, 11);
      const f = q({ model: 'big', filter: 'milestone', sort: 'version', offset: 990, limit: 50 });
      assert.equal(f.items.length, 9);
      assert.ok(f.items.every((v) => v.tags.includes('milestone')));
    } finally {
      reg.close();
    }
  } finally {
    ws.cleanup();
  }
});
