import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PendingIds, writeUtf8, type RequestId } from '../../../server/engine/monitoring/live/pendingIds';

/** An id as the scorer passes it: its UTF-8 bytes inside a larger buffer. */
function asBytes(id: string): RequestId {
  const bytes = Buffer.concat([Buffer.from('junk-before'), Buffer.from(id), Buffer.from('junk-after')]);
  const start = 'junk-before'.length;
  return { bytes, start, end: start + Buffer.byteLength(id) };
}

test('parts are found by id, once: as text or as bytes, repeated ids all together', () => {
  const ids = new PendingIds();
  ids.add('req-1', 0, 3, 0);
  ids.add(asBytes('req-2'), 3, 1, 0);
  ids.add('req-1', 4, 2, 3); // the same id again (a client that reuses ids)
  assert.equal(ids.size, 3);
  const out: number[] = [];
  assert.equal(ids.take(asBytes('req-1'), out), 2);
  assert.deepEqual(out, [0, 3, 0, 4, 2, 3]);
  assert.equal(ids.size, 1);
  // Taken parts are gone; an unknown id finds nothing.
  out.length = 0;
  assert.equal(ids.take('req-1', out), 0);
  assert.equal(ids.take('req-3', out), 0);
  assert.equal(ids.take('req-', out), 0);
  assert.equal(ids.take('req-2', out), 1);
  assert.deepEqual(out, [3, 1, 0]);
  assert.equal(ids.size, 0);
});

test('non-ASCII ids are kept as UTF-8, the same as their bytes', () => {
  const ids = new PendingIds();
  for (const id of ['bäckerei-7', 'ключ', '😀-1', 'e\u0301']) ids.add(id, 10, 1, 0);
  const out: number[] = [];
  for (const id of ['bäckerei-7', 'ключ', '😀-1', 'e\u0301']) assert.equal(ids.take(asBytes(id), out), 1, id);
  // 'é' as one code point is not 'e' + the combining accent.
  ids.add('é', 1, 1, 0);
  assert.equal(ids.take('e\u0301', out), 0);
  assert.equal(ids.take('é', out), 1);
});

test('thousands of ids (the table grows), then cleared and reused for another window', () => {
  const ids = new PendingIds();
  const n = 20_000;
  for (let i = 0; i < n; i++) ids.add(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, i, 1, 0);
  assert.equal(ids.size, n);
  const out: number[] = [];
  for (let i = n - 1; i >= 0; i -= 7) {
    out.length = 0;
    assert.equal(ids.take(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, out), 1);
    assert.equal(out[0], i);
  }
  ids.clear();
  assert.equal(ids.size, 0);
  assert.equal(ids.take('00000000-0000-4000-8000-000000000000', out), 0);
  ids.add('next-window', 5, 1, 0);
  out.length = 0;
  assert.equal(ids.take('next-window', out), 1);
  assert.deepEqual(out, [5, 1, 0]);
});

test('writeUtf8 writes what Buffer.write writes', () => {
  for (const text of ['', 'plain-ascii-123', 'mixed ä text', '日本語', '😀', 'a\u0000b']) {
    const mine = Buffer.alloc(text.length * 3);
    const theirs = Buffer.alloc(text.length * 3);
    const n = writeUtf8(mine, 0, text);
    assert.equal(n, theirs.write(text, 0, 'utf8'), text);
    assert.deepEqual(mine.subarray(0, n), theirs.subarray(0, n), text);
  }
});
