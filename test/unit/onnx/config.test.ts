import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../../../server/engine/config/validate';
import { codeActions } from '../../../server/engine/config/fixes';
import type { ConfigDiagnostic } from '../../../server/engine/config/types';

// modelops.yaml with framework: onnx, checked against the real fixture files (test/fixtures/onnx).
const FIX = join(__dirname, '..', '..', 'fixtures', 'onnx');
const dir = mkdtempSync(join(tmpdir(), 'modelops-onnx-config-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'data'));
mkdirSync(join(dir, 'models'));
copyFileSync(
  join(__dirname, '..', '..', '..', 'examples', 'sample', 'data', 'seattle-weather.csv'),
  join(dir, 'data', 'seattle-weather.csv'),
);
for (const f of [
  'weather-mlp-v1.onnx',
  'weather-mlp-6in.onnx',
  'temp-max-regressor.onnx',
  'weather-logreg-per-column.onnx',
  'weather-mlp-label-probs.onnx',
])
  copyFileSync(join(FIX, f), join(dir, 'models', f));
const v1 = join(FIX, 'weather-mlp-v1.onnx');
writeFileSync(join(dir, 'models', 'truncated.onnx'), readFileSync(v1).subarray(0, 300));
writeFileSync(join(dir, 'models', 'model.pt'), 'torch pickle');

const FOUR = '[precipitation, temp_max, temp_min, wind]';
function cfg(
  model: string,
  o: { features?: string; task?: string; extra?: string; framework?: string; train?: string } = {},
): string {
  return `version: 1
project: p
data:
  train: data/seattle-weather.csv
  target: weather
  features: ${o.features ?? FOUR}
model:
  name: m
  task: ${o.task ?? 'classification'}
  framework: ${o.framework ?? 'onnx'}
  path: models/${model}
${o.extra ?? ''}${o.train ?? ''}`;
}

function run(text: string): ConfigDiagnostic[] {
  return analyze(text, { path: join(dir, 'modelops.yaml') }).diagnostics;
}
/** The diagnostics as "severity code line: message". */
function shown(text: string): string[] {
  return run(text).map((d) => `${d.severity} ${d.code} ${d.range.start.line}: ${d.message}`);
}

test('a matching model: no diagnostics, and the typed config carries the ONNX settings', () => {
  const text = cfg('weather-mlp-6in.onnx', {
    extra: '  onnx:\n    derived: { month: "month(date)", day_of_year: "dayofyear(date)" }\n',
  });
  const a = analyze(text, { path: join(dir, 'modelops.yaml') });
  assert.deepEqual(a.diagnostics, []);
  assert.equal(a.config?.model.framework, 'onnx');
  assert.equal(a.config?.model.path, 'models/weather-mlp-6in.onnx');
  assert.deepEqual(a.config?.model.onnx, {
    preprocessing: 'in-graph',
    derived: { month: 'month(date)', day_of_year: 'dayofyear(date)' },
  });
  assert.deepEqual(shown(cfg('weather-logreg-per-column.onnx')), []);
  assert.deepEqual(
    shown(
      cfg('temp-max-regressor.onnx', { task: 'regression', features: '[precipitation, temp_min, wind]' }).replace(
        'target: weather',
        'target: temp_max',
      ),
    ),
    [],
  );
});

test('input count: a 6-input model with 4 features and no derived inputs', () => {
  assert.deepEqual(shown(cfg('weather-mlp-6in.onnx')), [
    `error onnx-inputs 5: models/weather-mlp-6in.onnx reads the columns precipitation, temp_max, temp_min, wind, month, day_of_year (metadata_props features), but the config gives precipitation, temp_max, temp_min, wind. It also reads 'month', 'day_of_year': list them in data.features, or compute them under model.onnx.derived (e.g. month: "month(date)").`,
  ]);
});

test('per-column inputs: a feature with no input of that name, with a quick fix', () => {
  const text = cfg('weather-logreg-per-column.onnx', { features: '[precipitation, temp_max, temp_min, wind_speed]' });
  const ds = run(text).filter((d) => d.code === 'onnx-inputs');
  assert.deepEqual(
    ds.map((d) => d.message),
    [
      "models/weather-logreg-per-column.onnx has no input named 'wind_speed'; its inputs are precipitation, temp_max, temp_min, wind (one per column, matched by name). Did you mean 'wind'?",
    ],
  );
  const fix = codeActions(text, ds[0].range, ds);
  assert.equal(fix[0]?.edits[0].newText, 'wind');
});

test('labels: model.onnx.labels count against the probability columns', () => {
  const ds = shown(cfg('weather-mlp-v1.onnx', { extra: '  onnx:\n    labels: [drizzle, fog, rain]\n' }));
  assert.deepEqual(ds, [
    "error onnx-labels 12: model.onnx.labels lists 3 labels (drizzle, fog, rain), but output 'probabilities' of models/weather-mlp-v1.onnx has 5 probability columns.",
    "warning onnx-labels 12: target 'weather' has values 'snow', 'sun' that the model's labels (drizzle, fog, rain) do not include; evaluation fails on such rows.",
  ]);
});

test('task: a regression output for a classification task, and probabilities for a regression task', () => {
  const text = cfg('temp-max-regressor.onnx', { features: '[precipitation, temp_min, wind]' });
  const ds = run(text);
  assert.deepEqual(
    ds.map((d) => `${d.code} ${d.range.start.line}: ${d.message}`),
    [
      "onnx-task 8: model.task is classification, but models/temp-max-regressor.onnx outputs one value per row ('temp_max' is float32 [batch, 1]), as a regression model does; a classifier of 5 classes outputs float [batch, 5] probabilities.",
    ],
  );
  assert.equal(codeActions(text, ds[0].range, ds)[0]?.edits[0].newText, 'regression');
  const reg = shown(cfg('weather-mlp-v1.onnx', { task: 'regression' }));
  assert.ok(
    reg.includes(
      "error onnx-task 8: model.task is regression, but models/weather-mlp-v1.onnx outputs 'probabilities' (float32 [batch, 5]), class probabilities as a classifier does; a regression model outputs one float per row.",
    ),
    reg.join('\n'),
  );
});

test('outputs: a name the model does not have', () => {
  assert.deepEqual(
    shown(cfg('weather-mlp-label-probs.onnx', { extra: '  onnx:\n    outputs: { probabilities: probability }\n' })),
    [
      "error onnx-output 12: models/weather-mlp-label-probs.onnx has no output 'probability'; its outputs are 'label' (int64 [batch]), 'probabilities' (float32 [batch, 5]). Did you mean 'probabilities'?",
    ],
  );
});

test('corrupt, truncated, missing and non-ONNX files are errors at model.path that name the file', () => {
  writeFileSync(join(dir, 'models', 'junk.onnx'), 'garbage, not a model');
  assert.deepEqual(shown(cfg('junk.onnx')), [
    'error onnx-corrupt 10: models/junk.onnx is not a readable ONNX model: wire type 7 (groups) is not used by ONNX.',
  ]);
  const t = shown(cfg('truncated.onnx'));
  assert.equal(t.length, 1);
  assert.match(t[0], /^error onnx-corrupt 10: models\/truncated\.onnx is not a readable ONNX model: /);
  assert.deepEqual(shown(cfg('nothere.onnx')), [
    `error file-not-found 10: model.path: file 'models/nothere.onnx' does not exist (looked in ${join(dir, 'models', 'nothere.onnx')}).`,
  ]);
  assert.match(
    shown(cfg('model.pt'))[0],
    /^error onnx-file 10: model\.path: 'models\/model\.pt' is not an \.onnx file\. Export the model to ONNX first: torch\.onnx\.export/,
  );
});

test('framework: onnx needs model.path and warns on layers and training keys; command with an .onnx output is checked too', () => {
  const noPath = cfg('x.onnx').replace('  path: models/x.onnx\n', '');
  const d = run(noPath).find((x) => x.code === 'missing-key');
  assert.equal(d?.message, 'model.path is required with framework: onnx (the .onnx file, relative to modelops.yaml).');
  const warn = shown(
    cfg('weather-mlp-v1.onnx', {
      extra: '  layers:\n    - { type: dense, units: 5, activation: softmax }\n',
      train: 'train:\n  epochs: 10\n',
    }),
  );
  assert.deepEqual(warn, [
    'warning unused-key 11: model.layers is ignored with framework: onnx.',
    'warning unused-key 14: train.epochs does not apply with framework: onnx (the model is trained elsewhere).',
  ]);
  const cmd = cfg('x.onnx', {
    framework: 'command',
    extra: '  onnx:\n    labels: [a, b]\n',
    train: 'train:\n  command: python train.py\n  outputs: models/weather-mlp-v1.onnx\n',
  }).replace('  path: models/x.onnx\n', '');
  assert.deepEqual(shown(cmd), [
    "error onnx-labels 11: model.onnx.labels lists 2 labels (a, b), but output 'probabilities' of models/weather-mlp-v1.onnx has 5 probability columns.",
    "warning onnx-labels 11: target 'weather' has values 'drizzle', 'fog', 'rain', 'snow', 'sun' that the model's labels (a, b) do not include; evaluation fails on such rows.",
  ]);
});

test('a file rewritten in place is read again (cache by size and mtime)', () => {
  const p = join(dir, 'models', 'swap.onnx');
  copyFileSync(join(FIX, 'weather-mlp-v1.onnx'), p);
  assert.deepEqual(shown(cfg('swap.onnx')), []);
  writeFileSync(p, 'now junk');
  assert.equal(run(cfg('swap.onnx'))[0]?.code, 'onnx-corrupt');
});
