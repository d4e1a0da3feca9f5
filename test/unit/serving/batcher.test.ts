import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batcher } from '../../../server/engine/serving/batcher';
import type { Prediction } from '../../../server/engine/model/types';

const echo =
  (calls: number[]) =>
  async (rows: Array<Record<string, unknown>>): Promise<Prediction[]> => {
    calls.push(rows.length);
    return rows.map((r) => ({ value: Number(r.x) * 2 }));
  };

test('requests in the same turn share a call, split back in order, and respect the maximum', async () => {
  const calls: number[] = [];
  const b = new Batcher(echo(calls), { maxBatchSize: 5, maxWaitMs: 0 });
  const results = await Promise.all(
    [1, 2, 3].map((n) => b.submit(Array.from({ length: n }, (_, i) => ({ x: n * 10 + i })))),
  );
  assert.deepEqual(
    results.map((r) => r.map((p) => p.value)),
    [[20], [40, 42], [60, 62, 64]],
  );
  // 1 + 2 fit in 5; the request of 3 would pass the maximum, so it goes in the next call.
  assert.deepEqual(calls, [3, 3]);
  const big = await b.submit(Array.from({ length: 12 }, (_, i) => ({ x: i })));
  assert.equal(big.length, 12);
  assert.deepEqual(calls, [3, 3, 12], 'a request above the maximum goes alone');
});

test('a timer batches requests that arrive within the wait; a failing call rejects its requests only', async () => {
  const calls: number[] = [];
  const b = new Batcher(echo(calls), { maxBatchSize: 64, maxWaitMs: 20 });
  const p1 = b.submit([{ x: 1 }]);
  await new Promise((r) => setTimeout(r, 5));
  const p2 = b.submit([{ x: 2 }]);
  assert.deepEqual(
    (await Promise.all([p1, p2])).flat().map((p) => p.value),
    [2, 4],
  );
  assert.deepEqual(calls, [2]);
  let fail = true;
  const flaky = new Batcher(
    async (rows) => {
      if (fail) throw new Error('boom');
      return rows.map(() => ({ value: 1 }));
    },
    { maxBatchSize: 8, maxWaitMs: 0 },
  );
  await assert.rejects(Promise.all([flaky.submit([{}]), flaky.submit([{}])]), /boom/);
  fail = false;
  assert.deepEqual(await flaky.submit([{}]), [{ value: 1 }]);
});
