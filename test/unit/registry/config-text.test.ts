/** Each version's config kept in the artifact store under its configDigest, read back verified. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { openRegistry, versionConfig } from '../../../server/engine/registry';
import { ArtifactStore } from '../../../server/engine/registry/artifacts';
import { MAX_CONFIG_BYTES } from '../../../server/engine/registry/registry';
import { ModelOpsError } from '../../../server/engine/errors';
import { tempWorkspace } from './helpers';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

function blobs(root: string): string[] {
  const dir = join(root, '.modelops', 'artifacts', 'sha256');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .flatMap((p) => readdirSync(join(dir, p)).map((r) => p + r))
    .sort();
}

const CONFIG_A = 'version: 1\nproject: weather\ntrain:\n  epochs: 40\n';
const CONFIG_B = 'version: 1\nproject: weather\ntrain:\n  epochs: 41\n';

test('a version keeps its config: round trip, digest unchanged in format, independent of later edits', async () => {
  const ws = tempWorkspace();
  const reg = openRegistry(ws.root);
  try {
    ws.file('modelops.yaml', CONFIG_A);
    ws.file('model.pt', 'w1');
    const v = await reg.registerVersion({ model: 'weather', source: 'model.pt', configPath: 'modelops.yaml' });
    // The recorded digest keeps its "sha256:<hex>" form and is the address of the stored blob.
    assert.equal(v.configDigest, `sha256:${sha(CONFIG_A)}`);
    const blob = new ArtifactStore(reg.storeDir).blobPath(v.configDigest as string);
    assert.equal(
      blob,
      join(ws.root, '.modelops', 'artifacts', 'sha256', sha(CONFIG_A).slice(0, 2), sha(CONFIG_A).slice(2)),
    );
    assert.equal(readFileSync(blob, 'utf8'), CONFIG_A);
    assert.equal(await reg.configText('weather@1.0.0'), CONFIG_A);

    // Editing (or deleting) the file later does not change what the version recorded.
    writeFileSync(join(ws.root, 'modelops.yaml'), CONFIG_B);
    assert.equal(await reg.configText('weather'), CONFIG_A);
    rmSync(join(ws.root, 'modelops.yaml'));
    assert.deepEqual(await versionConfig(reg, 'weather@1.0.0'), {
      ref: 'weather@1.0.0',
      digest: v.configDigest,
      text: CONFIG_A,
      source: 'registry',
      note: 'the config weather@1.0.0 was registered with (kept in the workspace store)',
    });

    // A version registered without a config has no text.
    ws.file('model2.pt', 'w2');
    await reg.registerVersion({ model: 'weather', source: 'model2.pt' });
    assert.equal(await reg.configText('weather@1.1.0'), null);
    assert.equal((await versionConfig(reg, 'weather@1.1.0')).note, 'weather@1.1.0 was registered without a config.');

    // A read-only open (untrusted workspace, listing) reads it too.
    const ro = openRegistry(ws.root, { readonly: true });
    try {
      assert.equal(await ro.configText('weather@1.0.0'), CONFIG_A);
    } finally {
      ro.close();
    }
  } finally {
    reg.close();
    ws.cleanup();
  }
});

test('versions registered before configs were kept: null from the store, recovered from the workspace by digest', async () => {
  const ws = tempWorkspace();
  const reg = openRegistry(ws.root);
  try {
    ws.file('modelops.yaml', CONFIG_A);
    ws.file('model.pt', 'w1');
    const v = await reg.registerVersion({ model: 'weather', source: 'model.pt', configPath: 'modelops.yaml' });
    // An older store has the digest in the row but no blob: exactly this.
    rmSync(new ArtifactStore(reg.storeDir).blobPath(v.configDigest as string), { force: true });
    assert.equal(await reg.configText('weather@1.0.0'), null);
    const fromWorkspace = await versionConfig(reg, 'weather@1.0.0');
    assert.deepEqual([fromWorkspace.source, fromWorkspace.text], ['workspace', CONFIG_A]);
    writeFileSync(join(ws.root, 'modelops.yaml'), CONFIG_B);
    const none = await versionConfig(reg, 'weather@1.0.0');
    assert.deepEqual([none.source, none.text], ['none', null]);
    assert.match(none.note, /neither the current modelops\.yaml nor committed in git/);
  } finally {
    reg.close();
    ws.cleanup();
  }
});

test('two versions with the same config share one blob', async () => {
  const ws = tempWorkspace();
  const reg = openRegistry(ws.root);
  try {
    ws.file('modelops.yaml', CONFIG_A);
    ws.file('copy/modelops.yaml', CONFIG_A);
    ws.file('a.pt', 'weights a');
    ws.file('b.pt', 'weights b');
    const v1 = await reg.registerVersion({ model: 'weather', source: 'a.pt', configPath: 'modelops.yaml' });
    const v2 = await reg.registerVersion({
      model: 'weather',
      source: 'b.pt',
      configPath: join(ws.root, 'copy', 'modelops.yaml'),
    });
    assert.equal(v1.configDigest, v2.configDigest);
    assert.deepEqual(blobs(ws.root), [sha('weights a'), sha('weights b'), sha(CONFIG_A)].sort());
    assert.equal(await reg.configText(`weather@${v2.version}`), CONFIG_A);
    assert.deepEqual(readdirSync(join(ws.root, '.modelops', 'artifacts', 'tmp')), []);
  } finally {
    reg.close();
    ws.cleanup();
  }
});

test('the orphan sweep keeps config blobs a version references and removes unreferenced ones', async () => {
  const ws = tempWorkspace();
  let reg = openRegistry(ws.root);
  try {
    ws.file('a.yaml', CONFIG_A);
    ws.file('b.yaml', CONFIG_B);
    ws.file('a.pt', 'weights a');
    ws.file('b.pt', 'weights b');
    await reg.registerVersion({ model: 'weather', source: 'a.pt', configPath: 'a.yaml' });
    await reg.registerVersion({ model: 'weather', source: 'b.pt', configPath: 'b.yaml' });
    // A config nobody references (a registration that died after storing its config).
    const store = new ArtifactStore(reg.storeDir);
    const stray = await store.putBytes(Buffer.from('version: 1\nproject: abandoned\n'));
    reg.deleteVersion('weather@1.1.0');
    const old = new Date(Date.now() - 10 * 60_000);
    for (const h of blobs(ws.root)) utimesSync(join(store.artifactsDir, 'sha256', h.slice(0, 2), h.slice(2)), old, old);
    reg.close();
    // The sweep runs on open.
    reg = openRegistry(ws.root);
    assert.deepEqual(blobs(ws.root), [sha('weights a'), sha(CONFIG_A)].sort());
    assert.equal(store.hasBlob(stray), false);
    assert.equal(await reg.configText('weather@1.0.0'), CONFIG_A);
    // And again when called directly, with nothing left to remove.
    assert.deepEqual(reg.sweepOrphans(Date.now() + 10 * 60_000), { blobs: 0, temps: 0 });
    assert.equal(await reg.configText('weather@1.0.0'), CONFIG_A);
  } finally {
    reg.close();
    ws.cleanup();
  }
});

test('a corrupted config is a clear error naming the version; the workspace copy still serves the diff', async () => {
  const ws = tempWorkspace();
  const reg = openRegistry(ws.root);
  try {
    ws.file('modelops.yaml', CONFIG_A);
    ws.file('model.pt', 'w1');
    const v = await reg.registerVersion({ model: 'weather', source: 'model.pt', configPath: 'modelops.yaml' });
    const blob = new ArtifactStore(reg.storeDir).blobPath(v.configDigest as string);
    chmodSync(blob, 0o644);
    writeFileSync(blob, CONFIG_A.replace('40', '99'));
    await assert.rejects(
      reg.configText('weather@1.0.0'),
      (e: unknown) =>
        e instanceof ModelOpsError &&
        e.code === 'config-corrupt' &&
        e.message.includes('weather@1.0.0') &&
        e.message.includes(v.configDigest as string) &&
        e.message.includes(`sha256:${sha(CONFIG_A.replace('40', '99'))}`) &&
        /backup/.test(e.hint ?? ''),
    );
    const recovered = await versionConfig(reg, 'weather@1.0.0');
    assert.equal(recovered.source, 'workspace');
    assert.equal(recovered.text, CONFIG_A);
    assert.match(recovered.note, /corrupted/);
    writeFileSync(join(ws.root, 'modelops.yaml'), CONFIG_B);
    const lost = await versionConfig(reg, 'weather@1.0.0');
    assert.deepEqual([lost.source, lost.text], ['none', null]);
    assert.match(lost.note, /stored config of weather@1\.0\.0 is corrupted.*neither the current modelops\.yaml/);
  } finally {
    reg.close();
    ws.cleanup();
  }
});

test('a missing, folder or oversized config is refused before anything is stored', async () => {
  const ws = tempWorkspace();
  const reg = openRegistry(ws.root);
  try {
    ws.file('model.pt', 'w1');
    ws.file('conf/.keep', '');
    for (const configPath of ['nope.yaml', 'conf']) {
      await assert.rejects(
        reg.registerVersion({ model: 'weather', source: 'model.pt', configPath }),
        (e: unknown) => e instanceof ModelOpsError && e.code === 'config-not-found' && e.message.includes(configPath),
      );
    }
    const big = join(ws.root, 'big.yaml');
    const fd = openSync(big, 'w');
    ftruncateSync(fd, MAX_CONFIG_BYTES + 1);
    closeSync(fd);
    await assert.rejects(
      reg.registerVersion({ model: 'weather', source: 'model.pt', configPath: 'big.yaml' }),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'config-too-large',
    );
    assert.deepEqual(blobs(ws.root), []);
    assert.deepEqual(reg.listModels(), []);
  } finally {
    reg.close();
    ws.cleanup();
  }
});
