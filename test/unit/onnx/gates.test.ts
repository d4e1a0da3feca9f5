import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GateReport, VersionRecord } from '../../../server/engine/registry/types';
import { gateIcon, versionContext, versionDescription, versionTooltip } from '../../../extension/tree/format';
import { evaluateGates, notEvaluatedReport } from '../../../server/engine/evaluation/gates';

// How the tree shows each gate state: "not evaluated" and "overridden" never look like a pass.
function version(gates: GateReport | null): VersionRecord {
  return {
    id: 1,
    model: 'weather',
    version: '1.0.0',
    artifactDigest: 'sha256:' + 'ab'.repeat(32),
    artifactKind: 'directory',
    format: 'onnx',
    sizeBytes: 1000,
    signature: null,
    metrics: { accuracy: 0.436 },
    runId: null,
    configDigest: null,
    datasets: [],
    gitCommit: null,
    gitDirty: null,
    parentVersion: null,
    note: null,
    tags: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    archived: false,
    aliases: [],
    gates,
    deployedTo: [],
  };
}

const passed = evaluateGates({ gates: { accuracy: '>= 0.4' }, metrics: { accuracy: 0.436 }, resolveAlias: () => null });
const failed = evaluateGates({
  gates: { accuracy: '>= 0.99' },
  metrics: { accuracy: 0.436 },
  resolveAlias: () => null,
});
const notEvaluated = notEvaluatedReport({ accuracy: '>= 0.99' }, "train.outputs 'out/model.pt' is not an .onnx file");
const overridden: GateReport = { ...failed, override: { reason: 'demo', at: 'x' } };

test('tree icon per gate state: only a pass is the green check', () => {
  assert.deepEqual(gateIcon(version(passed)), { id: 'pass', color: 'testing.iconPassed' });
  assert.deepEqual(gateIcon(version(failed)), { id: 'error', color: 'testing.iconFailed' });
  assert.deepEqual(gateIcon(version(notEvaluated)), { id: 'question', color: 'list.warningForeground' });
  assert.deepEqual(gateIcon(version(overridden)), { id: 'warning', color: 'list.warningForeground' });
  assert.deepEqual(gateIcon(version(null)), { id: 'circle-outline', color: null });
});

test('tree label, context and tooltip say the state in words', () => {
  assert.equal(versionDescription(version(passed)), 'acc 0.436');
  assert.equal(versionDescription(version(failed)), 'acc 0.436 · gates failed (1)');
  assert.equal(versionDescription(version(notEvaluated)), 'acc 0.436 · gates not evaluated');
  assert.equal(versionDescription(version(overridden)), 'acc 0.436 · gates failed, overridden');
  assert.equal(versionContext(version(notEvaluated)), 'version:gates-not-evaluated');
  assert.equal(versionContext(version(failed)), 'version:gates-failed');
  assert.match(
    versionTooltip(version(notEvaluated)),
    /Gates: not evaluated — train\.outputs 'out\/model\.pt' is not an \.onnx file/,
  );
  assert.doesNotMatch(versionTooltip(version(notEvaluated)), /Gates: passed/);
});
