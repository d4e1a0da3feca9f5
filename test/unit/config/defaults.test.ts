/**
 * Every default is declared once, in the schema: the normalised config of a minimal file must hold
 * exactly the schema's defaults (for each task), and nothing downstream may invent its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from '../../../server/engine/config/validate';
import {
  childSchema,
  configSchema,
  defaultFor,
  type ObjectSchema,
  type SchemaNode,
} from '../../../server/engine/config/schema';
import type { ModelOpsConfig, Task } from '../../../server/engine/config/types';

const minimal = (task: Task, extra = ''): string => `version: 1
project: demo
data:
  train: data/train.csv
  target: y
model:
  name: m
  task: ${task}
  layers:
    - { type: dense, ${task === 'classification' ? 'units: 3, activation: softmax' : 'units: 1'} }
${extra}`;

function normalised(text: string): ModelOpsConfig {
  const a = analyze(text, { noFileChecks: true });
  assert.deepEqual(
    a.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  assert.ok(a.config, 'a config without errors is normalised');
  return a.config;
}

/** Walks the normalised value beside the schema: every key the file left out must equal the schema's default. */
function checkDefaults(node: SchemaNode, value: unknown, task: Task, path: string, seen: string[]): void {
  if (node.kind !== 'object' || value === null || typeof value !== 'object') return;
  const v = value as Record<string, unknown>;
  for (const [key, child] of Object.entries((node as ObjectSchema).properties)) {
    const d = defaultFor(child, task, v);
    if (d !== undefined) {
      assert.deepEqual(v[key], d, `${path}${key}: the normalised value is not the schema's default`);
      seen.push(`${path}${key}`);
    } else if (child.kind === 'object') {
      if (child.always) assert.ok(v[key] !== undefined, `${path}${key} is always filled`);
      checkDefaults(child, v[key], task, `${path}${key}.`, seen);
    }
  }
}

for (const task of ['classification', 'regression'] as const) {
  test(`the normalised minimal ${task} config holds exactly the schema's defaults`, () => {
    const cfg = normalised(minimal(task));
    const seen: string[] = [];
    checkDefaults(configSchema, cfg, task, '', seen);
    // The walk must really have compared the defaults the issue named (not vacuously passed).
    for (const k of [
      'data.split.train',
      'data.split.validation',
      'data.split.test',
      'train.epochs',
      'monitor.window',
      'monitor.controlChart.metric',
      'monitor.controlChart.sigma',
      'monitor.controlChart.baseline',
      'monitor.controlChart.rules',
      'monitor.drift.test',
      'monitor.controlChart.sigmaEstimator',
      'monitor.alerts.notify',
    ]) {
      assert.ok(seen.includes(k), `${k} was compared`);
    }
    // evaluate.metrics is filled by normalize's own code: it must agree with the schema too.
    const metrics = childSchema(childSchema(configSchema, 'evaluate')!, 'metrics')!;
    assert.deepEqual(cfg.evaluate.metrics, defaultFor(metrics, task));
    assert.equal(cfg.monitor?.target, undefined, 'no monitor block: no target');
  });
}

test('a regression config without monitor: charts mae, a classification one accuracy', () => {
  assert.equal(normalised(minimal('regression')).monitor?.controlChart.metric, 'mae');
  assert.equal(normalised(minimal('classification')).monitor?.controlChart.metric, 'accuracy');
  // With a monitor block that leaves the metric out, the task decides too.
  const deploy = 'deploy:\n  targets:\n    local: { type: local }\nmonitor:\n  target: local\n';
  assert.equal(normalised(minimal('regression', deploy)).monitor?.controlChart.metric, 'mae');
});

test('written values win over defaults; conditional defaults follow their condition', () => {
  const extra = `data:
  train: data/train.jsonl
  target: y
  split: { train: 0.8, validation: 0.1, test: 0.1 }
deploy:
  targets:
    local: { type: local }
    remote: { type: http, url: https://models.example.com }
monitor:
  target: local
  window: 50
  controlChart: { metric: rmse }
`;
  const cfg = normalised(minimal('regression').replace('data:\n  train: data/train.csv\n  target: y\n', '') + extra);
  assert.deepEqual(cfg.data.split, { train: 0.8, validation: 0.1, test: 0.1, seed: 42 });
  assert.equal(cfg.data.format, 'jsonl');
  assert.equal(cfg.monitor?.window, 50);
  assert.equal(cfg.monitor?.controlChart.metric, 'rmse');
  assert.equal(cfg.monitor?.controlChart.sigma, 3);
  const targets = cfg.deploy?.targets ?? {};
  assert.equal(targets.local.port, 8765);
  assert.equal(targets.local.host, '127.0.0.1');
  // `port`/`host` default only for `type: local`: an http target keeps its URL's port.
  assert.equal(targets.remote.port, undefined);
  assert.equal(targets.remote.host, undefined);
  assert.deepEqual(targets.remote.smokeTest, { rows: 50, tolerance: 0.000001 });
  assert.equal(cfg.train.earlyStopping, undefined, 'optional blocks stay absent');
});

test('the normalised config does not share objects with the schema', () => {
  const a = normalised(minimal('classification'));
  a.monitor?.controlChart.rules.push(9);
  assert.deepEqual(normalised(minimal('classification')).monitor?.controlChart.rules, [1, 2, 3, 4]);
});
