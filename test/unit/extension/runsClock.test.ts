/** Issue 16, point 10: the Runs view shows a clock time that cannot go stale, not "7 s ago". */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunRecord } from '../../../server/engine/registry/types';
import { clockTime, runDescription } from '../../../extension/tree/format';

const local = (y: number, mo: number, d: number, h: number, mi: number) => new Date(y, mo, d, h, mi).getTime();

test('clock time: hours and minutes today, the day this year, the year before that', () => {
  const now = local(2026, 10, 27, 15, 0);
  assert.equal(clockTime(new Date(local(2026, 10, 27, 9, 5)).toISOString(), now), '09:05');
  assert.equal(clockTime(new Date(local(2026, 10, 26, 23, 50)).toISOString(), now), '26 Nov 23:50');
  assert.equal(clockTime(new Date(local(2025, 0, 3, 7, 0)).toISOString(), now), '3 Jan 2025 07:00');
  assert.equal(clockTime('not a time', now), 'not a time');
});

test('a run described for the tree reads the same a minute later; for a quick pick it is relative', () => {
  const startedAt = new Date(local(2026, 10, 27, 14, 59)).toISOString();
  const r = { status: 'succeeded', version: '1.1.0', durationMs: 4200, startedAt } as unknown as RunRecord;
  const now = local(2026, 10, 27, 15, 0);
  assert.equal(runDescription(r, now, 'absolute'), 'succeeded · → 1.1.0 · 4.2 s · 14:59');
  assert.equal(runDescription(r, now + 60_000, 'absolute'), runDescription(r, now, 'absolute'));
  assert.equal(runDescription(r, now), 'succeeded · → 1.1.0 · 4.2 s · 1 min ago');
});
