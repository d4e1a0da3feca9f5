/**
 * Hostile data files fail fast and clearly: a header of a million columns, a 50 MB line and
 * invalid UTF-8 each end in one short error naming the file and line, found while streaming
 * (the giant line is never held whole) — and invalid bytes never become a U+FFFD class label.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_COLUMNS, readDataset, utf8ErrorAt } from '../../server/engine/data/read';
import { peekData, sampleColumn } from '../../server/engine/config/datafile';
import { ModelOpsError } from '../../server/engine/errors';

const dir = mkdtempSync(join(tmpdir(), 'modelops-hostile-data-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

/** Writes `size` bytes of `unit` on one line, in pieces, without holding the file in memory. */
function bigLine(name: string, prefix: string, unit: string, size: number, suffix = '\n'): string {
  const p = join(dir, name);
  const fd = openSync(p, 'w');
  try {
    writeSync(fd, prefix);
    const piece = Buffer.from(unit.repeat(Math.ceil((1 << 20) / unit.length)));
    for (let written = 0; written < size; written += piece.length) writeSync(fd, piece);
    writeSync(fd, suffix);
  } finally {
    closeSync(fd);
  }
  return p;
}

async function failure(p: Promise<unknown>): Promise<ModelOpsError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ModelOpsError, `expected a ModelOpsError, got ${String(e)}`);
    assert.ok(e.hint && e.hint.length > 0, 'has a hint');
    return e;
  }
  assert.fail('expected the read to fail');
}

/** Peak growth of the heap and of RSS while `fn` runs, sampled every few ms. */
async function peakGrowth<T>(fn: () => Promise<T>): Promise<{ heap: number; rss: number; result: T | ModelOpsError }> {
  global.gc?.();
  const before = process.memoryUsage();
  let heap = 0;
  let rss = 0;
  const sample = () => {
    const m = process.memoryUsage();
    heap = Math.max(heap, m.heapUsed - before.heapUsed);
    rss = Math.max(rss, m.rss - before.rss);
  };
  const timer = setInterval(sample, 2);
  try {
    const result = await fn().catch((e: unknown) => (e instanceof ModelOpsError ? e : Promise.reject(e)));
    sample();
    return { heap, rss, result };
  } finally {
    clearInterval(timer);
  }
}

test('a 1,000,000-column header: a short error, for reading and for the editor peek', async () => {
  const header = Array.from({ length: 1_000_000 }, (_, i) => `c${i}`).join(',');
  const p = file('wide.csv', `${header}\n${'1,'.repeat(999_999)}1\n`);
  const e = await failure(
    readDataset(p, { displayName: 'data/wide.csv', require: [{ name: 'label', role: 'target' }] }),
  );
  assert.equal(e.code, 'too-many-columns');
  assert.equal(
    e.message,
    `data/wide.csv line 1: more than ${MAX_COLUMNS.toLocaleString('en-US')} columns; reading stopped there.`,
  );
  assert.ok(e.describe().length < 300, `${e.describe().length} characters`);
  const peek = peekData(p);
  assert.equal(peek?.columns, null);
  assert.ok((peek?.problem ?? '').length < 100, peek?.problem);

  // Within the first 64 KB the editor reads: 12,000 short names are counted and refused too.
  const p2 = file('wide2.csv', `${Array.from({ length: 12_000 }, (_, i) => i.toString(36)).join(',')}\n`);
  assert.deepEqual(peekData(p2), {
    format: 'csv',
    columns: null,
    problem: 'the header has 12,000 columns; the limit is 10,000',
  });
  assert.equal((await failure(readDataset(p2))).code, 'too-many-columns');

  // JSONL: a record with more keys than the limit.
  const obj = Object.fromEntries(Array.from({ length: MAX_COLUMNS + 1 }, (_, i) => [`k${i}`, i]));
  const e3 = await failure(readDataset(file('wide.jsonl', `${JSON.stringify(obj)}\n`)));
  assert.equal(e3.code, 'too-many-columns');
});

test('a missing column among 9,000 names lists five of them, not all', async () => {
  const names = Array.from({ length: 9_000 }, (_, i) => `feature_number_${i}`);
  const p = file('many.csv', `${names.join(',')}\n${names.map(() => '1').join(',')}\n`);
  const e = await failure(readDataset(p, { displayName: 'many.csv', require: [{ name: 'label', role: 'target' }] }));
  assert.equal(e.code, 'missing-column');
  assert.equal(
    e.message,
    "Data file many.csv has no target column 'label' (columns: feature_number_0, feature_number_1, feature_number_2, feature_number_3, feature_number_4 … and 8,995 more).",
  );
  const ragged = await failure(readDataset(file('ragged.csv', `${names.join(',')}\n1,2\n`)));
  assert.equal(ragged.code, 'ragged-row');
  assert.ok(ragged.message.length < 300, `${ragged.message.length} characters`);
});

test('a 50 MB single line is refused at 1 MiB while streaming (CSV and JSONL), memory far below the file', async () => {
  const csv = bigLine('long.csv', 'a,b\n1,', 'x', 50 * 1024 * 1024);
  const r = await peakGrowth(() => readDataset(csv, { displayName: 'long.csv' }));
  assert.ok(r.result instanceof ModelOpsError);
  assert.equal(r.result.code, 'line-too-long');
  assert.equal(
    r.result.message,
    'long.csv line 2: the line is longer than 1 MiB (at column 2); reading stopped there.',
  );
  // The whole 50 MB line would be 50 MB in the heap alone; the reader holds about 1 MiB of it.
  assert.ok(r.heap < 25 * 1024 * 1024, `heap grew ${(r.heap / 2 ** 20).toFixed(1)} MiB`);
  assert.ok(r.rss < 60 * 1024 * 1024, `RSS grew ${(r.rss / 2 ** 20).toFixed(1)} MiB`);

  // A header that never ends (no newline at all) and a quoted field that never closes.
  assert.equal(
    (await failure(readDataset(bigLine('noeol.csv', '', 'abc,', 4 * 1024 * 1024, '')))).code,
    'too-many-columns',
  );
  const open = await failure(readDataset(bigLine('openquote.csv', 'a,b\n1,"', 'y\n', 4 * 1024 * 1024, '')));
  assert.equal(open.code, 'line-too-long');
  assert.match(open.message, /openquote\.csv line 2: the line is longer than 1 MiB/);

  const jsonl = bigLine('long.jsonl', '{"a": 1}\n{"a": "', 'x', 50 * 1024 * 1024, '"}\n');
  const j = await peakGrowth(() => readDataset(jsonl, { displayName: 'long.jsonl' }));
  assert.ok(j.result instanceof ModelOpsError);
  assert.equal(j.result.code, 'line-too-long');
  assert.equal(j.result.message, 'long.jsonl line 2: the line is longer than 1 MiB; reading stopped there.');
  assert.ok(j.heap < 25 * 1024 * 1024, `heap grew ${(j.heap / 2 ** 20).toFixed(1)} MiB`);
});

test('invalid UTF-8 in a label is reported with file, line and byte offset, never read as U+FFFD', async () => {
  // Latin-1 "café" in the label of row 3: the byte 0xE9 is at offset 21.
  const bytes = Buffer.concat([Buffer.from('x,label\n1,sunny\n2,caf'), Buffer.from([0xe9]), Buffer.from('\n3,rain\n')]);
  const p = file('latin1.csv', bytes);
  const e = await failure(readDataset(p, { displayName: 'data/latin1.csv' }));
  assert.equal(e.code, 'invalid-utf8');
  assert.equal(e.message, 'data/latin1.csv line 3: invalid UTF-8 at byte offset 21.');
  assert.equal(bytes[21], 0xe9);
  // The editor's checks neither guess classes from the replaced text nor fail: no sample.
  assert.equal(sampleColumn(p, 'label'), null);
  // In the header, the editor says why it cannot read the columns.
  const h = file('badheader.csv', Buffer.concat([Buffer.from('x,lab'), Buffer.from([0xff]), Buffer.from('el\n1,a\n')]));
  assert.deepEqual(peekData(h), {
    format: 'csv',
    columns: null,
    problem: 'it is not valid UTF-8 (line 1, byte offset 5); save it as UTF-8',
  });

  // Far into the file, past the first read chunk, and in JSONL.
  const rows = Array.from({ length: 20_000 }, (_, i) => `${i},ok`).join('\n');
  const far = Buffer.concat([Buffer.from(`x,label\n${rows}\n1,`), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
  const ef = await failure(readDataset(file('far.csv', far)));
  assert.match(ef.message, new RegExp(`line 20002: invalid UTF-8 at byte offset ${far.length - 3}\\.$`));
  const jl = Buffer.concat([
    Buffer.from('{"label": "a"}\n{"label": "'),
    Buffer.from([0xed, 0xa0, 0x80]),
    Buffer.from('"}\n'),
  ]); // a UTF-8-encoded surrogate
  const ej = await failure(readDataset(file('bad.jsonl', jl), { displayName: 'bad.jsonl' }));
  assert.equal(ej.message, 'bad.jsonl line 2: invalid UTF-8 at byte offset 26.');
  // A multi-byte character cut at the end of the file.
  const cut = await failure(
    readDataset(file('cut.csv', Buffer.concat([Buffer.from('x,label\n1,'), Buffer.from([0xe2, 0x82])]))),
  );
  assert.equal(cut.code, 'invalid-utf8');
  assert.match(cut.message, /line 2: invalid UTF-8 at byte offset 10\.$/);
});

test('valid UTF-8 is read unchanged, also when multi-byte characters straddle read chunks', async () => {
  // 3- and 4-byte characters at every alignment around the 64 KiB chunk boundary.
  const labels = ['€uro', '😀smile', 'naïve', '日本'];
  const rows: string[] = [];
  for (let i = 0; i < 9_000; i++) rows.push(`${i},${labels[i % labels.length]}`);
  const p = file('utf8.csv', `x,label\n${rows.join('\n')}\n`);
  const ds = await readDataset(p);
  assert.deepEqual([...new Set(ds.rows.map((r) => r.label))].sort(), [...labels].sort());
  assert.equal(ds.rows.length, 9_000);
  assert.deepEqual(sampleColumn(p, 'label')?.distinct, new Set(labels));
});

test('utf8ErrorAt agrees with a fatal TextDecoder on random bytes', () => {
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const fatal = new TextDecoder('utf-8', { fatal: true });
  for (let n = 0; n < 3_000; n++) {
    const b = new Uint8Array(1 + Math.floor(next() * 12));
    // Mostly plausible UTF-8 shapes, so valid and invalid both occur.
    for (let i = 0; i < b.length; i++) b[i] = next() < 0.5 ? 0x80 + Math.floor(next() * 64) : Math.floor(next() * 256);
    let valid = true;
    try {
      fatal.decode(b);
    } catch {
      valid = false;
    }
    assert.equal(utf8ErrorAt(b) === -1, valid, `bytes ${Buffer.from(b).toString('hex')}`);
  }
});
