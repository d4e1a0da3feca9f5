/**
 * Who acts is read again after a while: a sidecar open for a whole session records the new name
 * once MODELOPS_ACTOR (or git's user.name) changes, and not a git call per audited write.
 */
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { openRegistry } from '../../../server/engine/registry';
import { tempWorkspace } from './helpers';

test('the audit trail records the actor as it is now, re-read after 10 s, not once per session', () => {
  const ws = tempWorkspace();
  const before = process.env.MODELOPS_ACTOR;
  mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-11-27T10:00:00Z') });
  try {
    process.env.MODELOPS_ACTOR = 'Ann <ann@example.com>';
    const reg = openRegistry(ws.root);
    try {
      reg.audit({ action: 'token.set', target: 'prod' });
      process.env.MODELOPS_ACTOR = 'Bob <bob@example.com>';
      mock.timers.tick(5_000);
      reg.audit({ action: 'token.cleared', target: 'prod' });
      mock.timers.tick(5_000);
      reg.audit({ action: 'token.set', target: 'prod' });
      assert.deepEqual(
        reg.auditLog().map((e) => `${e.action} by ${e.actor}`),
        [
          'token.set by Ann <ann@example.com>',
          // Within 10 s of the last look the name is reused.
          'token.cleared by Ann <ann@example.com>',
          'token.set by Bob <bob@example.com>',
        ],
      );
    } finally {
      reg.close();
    }
    // An actor given when opening is never replaced.
    const fixed = openRegistry(ws.root, { actor: 'Cy' });
    try {
      mock.timers.tick(60_000);
      assert.equal(fixed.audit({ action: 'token.cleared', target: 'prod' }).actor, 'Cy');
    } finally {
      fixed.close();
    }
  } finally {
    mock.timers.reset();
    if (before === undefined) delete process.env.MODELOPS_ACTOR;
    else process.env.MODELOPS_ACTOR = before;
    ws.cleanup();
  }
});
