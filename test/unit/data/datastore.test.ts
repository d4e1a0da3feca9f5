import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunkFile, DEFAULT_CHUNKING, type ChunkingParams } from '../../../server/engine/data/store/chunker';
import { DataStore } from '../../../server/engine/data/store/store';
import { checkoutData } from '../../../server/engine/data/store/checkout';
import { digestFile } from '../../../server/engine/data/digest';
import { ModelOpsError } from '../../../server/engine/errors';
import { tempWorkspace } from '../registry/helpers';

/** A CSV of `rows` deterministic pseudo-random rows (rows differ, so no two chunks repeat). */
function csv(rows: number, seed = 1, header = true): string {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const lines = header ? ['id,temp,wind,weather'] : [];
  const kinds = ['sun', 'rain', 'fog', 'snow', 'drizzle'];
  for (let i = 0; i < rows; i++)
    lines.push(
      `${seed * 1e7 + i},${(rnd() * 40 - 5).toFixed(3)},${(rnd() * 12).toFixed(4)},${kinds[Math.floor(rnd() * 5)]}`,
    );
  return lines.join('\n') + '\n';
}

const SMALL: ChunkingParams = { min: 2 * 1024, avg: 8 * 1024, max: 32 * 1024 };

async function chunksOf(path: string, p: ChunkingParams): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of chunkFile(path, p)) out.push(Buffer.from(c));
  return out;
}

test('chunks are cut by content within min/max, rebuild the file, and the manifest digest is the whole-file SHA-256', async () => {
  const ws = tempWorkspace('modelops-data-');
  try {
    const f = ws.file('d.csv', csv(60_000));
    const chunks = await chunksOf(f, SMALL);
    assert.deepEqual(Buffer.concat(chunks), readFileSync(f));
    for (const c of chunks.slice(0, -1))
      assert.ok(c.length >= SMALL.min && c.length <= SMALL.max, `chunk of ${c.length} bytes`);
    // The average lands near the target, not at the min or max (cut points come from the content).
    const mean = readFileSync(f).length / chunks.length;
    assert.ok(mean > SMALL.min * 2 && mean < SMALL.max / 1.5, `mean chunk ${mean}`);
    const store = new DataStore(join(ws.root, '.modelops'));
    const put = await store.putFile(f, { chunking: SMALL });
    assert.equal(put.manifest.digest, await digestFile(f));
    assert.equal(put.manifest.size, statSync(f).size);
    assert.equal(put.newChunks, put.manifest.chunks.length);
    // Chunks are read-only to their owner; folders private.
    const one = store.chunkPath(put.manifest.chunks[0].digest);
    assert.equal(statSync(one).mode & 0o777, 0o400);
    assert.equal(statSync(store.chunksDir).mode & 0o777, 0o700);
    // Storing the same file again writes nothing.
    const again = await store.putFile(f, { chunking: SMALL });
    assert.deepEqual([again.newChunks, again.newBytes], [0, 0]);
  } finally {
    ws.cleanup();
  }
});

test('appending rows stores only the last chunk(s) again; a byte inserted in the middle changes only the chunks around it', async () => {
  const ws = tempWorkspace('modelops-data-');
  try {
    const store = new DataStore(join(ws.root, '.modelops'));
    // Default chunking (256 KiB / 1 MiB / 4 MiB) on a ~9 MB CSV.
    const f = ws.file('train.csv', csv(250_000));
    const first = await store.putFile(f);
    assert.ok(first.manifest.chunks.length >= 4, `${first.manifest.chunks.length} chunks`);
    appendFileSync(f, csv(2_000, 7, false));
    const second = await store.putFile(f);
    assert.notEqual(second.manifest.digest, first.manifest.digest);
    assert.ok(second.newChunks <= 2, `${second.newChunks} new chunks`);
    assert.ok(second.newBytes <= 2 * DEFAULT_CHUNKING.max, `${second.newBytes} new bytes`);
    // Every chunk but the changed tail is shared.
    const firstSet = new Set(first.manifest.chunks.map((c) => c.digest));
    assert.ok(second.manifest.chunks.slice(0, -2).every((c) => firstSet.has(c.digest)));

    // One byte inserted in the middle (small chunks, so there are many to compare).
    const g = ws.file('g.csv', csv(80_000, 3));
    const bytes = readFileSync(g);
    const before = await chunksOf(g, SMALL);
    const mid = Math.floor(bytes.length / 2);
    writeFileSync(g, Buffer.concat([bytes.subarray(0, mid), Buffer.from('x'), bytes.subarray(mid)]));
    const after = await chunksOf(g, SMALL);
    const was = new Set(before.map((c) => c.toString('base64')));
    const changed = after.filter((c) => !was.has(c.toString('base64')));
    assert.ok(changed.length >= 1 && changed.length <= 2, `${changed.length} of ${after.length} chunks changed`);
    assert.ok(before.length > 50);
  } finally {
    ws.cleanup();
  }
});

test('checkout restores the exact bytes, refuses to overwrite without force, and names the digest when chunks are missing', async () => {
  const ws = tempWorkspace('modelops-data-');
  try {
    const store = new DataStore(join(ws.root, '.modelops'));
    const f = ws.file('data/train.csv', csv(20_000, 5));
    const { manifest } = await store.putFile(f, { chunking: SMALL });
    const out = join(ws.root, 'restored', 'train.csv');
    await checkoutData(store, manifest, out);
    assert.deepEqual(readFileSync(out), readFileSync(f));

    await assert.rejects(
      checkoutData(store, manifest, out),
      (e: unknown) =>
        e instanceof ModelOpsError &&
        e.code === 'data-out-exists' &&
        e.message.includes(out) &&
        /--force/.test(e.hint ?? ''),
    );
    writeFileSync(out, 'changed by hand');
    await checkoutData(store, manifest, out, { force: true });
    assert.deepEqual(readFileSync(out), readFileSync(f));

    // A chunk whose bytes changed is caught, and nothing is left in the folder.
    const victim = store.chunkPath(manifest.chunks[1].digest);
    const good = readFileSync(victim);
    unlinkSync(victim);
    writeFileSync(victim, Buffer.concat([good.subarray(1), Buffer.from('!')]));
    await assert.rejects(
      checkoutData(store, manifest, join(ws.root, 'bad', 'x.csv')),
      (e: unknown) =>
        e instanceof ModelOpsError && e.code === 'data-corrupt' && e.message.includes(manifest.chunks[1].digest),
    );
    assert.deepEqual(readdirSync(join(ws.root, 'bad')), []);

    // The store was copied without some chunks: refused before anything is written.
    unlinkSync(victim);
    await assert.rejects(
      checkoutData(store, manifest, join(ws.root, 'other', 'train.csv')),
      (e: unknown) =>
        e instanceof ModelOpsError &&
        e.code === 'data-chunks-missing' &&
        e.message.includes(manifest.digest) &&
        e.message.includes('1 of its') &&
        /modelops data add/.test(e.hint ?? ''),
    );
    // Storing the file again puts the missing chunk back.
    const re = await store.putFile(f, { chunking: SMALL });
    assert.equal(re.newChunks, 1);
    await checkoutData(store, manifest, join(ws.root, 'other', 'train.csv'));
    assert.deepEqual(readFileSync(join(ws.root, 'other', 'train.csv')), readFileSync(f));
  } finally {
    ws.cleanup();
  }
});
