// measurePair: a parent and its child measured alike (an untimed pass of each, then A B B A
// rounds, medians) through the runtime layer, on a real TF.js bundle. What it asserts is the
// shape of the result, not timings (those are the benchmark's: bench/optimize.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { bundleBytes, measurePair } from '../../../server/engine/optimize/measure';
import { makeBundle, makeRows, tempDir } from '../serving/fixtures';

test('measurePair gives each side its own size and finite medians, in the order asked', async () => {
  const tmp = tempDir('measure-pair');
  try {
    const parent = join(tmp.dir, 'parent');
    const child = join(tmp.dir, 'child');
    await makeBundle(parent);
    cpSync(parent, child, { recursive: true });
    cpSync(join(parent, 'modelops.json'), join(child, 'extra.json'));
    const rows = makeRows(20, 1);
    const [p, c] = await measurePair(parent, child, { rows, repeats: 6 });
    assert.equal(p.size_bytes, await bundleBytes(parent));
    assert.equal(c.size_bytes, await bundleBytes(child));
    assert.ok(c.size_bytes > p.size_bytes, 'the child here is the larger one');
    for (const m of [p, c])
      for (const k of ['load_ms', 'latency_p50_ms_b1', 'latency_p50_ms_b256'] as const)
        assert.ok(Number.isFinite(m[k]) && m[k] > 0, `${k} ${m[k]}`);
    // Stopped before any round: nothing timed, said as NaN rather than a number from nowhere.
    const stopped = await measurePair(parent, child, { rows, signal: AbortSignal.abort() });
    assert.ok(Number.isNaN(stopped[0].latency_p50_ms_b1));
  } finally {
    tmp.cleanup();
  }
});
