/** evaluate.fairness in modelops.yaml: diagnostics against the data file's header, the task, and normalised defaults. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../../../server/engine/config/validate';

const dir = mkdtempSync(join(tmpdir(), 'modelops-fairness-cfg-'));
mkdirSync(join(dir, 'data'));
writeFileSync(join(dir, 'data', 'train.csv'), 'x1,x2,sex,y\n1,2,F,0\n2,3,M,1\n');
const path = join(dir, 'modelops.yaml');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const doc = (task: string, evaluate: string) => `version: 1
project: demo
data:
  train: data/train.csv
  target: y
  features: [x1, x2]
model:
  name: m
  task: ${task}
  layers:
    - { type: dense, ${task === 'classification' ? 'units: 2, activation: softmax' : 'units: 1'} }
evaluate:
${evaluate}`;

const errors = (text: string) => analyze(text, { path }).diagnostics.filter((d) => d.severity === 'error');

test('a sensitive column that is not a feature but is in the data is fine; defaults are filled', () => {
  const a = analyze(
    doc('classification', '  fairness:\n    sensitive: [sex]\n  gates:\n    demographic_parity_difference: "<= 0.1"\n'),
    { path },
  );
  assert.deepEqual(
    a.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  assert.deepEqual(a.config?.evaluate.fairness, { sensitive: ['sex'], metrics: ['accuracy'], minGroupSize: 30 });
  assert.equal(a.config?.evaluate.parsedGates.demographic_parity_difference?.value, 0.1);
});

test('an unknown sensitive column is an error naming it, the file and a suggestion', () => {
  const e = errors(doc('classification', '  fairness:\n    sensitive: [sexx]\n'));
  assert.equal(e.length, 1);
  assert.equal(e[0].code, 'unknown-column');
  assert.match(
    e[0].message,
    /evaluate\.fairness\.sensitive: 'sexx' is not a column of 'data\/train\.csv'.*Did you mean 'sex'\?/,
  );
  assert.equal(e[0].range.start.line, 13);
});

test('a regression asking for demographic parity: in fairness.metrics and as a gate', () => {
  const e = errors(
    doc(
      'regression',
      '  fairness:\n    sensitive: [sex]\n    metrics: [mae, demographic_parity_difference]\n  gates:\n    equalized_odds_difference: "<= 0.1"\n',
    ),
  );
  assert.deepEqual(
    e.map((d) => d.code),
    ['metric-task-mismatch', 'metric-task-mismatch'],
  );
  assert.match(e[0].message, /'demographic_parity_difference' .*only for classification/);
  assert.match(e[1].message, /evaluate\.gates: 'equalized_odds_difference'/);
  // A classification metric per group of a regression is a mismatch too.
  const c = errors(doc('regression', '  fairness:\n    sensitive: [sex]\n    metrics: [accuracy]\n'));
  assert.deepEqual(
    c.map((d) => d.code),
    ['metric-task-mismatch'],
  );
});

test('a fairness gate without evaluate.fairness is an error; an unknown fairness metric is not in the enum', () => {
  const e = errors(doc('classification', '  gates:\n    demographic_parity_ratio: ">= 0.8"\n'));
  assert.deepEqual(
    e.map((d) => d.code),
    ['fairness-not-configured'],
  );
  const u = errors(doc('classification', '  fairness:\n    sensitive: [sex]\n    metrics: [demographic_parity]\n'));
  assert.deepEqual(
    u.map((d) => d.code),
    ['invalid-enum'],
  );
});
