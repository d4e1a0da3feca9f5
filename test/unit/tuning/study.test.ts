/** Studies in a real registry with trial functions that do not train: determinism, resume, failures, cancellation, pruning. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import { StudyStore } from '../../../server/engine/registry/studies';
import { ModelOpsError } from '../../../server/engine/errors';
import { runStudy, type StudySettings, type TrialFn } from '../../../server/engine/tuning/study';

function workspace(): { store: StudyStore; done(): void } {
  const root = mkdtempSync(join(tmpdir(), 'modelops-tune-'));
  const reg = openRegistry(root);
  const store = new StudyStore(reg.storeDir);
  return {
    store,
    done: () => {
      store.close();
      reg.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function settings(over: Partial<StudySettings> = {}): StudySettings {
  return {
    space: {
      learningRate: { type: 'loguniform', low: 1e-4, high: 1e-1 },
      batchSize: { type: 'choice', values: [16, 32, 64] },
    },
    sampler: 'tpe',
    pruner: { type: 'none', warmupEpochs: 0, minTrials: 0 },
    budget: { trials: 14 },
    objective: { metric: 'val_loss', direction: 'minimize' },
    seed: 3,
    parallel: 1,
    tpe: { startupTrials: 5, candidates: 24 },
    ...over,
  };
}

/** A fake training: a loss curve whose floor depends on the params. */
const curve: TrialFn = async (ctx) => {
  const lr = ctx.params.learningRate as number;
  const floor = (Math.log10(lr) + 2) ** 2 + (ctx.params.batchSize === 32 ? 0 : 0.3);
  let last = 0;
  for (let e = 1; e <= 5; e++) {
    last = floor + 1 / e;
    if (ctx.report(e, { loss: last, val_loss: last })) return { epochs: e, metrics: { val_loss: last } };
    await new Promise((r) => setImmediate(r));
  }
  return { epochs: 5, metrics: { val_loss: last } };
};

test('same seed, parallel 1: the same trials in the same order; a different seed differs', async () => {
  const a = workspace();
  const b = workspace();
  try {
    const r1 = await runStudy({ store: a.store, settings: settings(), trial: curve });
    const r2 = await runStudy({ store: b.store, settings: settings(), trial: curve });
    assert.equal(r1.trials.length, 14);
    assert.deepEqual(
      r1.trials.map((t) => t.params),
      r2.trials.map((t) => t.params),
    );
    assert.deepEqual(
      r1.trials.map((t) => t.value),
      r2.trials.map((t) => t.value),
    );
    assert.equal(r1.study.status, 'completed');
    assert.ok(r1.best && r1.trials.every((t) => t.value! >= r1.best!.value!));
    const r3 = await runStudy({ store: a.store, settings: settings({ seed: 4 }), trial: curve });
    assert.notDeepEqual(
      r3.trials.map((t) => t.params),
      r1.trials.map((t) => t.params),
    );
    assert.equal(a.store.listStudies().length, 2);
  } finally {
    a.done();
    b.done();
  }
});

test('resume continues a study to its budget with the trials an uninterrupted run would have had', async () => {
  const a = workspace();
  const b = workspace();
  try {
    const part = await runStudy({ store: a.store, settings: settings({ budget: { trials: 6 } }), trial: curve });
    assert.equal(part.trials.length, 6);
    const resumed = await runStudy({ store: a.store, settings: settings(), trial: curve, resume: part.study.id });
    assert.equal(resumed.study.id, part.study.id);
    assert.equal(resumed.trials.length, 14);
    const whole = await runStudy({ store: b.store, settings: settings(), trial: curve });
    assert.deepEqual(
      resumed.trials.map((t) => t.params),
      whole.trials.map((t) => t.params),
    );
  } finally {
    a.done();
    b.done();
  }
});

test('resuming with a changed space is refused, naming the key', async () => {
  const a = workspace();
  try {
    const s = await runStudy({ store: a.store, settings: settings({ budget: { trials: 2 } }), trial: curve });
    const changed = settings();
    changed.space = { ...changed.space, batchSize: { type: 'choice', values: [16, 32, 128] } };
    await assert.rejects(
      runStudy({ store: a.store, settings: changed, trial: curve, resume: s.study.id }),
      (e: unknown) =>
        e instanceof ModelOpsError &&
        e.code === 'study-space-changed' &&
        e.message.includes('tune.space.batchSize') &&
        e.message.includes('changed'),
    );
    const added = settings();
    added.space = { ...added.space, epochs: { type: 'int', low: 5, high: 10, step: 1 } };
    await assert.rejects(
      runStudy({ store: a.store, settings: added, trial: curve, resume: s.study.id }),
      (e: unknown) => e instanceof ModelOpsError && e.message.includes('tune.space.epochs was added'),
    );
    await assert.rejects(
      runStudy({ store: a.store, settings: settings(), trial: curve, resume: 'study-nope' }),
      (e: unknown) => e instanceof ModelOpsError && e.code === 'study-not-found',
    );
  } finally {
    a.done();
  }
});

test('a failed trial is marked failed with its error and the study goes on', async () => {
  const a = workspace();
  try {
    const flaky: TrialFn = async (ctx) => {
      if (ctx.number === 1)
        throw new ModelOpsError('training-failed', 'NaN loss at epoch 2', 'lower the learning rate');
      return curve(ctx);
    };
    const r = await runStudy({ store: a.store, settings: settings({ budget: { trials: 4 } }), trial: flaky });
    assert.deepEqual(
      r.trials.map((t) => t.status),
      ['completed', 'failed', 'completed', 'completed'],
    );
    assert.match(r.trials[1].error ?? '', /NaN loss at epoch 2/);
    assert.equal(r.study.status, 'completed');
  } finally {
    a.done();
  }
});

test('cancelling marks the running trials cancelled and the study cancelled; a missing objective fails the trial', async () => {
  const a = workspace();
  try {
    const controller = new AbortController();
    const slow: TrialFn = async (ctx) => {
      if (ctx.number === 2) controller.abort();
      for (let e = 1; e <= 3; e++) {
        if (ctx.signal.aborted) return { epochs: e - 1 };
        ctx.report(e, { val_loss: 1 / e });
        await new Promise((r) => setTimeout(r, 5));
      }
      const metrics: Record<string, number> = ctx.number === 0 ? { loss: 1 } : { val_loss: 0.3 };
      return { epochs: 3, metrics };
    };
    const r = await runStudy({
      store: a.store,
      settings: settings({ parallel: 2 }),
      trial: slow,
      signal: controller.signal,
    });
    assert.equal(r.study.status, 'cancelled');
    assert.equal(r.trials[0].status, 'failed');
    assert.match(r.trials[0].error ?? '', /no 'val_loss'/);
    assert.ok(r.trials.some((t) => t.status === 'cancelled'));
    assert.ok(r.trials.length <= 4);
    assert.ok(r.trials.every((t) => t.status !== 'running'));
  } finally {
    a.done();
  }
});

test('median pruning stops bad trials early and records their curves', async () => {
  const a = workspace();
  try {
    const r = await runStudy({
      store: a.store,
      settings: settings({
        sampler: 'random',
        pruner: { type: 'median', warmupEpochs: 1, minTrials: 3 },
        budget: { trials: 16 },
      }),
      trial: curve,
    });
    const pruned = r.trials.filter((t) => t.status === 'pruned');
    assert.ok(pruned.length > 0, 'some trial was pruned');
    for (const t of pruned) {
      assert.ok(t.epochs < 5 && t.epochs > 1);
      assert.equal(t.intermediate.length, t.epochs);
      assert.match(t.error ?? '', /median pruner/);
    }
    assert.ok(
      r.trials.slice(0, 3).every((t) => t.status === 'completed'),
      'no pruning before minTrials completed',
    );
  } finally {
    a.done();
  }
});

test('the median is over completed trials only, as Optuna: a pruned curve does not lower it', async () => {
  const a = workspace();
  try {
    // trial 0 completes at 0.5; trial 1 (0.1) is pruned at epoch 1; trial 2 (0.3) is then compared
    // with 0.5 alone and pruned (with the pruned 0.1 counted the median would be 0.3: not pruned)
    const values = [0.5, 0.1, 0.3];
    const r = await runStudy({
      store: a.store,
      settings: settings({
        sampler: 'random',
        pruner: { type: 'median', warmupEpochs: 0, minTrials: 1 },
        budget: { trials: 3 },
        objective: { metric: 'val_accuracy', direction: 'maximize' },
      }),
      trial: async (ctx) => {
        const v = values[ctx.number];
        for (let e = 1; e <= 3; e++) if (ctx.report(e, { val_accuracy: v })) return { epochs: e, value: v };
        return { epochs: 3, value: v };
      },
    });
    assert.deepEqual(
      r.trials.map((t) => [t.status, t.epochs]),
      [
        ['completed', 3],
        ['pruned', 1],
        ['pruned', 1],
      ],
    );
  } finally {
    a.done();
  }
});

test('grid: a study ends when the grid is exhausted, before the trial budget', async () => {
  const a = workspace();
  try {
    const r = await runStudy({
      store: a.store,
      settings: settings({
        sampler: 'grid',
        space: { batchSize: { type: 'choice', values: [16, 32, 64] } },
        budget: { trials: 50 },
      }),
      trial: async () => ({ epochs: 1, value: 1 }),
    });
    assert.equal(r.trials.length, 3);
    assert.deepEqual(
      r.trials.map((t) => t.params.batchSize),
      [16, 32, 64],
    );
  } finally {
    a.done();
  }
});
