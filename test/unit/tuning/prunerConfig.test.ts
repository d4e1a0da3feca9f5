/**
 * tune.pruner.intervalEpochs and minTrialsAtEpoch: read from modelops.yaml (defaults, diagnostics,
 * hover, completion) and passed by runStudy to the median pruner, in a real registry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../../../server/engine/config/validate';
import { hover } from '../../../server/engine/config/hover';
import { complete } from '../../../server/engine/config/complete';
import { openRegistry } from '../../../server/engine/registry';
import { StudyStore } from '../../../server/engine/registry/studies';
import { resolvedTune } from '../../../server/engine/tuning/space';
import { runStudy, type StudyResult, type StudySettings } from '../../../server/engine/tuning/study';
import { BASE, SAMPLE_CONFIG_PATH, rangeOf } from '../config/helpers';

const ctx = { path: SAMPLE_CONFIG_PATH };

/** A tune block with this pruner (a flow mapping body), sampled at random over one parameter. */
const tuneText = (pruner: string, trials = 2) =>
  `${BASE}tune:\n  space:\n    learningRate: { type: loguniform, low: 0.001, high: 0.1 }\n  sampler: random\n  pruner: { ${pruner} }\n  budget: { trials: ${trials} }\n  objective: { metric: val_accuracy }\n  seed: 1\n  parallel: 1\n`;

/** The study settings exactly as `modelops tune` gets them from the file. */
function settingsFrom(pruner: string, trials = 2): StudySettings {
  const a = analyze(tuneText(pruner, trials), ctx);
  assert.deepEqual(
    a.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  assert.ok(a.config?.tune);
  return resolvedTune(a.config.tune, 1);
}

/**
 * Trial 0 completes with 0.0 at every epoch but 0.9 at epochs 3 and 6; every later trial reports a
 * flat 0.5 for 6 epochs. So a later trial is worse than the median only at epochs 3 and 6: the
 * epochs at which the pruner checks decide whether and when it stops.
 */
async function run(settings: StudySettings): Promise<StudyResult> {
  const root = mkdtempSync(join(tmpdir(), 'modelops-prunercfg-'));
  const reg = openRegistry(root);
  const store = new StudyStore(reg.storeDir);
  try {
    return await runStudy({
      store,
      settings,
      trial: async (t) => {
        for (let e = 1; e <= 6; e++) {
          const v = t.number === 0 ? (e % 3 === 0 ? 0.9 : 0) : 0.5;
          if (t.report(e, { val_accuracy: v })) return { epochs: e, value: v };
        }
        return { epochs: 6, value: t.number === 0 ? 0.9 : 0.5 };
      },
    });
  } finally {
    store.close();
    reg.close();
    rmSync(root, { recursive: true, force: true });
  }
}

const outcome = (r: StudyResult) => r.trials.map((t) => [t.status, t.epochs]);

test('tune.pruner gets intervalEpochs and minTrialsAtEpoch from the file, 1 and 1 when absent', () => {
  assert.deepEqual(settingsFrom('type: median, warmupEpochs: 1, minTrials: 1').pruner, {
    type: 'median',
    warmupEpochs: 1,
    minTrials: 1,
    intervalEpochs: 1,
    minTrialsAtEpoch: 1,
  });
  assert.deepEqual(settingsFrom('type: median, intervalEpochs: 3, minTrialsAtEpoch: 2').pruner, {
    type: 'median',
    warmupEpochs: 0,
    minTrials: 5,
    intervalEpochs: 3,
    minTrialsAtEpoch: 2,
  });
});

test('intervalEpochs from the config: pruning only at epochs warmup+1, warmup+3, …', async () => {
  // every epoch after a 1-epoch warm-up: pruned at epoch 3, the first epoch it is below the median
  const every = await run(settingsFrom('type: median, warmupEpochs: 1, minTrials: 1'));
  assert.deepEqual(outcome(every), [
    ['completed', 6],
    ['pruned', 3],
  ]);
  // intervalEpochs 2 after a 1-epoch warm-up checks epochs 2, 4 and 6: epoch 3 is skipped, epoch 6 prunes
  const second = await run(settingsFrom('type: median, warmupEpochs: 1, minTrials: 1, intervalEpochs: 2'));
  assert.deepEqual(outcome(second), [
    ['completed', 6],
    ['pruned', 6],
  ]);
  // with no warm-up, intervalEpochs 2 checks epochs 1, 3 and 5: pruned at 3 again
  const shifted = await run(settingsFrom('type: median, warmupEpochs: 0, minTrials: 1, intervalEpochs: 2'));
  assert.deepEqual(outcome(shifted), [
    ['completed', 6],
    ['pruned', 3],
  ]);
  // intervalEpochs 3 with warm-up 1 checks epochs 2 and 5 only: never below the median there
  const never = await run(settingsFrom('type: median, warmupEpochs: 1, minTrials: 1, intervalEpochs: 3'));
  assert.deepEqual(outcome(never), [
    ['completed', 6],
    ['completed', 6],
  ]);
  // the study keeps the pruner settings it ran with (for resume)
  assert.equal((second.study.settings.pruner as { intervalEpochs?: number }).intervalEpochs, 2);
});

test('minTrialsAtEpoch from the config: no pruning at an epoch with fewer completed values', async () => {
  // one completed trial: with minTrialsAtEpoch 2 the flat trial is never compared, and completes
  const two = await run(settingsFrom('type: median, warmupEpochs: 0, minTrials: 1, minTrialsAtEpoch: 2'));
  assert.deepEqual(outcome(two), [
    ['completed', 6],
    ['completed', 6],
  ]);
  const one = await run(settingsFrom('type: median, warmupEpochs: 0, minTrials: 1, minTrialsAtEpoch: 1'));
  assert.deepEqual(outcome(one), [
    ['completed', 6],
    ['pruned', 3],
  ]);
});

test('0, a negative or a fractional intervalEpochs / minTrialsAtEpoch is an error naming the key', () => {
  for (const key of ['intervalEpochs', 'minTrialsAtEpoch']) {
    for (const [value, message] of [
      ['0', /must be ≥ 1; got 0/],
      ['-2', /must be ≥ 1; got -2/],
      ['1.5', /must be a whole number; got 1.5/],
      ['often', /must be a whole number, not text 'often'/],
    ] as const) {
      const text = tuneText(`type: median, ${key}: ${value}`);
      const errs = analyze(text, ctx).diagnostics.filter((d) => d.severity === 'error');
      assert.equal(errs.length, 1, JSON.stringify(errs));
      assert.ok(errs[0].message.startsWith(`tune.pruner.${key} `), errs[0].message);
      assert.match(errs[0].message, message);
      assert.equal(errs[0].range.start.line, rangeOf(text, `${key}: ${value}`).start.line);
    }
  }
});

test('hover and completion know the two keys', () => {
  const text = tuneText('type: median, intervalEpochs: 2, minTrialsAtEpoch: 3');
  for (const [key, optuna] of [
    ['intervalEpochs', /interval_steps/],
    ['minTrialsAtEpoch', /n_min_trials/],
  ] as const) {
    const at = rangeOf(text, key).start;
    const h = hover(text, { line: at.line, character: at.character + 2 });
    assert.ok(h && optuna.test(h.contents), h?.contents);
  }
  const partial = `${BASE}tune:\n  pruner:\n    type: median\n    \n`;
  const pos = { line: partial.split('\n').length - 2, character: 4 };
  const labels = complete(partial, pos, ctx).map((c) => c.label);
  assert.ok(
    ['warmupEpochs', 'minTrials', 'intervalEpochs', 'minTrialsAtEpoch'].every((k) => labels.includes(k)),
    JSON.stringify(labels),
  );
});
