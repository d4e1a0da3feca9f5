/**
 * A full disk loses nothing silently and corrupts nothing: a child process under `ulimit -f`
 * (SIGXFSZ ignored, so writes past the limit fail with EFBIG exactly like ENOSPC) registers an
 * artifact larger than the limit, or registry rows until the WAL cannot grow. Afterwards the
 * engine sees the registry as it was, no temp file or partial blob is left, and SQLite's
 * integrity check passes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { openRegistry } from '../../server/engine/registry';
import { tempWorkspace } from '../unit/registry/helpers';

const WORKER = resolve(__dirname, '../unit/registry/fixtures/store-worker.ts');

interface Outcome {
  lines: Array<{ version?: string; error?: string; message?: string; hint?: string | null }>;
  code: number | null;
  stderr: string;
}

/** Runs the fill worker with a file-size limit of `kib` KiB. */
function underLimit(kib: number, args: string[]): Promise<Outcome> {
  const script = `ulimit -f ${kib}; trap '' XFSZ; exec "$0" --import tsx "$@"`;
  const child = spawn('bash', ['-c', script, process.execPath, WORKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((done) =>
    child.on('exit', (code) =>
      done({
        code,
        stderr: err,
        lines: out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Outcome['lines'][number]),
      }),
    ),
  );
}

function blobs(store: string): string[] {
  const dir = join(store, 'artifacts', 'sha256');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((p) => readdirSync(join(dir, p)).map((r) => p + r));
}

function integrity(store: string): string {
  const db = new Database(join(store, 'registry.db'), { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

test('an artifact larger than the space left fails with store-full and leaves the store as it was', async () => {
  const ws = tempWorkspace();
  const store = join(ws.root, '.modelops');
  try {
    ws.file('small.pt', 'small model');
    const reg = openRegistry(ws.root);
    await reg.registerVersion({ model: 'm', source: 'small.pt' });
    reg.close();
    const before = blobs(store).sort();

    const big = randomBytes(1024 * 1024);
    ws.file('big.pt', big);
    const r = await underLimit(200, ['artifact', ws.root, 'm', join(ws.root, 'big.pt')]);
    assert.equal(r.lines.length, 1, `${r.stderr}\n${JSON.stringify(r.lines)}`);
    const failure = r.lines[0];
    assert.equal(failure.error, 'store-full', JSON.stringify(failure));
    assert.match(failure.message ?? '', /big\.pt/);
    assert.match(failure.hint ?? '', /[Ff]ree/);

    // No partial blob under its final name, no temp file, no version row.
    const bigHex = createHash('sha256').update(big).digest('hex');
    assert.ok(!blobs(store).includes(bigHex), 'no blob under the big artifact’s digest');
    assert.deepEqual(blobs(store).sort(), before);
    assert.deepEqual(
      existsSync(join(store, 'artifacts', 'tmp')) ? readdirSync(join(store, 'artifacts', 'tmp')) : [],
      [],
    );
    assert.equal(integrity(store), 'ok');
    const after = openRegistry(ws.root);
    try {
      assert.deepEqual(
        after.listVersions({ model: 'm' }).items.map((v) => v.version),
        ['1.0.0'],
      );
      await after.artifactPath('m@1.0.0');
    } finally {
      after.close();
    }
  } finally {
    ws.cleanup();
  }
});

test('registry writes that cannot grow the database fail with store-full, roll back, and keep every committed version', async () => {
  const ws = tempWorkspace();
  const store = join(ws.root, '.modelops');
  try {
    ws.file('first.pt', 'first');
    const reg = openRegistry(ws.root);
    await reg.registerVersion({ model: 'm', source: 'first.pt' });
    reg.close();
    // 96 KiB: the WAL fills after a handful of commits with 8 KiB notes.
    const r = await underLimit(96, ['rows', ws.root, 'm', String(8 * 1024)]);
    const committed = r.lines.filter((l) => l.version).map((l) => l.version as string);
    const failure = r.lines.find((l) => l.error);
    assert.ok(committed.length >= 1, `some versions fit before the limit: ${r.stderr}${JSON.stringify(r.lines)}`);
    assert.ok(failure, `a write failed: ${r.stderr}`);
    assert.equal(failure.error, 'store-full', JSON.stringify(failure));
    assert.match(failure.hint ?? '', /[Ff]ree/);

    assert.equal(integrity(store), 'ok');
    const after = openRegistry(ws.root);
    try {
      // Exactly the versions reported as registered, each with its artifact.
      const listed = after.listVersions({ model: 'm', limit: 1000 }).items.map((v) => v.version);
      assert.deepEqual(new Set(listed), new Set(['1.0.0', ...committed]));
      for (const v of listed) await after.artifactPath(`m@${v}`);
    } finally {
      after.close();
    }
    assert.deepEqual(
      existsSync(join(store, 'artifacts', 'tmp')) ? readdirSync(join(store, 'artifacts', 'tmp')) : [],
      [],
    );
    assert.ok(statSync(join(store, 'registry.db')).size > 0);
  } finally {
    ws.cleanup();
  }
});
