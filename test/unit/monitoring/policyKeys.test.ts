/** Which `monitor.on` key decides an alert's action. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionFor } from '../../../server/engine/monitoring/policy';

test('a rule’s own key wins, then drift or cbpe for their alerts, then alert, else notify', () => {
  const on = { alert: 'notify', we1: 'rollback', drift: 'retrain', cbpe: 'retrain' } as const;
  assert.deepEqual(actionFor(on, 'we1'), { action: 'rollback', because: 'we1' });
  assert.deepEqual(actionFor(on, 'we2'), { action: 'notify', because: 'alert' });
  assert.deepEqual(actionFor(on, 'drift:temp_max'), { action: 'retrain', because: 'drift' });
  // An estimate's rule-1 is not the realised metric's: `we1: rollback` does not act on it.
  assert.deepEqual(actionFor(on, 'cbpe:we1'), { action: 'retrain', because: 'cbpe' });
  assert.deepEqual(actionFor({ we1: 'rollback' }, 'cbpe:we1'), { action: 'notify', because: 'default' });
  assert.deepEqual(actionFor(undefined, 'we1'), { action: 'notify', because: 'default' });
});
