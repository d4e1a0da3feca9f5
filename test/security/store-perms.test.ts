/**
 * The workspace store is private: folders it creates are 0700, its files (artifacts, the
 * cache, registry.db and its -wal/-shm) have no group or other bits, whatever the umask; an
 * existing store with looser modes is tightened on open, with one warning line for the caller.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry } from '../../server/engine/registry';
import { tempWorkspace } from '../unit/registry/helpers';

function modes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string, rel: string): void => {
    out.set(rel || '.', lstatSync(d).mode & 0o777);
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, `${rel}${e.name}/`);
      else out.set(`${rel}${e.name}`, lstatSync(p).mode & 0o777);
    }
  };
  walk(dir, '');
  return out;
}

const octal = (m: Map<string, number>): string[] => [...m].map(([p, v]) => `${p} ${v.toString(8)}`).sort();

test('a new store is private even under umask 000: folders 0700, blobs 0400, database files 0600', async () => {
  const ws = tempWorkspace();
  const old = process.umask(0o000);
  try {
    ws.file('m.pt', 'model');
    ws.file('b/model.json', '{}');
    ws.file('b/weights.bin', 'w');
    const reg = openRegistry(ws.root);
    try {
      await reg.registerVersion({ model: 'm', source: 'm.pt' });
      await reg.registerVersion({ model: 'm', source: 'b' });
      await reg.artifactPath('m@1.1.0'); // unpacks the folder into .modelops/cache
      const store = join(ws.root, '.modelops');
      for (const s of ['-wal', '-shm'])
        assert.ok(existsSync(join(store, 'registry.db' + s)), `registry.db${s} exists while open`);
      const m = modes(store);
      const loose = [...m].filter(([, v]) => (v & 0o077) !== 0);
      assert.deepEqual(
        loose.map(([p, v]) => `${p} ${v.toString(8)}`),
        [],
        'nothing readable by group or others',
      );
      for (const [p, v] of m) {
        if (p === '.' || p.endsWith('/')) assert.equal(v, 0o700, `${p} is a private folder`);
      }
      assert.equal(m.get('registry.db'), 0o600);
      assert.equal(m.get('registry.db-wal'), 0o600);
      assert.equal(m.get('registry.db-shm'), 0o600);
      const blobs = [...m].filter(([p]) => p.startsWith('artifacts/sha256/') && !p.endsWith('/'));
      assert.equal(blobs.length, 4);
      for (const [p, v] of blobs) assert.equal(v, 0o400, `${p} is read-only to its owner`);
      const cached = [...m].filter(([p]) => p.startsWith('cache/') && !p.endsWith('/'));
      assert.equal(cached.length, 2);
      for (const [p, v] of cached) assert.equal(v, 0o600, p);
      assert.deepEqual(reg.warnings, []);
    } finally {
      reg.close();
    }
  } finally {
    process.umask(old);
    ws.cleanup();
  }
});

test('an existing store with loose modes is tightened on open, with one warning line', async () => {
  const ws = tempWorkspace();
  try {
    ws.file('m.pt', 'model');
    ws.file('b/model.json', '{}');
    const reg = openRegistry(ws.root);
    await reg.registerVersion({ model: 'm', source: 'm.pt' });
    await reg.registerVersion({ model: 'm', source: 'b' });
    await reg.artifactPath('m@1.1.0');
    reg.close();
    const store = join(ws.root, '.modelops');
    // What an older release left behind: 755 folders, 644 files, 444 blobs.
    for (const p of modes(store).keys()) {
      const abs = p === '.' ? store : join(store, p);
      chmodSync(abs, p === '.' || p.endsWith('/') ? 0o755 : p.startsWith('artifacts/sha256/') ? 0o444 : 0o644);
    }
    assert.ok(octal(modes(store)).some((l) => l.endsWith(' 644')));

    const ro = openRegistry(ws.root, { readonly: true });
    assert.equal(ro.warnings.length, 1);
    assert.match(ro.warnings[0], /readable by other users/);
    ro.close();
    assert.equal(modes(store).get('.'), 0o755, 'a read-only open changes nothing');

    const again = openRegistry(ws.root);
    try {
      assert.equal(again.warnings.length, 1, again.warnings.join('\n'));
      assert.match(again.warnings[0], /\.modelops.*private/);
      assert.ok(!again.warnings[0].includes('\n'));
    } finally {
      again.close();
    }
    const loose = [...modes(store)].filter(([, v]) => (v & 0o077) !== 0);
    assert.deepEqual(loose, []);
    assert.equal(modes(store).get('artifacts/'), 0o700);
    // Tightened once: the next open has nothing to say.
    const third = openRegistry(ws.root);
    assert.deepEqual(third.warnings, []);
    third.close();
  } finally {
    ws.cleanup();
  }
});
