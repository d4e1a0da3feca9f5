import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VersionRecord } from '../../../server/engine/registry/types';
import {
  ago,
  firstConfigError,
  gateIcon,
  governanceView,
  keyMetric,
  modelNameIn,
  shortRunId,
  suggestModelName,
  versionContext,
  versionDescription,
  versionTooltip,
} from '../../../extension/tree/format';

function version(over: Partial<VersionRecord> = {}): VersionRecord {
  return {
    id: 1,
    model: 'weather',
    version: '1.2.0',
    artifactDigest: 'sha256:' + 'ab'.repeat(32),
    artifactKind: 'directory',
    format: 'modelops-tfjs',
    sizeBytes: 12_345,
    signature: null,
    metrics: { f1_macro: 0.61, accuracy: 0.8345 },
    runId: 'run-1',
    configDigest: 'sha256:' + 'cd'.repeat(32),
    datasets: [{ role: 'train', path: 'data/seattle-weather.csv', digest: 'sha256:' + 'ef'.repeat(32) }],
    gitCommit: '0123456789abcdef0123456789abcdef01234567',
    gitDirty: true,
    parentVersion: '1.1.0',
    note: 'more epochs',
    tags: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    archived: false,
    aliases: [],
    gates: null,
    deployedTo: [],
    ...over,
  };
}

test('tree: a version reads "key metric · aliases · where it is deployed"', () => {
  assert.equal(versionDescription(version()), 'acc 0.835');
  assert.equal(
    versionDescription(version({ aliases: ['production', 'champion'], deployedTo: ['local'] })),
    'acc 0.835 · production, champion · ⇢ local',
  );
  assert.equal(versionDescription(version({ metrics: { rmse: 2.5 }, archived: true })), 'rmse 2.500 · archived');
  assert.equal(versionDescription(version({ metrics: {} })), '');
  assert.deepEqual(keyMetric({ mae: 1, r2: 0.5 }), ['r2', 0.5]);
  assert.deepEqual(keyMetric({ custom: 3 }), ['custom', 3]);
  assert.deepEqual(keyMetric({ accuracy: 0.9, f1_macro: 0.7 }, 'f1_macro'), ['f1_macro', 0.7]);
});

test('tree: contextValue carries the flags the menus test', () => {
  assert.equal(versionContext(version()), 'version');
  const failed = { passed: false, results: [], evaluatedAt: 'x', override: null };
  assert.equal(
    versionContext(version({ aliases: ['staging'], deployedTo: ['local'], archived: true, gates: failed })),
    'version:aliased:deployed:archived:gates-failed',
  );
  assert.equal(versionContext(version({ gates: { ...failed, override: { reason: 'ok', at: 'x' } } })), 'version');
});

test('tree: an approval shows as the icon only over passed gates, never over overridden or failed ones', () => {
  const status = {
    protectedAliases: ['production'],
    separationOfDuties: false,
    protectedTargets: [],
    approvals: [
      {
        id: 1,
        model: 'weather',
        version: '1.2.0',
        artifactDigest: 'sha256:' + 'ab'.repeat(32),
        scope: 'alias' as const,
        name: 'production',
        approver: 'Bob',
        comment: null,
        at: '2026-01-01T00:00:00.000Z',
        valid: true,
      },
    ],
    actor: 'Alice',
    fairness: {},
  };
  const gates = (passed: boolean, override: { reason: string; at: string } | null) => ({
    passed,
    results: [],
    evaluatedAt: 'x',
    override,
  });
  const passed = governanceView(version({ gates: gates(true, null) }), status);
  assert.equal(passed.approval, 'approved');
  assert.deepEqual(passed.icon, { id: 'verified-filled', color: 'testing.iconPassed' });
  const overridden = version({ gates: gates(false, { reason: 'known drift', at: 'x' }) });
  const view = governanceView(overridden, status);
  assert.equal(view.approval, 'approved');
  assert.equal(view.icon, null, 'the gate icon (a warning) stays');
  assert.equal(gateIcon(overridden).id, 'warning');
  assert.equal(governanceView(version({ gates: gates(false, null) }), status).icon, null);
});

test('tree: the tooltip shows lineage and escapes markdown', () => {
  const t = versionTooltip(version({ note: 'use *all* [data]' }));
  assert.match(t, /\*\*weather@1\.2\.0\*\*/);
  assert.match(t, /use \\\*all\\\* \\\[data\\\]/);
  assert.match(t, /Run: `run-1`/);
  assert.match(t, /Parent: 1\.1\.0/);
  assert.match(t, /Git: `0123456789` \(uncommitted changes\)/);
  assert.match(t, /Data \(train\): data\/seattle-weather\.csv `efefefefefef`/);
  assert.match(t, /12\.1 KiB/);
  assert.match(t, /Config: `cdcdcdcdcdcd`/);
  // A version registered without a run or config (an imported ONNX file): a plain dash, as Run and Parent.
  const imported = versionTooltip(version({ runId: null, configDigest: null, parentVersion: null }));
  assert.match(imported, /Run: —  \nParent: —  \nConfig: —  \n/);
});

test('names: a model name from a file or folder', () => {
  assert.equal(suggestModelName('/w/models/Churn Model.onnx'), 'churn-model');
  assert.equal(suggestModelName('/w/out/tfjs_model/model.json'), 'tfjs_model');
  assert.equal(suggestModelName('/w/export/saved_model.pb'), 'export');
  assert.equal(suggestModelName('C:\\w\\net.pt'), 'net');
  assert.equal(suggestModelName('/w/___.pkl'), 'model');
  assert.equal(ago('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:05:00Z')), '5 min ago');
  assert.equal(shortRunId('20261124-122825-2e7edb'), '122825-2e7edb');
  assert.equal(shortRunId('abcdef0123456789'), 'abcdef012345');
});

// Issue 16: Train with a broken, closed config showed the engine's 6-line message; the extension
// now says how many errors and the first, and opens the config there.
test('firstConfigError reads the count and the first error of a config-invalid message', () => {
  const message =
    "/tmp/ws/modelops.yaml has 2 errors:\n  /tmp/ws/modelops.yaml:9:11 error data.target: 'wether' is not a column of 'data/x.csv'. [unknown-column]\n  /tmp/ws/modelops.yaml:21:3 error Unknown key 'epocs' in train. [unknown-key]";
  assert.deepEqual(firstConfigError(message), {
    count: 2,
    line: 8,
    character: 10,
    text: "data.target: 'wether' is not a column of 'data/x.csv'.",
  });
  assert.equal(firstConfigError('No config at /tmp/ws/modelops.yaml.'), undefined);
});

test('modelNameIn finds model.name for the training panel title', () => {
  assert.equal(
    modelNameIn(
      'version: 1\nmodel:\n  # comment\n\n  task: classification\n  name: weather-classifier   # note\ntrain:\n  name: other\n',
    ),
    'weather-classifier',
  );
  assert.equal(modelNameIn('model:\n  task: x\ntrain:\n  name: other\n'), undefined);
  assert.equal(modelNameIn('model: { name: inline }\n'), undefined);
});
