import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  utimesSync,
  writeFileSync,
  mkdirSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import { ArtifactStore } from '../../../server/engine/registry/artifacts';
import { detectModelFormat, isModelPath } from '../../../server/engine/registry/modelFiles';
import { ModelOpsError } from '../../../server/engine/errors';
import { tempWorkspace } from './helpers';

function blobs(root: string): string[] {
  const dir = join(root, '.modelops', 'artifacts', 'sha256');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((p) => readdirSync(join(dir, p)).map((r) => p + r));
}

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

test('file artifacts are content-addressed, streamed in chunks and deduplicated', async () => {
  const ws = tempWorkspace();
  const reg = openRegistry(ws.root);
  try {
    // Larger than one 4 MiB chunk and not a multiple of it, to exercise the pipelined copy.
    const big = Buffer.alloc(9 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    ws.file('big.pt', big);
    ws.file('copy.pt', big);
    const v1 = await reg.registerVersion({ model: 'm', source: 'big.pt' });
    assert.equal(v1.artifactDigest, `sha256:${sha(big)}`);
    assert.equal(v1.sizeBytes, big.length);
    assert.equal(v1.format, 'torch');
    const v2 = await reg.registerVersion({ model: 'other', source: join(ws.root, 'copy.pt') });
    assert.equal(v2.artifactDigest, v1.artifactDigest);
    assert.deepEqual(blobs(ws.root), [sha(big)]);
    const path = await reg.artifactPath('m@1.0.0');
    assert.equal(path, join(ws.root, '.modelops', 'artifacts', 'sha256', sha(big).slice(0, 2), sha(big).slice(2)));
    assert.ok(readFileSync(path).equals(big));
    assert.deepEqual(readdirSync(join(ws.root, '.modelops', 'artifacts', 'tmp')), []);
  } finally {
    reg.close();
    ws.cleanup();
  }
});

test('a corrupted file artifact is detected on read and the error names model@version', async () => {
  const ws = tempWorkspace();
  const reg = openRegistry(ws.root);
  try {
    ws.file('m.pt', 'good weights');
    const v = await reg.registerVersion({ model: 'weather', source: 'm.pt' });
    assert.ok(await reg.artifactPath('weather@1.0.0'));
    const blob = new ArtifactStore(reg.storeDir).blobPath(v.artifactDigest);
    chmodSync(blob, 0o644);
    writeFileSync(blob, 'evil weights');
    await assert.rejects(
      reg.artifactPath('weather@1.0.0'),
      (e: unknown) =>
        e instanceof ModelOpsError &&
        e.code === 'artifact-corrupt' &&
        e.message.includes('weather@1.0.0') &&
        Boolean(e.hint),
    );
  } finally {
    reg.close();
    ws.cleanup();
  }
});

test('folder artifacts are stored as a manifest; reading rebuilds and verifies them', async () => {
  const ws = tempWorkspace();
  const reg = openRegistry(ws.root);
  try {
    ws.file('bundle/model.json', '{"format":"layers-model"}');
    ws.file('bundle/weights.bin', Buffer.alloc(5000, 3));
    ws.file('bundle/modelops.json', '{"format":"modelops-tfjs/1"}');
    ws.file('bundle/assets/vocab.txt', 'a\nb\n');
    const v = await reg.registerVersion({ model: 'b', source: 'bundle' });
    assert.equal(v.artifactKind, 'directory');
    assert.equal(v.format, 'modelops-tfjs');
    assert.equal(v.sizeBytes, 25 + 5000 + 28 + 4);
    // The manifest is itself a blob and its digest names the folder.
    const store = new ArtifactStore(reg.storeDir);
    const manifest = JSON.parse(readFileSync(store.blobPath(v.artifactDigest), 'utf8'));
    assert.deepEqual(Object.keys(manifest.files), ['assets/vocab.txt', 'model.json', 'modelops.json', 'weights.bin']);
    assert.equal(manifest.files['weights.bin'].digest, `sha256:${sha(Buffer.alloc(5000, 3))}`);
    assert.equal(`sha256:${sha(readFileSync(store.blobPath(v.artifactDigest)))}`, v.artifactDigest);
    // Same folder again → same digest, patch bump, no new blobs.
    const before = blobs(ws.root).length;
    assert.equal((await reg.registerVersion({ model: 'b', source: 'bundle' })).artifactDigest, v.artifactDigest);
    assert.equal(blobs(ws.root).length, before);

    const dir = await reg.artifactPath('b@1.0.0');
    assert.equal(dir, join(reg.storeDir, 'cache', v.artifactDigest.slice(7)));
    assert.equal(readFileSync(join(dir, 'assets', 'vocab.txt'), 'utf8'), 'a\nb\n');
    // A tampered cache is rebuilt from the blobs.
    writeFileSync(join(dir, 'model.json'), 'tampered');
    const again = await reg.artifactPath('b@1.0.0');
    assert.equal(readFileSync(join(again, 'model.json'), 'utf8'), '{"format":"layers-model"}');
    // A corrupted blob cannot be rebuilt: the error names the version and the file.
    const wblob = store.blobPath(manifest.files['weights.bin'].digest);
    chmodSync(wblob, 0o644);
    writeFileSync(wblob, 'x');
    writeFileSync(join(again, 'weights.bin'), 'y');
    await assert.rejects(
      reg.artifactPath('b@1.0.1'),
      (e: unknown) =>
        e instanceof ModelOpsError &&
        e.code === 'artifact-corrupt' &&
        e.message.includes('b@1.0.1') &&
        e.message.includes('weights.bin'),
    );
  } finally {
    reg.close();
    ws.cleanup();
  }
});

test('symbolic links inside a model folder are refused with a clear error', async () => {
  const ws = tempWorkspace();
  const reg = openRegistry(ws.root);
  try {
    ws.file('outside.bin', 'secret');
    ws.file('bundle/model.json', '{}');
    const { symlinkSync } = await import('node:fs');
    symlinkSync(join(ws.root, 'outside.bin'), join(ws.root, 'bundle', 'weights.bin'));
    await assert.rejects(
      reg.registerVersion({ model: 'b', source: 'bundle' }),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'artifact-symlink',
    );
    assert.deepEqual(reg.listModels(), []);
  } finally {
    reg.close();
    ws.cleanup();
  }
});

test('opening sweeps unreferenced blobs and stale temp files older than a minute, and keeps fresh ones', async () => {
  const ws = tempWorkspace();
  try {
    let reg = openRegistry(ws.root);
    ws.file('kept.pt', 'kept');
    ws.file('bundle/model.json', '{}');
    ws.file('bundle/w.bin', 'w');
    const kept = await reg.registerVersion({ model: 'm', source: 'kept.pt' });
    await reg.registerVersion({ model: 'm', source: 'bundle' });
    reg.close();
    const store = new ArtifactStore(join(ws.root, '.modelops'));
    ws.file('orphan-old.bin', 'orphan old');
    ws.file('orphan-new.bin', 'orphan new');
    const oldOrphan = await store.putFile(join(ws.root, 'orphan-old.bin'));
    const newOrphan = await store.putFile(join(ws.root, 'orphan-new.bin'));
    mkdirSync(store.tmpDir, { recursive: true });
    const staleTmp = join(store.tmpDir, '999-dead.tmp');
    const freshTmp = join(store.tmpDir, '999-live.tmp');
    writeFileSync(staleTmp, 'partial');
    writeFileSync(freshTmp, 'partial');
    const old = new Date(Date.now() - 5 * 60_000);
    for (const p of [
      store.blobPath(oldOrphan.digest),
      staleTmp,
      ...blobs(ws.root).map((h) => join(store.artifactsDir, 'sha256', h.slice(0, 2), h.slice(2))),
    ])
      utimesSync(p, old, old);
    utimesSync(store.blobPath(newOrphan.digest), new Date(), new Date());

    reg = openRegistry(ws.root);
    assert.equal(existsSync(store.blobPath(oldOrphan.digest)), false, 'old orphan swept');
    assert.equal(existsSync(store.blobPath(newOrphan.digest)), true, 'young orphan kept (may be in flight)');
    assert.equal(existsSync(staleTmp), false);
    assert.equal(existsSync(freshTmp), true);
    assert.ok(statSync(store.blobPath(kept.artifactDigest)).isFile());
    // Both versions still read back intact (folder blobs are referenced through the manifest).
    assert.equal(readFileSync(await reg.artifactPath('m@1.0.0'), 'utf8'), 'kept');
    assert.equal(readFileSync(join(await reg.artifactPath('m@1.1.0'), 'w.bin'), 'utf8'), 'w');
    reg.close();
  } finally {
    ws.cleanup();
  }
});

test('model files and folders are recognised', () => {
  const ws = tempWorkspace();
  try {
    const cases: Array<[string, string]> = [
      ['a/model.onnx', 'onnx'],
      ['a/model.keras', 'keras'],
      ['a/model.h5', 'h5'],
      ['a/model.pt', 'torch'],
      ['a/model.pth', 'torch'],
      ['a/model.safetensors', 'safetensors'],
      ['a/model.pkl', 'pickle'],
      ['a/model.joblib', 'pickle'],
      ['a/notes.txt', 'unknown'],
    ];
    for (const [rel, fmt] of cases) assert.equal(detectModelFormat(ws.file(rel, 'x')), fmt, rel);
    ws.file('tfjs/model.json', '{}');
    ws.file('tfjs/group1-shard1of1.bin', 'w');
    ws.file('bundle/model.json', '{}');
    ws.file('bundle/modelops.json', '{}');
    ws.file('saved/saved_model.pb', 'pb');
    ws.file('saved/variables/variables.index', 'i');
    assert.equal(detectModelFormat(join(ws.root, 'tfjs')), 'tfjs-layers');
    assert.equal(detectModelFormat(join(ws.root, 'bundle')), 'modelops-tfjs');
    assert.equal(detectModelFormat(join(ws.root, 'saved')), 'savedmodel');
    assert.equal(detectModelFormat(join(ws.root, 'a')), 'unknown');
    assert.deepEqual(isModelPath(join(ws.root, 'tfjs', 'group1-shard1of1.bin')), {
      path: join(ws.root, 'tfjs'),
      format: 'tfjs-layers',
    });
    assert.deepEqual(isModelPath(join(ws.root, 'bundle', 'modelops.json')), {
      path: join(ws.root, 'bundle'),
      format: 'modelops-tfjs',
    });
    assert.deepEqual(isModelPath(join(ws.root, 'saved', 'variables', 'variables.index')), {
      path: join(ws.root, 'saved'),
      format: 'savedmodel',
    });
    assert.deepEqual(isModelPath(join(ws.root, 'a', 'model.onnx')), {
      path: join(ws.root, 'a', 'model.onnx'),
      format: 'onnx',
    });
    assert.equal(isModelPath(join(ws.root, 'a', 'notes.txt')), null);
  } finally {
    ws.cleanup();
  }
});
