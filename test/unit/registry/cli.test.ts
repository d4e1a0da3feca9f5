import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CliIO } from '../../../server/cli/command';
import { dataComparison, runsCommand, versionsCommand } from '../../../server/cli/commands/versions';
import { openRegistry, type VersionRecord, type AliasMove } from '../../../server/engine/registry';
import { describeError } from '../../../server/engine/errors';
import { tempWorkspace } from './helpers';

function io(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const value: CliIO = { cwd, out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false, env: {} };
  return { value, out, err, text: () => out.join('\n') };
}

async function run(cwd: string, argv: string[], cmd = versionsCommand) {
  const o = io(cwd);
  try {
    const code = await cmd.run(argv, o.value);
    return { code, text: o.text(), err: o.err.join('\n') };
  } catch (e) {
    // main.ts prints ModelOpsErrors this way; reproduce it so the test sees what the user sees.
    return { code: 1, text: o.text(), err: describeError(e) };
  }
}

test('modelops versions: register, list, show, promote, rollback, compare, archive, history (text and --json)', async () => {
  const ws = tempWorkspace();
  try {
    ws.file('modelops.yaml', 'version: 1\n');
    ws.file('out/model.pt', 'w1');
    ws.file('out/model2.pt', 'w2');
    ws.file('metrics.json', '{"accuracy": 0.93, "f1_macro": 0.9}');
    // From a subfolder: the workspace root is found by walking up to modelops.yaml.
    const sub = ws.file('out/.keep', '').replace(/\/\.keep$/, '');
    const r1 = await run(sub, [
      'register',
      'model.pt',
      '--model',
      'weather',
      '--note',
      'first',
      '--tag',
      'a',
      '--tag',
      'b',
      '--metrics',
      '../metrics.json',
      '--json',
    ]);
    assert.equal(r1.code, 0, r1.err);
    const v1 = JSON.parse(r1.text) as VersionRecord;
    assert.deepEqual([v1.version, v1.tags, v1.metrics.accuracy, v1.format], ['1.0.0', ['a', 'b'], 0.93, 'torch']);
    const r2 = await run(ws.root, ['register', 'out/model2.pt', '--model', 'weather', '--version', '2.0.0']);
    assert.match(r2.text, /registered weather@2\.0\.0/);

    const list = await run(ws.root, ['list']);
    assert.match(list.text, /weather\s+2\s+2\.0\.0/);
    // The verb alone, or with list's options only, lists; an unknown word is still refused.
    assert.equal((await run(ws.root, [])).text, list.text);
    assert.deepEqual(
      JSON.parse((await run(ws.root, ['--json'])).text),
      JSON.parse((await run(ws.root, ['list', '--json'])).text),
    );
    assert.match((await run(ws.root, ['lsit'])).err, /unknown subcommand 'lsit'/);
    const listJson = JSON.parse(
      (await run(ws.root, ['list', 'weather', '--json', '--sort', 'version', '--order', 'asc'])).text,
    ) as { total: number; items: VersionRecord[] };
    assert.deepEqual(
      listJson.items.map((v) => v.version),
      ['1.0.0', '2.0.0'],
    );

    const promote = await run(ws.root, [
      'promote',
      'weather@1.0.0',
      '--alias',
      'production',
      '--reason',
      'launch',
      '--json',
    ]);
    assert.equal((JSON.parse(promote.text) as AliasMove).toVersion, '1.0.0');
    assert.match(
      (await run(ws.root, ['promote', 'weather@2.0.0', '--alias', 'production'])).text,
      /promoted weather@2\.0\.0 to 'production' \(was 1\.0\.0\)/,
    );
    assert.match((await run(ws.root, ['rollback', 'weather', '--alias', 'production'])).text, /2\.0\.0 → 1\.0\.0/);
    const history = await run(ws.root, ['history', 'weather']);
    assert.match(history.text, /production\s+2\.0\.0\s+1\.0\.0\s+rollback/);
    assert.match(history.text, /launch/);

    const show = await run(ws.root, ['show', 'weather@production']);
    assert.match(show.text, /weather@1\.0\.0/);
    assert.match(show.text, /accuracy\s+0\.9300/);
    const cmp = await run(ws.root, ['compare', 'weather@1.0.0', 'weather@2.0.0']);
    assert.match(cmp.text, /accuracy\s+0\.9300\s+—/);
    assert.match(cmp.text, /artifact:\s+different/);
    // Registered without data: nothing says the metrics come from the same test split.
    assert.match(cmp.text, /data:\s+not comparable — 1\.0\.0 not recorded; 2\.0\.0 not recorded/);

    // Gate failure: promote refuses with the reason, --force-reason overrides and is recorded.
    const reg = openRegistry(ws.root);
    reg.recordGates('weather@2.0.0', {
      passed: false,
      evaluatedAt: new Date().toISOString(),
      override: null,
      results: [
        {
          metric: 'accuracy',
          expression: '>= 0.9',
          op: '>=',
          threshold: 0.9,
          actual: null,
          passed: false,
          reference: null,
          message: 'accuracy missing',
        },
      ],
    });
    reg.close();
    const refused = await run(ws.root, ['promote', 'weather@2.0.0', '--alias', 'production']);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /quality gates failed \(accuracy missing\).*--force-reason/);
    assert.match(
      (await run(ws.root, ['promote', 'weather@2.0.0', '--alias', 'production', '--force-reason', 'hotfix'])).text,
      /despite failed gates: hotfix/,
    );

    assert.match((await run(ws.root, ['archive', 'weather@1.0.0'])).text, /archived weather@1\.0\.0/);
    assert.doesNotMatch((await run(ws.root, ['list', 'weather'])).text, /1\.0\.0/);
    assert.match((await run(ws.root, ['list', 'weather', '--all'])).text, /1\.0\.0 \(archived\)/);

    const bad = await run(ws.root, ['promote', 'weather@2.0.0']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /Missing --alias/);
    assert.equal((await run(ws.root, ['frobnicate'])).code, 2);
    assert.match((await run(ws.root, ['list', 'weather', '--bogus'])).err, /Unknown option '--bogus'\. — Usage/);
    // A near miss gets a guess, and not Node's note about positionals after '--'.
    const near = (await run(ws.root, ['list', 'weather', '--jsn'])).err;
    assert.match(near, /Unknown option '--jsn'\. Did you mean '--json'\?/);
    assert.doesNotMatch(near, /positional/);
  } finally {
    ws.cleanup();
  }
});

test('modelops runs list and show', async () => {
  const ws = tempWorkspace();
  try {
    ws.file('modelops.yaml', 'version: 1\n');
    const reg = openRegistry(ws.root);
    const run1 = reg.createRun({ kind: 'train', model: 'weather', params: { epochs: 2 }, backend: 'wasm' });
    reg.appendRunMetrics(run1.id, 0, { loss: 0.9 });
    reg.appendRunMetrics(run1.id, 1, { loss: 0.5 });
    reg.finishRun(run1.id, { status: 'succeeded', metrics: { accuracy: 0.8 } });
    reg.close();
    const list = await run(ws.root, ['list'], runsCommand);
    assert.match(list.text, new RegExp(`${run1.id}\\s+train\\s+weather\\s+succeeded`));
    assert.equal((await run(ws.root, [], runsCommand)).text, list.text);
    const show = JSON.parse((await run(ws.root, ['show', run1.id, '--json'], runsCommand)).text) as {
      run: { status: string };
      metrics: Array<{ step: number }>;
    };
    assert.equal(show.run.status, 'succeeded');
    assert.deepEqual(
      show.metrics.map((p) => p.step),
      [0, 1],
    );
    assert.match((await run(ws.root, ['show', run1.id], runsCommand)).text, /loss/);
    assert.match((await run(ws.root, ['show', 'nope'], runsCommand)).err, /No run 'nope'/);
  } finally {
    ws.cleanup();
  }
});

test('versions compare says when two versions were trained (and tested) on different data', () => {
  const v = (version: string, path: string, hex: string) =>
    ({
      version,
      datasets: [{ role: 'train', path, digest: `sha256:${hex.repeat(32)}` }],
    }) as unknown as VersionRecord;
  const a = v('1.0.0', 'data/weather.csv', 'ab');
  const same = dataComparison({
    a,
    b: v('1.1.0', 'data/weather.csv', 'ab'),
    metrics: {},
    signatureChanged: false,
    sameArtifact: false,
    sameData: true,
  });
  assert.equal(same, 'same (data/weather.csv (abababababab))');
  const other = dataComparison({
    a,
    b: v('1.1.0', '.modelops/traffic/t.csv', 'cd'),
    metrics: {},
    signatureChanged: false,
    sameArtifact: false,
    sameData: false,
  });
  assert.equal(
    other,
    "different — 1.0.0 data/weather.csv (abababababab); 1.1.0 .modelops/traffic/t.csv (cdcdcdcdcdcd): each version's metrics come from its own test split",
  );
});

test('modelops optimize with the version before the method says the order, not "unknown"', async () => {
  const { optimizeCommand } = await import('../../../server/cli/commands/optimize');
  const { ModelOpsError } = await import('../../../server/engine/errors');
  const io: CliIO = { cwd: process.cwd(), out: () => undefined, err: () => undefined, isTTY: false, env: {} };
  await assert.rejects(
    optimizeCommand.run(['weather@1.0.0', 'quantize', '--dtype', 'uint8'], io),
    (e: unknown) =>
      e instanceof ModelOpsError &&
      e.code === 'cli-usage' &&
      /The optimisation comes first: modelops optimize quantize weather@1\.0\.0\./.test(e.message),
  );
  await assert.rejects(
    optimizeCommand.run(['shrink', 'weather@1.0.0'], io),
    (e: unknown) => e instanceof ModelOpsError && /Unknown optimisation 'shrink': quantize or prune\./.test(e.message),
  );
});
