/** The tune: block in modelops.yaml: diagnostics with their key paths, defaults, hover and completion from the schema. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from '../../../server/engine/config/validate';
import { hover } from '../../../server/engine/config/hover';
import { complete } from '../../../server/engine/config/complete';
import { configSchema, withDefaults } from '../../../server/engine/config/schema';
import { BASE, SAMPLE_CONFIG_PATH, rangeOf } from '../config/helpers';

const withTune = (tune: string) => `${BASE}tune:\n${tune}`;
const ctx = { path: SAMPLE_CONFIG_PATH };
const errors = (text: string) => analyze(text, ctx).diagnostics.filter((d) => d.severity === 'error');

const GOOD = `  space:
    learningRate: { type: loguniform, low: 0.0001, high: 0.1 }
    batchSize: { type: choice, values: [16, 32, 64] }
    layers.0.units: { type: int, low: 8, high: 64, step: 8 }
    layers.0.activation: { type: choice, values: [relu, tanh] }
  sampler: tpe
  budget: { trials: 20 }
`;

test('a good tune block has no errors and gets its defaults (objective from the task, pruner, seed)', () => {
  const a = analyze(withTune(GOOD), ctx);
  assert.deepEqual(
    a.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  const t = a.config?.tune;
  assert.ok(t);
  assert.equal(t.objective.metric, 'val_accuracy');
  // Optuna's MedianPruner defaults: n_warmup_steps 0, n_startup_trials 5, interval_steps 1, n_min_trials 1
  assert.deepEqual(t.pruner, { type: 'median', warmupEpochs: 0, minTrials: 5, intervalEpochs: 1, minTrialsAtEpoch: 1 });
  assert.equal(t.seed, 42);
  assert.equal(t.parallel, undefined);
  assert.deepEqual(t.tpe, { startupTrials: 10, candidates: 24 });
  const reg = withDefaults(configSchema, { tune: { space: {}, budget: { trials: 1 } } }, 'regression') as {
    tune: { objective: { metric: string } };
  };
  assert.equal(reg.tune.objective.metric, 'val_mae');
});

test('diagnostics name the key at fault', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['  space: {}\n  budget: { trials: 5 }\n', 'tune-empty-space', /tune.space has no parameters/],
    [
      '  space:\n    learningRate: { type: uniform, low: 0.1, high: 0.01 }\n  budget: { trials: 5 }\n',
      'tune-range',
      /tune.space.learningRate: low \(0.1\) must be less than high \(0.01\)/,
    ],
    [
      '  space:\n    learningRate: { type: loguniform, low: 0, high: 0.1 }\n  budget: { trials: 5 }\n',
      'tune-range',
      /loguniform range needs low > 0/,
    ],
    [
      '  space:\n    batchSize: { type: choice, values: [] }\n  budget: { trials: 5 }\n',
      'tune-empty-choice',
      /a choice needs at least one value/,
    ],
    [
      '  space:\n    layers.5.units: { type: int, low: 8, high: 64 }\n  budget: { trials: 5 }\n',
      'tune-unknown-param',
      /'layers.5.units' names layer 5, but model.layers has 2 layers \(indexes 0–1\)/,
    ],
    [
      '  space:\n    layers.0.rate: { type: uniform, low: 0, high: 0.5 }\n  budget: { trials: 5 }\n',
      'tune-unknown-param',
      /layer 0 is a dense layer, which has units and activation \(not rate\)/,
    ],
    [
      '  space:\n    momentum: { type: uniform, low: 0, high: 0.5 }\n  budget: { trials: 5 }\n',
      'tune-unknown-param',
      /'momentum' is not a parameter/,
    ],
    [
      '  space:\n    learningRate: { type: loguniform, low: 0.001, high: 0.1 }\n  budget: {}\n',
      'tune-budget',
      /needs trials, minutes or both/,
    ],
    [
      '  space:\n    learningRate: { type: loguniform, low: 0.001, high: 0.1 }\n  sampler: grid\n  budget: { trials: 5 }\n',
      'tune-grid-steps',
      /sampler grid needs a finite set of values; add steps/,
    ],
    [
      '  space:\n    layers.0.units: { type: int, low: 1, high: 5000 }\n    learningRate: { type: loguniform, low: 0.001, high: 0.1, steps: 10 }\n  sampler: grid\n  budget: { trials: 5 }\n',
      'tune-grid-too-large',
      /the grid has 50,000 points/,
    ],
    [
      '  space:\n    learningRate: { type: loguniform, low: 0.001, high: 0.1 }\n  budget: { trials: 5 }\n  objective: { metric: val_mae }\n',
      'metric-task-mismatch',
      /no 'val_mae'/,
    ],
    [
      '  space:\n    layers.0.activation: { type: choice, values: [relu, swish] }\n  budget: { trials: 5 }\n',
      'tune-bad-value',
      /'swish' is not a valid activation/,
    ],
  ];
  for (const [tune, code, message] of cases) {
    const found = errors(withTune(tune)).find((d) => d.code === code);
    assert.ok(found, `${code} for:\n${tune}\ngot: ${JSON.stringify(errors(withTune(tune)).map((d) => d.message))}`);
    assert.match(found.message, message);
  }
  // located on the key: layers.5.units
  const text = withTune('  space:\n    layers.5.units: { type: int, low: 8, high: 64 }\n  budget: { trials: 5 }\n');
  assert.deepEqual(errors(text).find((d) => d.code === 'tune-unknown-param')?.range, rangeOf(text, 'layers.5.units'));
});

test('a budget of 0 and an unknown objective metric are errors from the schema', () => {
  for (const budget of ['{ trials: 0 }', '{ minutes: 0 }']) {
    const errs = errors(
      withTune(`  space:\n    learningRate: { type: loguniform, low: 0.001, high: 0.1 }\n  budget: ${budget}\n`),
    );
    assert.ok(
      errs.some((d) => /budget/.test(d.message) || d.range.start.line > 0),
      JSON.stringify(errs),
    );
    assert.ok(errs.length > 0);
  }
  const errs = errors(
    withTune(
      '  space:\n    learningRate: { type: loguniform, low: 0.001, high: 0.1 }\n  budget: { trials: 3 }\n  objective: { metric: f1_macro }\n',
    ),
  );
  assert.ok(
    errs.some((d) => d.message.includes('f1_macro')),
    JSON.stringify(errs),
  );
});

test('hover and completion work inside the tune block', () => {
  const text = withTune(GOOD);
  const at = rangeOf(text, 'sampler').start;
  const h = hover(text, { line: at.line, character: at.character + 2 });
  assert.ok(h && /Tree-structured Parzen Estimator/.test(h.contents), h?.contents);
  const b = rangeOf(text, 'budget').start;
  const hb = hover(text, { line: b.line, character: b.character + 1 });
  assert.ok(hb && /trials/.test(hb.contents));
  const partial = `${BASE}tune:\n  sampler: \n`;
  const pos = rangeOf(partial, 'sampler: ').end;
  const labels = complete(partial, pos, ctx).map((c) => c.label);
  assert.ok(
    ['random', 'grid', 'tpe'].every((s) => labels.includes(s)),
    JSON.stringify(labels),
  );
  const keysText = `${BASE}tune:\n  \n`;
  const keyPos = { line: keysText.split('\n').length - 2, character: 2 };
  const keyLabels = complete(keysText, keyPos, ctx).map((c) => c.label);
  assert.ok(
    ['space', 'sampler', 'pruner', 'budget', 'objective', 'seed', 'parallel'].every((k) => keyLabels.includes(k)),
    JSON.stringify(keyLabels),
  );
});
