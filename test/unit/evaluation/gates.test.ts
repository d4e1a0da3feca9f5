import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluateGates,
  gateLabel,
  gateNeedsReason,
  gateState,
  notEvaluatedReport,
  parseGate,
} from '../../../server/engine/evaluation/gates';
import { ModelOpsError } from '../../../server/engine/errors';

test('parses absolute and alias-relative gate expressions', () => {
  assert.deepEqual(parseGate('>= 0.9'), { op: '>=', kind: 'absolute', value: 0.9, source: '>= 0.9' });
  assert.deepEqual(parseGate('> production - 0.01'), {
    op: '>',
    kind: 'relative',
    alias: 'production',
    adjust: '-',
    amount: 0.01,
    source: '> production - 0.01',
  });
  assert.deepEqual(parseGate('<= staging * 1.05'), {
    op: '<=',
    kind: 'relative',
    alias: 'staging',
    adjust: '*',
    amount: 1.05,
    source: '<= staging * 1.05',
  });
  assert.deepEqual(parseGate('== 1'), { op: '==', kind: 'absolute', value: 1, source: '== 1' });
  assert.equal(parseGate('>=champion').alias, 'champion');
  for (const bad of ['0.9', '>= ', '=> 0.9', '>= production -', '>= 1 +', 'good']) {
    assert.throws(
      () => parseGate(bad, 'accuracy'),
      (e: unknown) =>
        e instanceof ModelOpsError && e.code === 'bad-gate' && e.message.includes('evaluate.gates.accuracy'),
    );
  }
});

test('evaluates gates against metrics, resolving aliases', () => {
  const aliases: Record<string, { version: string; metrics: Record<string, number> }> = {
    production: { version: '1.2.0', metrics: { f1_macro: 0.8, log_loss: 0.5 } },
  };
  const report = evaluateGates({
    gates: {
      accuracy: '>= 0.9',
      f1_macro: '> production - 0.01',
      log_loss: '<= production * 1.05',
      recall_macro: '== 1',
      rmse: '< 2',
    },
    metrics: { accuracy: 0.95, f1_macro: 0.785, log_loss: 0.53, recall_macro: 1 },
    resolveAlias: (a) => aliases[a] ?? null,
  });
  const by = Object.fromEntries(report.results.map((r) => [r.metric, r]));
  assert.equal(by.accuracy.passed, true);
  assert.equal(by.accuracy.message, 'accuracy 0.9500 ≥ 0.9000');
  assert.equal(by.f1_macro.passed, false);
  assert.ok(Math.abs((by.f1_macro.threshold ?? 0) - 0.79) < 1e-12);
  assert.deepEqual(by.f1_macro.reference, { alias: 'production', version: '1.2.0' });
  assert.equal(by.log_loss.passed, false, '0.53 > 0.525');
  assert.equal(by.recall_macro.passed, true);
  assert.equal(by.rmse.passed, false);
  assert.equal(by.rmse.actual, null);
  assert.equal(report.passed, false);
  assert.equal(report.override, null);
});

test('a gate relative to an alias no version holds yet passes and says why', () => {
  const r = evaluateGates({
    gates: { f1_macro: '>= production - 0.02' },
    metrics: { f1_macro: 0.1 },
    resolveAlias: () => null,
  });
  assert.equal(r.passed, true);
  assert.deepEqual(r.results[0].reference, { alias: 'production', version: null });
  assert.match(r.results[0].message, /no version holds 'production'/);
});

test('gate boundaries: >= equal passes, > equal fails', () => {
  const r = evaluateGates({
    gates: { a: '>= 0.75', b: '> 0.75' },
    metrics: { a: 0.75, b: 0.75 },
    resolveAlias: () => null,
  });
  assert.deepEqual(
    r.results.map((x) => x.passed),
    [true, false],
  );
});

test('gate state: passed, failed, overridden and not evaluated are told apart; not evaluated never passes', () => {
  const pass = evaluateGates({ gates: { accuracy: '>= 0.5' }, metrics: { accuracy: 0.9 }, resolveAlias: () => null });
  const fail = evaluateGates({ gates: { accuracy: '>= 0.95' }, metrics: { accuracy: 0.9 }, resolveAlias: () => null });
  const none = notEvaluatedReport({ accuracy: '>= 0.5' }, 'the model is a .pt file');
  assert.deepEqual(
    [gateState(pass), gateState(fail), gateState(none), gateState(null)],
    ['passed', 'failed', 'not-evaluated', 'none'],
  );
  assert.equal(none.passed, false);
  assert.equal(none.results[0].message, 'accuracy not evaluated: the model is a .pt file');
  // A report claiming a pass but marked not evaluated is still not a pass.
  assert.equal(gateState({ ...none, passed: true }), 'not-evaluated');
  const overridden = { ...fail, override: { reason: 'hotfix', at: 'now' } };
  assert.equal(gateState(overridden), 'overridden');
  assert.equal(gateLabel(overridden), 'gates failed, overridden');
  assert.equal(gateLabel(none), 'gates not evaluated');
  assert.deepEqual(
    [gateNeedsReason(pass), gateNeedsReason(fail), gateNeedsReason(none), gateNeedsReason(overridden)],
    [false, true, true, false],
  );
});
