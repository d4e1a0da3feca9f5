// Acknowledging alerts: by number (all or nothing), every unacknowledged one of a target, or all;
// each acknowledgement one audit entry per target with its ids; and `modelops alerts` listing and
// acknowledging them against a real SQLite registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CliIO } from '../../../server/cli/command';
import { alertsCommand } from '../../../server/cli/commands/alerts';
import { ModelOpsError } from '../../../server/engine/errors';
import { openRegistry } from '../../../server/engine/registry';
import { tempWorkspace } from './helpers';

function alert(target: string, rule: string) {
  return { target, model: 'weather', version: '1.0.0', rule, metric: 'accuracy', message: `${rule} on ${target}` };
}

test('alerts are acknowledged by number (all or nothing), by target, or all; each time in the audit trail', () => {
  const ws = tempWorkspace();
  const reg = openRegistry(ws.root, { actor: 'Ana <ana@example.com>' });
  try {
    const [a1, a2, b1] = [alert('local', 'we1'), alert('local', 'drift:wind'), alert('prod', 'we2')].map((a) =>
      reg.recordAlert(a),
    );
    // An unknown number refuses the whole call: #a1 stays unacknowledged.
    assert.throws(
      () => reg.acknowledgeAlerts({ ids: [a1.id, 999] }),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'alert-not-found' && /No alert #999/.test(e.message),
    );
    assert.equal(reg.listAlerts({ unacknowledgedOnly: true }).length, 3);
    // A number on another target than the one named is refused too.
    assert.throws(() => reg.acknowledgeAlerts({ ids: [b1.id], target: 'local' }), /is on target 'prod', not 'local'/);

    const one = reg.acknowledgeAlerts({ ids: [a1.id] });
    assert.deepEqual(
      one.map((a) => [a.id, a.acknowledged]),
      [[a1.id, true]],
    );
    assert.deepEqual(reg.acknowledgeAlerts({ ids: [a1.id] }), [], 'already acknowledged: nothing changes');
    assert.deepEqual(
      reg.acknowledgeAlerts({ target: 'local' }).map((a) => a.id),
      [a2.id],
    );
    assert.deepEqual(
      reg.listAlerts({ unacknowledgedOnly: true }).map((a) => a.id),
      [b1.id],
    );
    assert.deepEqual(
      reg.acknowledgeAlerts({}).map((a) => a.id),
      [b1.id],
    );
    const entries = reg.auditLog({}).filter((e) => e.action === 'alerts.acknowledge');
    assert.deepEqual(
      entries.map((e) => [e.target, e.actor, e.after]),
      [
        ['local', 'Ana <ana@example.com>', { alerts: [a1.id], count: 1 }],
        ['local', 'Ana <ana@example.com>', { alerts: [a2.id], count: 1 }],
        ['prod', 'Ana <ana@example.com>', { alerts: [b1.id], count: 1 }],
      ],
    );
    assert.equal(reg.verifyAudit().ok, true);
  } finally {
    reg.close();
    ws.cleanup();
  }
});

test('modelops alerts lists the unacknowledged ones and acknowledges them', async () => {
  const ws = tempWorkspace();
  const reg = openRegistry(ws.root);
  const ids = [alert('local', 'we1'), alert('local', 'drift:wind'), alert('prod', 'we2')].map(
    (a) => reg.recordAlert(a).id,
  );
  reg.close();
  const run = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = {
      cwd: ws.root,
      out: (t) => void out.push(t),
      err: (t) => void err.push(t),
      isTTY: false,
      env: { MODELOPS_ACTOR: 'Bo <bo@example.com>' },
    };
    try {
      return { code: await alertsCommand.run(args, io), out: out.join('\n'), err: err.join('\n') };
    } catch (e) {
      return { code: 1, out: out.join('\n'), err: e instanceof Error ? e.message : String(e) };
    }
  };
  try {
    const list = await run([]);
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /we1 on local/);
    assert.match(list.out, /acknowledge: modelops alerts ack/);
    assert.equal((await run(['list'])).out, list.out, '`list` is the default');
    assert.match((await run(['lst'])).err, /Unknown alerts subcommand 'lst'/);
    assert.match((await run(['ack'])).err, /Name the alerts to acknowledge/);
    assert.match((await run(['ack', 'x1'])).err, /'x1' is not an alert number/);
    const byTarget = await run(['ack', '--target', 'local']);
    assert.match(byTarget.out, new RegExp(`acknowledged 2 alerts: #${ids[0]}, #${ids[1]}`));
    const rest = JSON.parse((await run(['--json'])).out) as Array<{ id: number }>;
    assert.deepEqual(
      rest.map((a) => a.id),
      [ids[2]],
    );
    assert.match((await run(['ack', `#${ids[2]}`])).out, /acknowledged 1 alert: #/);
    assert.match((await run([])).out, /No unacknowledged alerts/);
    const all = await run(['--all']);
    assert.match(all.out, /ack/);
    assert.equal((all.out.match(/ yes/g) ?? []).length, 3);
  } finally {
    ws.cleanup();
  }
});
