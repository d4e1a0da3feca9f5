import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdirSync, readFileSync, utimesSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import { ArtifactStore } from '../../../server/engine/registry/artifacts';
import { SCHEMA_VERSION } from '../../../server/engine/registry/migrations';
import { ModelOpsError } from '../../../server/engine/errors';
import { tempWorkspace } from './helpers';

/** The schema as the first release wrote it, typed out here so the test does not depend on migrations.ts. */
const V1_SCHEMA = `
  CREATE TABLE models (name TEXT PRIMARY KEY, created_at TEXT NOT NULL);
  CREATE TABLE versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL REFERENCES models(name), version TEXT NOT NULL,
    major INTEGER NOT NULL, minor INTEGER NOT NULL, patch INTEGER NOT NULL,
    artifact_digest TEXT NOT NULL, artifact_kind TEXT NOT NULL CHECK (artifact_kind IN ('file', 'directory')),
    format TEXT NOT NULL, size_bytes INTEGER NOT NULL, signature TEXT, metrics TEXT NOT NULL DEFAULT '{}',
    run_id TEXT, config_digest TEXT, datasets TEXT NOT NULL DEFAULT '[]', git_commit TEXT, git_dirty INTEGER,
    parent_version TEXT, note TEXT, tags TEXT NOT NULL DEFAULT '[]', created_at TEXT NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0, UNIQUE (model, version));
  CREATE INDEX versions_semver ON versions (model, major, minor, patch);
  CREATE TABLE aliases (model TEXT NOT NULL REFERENCES models(name), alias TEXT NOT NULL,
    version_id INTEGER NOT NULL REFERENCES versions(id), updated_at TEXT NOT NULL, PRIMARY KEY (model, alias));
  CREATE TABLE alias_moves (id INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, alias TEXT NOT NULL,
    from_version TEXT, to_version TEXT, reason TEXT, at TEXT NOT NULL);
  CREATE INDEX alias_moves_by_alias ON alias_moves (model, alias, id);
  CREATE TABLE runs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, model TEXT, status TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}', backend TEXT, started_at TEXT NOT NULL, finished_at TEXT,
    duration_ms INTEGER, error TEXT, version TEXT, metrics TEXT NOT NULL DEFAULT '{}');
  CREATE INDEX runs_by_start ON runs (started_at);
  CREATE TABLE run_metrics (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, step INTEGER NOT NULL,
    metrics TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (run_id, step));
  CREATE TABLE datasets (digest TEXT PRIMARY KEY, path TEXT NOT NULL, rows INTEGER NOT NULL, columns TEXT NOT NULL, created_at TEXT NOT NULL);
`;

test('a schema-1 database upgrades in place and keeps its data (including folder artifacts)', async () => {
  const ws = tempWorkspace();
  try {
    const store = join(ws.root, '.modelops');
    mkdirSync(store, { recursive: true });
    ws.file('bundle/model.json', '{"modelTopology":{}}');
    ws.file('bundle/weights.bin', Buffer.alloc(1000, 7));
    ws.file('single.onnx', 'onnx-bytes');
    const artifacts = new ArtifactStore(store);
    const dir = await artifacts.putDirectory(join(ws.root, 'bundle'));
    const file = await artifacts.putFile(join(ws.root, 'single.onnx'));
    // Make every blob old enough for the sweep: only row references may keep them.
    const old = new Date(Date.now() - 10 * 60_000);
    for (const d of [dir.digest, file.digest, ...dir.files.map((f) => f.digest)])
      utimesSync(artifacts.blobPath(d), old, old);

    const db = new Database(join(store, 'registry.db'));
    db.pragma('journal_mode = WAL');
    db.exec(V1_SCHEMA);
    db.pragma('user_version = 1');
    const t = '2024-01-01T00:00:00.000Z';
    db.prepare(`INSERT INTO models VALUES ('legacy', ?)`).run(t);
    db.prepare(
      `INSERT INTO versions (model, version, major, minor, patch, artifact_digest, artifact_kind, format, size_bytes, metrics, tags, note, created_at)
       VALUES ('legacy', '1.0.0', 1, 0, 0, ?, 'file', 'onnx', ?, '{"accuracy":0.8}', '["old"]', 'from v1', ?)`,
    ).run(file.digest, file.size, t);
    db.prepare(
      `INSERT INTO versions (model, version, major, minor, patch, artifact_digest, artifact_kind, format, size_bytes, metrics, parent_version, created_at)
       VALUES ('legacy', '1.1.0', 1, 1, 0, ?, 'directory', 'tfjs-layers', ?, '{"accuracy":0.85}', '1.0.0', ?)`,
    ).run(dir.digest, dir.size, t);
    db.prepare(`INSERT INTO aliases VALUES ('legacy', 'production', 2, ?)`).run(t);
    db.prepare(
      `INSERT INTO alias_moves (model, alias, from_version, to_version, reason, at) VALUES ('legacy', 'production', NULL, '1.0.0', 'first', ?), ('legacy', 'production', '1.0.0', '1.1.0', 'better', ?)`,
    ).run(t, t);
    db.prepare(
      `INSERT INTO runs (id, kind, model, status, started_at) VALUES ('r1', 'train', 'legacy', 'succeeded', ?)`,
    ).run(t);
    db.prepare(`INSERT INTO run_metrics VALUES ('r1', 0, '{"loss":1.5}', ?)`).run(t);
    db.close();

    const reg = openRegistry(ws.root);
    try {
      const check = new Database(join(store, 'registry.db'), { readonly: true });
      assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      const tables = (
        check.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[]
      ).sort();
      for (const name of ['gate_reports', 'deployments', 'alerts', 'artifact_files'])
        assert.ok(tables.includes(name), name);
      check.close();

      const v = reg.getVersion('legacy@production');
      assert.equal(v.version, '1.1.0');
      assert.equal(v.metrics.accuracy, 0.85);
      assert.deepEqual(reg.getVersion('legacy@1.0.0').tags, ['old']);
      assert.equal(reg.getVersion('legacy@1.0.0').note, 'from v1');
      assert.deepEqual(
        reg.aliasHistory('legacy', 'production').map((m) => [m.fromVersion, m.toVersion, m.reason, m.forceReason]),
        [
          ['1.0.0', '1.1.0', 'better', null],
          [null, '1.0.0', 'first', null],
        ],
      );
      assert.deepEqual(
        reg.runMetrics('r1').map((p) => p.metrics.loss),
        [1.5],
      );
      // The folder artifact's file blobs were recognised from its manifest, so the sweep kept them.
      const path = await reg.artifactPath('legacy@1.1.0');
      assert.equal(readFileSync(join(path, 'model.json'), 'utf8'), '{"modelTopology":{}}');
      assert.equal(readFileSync(join(path, 'weights.bin')).length, 1000);
      // New features work on the upgraded store, and rollback understands the old history.
      assert.equal(reg.rollbackAlias('legacy', 'production').toVersion, '1.0.0');
      reg.recordAlert({
        target: 'local',
        model: 'legacy',
        version: '1.0.0',
        rule: 'we1',
        metric: 'accuracy',
        message: 'beyond 3σ',
      });
      assert.equal(reg.listAlerts().length, 1);
    } finally {
      reg.close();
    }
    // Opening again is a no-op migration-wise.
    const again = openRegistry(ws.root);
    assert.equal(again.listModels()[0].versionCount, 2);
    again.close();
  } finally {
    ws.cleanup();
  }
});

test('a database from a newer release is refused, not downgraded', () => {
  const ws = tempWorkspace();
  try {
    mkdirSync(join(ws.root, '.modelops'));
    const db = new Database(join(ws.root, '.modelops', 'registry.db'));
    db.exec('CREATE TABLE future (x)');
    db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    db.close();
    assert.throws(
      () => openRegistry(ws.root),
      (e: unknown) =>
        e instanceof ModelOpsError &&
        e.code === 'registry-too-new' &&
        e.message.includes(`schema version ${SCHEMA_VERSION + 5}`),
    );
    assert.ok(readdirSync(join(ws.root, '.modelops')).includes('registry.db'));
  } finally {
    ws.cleanup();
  }
});

test('a read-only open of a workspace without a store answers with an empty registry and writes nothing', () => {
  const ws = tempWorkspace();
  try {
    const reg = openRegistry(ws.root, { readonly: true });
    assert.deepEqual(reg.listModels(), []);
    assert.throws(
      () => reg.setAlias('m', 'production', '1.0.0'),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'registry-readonly',
    );
    reg.close();
    assert.deepEqual(readdirSync(ws.root), []);
  } finally {
    ws.cleanup();
  }
});
