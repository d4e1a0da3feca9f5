import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openRegistry } from '../../../server/engine/registry';
import { deploy } from '../../../server/engine/deploy';
import type { ModelOpsConfig } from '../../../server/engine/config/types';
import { approveCommand, approvalsCommand } from '../../../server/cli/commands/approve';
import { sameActor } from '../../../server/engine/governance/identity';
import { exportVersion, importVersion } from '../../../server/engine/registry/versionArchive';
import { join } from 'node:path';
import { ALICE, BOB, as, codeOf, registerAs, runCli, tempWorkspace } from './helpers';

const POLICY = { protectedAliases: ['production'], separationOfDuties: true };

test('a protected alias moves only with an approval by someone other than the author, and the trail records it', async () => {
  const ws = tempWorkspace();
  try {
    const ref = await registerAs(ws, ALICE, 'model-a');
    const alice = as(ws, ALICE, POLICY);
    try {
      assert.equal(alice.getVersion(ref).registeredBy, ALICE);
      assert.throws(
        () => alice.setAlias('weather', 'production', '1.0.0'),
        (e: unknown) =>
          codeOf(e) === 'approval-required' &&
          /production/.test(String(e)) &&
          /modelops approve weather@1\.0\.0 --for production/.test((e as { hint: string }).hint),
      );
      // The author may not approve their own version under separation of duties.
      assert.throws(
        () => alice.approve(ref, { scope: 'alias', name: 'production', comment: 'mine' }),
        (e: unknown) => codeOf(e) === 'approval-by-author',
      );
      // Unprotected aliases are unaffected.
      alice.setAlias('weather', 'staging', '1.0.0');
    } finally {
      alice.close();
    }
    const bob = as(ws, BOB, POLICY);
    try {
      const a = bob.approve(ref, { scope: 'alias', name: 'production', comment: 'reviewed eval report' });
      assert.equal(a.approver, BOB);
      assert.equal(a.valid, true);
      assert.match(a.artifactDigest, /^sha256:[0-9a-f]{64}$/);
    } finally {
      bob.close();
    }
    const again = as(ws, ALICE, POLICY);
    try {
      const move = again.setAlias('weather', 'production', '1.0.0', 'release');
      assert.equal(move.toVersion, '1.0.0');
      const log = again.auditLog({ model: 'weather' });
      const actions = again.auditLog().map((e) => e.action);
      for (const a of ['version.register', 'policy.change', 'approval.grant', 'alias.set'])
        assert.ok(actions.includes(a), a);
      const set = log.filter((e) => e.action === 'alias.set' && e.alias === 'production')[0];
      assert.equal(set.actor, ALICE);
      assert.equal((set.after as { approvalId: number }).approvalId, again.listApprovals()[0].id);
      assert.equal(again.verifyAudit().ok, true);
    } finally {
      again.close();
    }
  } finally {
    ws.cleanup();
  }
});

test('an approval is void when the version it names no longer has the approved artifact', async () => {
  const ws = tempWorkspace();
  try {
    const ref = await registerAs(ws, ALICE, 'first artifact', '1.0.0');
    const bob = as(ws, BOB, POLICY);
    bob.approve(ref, { scope: 'alias', name: 'production' });
    bob.deleteVersion(ref);
    bob.close();
    await registerAs(ws, ALICE, 'a different artifact', '1.0.0');
    const reg = as(ws, ALICE, POLICY);
    try {
      assert.equal(reg.listApprovals()[0].valid, false);
      assert.throws(
        () => reg.setAlias('weather', 'production', '1.0.0'),
        (e: unknown) => codeOf(e) === 'approval-void' && /void/.test(String(e)),
      );
    } finally {
      reg.close();
    }
  } finally {
    ws.cleanup();
  }
});

test('protection is read from registry: in modelops.yaml, and lifting it is audited', async () => {
  const ws = tempWorkspace();
  try {
    ws.file('modelops.yaml', 'version: 1\nregistry:\n  protectedAliases: [production]\n');
    await registerAs(ws, ALICE, 'm');
    const reg = openRegistry(ws.root, { actor: ALICE });
    try {
      assert.throws(
        () => reg.setAlias('weather', 'production', '1.0.0'),
        (e: unknown) => codeOf(e) === 'approval-required',
      );
      // Without separation of duties the author may approve.
      reg.approve('weather@1.0.0', { scope: 'alias', name: 'production' });
      reg.setAlias('weather', 'production', '1.0.0');
      ws.file('modelops.yaml', 'version: 1\n');
      reg.setAlias('weather', 'canary', '1.0.0');
      const changes = reg.auditLog().filter((e) => e.action === 'policy.change');
      assert.equal(changes.length, 2);
      assert.deepEqual(changes[1].after, { protectedAliases: [], separationOfDuties: false });
      ws.file('modelops.yaml', 'registry: [unclosed\n');
      assert.throws(
        () => reg.setAlias('weather', 'canary2', '1.0.0'),
        (e: unknown) => codeOf(e) === 'policy-unreadable' && /modelops\.yaml/.test(String(e)),
      );
    } finally {
      reg.close();
    }
  } finally {
    ws.cleanup();
  }
});

test('deploy refuses a requireApproval target without an approval, before touching the endpoint', async () => {
  const ws = tempWorkspace();
  try {
    const ref = await registerAs(ws, ALICE, 'm');
    const config = {
      deploy: {
        targets: {
          prod: {
            type: 'http',
            url: 'http://127.0.0.1:1',
            requireApproval: true,
            separationOfDuties: true,
            smokeTest: { rows: 5, tolerance: 1e-6 },
          },
        },
      },
    } as unknown as ModelOpsConfig;
    const reg = as(ws, ALICE);
    try {
      reg.recordGates(ref, { passed: true, results: [], evaluatedAt: new Date().toISOString(), override: null });
      const attempt = () => deploy({ registry: reg, config, ref, target: 'prod', tokenFor: () => 'tok' });
      await assert.rejects(
        attempt(),
        (e: unknown) =>
          codeOf(e) === 'approval-required' &&
          /deploy\.targets\.prod\.requireApproval/.test(String(e)) &&
          /modelops approve weather@1\.0\.0 --for prod/.test((e as { hint: string }).hint),
      );
      // The author approving does not count under separationOfDuties.
      assert.throws(
        () => reg.approve(ref, { scope: 'target', name: 'prod', separationOfDuties: true }),
        (e: unknown) => codeOf(e) === 'approval-by-author',
      );
    } finally {
      reg.close();
    }
    const bob = as(ws, BOB);
    bob.approve(ref, { scope: 'target', name: 'prod', separationOfDuties: true, comment: 'ok' });
    bob.close();
    const reg2 = as(ws, ALICE);
    try {
      // Past the approval check, the deploy fails on the unreachable endpoint instead.
      await assert.rejects(
        deploy({ registry: reg2, config, ref, target: 'prod', tokenFor: () => 'tok' }),
        (e: unknown) => !/approval/.test(codeOf(e)),
      );
      const failed = reg2.auditLog().filter((e) => e.action === 'deploy.failed');
      assert.equal(failed.length, 1);
      assert.equal((failed[0].after as { approvalId: number }).approvalId, reg2.listApprovals()[0].id);
    } finally {
      reg2.close();
    }
  } finally {
    ws.cleanup();
  }
});

test('modelops approve / approvals list: targets from the config, bad input refused clearly', async () => {
  const ws = tempWorkspace();
  try {
    ws.file(
      'modelops.yaml',
      'version: 1\nproject: p\ndata: { train: d.csv, target: y }\nmodel: { name: weather, task: regression }\nregistry: { protectedAliases: [production], separationOfDuties: true }\ndeploy:\n  targets:\n    prod: { type: http, url: "https://m.example.com", requireApproval: true, separationOfDuties: true }\n',
    );
    ws.file('d.csv', 'x,y\n1,2\n');
    await registerAs(ws, ALICE, 'm');
    const missing = await runCli(approveCommand, ws.root, ['weather@9.9.9', '--for', 'production'], {
      MODELOPS_ACTOR: BOB,
    });
    assert.equal(missing.code, 1);
    assert.match(missing.err, /No version weather@9\.9\.9/);
    const self = await runCli(approveCommand, ws.root, ['weather@1.0.0', '--for', 'prod'], {
      MODELOPS_ACTOR: 'alice@example.com',
    });
    assert.equal(self.code, 1);
    assert.match(self.err, /cannot approve it for 'prod': separation of duties/);
    const ok = await runCli(
      approveCommand,
      ws.root,
      ['weather@1.0.0', '--for', 'prod', '--comment', 'looks good', '--json'],
      { MODELOPS_ACTOR: BOB },
    );
    assert.equal(ok.code, 0, ok.err);
    assert.equal(JSON.parse(ok.text).scope, 'target');
    const alias = await runCli(approveCommand, ws.root, ['weather@1.0.0', '--for', 'production'], {
      MODELOPS_ACTOR: BOB,
    });
    assert.equal(alias.code, 0, alias.err);
    assert.match(alias.text, /for alias 'production' by Bob Reviewer/);
    // A name nothing asks an approval for (a typo, an unprotected alias): refused, with a guess.
    const typo = await runCli(approveCommand, ws.root, ['weather@1.0.0', '--for', 'prodction'], {
      MODELOPS_ACTOR: BOB,
    });
    assert.equal(typo.code, 1);
    assert.match(typo.err, /'prodction' is neither a protected alias .* nor a target .* Did you mean 'production'\?/);
    assert.match(typo.err, /Approve for one of: alias 'production', target 'prod'/);
    const list = await runCli(approvalsCommand, ws.root, ['list', '--json']);
    assert.equal((await runCli(approvalsCommand, ws.root, ['--json'])).text, list.text, '`approvals` alone lists');
    assert.deepEqual(
      JSON.parse(list.text).map(
        (a: { scope: string; name: string; valid: boolean }) => `${a.scope}:${a.name}:${a.valid}`,
      ),
      ['alias:production:true', 'target:prod:true'],
    );
  } finally {
    ws.cleanup();
  }
});

test('sameActor matches by whole id, e-mail or name, case-insensitively', () => {
  assert.ok(sameActor('Alice <ALICE@x.org>', 'alice@x.org'));
  assert.ok(sameActor('Alice <a@x.org>', 'alice <other@y.org>'));
  assert.ok(!sameActor('Alice <a@x.org>', 'Bob <b@x.org>'));
  assert.ok(!sameActor(null, 'Bob'));
});

test("an imported version's first author cannot approve it either: export and import are no way around separation of duties", async () => {
  const from = tempWorkspace();
  const to = tempWorkspace();
  try {
    const ref = await registerAs(from, ALICE, 'model-a');
    const archive = join(from.root, 'weather.modelops.tgz');
    const a = as(from, ALICE);
    try {
      await exportVersion(a, { ref, out: archive });
    } finally {
      a.close();
    }
    const carol = as(to, 'Carol Importer <carol@example.com>', POLICY);
    try {
      assert.equal((await importVersion(carol, { file: archive })).version.origin?.registeredBy, ALICE);
    } finally {
      carol.close();
    }
    const alice = as(to, ALICE, POLICY);
    try {
      assert.throws(
        () => alice.approve(ref, { scope: 'alias', name: 'production', comment: 'mine, from elsewhere' }),
        (e: unknown) =>
          codeOf(e) === 'approval-by-author' && /first registered \(where it was imported from\)/.test(String(e)),
      );
    } finally {
      alice.close();
    }
    const bob = as(to, BOB, POLICY);
    try {
      bob.approve(ref, { scope: 'alias', name: 'production', comment: 'reviewed' });
      bob.setAlias('weather', 'production', '1.0.0');
    } finally {
      bob.close();
    }
  } finally {
    from.cleanup();
    to.cleanup();
  }
});
