/**
 * Reliability with real processes: concurrent writers, SIGKILL at random points, foreign or
 * corrupted database files, a workspace that cannot be written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import {
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
  copyFileSync,
  mkdirSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { openRegistry } from '../../../server/engine/registry';
import { ModelOpsError } from '../../../server/engine/errors';
import { tempWorkspace } from './helpers';
import { mulberry32 } from '../fixtures/random';

const WORKER = join(__dirname, 'fixtures', 'register-worker.ts');

interface Child {
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  ready: Promise<void>;
  kill(): void;
  lines(): string[];
}

function startWorker(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes('ready\n')) onReady();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) =>
      child.on('exit', (code, signal) => {
        onReady();
        resolve({ code, signal, stdout, stderr });
      }),
  );
  return {
    done,
    ready,
    kill: () => child.kill('SIGKILL'),
    lines: () => stdout.split('\n').filter((l) => l.startsWith('{')),
  };
}

function allBlobs(store: string): string[] {
  const dir = join(store, 'artifacts', 'sha256');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((p) => readdirSync(join(dir, p)).map((r) => join(dir, p, r)));
}

function ageEverything(store: string): void {
  const old = new Date(Date.now() - 5 * 60_000);
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      utimesSync(p, old, old);
    }
  };
  for (const sub of ['artifacts', 'cache']) if (existsSync(join(store, sub))) walk(join(store, sub));
}

test('two processes registering 50 versions each at once get 100 unique versions and no error', async () => {
  const ws = tempWorkspace();
  try {
    // Create the store first so both start on an existing database (creation races are tested below).
    openRegistry(ws.root).close();
    const startAt = String(Date.now() + 2500);
    const a = startWorker([ws.root, 'shared', '50', 'a'], { START_AT: startAt });
    const b = startWorker([ws.root, 'shared', '50', 'b'], { START_AT: startAt });
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal(ra.stderr + rb.stderr, '');
    assert.equal(a.lines().length, 50);
    assert.equal(b.lines().length, 50);
    const reported = [...a.lines(), ...b.lines()].map((l) => (JSON.parse(l) as { version: string }).version);
    assert.equal(new Set(reported).size, 100);
    const reg = openRegistry(ws.root);
    try {
      const page = reg.listVersions({ model: 'shared', limit: 1000 });
      assert.equal(page.total, 100);
      assert.deepEqual(new Set(page.items.map((v) => v.version)), new Set(reported));
      // Each note appears once: no registration was lost or doubled.
      assert.equal(new Set(page.items.map((v) => v.note)).size, 100);
      // The writers really interleaved (otherwise this test would prove nothing about contention).
      const byId = [...page.items].sort((x, y) => x.id - y.id).map((v) => (v.note ?? '').slice(0, 1));
      const switches = byId.filter((w, i) => i > 0 && w !== byId[i - 1]).length;
      assert.ok(switches >= 5, `writers interleaved only ${switches} times`);
      for (const v of page.items.filter((x) => x.artifactKind === 'directory').slice(0, 5))
        assert.ok(existsSync(join(await reg.artifactPath(`shared@${v.version}`), 'weights.bin')));
      // Configs were stored by both writers at once, the shared one deduplicated.
      for (const v of page.items)
        assert.match((await reg.configText(`shared@${v.version}`)) ?? '', /^version: 1\nproject: /);
      assert.equal(new Set(page.items.map((v) => v.configDigest)).size, 51);
    } finally {
      reg.close();
    }
  } finally {
    ws.cleanup();
  }
});

test('two processes creating the store at the same moment both succeed', async () => {
  const ws = tempWorkspace();
  try {
    const a = startWorker([ws.root, 'first', '5', 'a']);
    const b = startWorker([ws.root, 'second', '5', 'b']);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    const reg = openRegistry(ws.root);
    assert.deepEqual(
      reg.listModels().map((m) => [m.name, m.versionCount]),
      [
        ['first', 5],
        ['second', 5],
      ],
    );
    reg.close();
  } finally {
    ws.cleanup();
  }
});

test('a registering process killed with SIGKILL at random points leaves a consistent store', async () => {
  const ws = tempWorkspace();
  const rand = mulberry32(20240611);
  const store = join(ws.root, '.modelops');
  try {
    let registeredBefore = 0;
    for (let round = 0; round < 6; round++) {
      const child = startWorker([ws.root, 'victim', 'forever', `r${round}`, String(512 * 1024)]);
      await child.ready;
      await new Promise((r) => setTimeout(r, 30 + Math.floor(rand() * 600)));
      child.kill();
      const res = await child.done;
      assert.equal(res.signal, 'SIGKILL', `round ${round} ended by itself: ${res.stderr}`);

      const db = new Database(join(store, 'registry.db'));
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
        assert.deepEqual(db.pragma('foreign_key_check'), []);
        // No alias points at a missing version, and the alias history only names real versions.
        assert.equal(
          db
            .prepare(`SELECT COUNT(*) FROM aliases a LEFT JOIN versions v ON v.id = a.version_id WHERE v.id IS NULL`)
            .pluck()
            .get(),
          0,
        );
        assert.equal(
          db
            .prepare(
              `SELECT COUNT(*) FROM alias_moves m WHERE to_version IS NOT NULL AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.model = m.model AND v.version = m.to_version)`,
            )
            .pluck()
            .get(),
          0,
        );
        assert.equal(
          db
            .prepare(
              `SELECT COUNT(*) FROM gate_reports g LEFT JOIN versions v ON v.id = g.version_id WHERE v.id IS NULL`,
            )
            .pluck()
            .get(),
          0,
        );
      } finally {
        db.close();
      }
      // Time passes: whatever the killed process left half-done is now old enough to sweep.
      ageEverything(store);
      const reg = openRegistry(ws.root);
      try {
        const versions = reg.listVersions({ model: 'victim', limit: 1000, includeArchived: true }).items;
        assert.ok(versions.length >= registeredBefore, 'no committed version was lost');
        registeredBefore = versions.length;
        // Every committed version reads back verified, its config too: no partial version.
        for (const v of versions) {
          await reg.artifactPath(`victim@${v.version}`);
          assert.match((await reg.configText(`victim@${v.version}`)) ?? '', /^version: 1\nproject: /);
        }
        // Nothing unreferenced is left, and no temp file.
        const referenced = new Set<string>();
        for (const v of versions) {
          referenced.add(v.artifactDigest.slice(7));
          if (v.configDigest) referenced.add(v.configDigest.slice(7));
          if (v.artifactKind === 'directory') {
            const m = JSON.parse(
              readFileSync(
                join(store, 'artifacts', 'sha256', v.artifactDigest.slice(7, 9), v.artifactDigest.slice(9)),
                'utf8',
              ),
            ) as { files: Record<string, { digest: string }> };
            for (const f of Object.values(m.files)) referenced.add(f.digest.slice(7));
          }
        }
        const onDisk = allBlobs(store).map((p) => p.split('/').slice(-2).join(''));
        assert.deepEqual(
          onDisk.filter((h) => !referenced.has(h)),
          [],
          `round ${round}: orphan blobs remain`,
        );
        assert.deepEqual(
          existsSync(join(store, 'artifacts', 'tmp')) ? readdirSync(join(store, 'artifacts', 'tmp')) : [],
          [],
        );
      } finally {
        reg.close();
      }
    }
    assert.ok(registeredBefore > 0, 'the worker registered something before being killed');
  } finally {
    ws.cleanup();
  }
});

test('a file that is not an SQLite database is refused with advice and left untouched', () => {
  const ws = tempWorkspace();
  try {
    const db = ws.file('.modelops/registry.db', 'name,accuracy\nthis is a CSV file someone saved here\n'.repeat(20));
    const before = readFileSync(db);
    const mtime = statSync(db).mtimeMs;
    assert.throws(
      () => openRegistry(ws.root),
      (e: unknown) =>
        e instanceof ModelOpsError &&
        e.code === 'registry-corrupt' &&
        e.message.includes(db) &&
        Boolean(e.hint?.includes('Move it aside')),
    );
    assert.throws(
      () => openRegistry(ws.root, { readonly: true }),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'registry-corrupt',
    );
    assert.ok(readFileSync(db).equals(before));
    assert.equal(statSync(db).mtimeMs, mtime);
    assert.deepEqual(readdirSync(join(ws.root, '.modelops')).sort(), ['registry.db']);
  } finally {
    ws.cleanup();
  }
});

test('an SQLite file with corrupted pages is refused with advice and never reset', async () => {
  const ws = tempWorkspace();
  try {
    const reg = openRegistry(ws.root);
    ws.file('m.pt', 'w');
    await reg.registerVersion({ model: 'm', source: 'm.pt' });
    reg.close();
    const dbPath = join(ws.root, '.modelops', 'registry.db');
    const bytes = readFileSync(dbPath);
    // Keep the 100-byte header, scribble over the schema on page 1 and beyond.
    for (let i = 100; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
    writeFileSync(dbPath, bytes);
    const snapshot = Buffer.from(bytes);
    assert.throws(
      () => openRegistry(ws.root),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'registry-corrupt' && Boolean(e.hint?.includes('mv')),
    );
    assert.ok(readFileSync(dbPath).equals(snapshot), 'the database file was not modified');
  } finally {
    ws.cleanup();
  }
});

test('a workspace store that cannot be written gives a clear error; reading still works', async () => {
  // Tests run as root, for whom permission bits do not apply. Three ways that hold even for root:
  // `.modelops` being a file; a folder under /sys (EPERM on mkdir); and the immutable attribute
  // (chattr +i), which root cannot write through either.
  const ws = tempWorkspace();
  try {
    ws.file('.modelops', 'not a folder');
    assert.throws(
      () => openRegistry(ws.root),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'store-not-directory' && e.message.includes('.modelops'),
    );
  } finally {
    ws.cleanup();
  }
  assert.throws(
    () => openRegistry('/sys'),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.code === 'store-readonly' &&
      e.message.includes('/sys/.modelops') &&
      Boolean(e.hint),
  );

  const ro = tempWorkspace();
  const store = join(ro.root, '.modelops');
  let immutable = false;
  try {
    const reg = openRegistry(ro.root);
    ro.file('m.pt', 'w');
    await reg.registerVersion({ model: 'm', source: 'm.pt' });
    reg.close();
    execFileSync('chattr', ['+i', store]);
    immutable = true;
    assert.throws(
      () => openRegistry(ro.root),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'store-readonly' && e.message.includes(store),
    );
    const readOnly = openRegistry(ro.root, { readonly: true });
    try {
      assert.equal(readOnly.getVersion('m').version, '1.0.0');
      assert.throws(
        () => readOnly.setAlias('m', 'production', '1.0.0'),
        (e: unknown) => e instanceof ModelOpsError && e.code === 'registry-readonly',
      );
    } finally {
      readOnly.close();
    }
  } finally {
    if (immutable) execFileSync('chattr', ['-i', store]);
    ro.cleanup();
  }
});

test('an SQLite file cut short (a copy interrupted halfway) is refused with advice and left untouched', async () => {
  const ws = tempWorkspace();
  try {
    const reg = openRegistry(ws.root);
    for (let i = 0; i < 30; i++) {
      ws.file(`m${i}.pt`, `w${i}`);
      await reg.registerVersion({ model: 'm', source: `m${i}.pt`, note: 'n'.repeat(3000) });
    }
    reg.close();
    const dbPath = join(ws.root, '.modelops', 'registry.db');
    const whole = readFileSync(dbPath);
    const cut = whole.subarray(0, Math.floor(whole.length / 2 / 4096) * 4096);
    writeFileSync(dbPath, cut);
    assert.throws(
      () => openRegistry(ws.root),
      (e: unknown) =>
        e instanceof ModelOpsError &&
        e.code === 'registry-corrupt' &&
        e.message.includes(dbPath) &&
        Boolean(e.hint?.includes('mv')),
    );
    assert.ok(readFileSync(dbPath).equals(cut), 'the database file was not modified');
  } finally {
    ws.cleanup();
  }
});

test('four `modelops versions register` processes at once get four different versions; integrity_check ok', async () => {
  const ws = tempWorkspace();
  const tsx = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href;
  const cli = resolve('server/cli/main.ts');
  try {
    ws.file('modelops.yaml', 'version: 1\n');
    const runs = [0, 1, 2, 3].map((i) => {
      ws.file(`m${i}.pt`, `weights ${i}`);
      const child = spawn(
        process.execPath,
        ['--import', tsx, cli, 'versions', 'register', `m${i}.pt`, '--model', 'shared', '--json'],
        { cwd: ws.root, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      return new Promise<{ code: number | null; out: string; err: string }>((done) =>
        child.on('exit', (code) => done({ code, out, err })),
      );
    });
    const results = await Promise.all(runs);
    for (const r of results) assert.equal(r.code, 0, r.err);
    const versions = results.map((r) => (JSON.parse(r.out) as { version: string }).version);
    assert.equal(new Set(versions).size, 4, versions.join(', '));
    const db = new Database(join(ws.root, '.modelops', 'registry.db'));
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      assert.equal(db.prepare(`SELECT COUNT(*) FROM versions WHERE model = 'shared'`).pluck().get(), 4);
    } finally {
      db.close();
    }
  } finally {
    ws.cleanup();
  }
});

test('a second copy of a healthy store opens fine (control for the corruption tests)', async () => {
  const ws = tempWorkspace();
  try {
    const reg = openRegistry(ws.root);
    ws.file('m.pt', 'w');
    await reg.registerVersion({ model: 'm', source: 'm.pt' });
    reg.close();
    const other = tempWorkspace();
    try {
      mkdirSync(join(other.root, '.modelops'));
      copyFileSync(join(ws.root, '.modelops', 'registry.db'), join(other.root, '.modelops', 'registry.db'));
      const copy = openRegistry(other.root);
      assert.equal(copy.getVersion('m').version, '1.0.0');
      copy.close();
    } finally {
      other.cleanup();
    }
  } finally {
    ws.cleanup();
  }
});
