/** Training over JSON-RPC against the built sidecar: trust, work-done progress, curve notifications, cancellation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { training } from '../../server/protocol';
import type { TrainProgressParams } from '../../server/protocol/training';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry } from '../../server/engine/registry';
import { startSidecar } from './client';
import { quarterSample, weatherConfig } from './weather';

const data = quarterSample();
const config = (epochs: number) =>
  weatherConfig({ epochs, rest: 'evaluate:\n  metrics: [accuracy, f1_macro]\n  gates: { accuracy: ">= 0.2" }\n' });

test('an untrusted workspace refuses training with a clear message', async () => {
  const c = await startSidecar({
    files: { 'modelops.yaml': config(3), 'data/weather.csv': data },
    initializationOptions: { trusted: false },
  });
  try {
    await assert.rejects(c.request(training.train, {}), (e: Error) => /untrusted workspace/.test(e.message));
    await assert.rejects(
      c.request(training.predictFile, { ref: 'weather@1.0.0', data: 'data/weather.csv' }),
      (e: Error) =>
        /^Scoring a file \(it loads the model and data of this workspace\) is disabled in an untrusted workspace/.test(
          e.message,
        ),
    );
    const b = await c.request(training.backend, {});
    assert.ok(['tensorflow', 'wasm', 'cpu'].includes(b.name));
  } finally {
    await c.close();
  }
});

test('train reports work-done progress and per-epoch curve points, then registers a version', async () => {
  const c = await startSidecar({ files: { 'modelops.yaml': config(3), 'data/weather.csv': data } });
  try {
    const result = await c.request(training.train, { configUri: c.uri('modelops.yaml'), workDoneToken: 'train-1' });
    assert.equal(result.version.version, '1.0.0');
    assert.equal(result.gates?.passed, true);
    const events = c.progress.filter((p) => p.token === 'train-1').map((p) => p.value);
    assert.equal(events[0].kind, 'begin');
    assert.equal(events[0].cancellable, true);
    assert.equal(events.at(-1)?.kind, 'end');
    assert.ok(
      events.some(
        (e) =>
          e.kind === 'report' &&
          /^epoch 2\/3 · loss \d\.\d{3}$/.test(e.message ?? '') &&
          typeof e.percentage === 'number',
      ),
    );
    const point = await c.waitFor<TrainProgressParams>(training.trainProgress.method, (p) => p.epoch === 3);
    assert.equal(point.runId, result.run.id);
    assert.ok(typeof point.metrics.loss === 'number');
    assert.ok(JSON.stringify(point).length <= 1024);

    const ev = await c.request(training.evaluate, { ref: 'weather@1.0.0' });
    assert.equal(ev.gates?.passed, true);
    assert.ok(Math.abs(ev.metrics.accuracy - result.metrics.accuracy) < 1e-6);

    // Predict on File: the predictions beside the data, one line per row, with progress.
    const p = await c.request(training.predictFile, {
      ref: 'weather@1.0.0',
      data: 'data/weather.csv',
      keep: ['weather'],
      workDoneToken: 'predict-1',
    });
    assert.equal(p.out, 'data/weather.predictions.csv');
    assert.equal(p.predicted, p.rows);
    const written = readFileSync(join(c.workspace, 'data', 'weather.predictions.csv'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(written.length, p.rows + 1);
    assert.match(written[0], /^line,weather,prediction,probability_/);
    const steps = c.progress.filter((e) => e.token === 'predict-1').map((e) => e.value);
    assert.equal(steps[0].kind, 'begin');
    assert.ok(steps.some((e) => e.kind === 'report' && /^[\d,]+ rows scored$/.test(e.message ?? '')));
    await assert.rejects(
      c.request(training.predictFile, { ref: 'weather@1.0.0', data: 'data/weather.csv' }),
      (e: Error) => /weather\.predictions\.csv already exists; nothing was written/.test(e.message),
    );
  } finally {
    await c.close();
  }
});

test('cancelling the request stops training and records the run as cancelled', async () => {
  const c = await startSidecar({ files: { 'modelops.yaml': config(500), 'data/weather.csv': data } });
  try {
    const source = new CancellationTokenSource();
    const pending = c.connection.sendRequest(training.train.method, { workDoneToken: 'train-2' }, source.token);
    await c.waitFor<TrainProgressParams>(training.trainProgress.method, (p) => p.epoch >= 1, 20_000);
    source.cancel();
    await assert.rejects(pending, (e: Error) => /cancel/i.test(e.message));
    const reg = openRegistry(c.workspace, { readonly: true });
    try {
      const runs = reg.listRuns({ model: 'weather' });
      assert.equal(runs[0].status, 'cancelled');
      assert.ok(reg.runMetrics(runs[0].id).length < 500);
      assert.equal(reg.listModels().length, 0);
    } finally {
      reg.close();
    }
  } finally {
    await c.close();
  }
});
