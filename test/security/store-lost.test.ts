/**
 * Lost state is noticed: a registry.db that is missing, 0 bytes or has no tables, beside
 * artifacts (or deployment records) that a registry once wrote, opens as "looks lost": reads
 * work and return nothing, writes are refused with `registry-lost`, nothing on disk changes,
 * until the user restores the database or confirms a fresh start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, truncateSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openRegistry } from '../../server/engine/registry';
import { ModelOpsError } from '../../server/engine/errors';
import type { CliIO } from '../../server/cli/command';
import { storeCommand } from '../../server/cli/commands/store';
import { tempWorkspace, type TempWorkspace } from '../unit/registry/helpers';

const isLost = (e: unknown): boolean =>
  e instanceof ModelOpsError &&
  e.code === 'registry-lost' &&
  e.message.includes('registry.db') &&
  /backup/.test(e.hint ?? '') &&
  /store init --confirm/.test(e.hint ?? '');

async function storeWithVersions(ws: TempWorkspace): Promise<string> {
  ws.file('a.pt', 'model a');
  ws.file('b/model.json', '{}');
  ws.file('b/weights.bin', 'w');
  const reg = openRegistry(ws.root);
  await reg.registerVersion({ model: 'm', source: 'a.pt' });
  await reg.registerVersion({ model: 'm', source: 'b' });
  reg.close();
  return join(ws.root, '.modelops');
}

function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      out.push(`${rel}${e.name}${e.isDirectory() ? '/' : ` ${statSync(join(d, e.name)).size}`}`);
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
    }
  };
  walk(dir, '');
  return out.sort();
}

async function assertLookedLost(ws: TempWorkspace, store: string, how: 'missing' | 'empty'): Promise<void> {
  const before = listing(store);
  const reg = openRegistry(ws.root);
  try {
    assert.ok(reg.lostDatabase, 'the open says the database looks lost');
    assert.equal(reg.lostDatabase.database, how);
    assert.equal(reg.lostDatabase.artifacts, 4, 'a.pt, the folder’s two files and its manifest');
    // Reads work and are empty.
    assert.deepEqual(reg.listModels(), []);
    assert.deepEqual(reg.listRuns(), []);
    // Writes are refused, each of them.
    ws.file('c.pt', 'model c');
    await assert.rejects(reg.registerVersion({ model: 'm', source: 'c.pt' }), isLost);
    assert.throws(() => reg.createRun({ kind: 'train', model: 'm', params: {} }), isLost);
    assert.throws(
      () =>
        reg.recordDeployment({
          target: 'local',
          model: 'm',
          version: '1.0.0',
          status: 'active',
          previousVersion: null,
          steps: [],
          reason: null,
        }),
      isLost,
    );
  } finally {
    reg.close();
  }
  const ro = openRegistry(ws.root, { readonly: true });
  try {
    assert.equal(ro.lostDatabase?.artifacts, 4);
  } finally {
    ro.close();
  }
  assert.deepEqual(listing(store), before, 'nothing in .modelops changed (no db created, no artifact swept)');
}

test('a 0-byte registry.db beside artifacts looks lost: reads empty, writes refused, nothing touched', async () => {
  const ws = tempWorkspace();
  try {
    const store = await storeWithVersions(ws);
    const db = join(store, 'registry.db');
    truncateSync(db, 0);
    for (const s of ['-wal', '-shm']) if (existsSync(db + s)) unlinkSync(db + s);
    await assertLookedLost(ws, store, 'empty');
    assert.equal(statSync(db).size, 0);
  } finally {
    ws.cleanup();
  }
});

test('a missing registry.db beside artifacts looks lost and is not recreated', async () => {
  const ws = tempWorkspace();
  try {
    const store = await storeWithVersions(ws);
    for (const s of ['', '-wal', '-shm'])
      if (existsSync(join(store, 'registry.db' + s))) unlinkSync(join(store, 'registry.db' + s));
    await assertLookedLost(ws, store, 'missing');
    assert.ok(!existsSync(join(store, 'registry.db')));
  } finally {
    ws.cleanup();
  }
});

test('an SQLite registry.db with no tables beside artifacts looks lost', async () => {
  const ws = tempWorkspace();
  try {
    const store = await storeWithVersions(ws);
    const path = join(store, 'registry.db');
    for (const s of ['', '-wal', '-shm']) if (existsSync(path + s)) unlinkSync(path + s);
    const fresh = new Database(path);
    fresh.pragma('user_version = 0');
    fresh.exec('VACUUM');
    fresh.close();
    const reg = openRegistry(ws.root);
    try {
      assert.equal(reg.lostDatabase?.database, 'empty');
      assert.throws(() => reg.createRun({ kind: 'train', model: 'm', params: {} }), isLost);
    } finally {
      reg.close();
    }
  } finally {
    ws.cleanup();
  }
});

test('deployment records alone also mark a missing database as lost', () => {
  const ws = tempWorkspace();
  try {
    ws.file('.modelops/serving/local.json', '{"pid": 1, "url": "http://127.0.0.1:1"}');
    const reg = openRegistry(ws.root);
    try {
      assert.deepEqual(reg.lostDatabase, { database: 'missing', artifacts: 0, deployments: 1 });
      assert.throws(() => reg.createRun({ kind: 'train', model: 'm', params: {} }), isLost);
    } finally {
      reg.close();
    }
  } finally {
    ws.cleanup();
  }
});

test('confirming a new registry starts an empty one and keeps the old artifacts aside', async () => {
  const ws = tempWorkspace();
  try {
    const store = await storeWithVersions(ws);
    truncateSync(join(store, 'registry.db'), 0);
    const reg = openRegistry(ws.root, { confirmNewRegistry: true });
    try {
      assert.equal(reg.lostDatabase, null);
      assert.ok(
        reg.warnings.some((w) => /artifacts\.lost-/.test(w)),
        reg.warnings.join('\n'),
      );
      ws.file('c.pt', 'model c');
      assert.equal((await reg.registerVersion({ model: 'm', source: 'c.pt' })).version, '1.0.0');
    } finally {
      reg.close();
    }
    const aside = readdirSync(store).filter((n) => n.startsWith('artifacts.lost-'));
    assert.equal(aside.length, 1);
    assert.equal(readdirSync(join(store, aside[0], 'sha256')).length > 0, true, 'old blobs kept, not swept');
    // The next plain open is a normal one.
    const again = openRegistry(ws.root);
    assert.equal(again.lostDatabase, null);
    assert.equal(again.listModels().length, 1);
    again.close();
  } finally {
    ws.cleanup();
  }
});

test('a brand-new workspace (no artifacts) and a 0-byte db without artifacts open normally', () => {
  const ws = tempWorkspace();
  try {
    const reg = openRegistry(ws.root);
    assert.equal(reg.lostDatabase, null);
    reg.createRun({ kind: 'train', model: 'm', params: {} });
    reg.close();
    const other = tempWorkspace();
    try {
      mkdirSync(join(other.root, '.modelops'));
      writeFileSync(join(other.root, '.modelops', 'registry.db'), '');
      const r2 = openRegistry(other.root);
      assert.equal(r2.lostDatabase, null);
      r2.createRun({ kind: 'train', model: 'm', params: {} });
      r2.close();
    } finally {
      other.cleanup();
    }
  } finally {
    ws.cleanup();
  }
});

test('modelops store init refuses a lost registry without --confirm and starts a new one with it', async () => {
  const ws = tempWorkspace();
  try {
    const store = await storeWithVersions(ws);
    truncateSync(join(store, 'registry.db'), 0);
    const run = async (argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const io: CliIO = { cwd: ws.root, out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false, env: {} };
      try {
        return { code: await storeCommand.run(argv, io), out: out.join('\n'), err: err.join('\n') };
      } catch (e) {
        return {
          code: 1,
          out: out.join('\n'),
          err: e instanceof ModelOpsError ? `${e.code}: ${e.describe()}` : String(e),
        };
      }
    };
    const refused = await run(['init']);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /registry-lost/);
    assert.equal(statSync(join(store, 'registry.db')).size, 0);
    const ok = await run(['init', '--confirm']);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out + ok.err, /new registry/i);
    const reg = openRegistry(ws.root);
    assert.equal(reg.lostDatabase, null);
    reg.close();
  } finally {
    ws.cleanup();
  }
});
