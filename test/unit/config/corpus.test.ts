import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeConfig } from '../../../server/engine/config';
import type { Range } from '../../../server/engine/config/types';
import { BASE, REPO, SAMPLE_CONFIG_PATH, rangeOf } from './helpers';

const VALID = join(REPO, 'test', 'fixtures', 'config', 'valid');

for (const name of readdirSync(VALID).filter((f) => f.endsWith('.yaml'))) {
  test(`valid corpus: ${name} has no diagnostics`, () => {
    const path = join(VALID, name);
    const a = analyzeConfig(readFileSync(path, 'utf8'), { path, aliasExists: () => true });
    assert.deepEqual(a.diagnostics, []);
    assert.ok(a.config, 'a typed config is returned');
  });
}

test('the sample and the base config validate clean; defaults are filled', () => {
  const sample = analyzeConfig(readFileSync(SAMPLE_CONFIG_PATH, 'utf8'), {
    path: SAMPLE_CONFIG_PATH,
    aliasExists: () => true,
  });
  assert.deepEqual(sample.diagnostics, []);
  const a = analyzeConfig(BASE, { path: SAMPLE_CONFIG_PATH });
  assert.deepEqual(a.diagnostics, []);
  assert.equal(a.config?.data.format, 'csv');
  assert.deepEqual(a.config?.data.split, { train: 0.7, validation: 0.15, test: 0.15, seed: 42 });
  assert.equal(a.config?.train.optimizer, 'adam');
  assert.equal(a.config?.deploy?.targets.local.host, '127.0.0.1');
  assert.deepEqual(a.config?.evaluate.parsedGates.accuracy, {
    op: '>=',
    kind: 'absolute',
    value: 0.5,
    source: '>= 0.5',
  });
});

interface Case {
  name: string;
  /** Replace `from` with `to` in BASE (or the whole text when `text` is given). */
  edit?: [string, string];
  text?: string;
  code: string;
  severity?: string;
  message: string;
  /** Needle whose range is the diagnostic's range in the edited text (occurrence optional). */
  at: string | Range;
  occurrence?: number;
  aliasExists?: boolean;
}

const CASES: Case[] = [
  {
    name: 'yaml syntax: unclosed flow sequence',
    edit: ['metrics: [accuracy, f1_macro]', 'metrics: [accuracy, f1_macro'],
    code: 'yaml-syntax',
    message: 'YAML syntax error',
    at: { start: { line: 17, character: 2 }, end: { line: 17, character: 3 } },
  },
  {
    name: 'duplicate key',
    edit: ['  epochs: 5\n', '  epochs: 5\n  epochs: 6\n'],
    code: 'duplicate-key',
    message: "Duplicate key 'epochs': each key may appear once in a map.",
    at: 'epochs',
    occurrence: 1,
  },
  {
    name: 'unknown key with did-you-mean',
    edit: ['epochs: 5', 'epocs: 5'],
    code: 'unknown-key',
    message: "Unknown key 'epocs' in train. Did you mean 'epochs'?",
    at: 'epocs',
  },
  {
    name: 'unknown top-level key without suggestion',
    edit: ['project: demo', 'project: demo\nzzzzzz: 1'],
    code: 'unknown-key',
    message:
      "Unknown key 'zzzzzz' in the file. Keys here: version, project, data, model, train, evaluate, deploy, monitor, registry, tune, optimize.",
    at: 'zzzzzz',
  },
  {
    name: 'wrong type',
    edit: ['epochs: 5', 'epochs: five'],
    code: 'wrong-type',
    message: "train.epochs must be a whole number, not text 'five'.",
    at: 'five',
  },
  {
    name: 'not an integer',
    edit: ['epochs: 5', 'epochs: 5.5'],
    code: 'wrong-type',
    message: 'train.epochs must be a whole number; got 5.5.',
    at: '5.5',
  },
  {
    name: 'enum with did-you-mean',
    edit: ['task: classification', 'task: clasification'],
    code: 'invalid-enum',
    message:
      "model.task must be one of classification, regression; got 'clasification'. Did you mean 'classification'?",
    at: 'clasification',
  },
  {
    name: 'learningRate must be > 0',
    edit: ['learningRate: 0.01', 'learningRate: 0'],
    code: 'out-of-range',
    message: 'train.learningRate must be > 0; got 0.',
    at: { start: { line: 14, character: 16 }, end: { line: 14, character: 17 } },
  },
  {
    name: 'port out of range',
    edit: ['port: 8765', 'port: 70000'],
    code: 'out-of-range',
    message: 'deploy.targets.local.port must be ≤ 65535 (range 1–65535); got 70000.',
    at: '70000',
  },
  {
    name: 'sigma must be > 0',
    edit: ['  target: local\n', '  target: local\n  controlChart: { sigma: -1 }\n'],
    code: 'out-of-range',
    message: 'monitor.controlChart.sigma must be > 0; got -1.',
    at: '-1',
  },
  {
    name: 'split must sum to 1',
    edit: ['  features:', '  split: { train: 0.7, validation: 0.2, test: 0.2 }\n  features:'],
    code: 'split-sum',
    message: 'data.split fractions must sum to 1; train + validation + test = 1.1.',
    at: '{ train: 0.7, validation: 0.2, test: 0.2 }',
  },
  {
    name: 'missing required key',
    edit: ['  target: weather\n', ''],
    code: 'missing-key',
    message: "data is missing the required key 'target'.",
    at: { start: { line: 2, character: 0 }, end: { line: 2, character: 4 } },
  },
  {
    name: 'data file does not exist',
    edit: ['train: data/seattle-weather.csv', 'train: data/nope.csv'],
    code: 'file-not-found',
    message: "data.train: file 'data/nope.csv' does not exist",
    at: 'data/nope.csv',
  },
  {
    name: 'target not a column',
    edit: ['target: weather', 'target: wether'],
    code: 'unknown-column',
    message:
      "data.target: 'wether' is not a column of 'data/seattle-weather.csv'. Columns: date, precipitation, temp_max, temp_min, wind, weather. Did you mean 'weather'?",
    at: 'wether',
  },
  {
    name: 'feature not a column',
    edit: ['temp_min, wind]', 'temp_min, humidity]'],
    code: 'unknown-column',
    message: "data.features: 'humidity' is not a column",
    at: 'humidity',
  },
  {
    name: 'target in features',
    edit: ['temp_min, wind]', 'temp_min, weather]'],
    code: 'target-in-features',
    message: "data.features: 'weather' is the target",
    at: 'weather',
    occurrence: 2,
  },
  {
    name: 'last layer units vs classes',
    edit: ['units: 5, activation: softmax', 'units: 3, activation: softmax'],
    code: 'last-layer-units',
    message:
      "model.layers: the last layer has 3 units but target 'weather' has 5 classes in 'data/seattle-weather.csv' (drizzle, fog, rain, snow, sun).",
    at: '3',
  },
  {
    name: 'last layer activation for classification',
    edit: ['units: 5, activation: softmax', 'units: 5, activation: relu'],
    code: 'last-layer-activation',
    message:
      "model.layers: a classification model's last layer needs activation softmax (or sigmoid for one unit); it has relu.",
    at: 'relu',
    occurrence: 1,
  },
  {
    name: 'regression on a text target',
    edit: ['task: classification', 'task: regression'],
    code: 'task-mismatch',
    message: "model.task is regression but target 'weather' has non-numeric values",
    at: 'regression',
  },
  {
    name: 'regression last layer needs 1 unit',
    text: BASE.replace('target: weather', 'target: temp_max')
      .replace('temp_max, temp_min', 'temp_min')
      .replace('task: classification', 'task: regression')
      .replace('activation: softmax', 'activation: linear')
      .replace('[accuracy, f1_macro]', '[mae]')
      .replace('accuracy: ">= 0.5"', 'mae: "<= 3"'),
    code: 'last-layer-units',
    message: "model.layers: a regression model's last layer needs 1 unit; it has 5.",
    at: '5',
  },
  {
    name: 'metric not valid for the task',
    edit: ['metrics: [accuracy, f1_macro]', 'metrics: [accuracy, rmse]'],
    code: 'metric-task-mismatch',
    message: "evaluate.metrics: 'rmse' is a regression metric, but model.task is classification.",
    at: 'rmse',
  },
  {
    name: 'gate metric unknown',
    edit: ['accuracy: ">= 0.5"', 'acuracy: ">= 0.5"'],
    code: 'unknown-metric',
    message:
      "'acuracy' is not a classification metric. Did you mean 'accuracy'? Metrics for classification: accuracy, ",
    at: 'acuracy',
  },
  {
    name: 'gate expression does not parse',
    edit: ['">= 0.5"', '"at least 0.5"'],
    code: 'invalid-gate',
    message: "evaluate.gates.accuracy: 'at least 0.5' is not a gate condition.",
    at: '"at least 0.5"',
  },
  {
    name: 'gate relative to an alias nobody holds',
    edit: ['">= 0.5"', '">= production - 0.01"'],
    aliasExists: false,
    code: 'alias-missing',
    severity: 'information',
    message: "evaluate.gates.accuracy: no version of 'weather' holds alias 'production' yet",
    at: '">= production - 0.01"',
  },
  {
    name: 'invalid URL',
    edit: ['url: https://models.example.com', 'url: models example'],
    code: 'invalid-url',
    message: "deploy.targets.staging.url: 'models example' is not a valid URL",
    at: 'models example',
  },
  {
    name: 'inline token',
    edit: ['tokenSecret: staging', 'token: abc'],
    code: 'inline-secret',
    message:
      'deploy.targets.staging.token holds a secret in the config file — store it with ModelOps: Set Endpoint Token',
    at: 'token: abc',
  },
  {
    name: 'password anywhere',
    edit: ['  epochs: 5', '  password: hunter2hunter2\n  epochs: 5'],
    code: 'inline-secret',
    message: 'train.password holds a secret',
    at: 'password: hunter2hunter2',
  },
  {
    name: 'token pasted as tokenSecret',
    edit: ['tokenSecret: staging', 'tokenSecret: ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
    code: 'inline-secret',
    message: 'deploy.targets.staging.tokenSecret looks like a token or password',
    at: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  },
  {
    name: 'credentials in a URL',
    edit: ['url: https://models.example.com', 'url: https://bob:pw@models.example.com'],
    code: 'inline-secret',
    message: 'deploy.targets.staging.url carries a credential in the URL',
    at: 'https://bob:pw@models.example.com',
  },
  {
    name: 'monitor target unknown',
    edit: ['  target: local\n', '  target: lokal\n'],
    code: 'unknown-target',
    message: "monitor.target: 'lokal' is not a target under deploy.targets (local, staging). Did you mean 'local'?",
    at: 'lokal',
  },
  {
    name: 'layer type unknown',
    edit: ['{ type: dense, units: 16', '{ type: dens, units: 16'],
    code: 'invalid-enum',
    message:
      "model.layers[0].type must be one of dense, dropout, batchNormalization; got 'dens'. Did you mean 'dense'?",
    at: { start: { line: 10, character: 14 }, end: { line: 10, character: 18 } },
  },
  {
    name: 'empty document',
    text: '# nothing yet\n',
    code: 'empty-config',
    message: 'modelops.yaml is empty.',
    at: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
  },
  {
    name: 'version must be 1',
    edit: ['version: 1', 'version: 2'],
    code: 'invalid-enum',
    message: 'version must be 1; got 2.',
    at: '2',
  },
  {
    name: 'http target without url',
    edit: ['      url: https://models.example.com\n', ''],
    code: 'missing-key',
    message: 'deploy.targets.staging: an http target needs url.',
    at: { start: { line: 22, character: 4 }, end: { line: 22, character: 11 } },
  },
];

for (const c of CASES) {
  test(`invalid: ${c.name}`, () => {
    const text = c.text ?? (c.edit ? BASE.replace(c.edit[0], c.edit[1]) : BASE);
    if (c.edit) assert.notEqual(text, BASE, 'the edit applies');
    const ctx = {
      path: SAMPLE_CONFIG_PATH,
      aliasExists: c.aliasExists === undefined ? undefined : () => c.aliasExists as boolean,
    };
    const { diagnostics } = analyzeConfig(text, ctx);
    const found = diagnostics.filter((d) => d.code === c.code);
    assert.ok(
      found.length > 0,
      `expected ${c.code}; got ${JSON.stringify(diagnostics.map((d) => `${d.code}: ${d.message}`))}`,
    );
    const d = found[0];
    assert.ok(d.message.startsWith(c.message), `message:\n  ${d.message}\nexpected to start with:\n  ${c.message}`);
    assert.equal(d.severity, c.severity ?? 'error');
    const expected = typeof c.at === 'string' ? rangeOf(text, c.at, c.occurrence ?? 0) : c.at;
    assert.deepEqual(d.range, expected);
    // The value of a secret never appears in a message.
    for (const x of diagnostics) assert.ok(!/abc$|hunter2|ghp_abc|bob:pw/.test(x.message), x.message);
  });
}
