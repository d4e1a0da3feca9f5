/**
 * Optimisation over JSON-RPC against the built sidecar: a tiny study (2 trials × 2 epochs) with
 * work-done progress and a notification per trial and epoch, the studies list, registering the
 * best trial, quantising and pruning the registered version, cancelling a study, and trust.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { optimize } from '../../server/protocol';
import type { StudyProgressParams } from '../../server/protocol/optimize';
import { startSidecar } from './client';
import { quarterSample, weatherConfig } from './weather';

const data = quarterSample();
const config = (trials: number, epochs: number) =>
  weatherConfig({
    epochs,
    rest: `evaluate:
  metrics: [accuracy, f1_macro]
  gates: { accuracy: ">= 0.2" }
tune:
  space:
    learningRate: { type: loguniform, low: 0.001, high: 0.05 }
    layers.0.units: { type: int, low: 8, high: 24, step: 8 }
  sampler: random
  pruner: { type: none }
  budget: { trials: ${trials} }
  objective: { metric: val_accuracy, direction: maximize }
  seed: 7
  parallel: 1
`,
  });

test('an untrusted workspace refuses tuning, quantising and pruning; reading studies still works', async () => {
  const c = await startSidecar({
    files: { 'modelops.yaml': config(2, 2), 'data/weather.csv': data },
    initializationOptions: { trusted: false },
  });
  try {
    await assert.rejects(c.request(optimize.tune, {}), (e: Error) => /untrusted|trust/i.test(e.message));
    await assert.rejects(c.request(optimize.quantize, { ref: 'weather@1.0.0', dtype: 'float16' }), (e: Error) =>
      /untrusted|trust/i.test(e.message),
    );
    await assert.rejects(c.request(optimize.prune, { ref: 'weather@1.0.0', sparsity: 0.5 }), (e: Error) =>
      /untrusted|trust/i.test(e.message),
    );
    await assert.rejects(c.request(optimize.registerBest, { study: 'latest' }), (e: Error) =>
      /untrusted|trust/i.test(e.message),
    );
    assert.deepEqual(await c.request(optimize.listStudies, {}), []);
  } finally {
    await c.close();
  }
});

test('a 2-trial study streams progress per trial and epoch, is listed, its best trial registers, and the version quantises and prunes', async () => {
  const c = await startSidecar({ files: { 'modelops.yaml': config(2, 2), 'data/weather.csv': data } });
  try {
    const view = await c.request(optimize.tune, { configUri: c.uri('modelops.yaml'), workDoneToken: 'tune-1' });
    assert.equal(view.study.status, 'completed');
    assert.equal(view.trials.length, 2);
    for (const t of view.trials) {
      assert.equal(t.status, 'completed');
      assert.equal(t.epochs, 2);
      assert.equal(t.intermediate.length, 2);
      assert.ok(typeof t.value === 'number');
    }
    const values = view.trials.map((t) => t.value as number);
    assert.equal(view.best?.value, Math.max(...values));

    // Work-done progress: cancellable, "trial n/2", ends.
    const events = c.progress.filter((p) => p.token === 'tune-1').map((p) => p.value);
    assert.equal(events[0].kind, 'begin');
    assert.equal(events[0].cancellable, true);
    assert.equal(events.at(-1)?.kind, 'end');
    assert.ok(
      events.some((e) => e.kind === 'report' && /^trial 2\/2 epoch 2 · best val_accuracy /.test(e.message ?? '')),
      JSON.stringify(events.map((e) => e.message)),
    );

    // Notifications: each trial starts, reports both epochs and finishes; then the study ends.
    const finished = await c.waitFor<StudyProgressParams>(
      optimize.studyProgress.method,
      (p) => p.kind === 'study-finished',
    );
    assert.equal(finished.study.id, view.study.id);
    assert.equal(finished.budget, 2);
    const epoch = await c.waitFor<StudyProgressParams>(
      optimize.studyProgress.method,
      (p) => p.kind === 'epoch' && p.trial?.number === 1 && p.trial.epochs === 2,
    );
    assert.equal(epoch.trial?.intermediate.length, 2);
    assert.ok(JSON.stringify(epoch).length < 4096);

    const list = await c.request(optimize.listStudies, { model: 'weather' });
    assert.equal(list.length, 1);
    assert.equal(list[0].study.id, view.study.id);
    assert.equal(list[0].counts.completed, 2);
    assert.equal(list[0].best?.number, view.best?.number);
    assert.deepEqual(await c.request(optimize.listStudies, { model: 'other' }), []);
    const got = await c.request(optimize.getStudy, { id: 'latest' });
    assert.deepEqual(
      got.trials.map((t) => t.value),
      values,
    );
    await assert.rejects(c.request(optimize.getStudy, { id: 'study-nope' }), (e: Error) =>
      /No study 'study-nope'/.test(e.message),
    );

    const reg = await c.request(optimize.registerBest, { study: view.study.id, workDoneToken: 'reg-1' });
    assert.equal(reg.version.version, '1.0.0');
    assert.equal(reg.trial.number, view.best?.number);
    assert.match(reg.version.note ?? '', new RegExp(`study ${view.study.id}, trial ${reg.trial.number}`));
    assert.equal((await c.request(optimize.getStudy, { id: view.study.id })).study.registeredVersion, 'weather@1.0.0');

    const q = await c.request(optimize.quantize, { ref: 'weather@1.0.0', dtype: 'float16', workDoneToken: 'q-1' });
    assert.equal(q.method, 'quantize');
    assert.equal(q.version.version, '1.1.0');
    assert.equal(q.version.parentVersion, '1.0.0');
    assert.ok(
      q.details.method === 'quantize' && q.details.dtype === 'float16' && q.details.bytesAfter < q.details.bytesBefore,
    );
    assert.ok(q.child.measurement.size_bytes < q.parent.measurement.size_bytes);
    assert.ok(q.child.measurement.latency_p50_ms_b1 > 0);
    assert.ok(Math.abs(q.child.metrics.accuracy - q.parent.metrics.accuracy) <= 0.02);
    const qEvents = c.progress.filter((p) => p.token === 'q-1').map((p) => p.value);
    assert.equal(qEvents[0].cancellable, true);
    assert.ok(qEvents.some((e) => e.kind === 'report' && /measuring/.test(e.message ?? '')));

    await assert.rejects(c.request(optimize.prune, { ref: 'weather@1.0.0', sparsity: 1.5 }), (e: Error) =>
      /Sparsity 1\.5 is outside \(0, 1\)/.test(e.message),
    );
    const p = await c.request(optimize.prune, { ref: 'weather@1.0.0', sparsity: 0.5, epochs: 1, workDoneToken: 'p-1' });
    assert.equal(p.version.version, '1.2.0');
    assert.ok(p.details.method === 'prune' && p.details.rate.rate > 0 && p.details.rate.layers.length === 2);
    assert.ok(c.progress.some((e) => e.token === 'p-1' && /epoch 1\/1/.test(e.value.message ?? '')));
  } finally {
    await c.close();
  }
});

test('cancelling the tune request cancels the study: it is recorded cancelled, with its running trial', async () => {
  const c = await startSidecar({ files: { 'modelops.yaml': config(20, 200), 'data/weather.csv': data } });
  try {
    const source = new CancellationTokenSource();
    const pending = c.connection.sendRequest(optimize.tune.method, { workDoneToken: 'tune-2' }, source.token);
    await c.waitFor<StudyProgressParams>(optimize.studyProgress.method, (p) => p.kind === 'epoch', 30_000);
    source.cancel();
    await pending.catch(() => undefined);
    const done = await c.waitFor<StudyProgressParams>(
      optimize.studyProgress.method,
      (p) => p.kind === 'study-finished',
      30_000,
    );
    assert.equal(done.study.status, 'cancelled');
    const view = await c.request(optimize.getStudy, { id: done.study.id });
    assert.equal(view.study.status, 'cancelled');
    assert.equal(view.trials.length, 1);
    assert.equal(view.trials[0].status, 'cancelled');
    assert.ok(view.trials[0].epochs < 200);
  } finally {
    await c.close();
  }
});
