import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../server/engine/config';
import { ModelOpsError } from '../../../server/engine/errors';
import { openRegistry } from '../../../server/engine/registry';
import type { Registry } from '../../../server/engine/registry/types';
import { train } from '../../../server/engine/training/trainer';
import type { TrialContext } from '../../../server/engine/tuning/study';
import { trainingTrials } from '../../../server/engine/tuning/trial';
import { weatherConfig, weatherWorkspace } from '../fixtures/weather';

// Trials train through the trainer's preprocessing, job and worker: a real workspace (every 4th
// row of the sample), a real registry, real TensorFlow.js (cpu backend: bit-for-bit repeatable).
const ws = weatherWorkspace('modelops-trial-');
let registry: Registry;
test.before(() => {
  registry = openRegistry(ws.root);
});
test.after(() => {
  registry.close();
  ws.cleanup();
});

function context(params: TrialContext['params'], prune: (epoch: number) => boolean = () => false) {
  const reports: Array<Record<string, number>> = [];
  let runId = '';
  const ctx: TrialContext = {
    studyId: 'study-1',
    number: 3,
    params,
    signal: new AbortController().signal,
    report: (epoch, metrics) => {
      reports.push(metrics);
      return prune(epoch);
    },
    setRunId: (id) => (runId = id),
  };
  return { ctx, reports, runId: () => runId };
}

test('a trial without tuned params trains what `modelops train` trains, epoch for epoch, and keeps no bundle', async () => {
  const path = ws.config('modelops.yaml', { train: { epochs: 3, classWeights: 'balanced' } });
  const trained = await train({ configPath: path, registry, backend: 'cpu' });
  const fn = await trainingTrials({ loaded: await loadConfig(path), registry, backend: 'cpu' });
  const { ctx, reports, runId } = context({});
  const outcome = await fn(ctx);

  assert.deepEqual(
    reports,
    registry.runMetrics(trained.run.id).map((p) => p.metrics),
  );
  assert.equal(outcome.epochs, 3);
  assert.deepEqual(outcome.metrics, reports.at(-1));
  const run = registry.getRun(runId());
  assert.equal(run.status, 'succeeded');
  assert.equal(run.kind, 'train');
  assert.equal(run.params.study, 'study-1');
  assert.equal(run.params.trial, 3);
  assert.equal((run.params.layers as unknown[]).length, 2);
  assert.equal(registry.runMetrics(run.id).length, 3);
  assert.ok(!existsSync(join(registry.storeDir, 'runs', run.id)), 'the unregistered bundle is removed');

  // A tuned learning rate is a different training.
  const tuned = context({ learningRate: 0.05 });
  await fn(tuned.ctx);
  assert.notDeepEqual(tuned.reports[0], reports[0]);
});

test('a pruned trial stops its worker and its run is cancelled with the reason', async () => {
  const path = ws.config('prune.yaml', { model: 'pruned', train: { epochs: 200 } });
  const fn = await trainingTrials({ loaded: await loadConfig(path), registry, backend: 'cpu' });
  const { ctx, reports, runId } = context({}, (epoch) => epoch === 1);
  const outcome = await fn(ctx);
  assert.ok(outcome.epochs < 5, `stopped after ${outcome.epochs} epochs`);
  assert.equal(reports.length, outcome.epochs);
  const run = registry.getRun(runId());
  assert.equal(run.status, 'cancelled');
  assert.equal(run.error, 'pruned after epoch 1 (median pruner)');
});

test('a study needs validation rows, and a classifier two classes, before any trial runs', async () => {
  const noValidation = ws.file(
    'no-validation.yaml',
    weatherConfig({ model: 'nv' }).replace('train: 0.7, validation: 0.15', 'train: 0.85, validation: 0'),
  );
  await assert.rejects(
    trainingTrials({ loaded: await loadConfig(noValidation), registry }),
    (e: unknown) =>
      e instanceof ModelOpsError && e.code === 'config-invalid' && /data\.split\.validation is 0\b/.test(e.message),
  );
  const [header, ...rows] = ws.lines;
  ws.file('data/rain.csv', [header, ...rows.filter((r) => r.endsWith(',rain'))].join('\n') + '\n');
  const oneClass = ws.config('rain.yaml', { model: 'rain', data: 'data/rain.csv' });
  await assert.rejects(
    trainingTrials({ loaded: await loadConfig(oneClass), registry }),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'one-class' && /only one class \(rain\)/.test(e.message),
  );
});
