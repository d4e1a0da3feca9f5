/**
 * The audit trail is tamper-evident: editing, deleting or reordering rows directly in SQLite
 * (better-sqlite3 on the real registry.db) is caught by verify, which names the first bad entry,
 * and `modelops audit verify` exits 1. Tokens are recorded as set/cleared, never by value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openRegistry } from '../../server/engine/registry';
import { auditCommand } from '../../server/cli/commands/audit';
import { ALICE, BOB, as, registerAs, runCli, tempWorkspace, type TempWorkspace } from '../unit/governance/helpers';

/** A workspace whose trail has 8 entries: registers, tags, an approval, alias moves, a token event. */
async function populated(): Promise<TempWorkspace> {
  const ws = tempWorkspace('modelops-audit-');
  await registerAs(ws, ALICE, 'one', '1.0.0');
  await registerAs(ws, ALICE, 'two!', '1.1.0');
  const reg = as(ws, BOB);
  reg.setTags('weather@1.0.0', ['baseline']);
  reg.approve('weather@1.1.0', { scope: 'alias', name: 'production', comment: 'ok' });
  reg.setAlias('weather', 'production', '1.0.0');
  reg.setAlias('weather', 'production', '1.1.0');
  reg.rollbackAlias('weather', 'production');
  reg.audit({ action: 'token.set', target: 'staging', detail: { tokenSecret: 'staging' } });
  assert.equal(reg.auditLog().length, 8);
  reg.close();
  return ws;
}

function tamper(ws: TempWorkspace, sql: string): void {
  const db = new Database(join(ws.root, '.modelops', 'registry.db'));
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

function verify(ws: TempWorkspace) {
  const reg = openRegistry(ws.root, { readonly: true });
  try {
    return reg.verifyAudit();
  } finally {
    reg.close();
  }
}

test('an untouched trail verifies, and `modelops audit verify` exits 0', async () => {
  const ws = await populated();
  try {
    const r = verify(ws);
    assert.equal(r.ok, true);
    assert.equal(r.entries, 8);
    assert.equal(r.anchor, 'checked');
    const cli = await runCli(auditCommand, ws.root, ['verify']);
    assert.equal(cli.code, 0, cli.err);
    assert.match(cli.text, /intact: 8 entries/);
  } finally {
    ws.cleanup();
  }
});

const cases: Array<{ name: string; sql: string; seq: number; problem: RegExp }> = [
  {
    name: 'editing an actor',
    sql: `UPDATE audit_log SET actor = 'Mallory' WHERE seq = 4`,
    seq: 4,
    problem: /changed after it was written/,
  },
  {
    name: 'editing before/after JSON',
    sql: `UPDATE audit_log SET after = replace(after, 'ok', 'approved by CTO') WHERE seq = 4`,
    seq: 4,
    problem: /changed after it was written/,
  },
  {
    name: 'editing a time',
    sql: `UPDATE audit_log SET at = '2000-01-01T00:00:00.000Z' WHERE seq = 2`,
    seq: 2,
    problem: /changed/,
  },
  {
    name: 'deleting an entry in the middle',
    sql: `DELETE FROM audit_log WHERE seq = 5`,
    seq: 6,
    problem: /#5 is missing/,
  },
  { name: 'deleting the first entry', sql: `DELETE FROM audit_log WHERE seq = 1`, seq: 2, problem: /#1 is missing/ },
  {
    name: 'deleting the last entries',
    sql: `DELETE FROM audit_log WHERE seq >= 7`,
    seq: 8,
    problem: /deleted from the end/,
  },
  {
    name: 'reordering two entries (swapping their sequence numbers)',
    sql: `UPDATE audit_log SET seq = -3 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = -3;`,
    seq: 3,
    problem: /changed after it was written/,
  },
  {
    name: 'deleting an entry and renumbering the rest',
    sql: `DELETE FROM audit_log WHERE seq = 5; UPDATE audit_log SET seq = seq - 1 WHERE seq > 5;`,
    seq: 5,
    problem: /changed after it was written/,
  },
];

for (const c of cases) {
  test(`verify catches ${c.name} and names entry #${c.seq}`, async () => {
    const ws = await populated();
    try {
      tamper(ws, c.sql);
      const r = verify(ws);
      assert.equal(r.ok, false);
      assert.equal(r.firstBad?.seq, c.seq);
      assert.match(r.firstBad?.problem ?? '', c.problem);
      const cli = await runCli(auditCommand, ws.root, ['verify']);
      assert.equal(cli.code, 1);
      assert.match(cli.text, new RegExp(`broken at entry #${c.seq}`));
    } finally {
      ws.cleanup();
    }
  });
}

test('a truncated chain that is still self-consistent is caught only by the head anchor', async () => {
  const ws = await populated();
  try {
    // Drop the last entry and recompute nothing else: the chain is self-consistent, the anchor is not.
    tamper(ws, `DELETE FROM audit_log WHERE seq = 8`);
    assert.equal(verify(ws).ok, false);
  } finally {
    ws.cleanup();
  }
});

test('a change that fails leaves no audit entry (same transaction)', async () => {
  const ws = await populated();
  try {
    const reg = as(ws, ALICE, { protectedAliases: ['production'], separationOfDuties: true });
    try {
      const before = reg.auditLog().length;
      assert.throws(() => reg.setAlias('weather', 'production', '1.0.0'));
      assert.equal(reg.auditLog().length, before);
    } finally {
      reg.close();
    }
  } finally {
    ws.cleanup();
  }
});

test('token events never carry the token; a detail that looks like one is refused', async () => {
  const ws = await populated();
  try {
    const reg = as(ws, BOB);
    try {
      assert.throws(
        () => reg.audit({ action: 'token.set', target: 'staging', detail: { token: 'tok-secret-123' } }),
        /never the token/,
      );
      const e = reg.audit({ action: 'token.cleared', target: 'staging', detail: { tokenSecret: 'staging' } });
      assert.equal(e.subject, 'target staging');
      const csv = await runCli(auditCommand, ws.root, ['--csv']);
      assert.doesNotMatch(csv.text, /tok-secret-123/);
      assert.match(csv.text.split('\n')[0], /^seq,at,actor,action,subject/);
      assert.throws(() => reg.audit({ action: 'alias.set' as 'token.set' }), /not an event that can be reported/);
    } finally {
      reg.close();
    }
  } finally {
    ws.cleanup();
  }
});
