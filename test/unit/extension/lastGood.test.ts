import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LastGood } from '../../../extension/tree/lastGood';

// Issue 16: the Endpoints view vanished while a key was half typed and logged a warning per keystroke.
test('the last good items stay, marked stale, and a run of failures logs once', () => {
  const g = new LastGood<string>();
  assert.deepEqual(g.failed('no config yet'), { items: undefined, stale: 'no config yet', log: 'no config yet' });
  assert.deepEqual(g.ok(['local']), { items: ['local'], stale: undefined, log: 'the source loads again' });
  const first = g.failed("Unknown key 'ep'");
  assert.deepEqual(first, { items: ['local'], stale: "Unknown key 'ep'", log: "Unknown key 'ep'" });
  for (const typed of ["Unknown key 'epo'", "Unknown key 'epoc'"]) {
    const a = g.failed(typed);
    assert.deepEqual(a.items, ['local']);
    assert.equal(a.stale, typed);
    assert.equal(a.log, undefined, 'no log line per keystroke');
  }
  assert.deepEqual(g.ok(['local', 'staging']), {
    items: ['local', 'staging'],
    stale: undefined,
    log: 'the source loads again',
  });
  assert.equal(g.ok(['local']).log, undefined);
});
