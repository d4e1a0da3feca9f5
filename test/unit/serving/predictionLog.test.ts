// The prediction log's buffering: lines encoded into 256 KB blocks, written with one writev per
// flush and the blocks reused for the next lines. Flushes of several blocks, asynchronous and at
// exit, must give the file every line once, in order, whole — also when a line straddles what
// one block holds, when a line is larger than a block, and with rotation in between.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_FILE, PredictionLog, logFiles, unwritten } from '../../../server/engine/serving/predictionLog';
import { tempDir } from './fixtures';

/** Lines of varied length (and multi-byte text) so block edges fall mid-line at different places. */
const lineOf = (i: number): string =>
  JSON.stringify({ type: 'prediction', id: `r${i}`, note: 'é€'.repeat(i % 37) + 'x'.repeat((i * 7919) % 600) });

function appendAll(log: PredictionLog, from: number, to: number): string[] {
  const lines: string[] = [];
  for (let i = from; i < to; i++) {
    const l = lineOf(i);
    log.appendText('m', l);
    lines.push(l);
  }
  return lines;
}

const written = (log: PredictionLog): string =>
  logFiles(log.dirOf('m'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('');

test('flushes of several blocks, one after another, write every line once and in order (blocks reused)', async () => {
  const tmp = tempDir('plog-blocks');
  try {
    const log = new PredictionLog(tmp.dir, { flushMs: 1_000_000 });
    const expected: string[] = [];
    // ~700 KB a flush (3 blocks), three flushes: the second and third encode into reused blocks.
    for (let round = 0; round < 3; round++) {
      expected.push(...appendAll(log, round * 2500, (round + 1) * 2500));
      await log.flush();
      assert.equal(written(log), expected.map((l) => l + '\n').join(''), `after flush ${round + 1}`);
    }
    // Lines that arrive while a flush is on the disk go to other blocks than the ones being written.
    const writing = log.flush();
    expected.push(...appendAll(log, 20_000, 21_000));
    await new Promise((r) => setImmediate(r));
    expected.push(...appendAll(log, 21_000, 23_000));
    await writing;
    await log.flush();
    assert.equal(written(log), expected.map((l) => l + '\n').join(''), 'after a flush with lines arriving');
    // Synchronous flush at exit, from reused blocks too; then a line larger than a block.
    expected.push(...appendAll(log, 7500, 9000));
    const big = JSON.stringify({ type: 'prediction', id: 'big', note: 'y'.repeat(300 * 1024) });
    log.appendText('m', big);
    expected.push(big);
    expected.push(...appendAll(log, 9000, 9100));
    log.flushSync();
    assert.equal(written(log), expected.map((l) => l + '\n').join(''));
    assert.equal(log.dropped, 0);
    await log.close();
  } finally {
    tmp.cleanup();
  }
});

test('rotation between flushes keeps whole lines in order across the files', async () => {
  const tmp = tempDir('plog-rotate');
  try {
    const log = new PredictionLog(tmp.dir, { flushMs: 1_000_000, maxBytes: 600 * 1024, keep: 3 });
    const expected: string[] = [];
    for (let round = 0; round < 4; round++) {
      expected.push(...appendAll(log, round * 1500, (round + 1) * 1500));
      await log.flush();
    }
    const files = logFiles(log.dirOf('m'));
    assert.ok(files.length >= 2, `rotated: ${files.join(', ')}`);
    assert.ok(files.at(-1)!.endsWith(LOG_FILE));
    const text = written(log);
    for (const f of files) assert.ok(readFileSync(f, 'utf8').endsWith('\n'), `${f} ends with a whole line`);
    // Rotation may have dropped the oldest file; what is kept is the tail of what was appended.
    const all = expected.map((l) => l + '\n').join('');
    assert.ok(all.endsWith(text), 'the files hold the last lines appended, in order');
    await log.close();
  } finally {
    tmp.cleanup();
  }
});

test('a log folder that cannot be created drops the flush and counts its lines', async () => {
  const tmp = tempDir('plog-fail');
  try {
    // A file where the model's folder should be: mkdir fails (ENOTDIR / EEXIST).
    const root = join(tmp.dir, 'not-a-dir');
    writeFileSync(root, 'x');
    const log = new PredictionLog(root, { flushMs: 1_000_000 });
    appendAll(log, 0, 1200);
    await log.flush();
    assert.equal(log.dropped, 1200, 'every line of the failed flush is counted');
    assert.ok(log.lastError);
    await log.close();
  } finally {
    tmp.cleanup();
  }
});

test('a short write goes on from the first byte not written, across block edges', () => {
  const parts = [Buffer.from('abc'), Buffer.from('defg'), Buffer.from('h')];
  const text = (b: Buffer[]) => b.map((p) => p.toString()).join('|');
  assert.equal(text(unwritten(parts, 0)), 'abc|defg|h');
  assert.equal(text(unwritten(parts, 2)), 'c|defg|h');
  assert.equal(text(unwritten(parts, 3)), 'defg|h');
  assert.equal(text(unwritten(parts, 6)), 'g|h');
  assert.equal(text(unwritten(parts, 7)), 'h');
  assert.equal(unwritten(parts, 8).length, 0);
});
