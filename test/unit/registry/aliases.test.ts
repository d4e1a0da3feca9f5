import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { openRegistry, buildLineage, type ChangeEvent, type GateReport } from '../../../server/engine/registry';
import { ModelOpsError } from '../../../server/engine/errors';
import { tempWorkspace } from './helpers';

const isErr =
  (code: string, ...parts: string[]) =>
  (e: unknown) =>
    e instanceof ModelOpsError && e.code === code && parts.every((p) => e.message.includes(p));

async function seeded(n: number) {
  const ws = tempWorkspace();
  const reg = openRegistry(ws.root);
  for (let i = 0; i < n; i++) {
    ws.file(`m${i}.pt`, `weights ${i}`);
    await reg.registerVersion({ model: 'weather', source: `m${i}.pt`, metrics: { accuracy: 0.8 + i / 100 } });
  }
  return { ws, reg };
}

test('aliases move, keep every move, and rollback walks back along the history', async () => {
  const { ws, reg } = await seeded(4); // 1.0.0 1.1.0 1.2.0 1.3.0
  const events: ChangeEvent[] = [];
  reg.onChange((e) => events.push(e));
  try {
    assert.equal(reg.setAlias('weather', 'production', '1.0.0', 'first').fromVersion, null);
    reg.setAlias('weather', 'production', '1.1.0', 'better');
    reg.setAlias('weather', 'production', '1.3.0');
    reg.setAlias('weather', 'staging', '1.2.0');
    assert.ok(events.some((e) => e.kind === 'aliases' && e.model === 'weather'));
    assert.equal(reg.getVersion('weather@production').version, '1.3.0');
    assert.deepEqual(reg.getVersion('weather@1.3.0').aliases, ['production']);
    assert.deepEqual(reg.listModels()[0].aliases, { production: '1.3.0', staging: '1.2.0' });
    // The same version again is not a move.
    assert.equal(reg.setAlias('weather', 'production', '1.3.0').fromVersion, '1.3.0');
    assert.equal(reg.aliasHistory('weather', 'production').length, 3);

    const r1 = reg.rollbackAlias('weather', 'production', 'bad latency');
    assert.deepEqual([r1.fromVersion, r1.toVersion, r1.reason], ['1.3.0', '1.1.0', 'bad latency']);
    const r2 = reg.rollbackAlias('weather', 'production');
    assert.deepEqual([r2.fromVersion, r2.toVersion, r2.reason], ['1.1.0', '1.0.0', 'rollback']);
    assert.throws(() => reg.rollbackAlias('weather', 'production'), isErr('nothing-to-roll-back', 'production'));
    // A new promotion after rollbacks starts a new branch of history.
    reg.setAlias('weather', 'production', '1.2.0');
    assert.equal(reg.rollbackAlias('weather', 'production').toVersion, '1.0.0');
    const history = reg.aliasHistory('weather', 'production');
    assert.deepEqual(
      history.map((m) => `${m.fromVersion}→${m.toVersion}`),
      ['1.2.0→1.0.0', '1.0.0→1.2.0', '1.1.0→1.0.0', '1.3.0→1.1.0', '1.1.0→1.3.0', '1.0.0→1.1.0', 'null→1.0.0'],
    );
    assert.equal(reg.aliasHistory('weather').length, history.length + 1);

    assert.throws(() => reg.setAlias('weather', 'production', '9.9.9'), isErr('version-not-found', 'weather@9.9.9'));
    assert.throws(() => reg.setAlias('weather', '1bad', '1.0.0'), isErr('invalid-alias'));
    assert.throws(() => reg.rollbackAlias('weather', 'champion'), isErr('alias-not-found', 'champion'));
    assert.throws(() => reg.getVersion('weather@champion'), isErr('alias-not-found'));
  } finally {
    reg.close();
    ws.cleanup();
  }
});

test('promotion is refused when the stored gate report failed, unless a reason is given, which is kept', async () => {
  const { ws, reg } = await seeded(2);
  try {
    const failed: GateReport = {
      passed: false,
      evaluatedAt: new Date().toISOString(),
      override: null,
      results: [
        {
          metric: 'accuracy',
          expression: '>= 0.9',
          op: '>=',
          threshold: 0.9,
          actual: 0.81,
          passed: false,
          reference: null,
          message: 'accuracy 0.810 < 0.900',
        },
        {
          metric: 'f1_macro',
          expression: '>= 0.5',
          op: '>=',
          threshold: 0.5,
          actual: 0.7,
          passed: true,
          reference: null,
          message: 'f1_macro 0.700 ≥ 0.500',
        },
      ],
    };
    reg.recordGates('weather@1.1.0', failed);
    assert.equal(reg.getVersion('weather@1.1.0').gates?.passed, false);
    assert.throws(
      () => reg.setAlias('weather', 'production', '1.1.0'),
      isErr('gates-failed', 'weather@1.1.0', 'accuracy 0.810 < 0.900'),
    );
    assert.equal(reg.aliasHistory('weather').length, 0);
    const move = reg.setAlias('weather', 'production', '1.1.0', 'hotfix', { forceReason: 'CEO demo, accepted by QA' });
    assert.equal(move.forceReason, 'CEO demo, accepted by QA');
    assert.equal(reg.aliasHistory('weather', 'production')[0].forceReason, 'CEO demo, accepted by QA');
    assert.equal(reg.getVersion('weather@1.1.0').gates?.override?.reason, 'CEO demo, accepted by QA');
    // A passing report does not stand in the way.
    reg.recordGates('weather@1.0.0', { ...failed, passed: true, results: [] });
    assert.equal(reg.setAlias('weather', 'staging', '1.0.0').forceReason, null);
  } finally {
    reg.close();
    ws.cleanup();
  }
});

test('delete is refused while the version holds an alias or is deployed; archive hides it from lists', async () => {
  const { ws, reg } = await seeded(4);
  try {
    reg.setAlias('weather', 'production', '1.0.0');
    assert.throws(() => reg.deleteVersion('weather@1.0.0'), isErr('version-in-use', 'weather@1.0.0', 'production'));
    const d1 = reg.recordDeployment({
      target: 'local',
      model: 'weather',
      version: '1.1.0',
      status: 'active',
      previousVersion: null,
      steps: [{ step: 'smoke test', ok: true, detail: '50/50', ms: 12 }],
      reason: null,
    });
    assert.deepEqual(reg.getVersion('weather@1.1.0').deployedTo, ['local']);
    assert.throws(() => reg.deleteVersion('weather@1.1.0'), isErr('version-in-use', 'local'));
    reg.recordDeployment({
      target: 'local',
      model: 'weather',
      version: '1.2.0',
      status: 'active',
      previousVersion: '1.1.0',
      steps: [],
      reason: null,
    });
    assert.equal(reg.activeDeployment('local', 'weather')?.version, '1.2.0');
    assert.equal(reg.listDeployments({ target: 'local' }).find((d) => d.id === d1.id)?.status, 'superseded');
    // 1.1.0 is the rollback target of the active deployment: still referenced.
    assert.throws(() => reg.deleteVersion('weather@1.1.0'), isErr('version-in-use'));
    assert.throws(
      () =>
        reg.recordDeployment({
          target: 'local',
          model: 'weather',
          version: '7.0.0',
          status: 'failed',
          previousVersion: null,
          steps: [],
          reason: 'x',
        }),
      isErr('version-not-found'),
    );

    reg.deleteVersion('weather@1.3.0');
    assert.throws(() => reg.getVersion('weather@1.3.0'), isErr('version-not-found'));
    assert.throws(() => reg.archiveVersion('weather@1.0.0'), isErr('version-in-use', 'production'));
    assert.equal(reg.archiveVersion('weather@1.2.0').archived, true);
    assert.deepEqual(
      reg.listVersions({ model: 'weather' }).items.map((v) => v.version),
      ['1.1.0', '1.0.0'],
    );
    assert.deepEqual(
      reg.listVersions({ model: 'weather', includeArchived: true }).items.map((v) => v.version),
      ['1.2.0', '1.1.0', '1.0.0'],
    );
    assert.throws(() => reg.setAlias('weather', 'staging', '1.2.0'), isErr('version-archived'));
    assert.equal(reg.archiveVersion('weather@1.2.0', false).archived, false);
    assert.deepEqual(reg.setTags('weather@1.2.0', ['candidate', ' candidate ', 'fast']).tags, ['candidate', 'fast']);
  } finally {
    reg.close();
    ws.cleanup();
  }
});

test('runs, metric series, datasets, alerts and lineage (with git)', async () => {
  const ws = tempWorkspace();
  try {
    execFileSync('git', ['init', '-q'], { cwd: ws.root });
    ws.file('modelops.yaml', 'version: 1\n');
    ws.file('model.pt', 'w');
    execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', 'add', '.'], { cwd: ws.root });
    execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'init'], {
      cwd: ws.root,
    });
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ws.root, encoding: 'utf8' }).trim();
    const reg = openRegistry(ws.root);
    try {
      const run = reg.createRun({ kind: 'train', model: 'weather', params: { epochs: 3 }, backend: 'wasm' });
      assert.equal(run.status, 'running');
      for (let s = 0; s < 3; s++) reg.appendRunMetrics(run.id, s, { loss: 1 / (s + 1), val_loss: Number.NaN });
      const ds = reg.recordDataset({
        digest: `sha256:${'a'.repeat(64)}`,
        path: 'data/train.csv',
        rows: 1461,
        columns: [{ name: 'temp_max', type: 'number' }],
      });
      assert.equal(ds.rows, 1461);
      assert.equal(reg.listDatasets().length, 1);
      const v = await reg.registerVersion({
        model: 'weather',
        source: 'model.pt',
        runId: run.id,
        configPath: 'modelops.yaml',
        datasets: [{ role: 'train', path: 'data/train.csv', digest: ds.digest }],
        note: 'first',
      });
      assert.equal(v.gitCommit, head);
      // .modelops/ is untracked, and untracked files do not make the tree dirty.
      assert.equal(v.gitDirty, false);
      assert.equal(v.configDigest, `sha256:${createHash('sha256').update('version: 1\n').digest('hex')}`);
      const done = reg.finishRun(run.id, { status: 'succeeded', metrics: { accuracy: 0.9 } });
      assert.equal(done.version, '1.0.0');
      assert.ok((done.durationMs ?? -1) >= 0);
      assert.deepEqual(
        reg.runMetrics(run.id).map((p) => [p.step, p.metrics.loss, p.metrics.val_loss]),
        [
          [0, 1, undefined],
          [1, 0.5, undefined],
          [2, 1 / 3, undefined],
        ],
      );
      assert.equal(reg.listRuns({ model: 'weather' })[0].id, run.id);
      assert.throws(() => reg.getRun('nope'), isErr('run-not-found', 'nope'));

      ws.file('modelops.yaml', 'version: 1\nproject: x\n');
      const v2 = await reg.registerVersion({ model: 'weather', source: 'model.pt' });
      assert.equal(v2.gitDirty, true);
      const lineage = buildLineage(reg, 'weather@1.0.1');
      assert.deepEqual(
        lineage.ancestors.map((a) => a.version),
        ['1.0.0'],
      );
      const first = buildLineage(reg, 'weather@1.0.0');
      assert.equal(first.run?.id, run.id);
      assert.equal(first.git?.commit, head);
      assert.ok(first.lines.some((l) => l.label === 'data' && l.value.includes('data/train.csv')));

      const alert = reg.recordAlert({
        target: 'local',
        model: 'weather',
        version: '1.0.0',
        rule: 'we1',
        metric: 'accuracy',
        message: 'point beyond 3σ',
      });
      assert.equal(reg.listAlerts({ unacknowledgedOnly: true }).length, 1);
      reg.acknowledgeAlert(alert.id);
      assert.equal(reg.listAlerts({ unacknowledgedOnly: true }).length, 0);
      assert.throws(() => reg.acknowledgeAlert(999), isErr('alert-not-found'));
    } finally {
      reg.close();
    }
  } finally {
    ws.cleanup();
  }
});

test('outside a git repository lineage records no commit', async () => {
  const ws = tempWorkspace();
  const reg = openRegistry(ws.root);
  try {
    ws.file('m.pt', 'w');
    const v = await reg.registerVersion({ model: 'm', source: 'm.pt' });
    assert.equal(v.gitCommit, null);
    assert.equal(v.gitDirty, null);
  } finally {
    reg.close();
    ws.cleanup();
  }
});
