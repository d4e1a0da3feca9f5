/**
 * Hyperparameter search on the sample workspace (Seattle weather): over several seeds with the
 * same trial budget, TPE's best validation accuracy against random search's, and the epochs the
 * median pruner saves (TPE with and without it) at the best result each reaches. Real training
 * in worker threads, `parallel` at a time; everything in one temporary registry. The pruner has
 * the config's defaults (tune.pruner in the schema) unless --warmup / --startup are given.
 *
 *   npx tsx bench/tuning/run.ts [--quick] [--seeds 5] [--trials 30] [--epochs 10] [--parallel 2]
 *                               [--warmup <epochs>] [--startup <trials>]
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/engine/config';
import { configSchema, withDefaults } from '../../server/engine/config/schema';
import type { TuneConfig } from '../../server/engine/config/types';
import { openRegistry } from '../../server/engine/registry';
import { resolvedTune } from '../../server/engine/tuning/space';
import { runStudy, type StudySettings } from '../../server/engine/tuning/study';
import { trainingTrials } from '../../server/engine/tuning/trial';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const QUICK = process.argv.includes('--quick');
const SEEDS = arg('seeds', QUICK ? 2 : 5);
const TRIALS = arg('trials', QUICK ? 6 : 30);
const EPOCHS = arg('epochs', QUICK ? 4 : 10);
const PARALLEL = arg('parallel', 2);
const DEFAULT_PRUNER = (
  withDefaults(configSchema, { tune: { space: {}, budget: { trials: 1 } } }, 'classification') as {
    tune: TuneConfig;
  }
).tune.pruner;
const WARMUP = arg('warmup', DEFAULT_PRUNER.warmupEpochs);
const STARTUP = arg('startup', DEFAULT_PRUNER.minTrials);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-bench-tune-'));
  cpSync(join(__dirname, '../../examples/sample'), dir, { recursive: true });
  const registry = openRegistry(dir);
  const store = registry.studies;
  try {
    const loaded = await loadConfig(join(dir, 'modelops.yaml'));
    // The sample's own early stopping would hide what the pruner does: off for all arms.
    loaded.config.train = { ...loaded.config.train, epochs: EPOCHS, earlyStopping: undefined };
    const trial = await trainingTrials({ loaded, registry });
    const base: TuneConfig = {
      space: {
        learningRate: { type: 'loguniform', low: 1e-4, high: 1e-1 },
        'layers.0.units': { type: 'int', low: 4, high: 64, step: 4 },
        'layers.1.rate': { type: 'uniform', low: 0, high: 0.5 },
        batchSize: { type: 'choice', values: [16, 32, 64, 128] },
      },
      sampler: 'tpe',
      pruner: { type: 'none', warmupEpochs: WARMUP, minTrials: STARTUP },
      budget: { trials: TRIALS },
      objective: { metric: 'val_accuracy' },
      seed: 0,
      parallel: PARALLEL,
      tpe: { startupTrials: Math.min(10, Math.max(2, Math.floor(TRIALS / 3))), candidates: 24 },
    };
    const arm = async (over: Partial<TuneConfig>, seed: number) => {
      const settings: StudySettings = resolvedTune({ ...base, ...over, seed }, PARALLEL);
      const t0 = performance.now();
      const r = await runStudy({ store, settings, trial, model: loaded.config.model.name });
      const epochs = r.trials.reduce((a, t) => a + t.epochs, 0);
      return {
        best: r.best?.value ?? Number.NaN,
        epochs,
        seconds: (performance.now() - t0) / 1000,
        pruned: r.trials.filter((t) => t.status === 'pruned').length,
      };
    };
    console.log(
      `tuning bench: ${SEEDS} seeds × ${TRIALS} trials × ≤${EPOCHS} epochs, parallel ${PARALLEL}, objective val_accuracy (sample data); median pruner warm-up ${WARMUP} epochs, ${STARTUP} startup trials`,
    );
    const rows: Array<{
      seed: number;
      random: number;
      tpe: number;
      tpePruned: number;
      epochsFull: number;
      epochsPruned: number;
      pruned: number;
      seconds: number;
    }> = [];
    for (let s = 1; s <= SEEDS; s++) {
      const random = await arm({ sampler: 'random' }, s);
      const tpe = await arm({}, s);
      const pruned = await arm({ pruner: { type: 'median', warmupEpochs: WARMUP, minTrials: STARTUP } }, s);
      rows.push({
        seed: s,
        random: random.best,
        tpe: tpe.best,
        tpePruned: pruned.best,
        epochsFull: tpe.epochs,
        epochsPruned: pruned.epochs,
        pruned: pruned.pruned,
        seconds: random.seconds + tpe.seconds + pruned.seconds,
      });
      const r = rows[rows.length - 1];
      console.log(
        `  seed ${s}: best val_accuracy random ${r.random.toFixed(4)} · TPE ${r.tpe.toFixed(4)} · TPE+median ${r.tpePruned.toFixed(4)}  |  epochs TPE ${r.epochsFull} → with pruning ${r.epochsPruned} (${r.pruned} pruned)  |  ${r.seconds.toFixed(0)} s`,
      );
    }
    const mean = (f: (r: (typeof rows)[number]) => number) => rows.reduce((a, r) => a + f(r), 0) / rows.length;
    const saved = 1 - mean((r) => r.epochsPruned) / mean((r) => r.epochsFull);
    console.log(
      `mean best val_accuracy: random ${mean((r) => r.random).toFixed(4)} · TPE ${mean((r) => r.tpe).toFixed(4)} (TPE − random ${(mean((r) => r.tpe) - mean((r) => r.random)).toFixed(4)}; TPE ≥ random on ${rows.filter((r) => r.tpe >= r.random).length}/${rows.length} seeds)`,
    );
    console.log(
      `median pruning: ${(saved * 100).toFixed(1)} % of epochs saved; mean best ${mean((r) => r.tpePruned).toFixed(4)} vs ${mean((r) => r.tpe).toFixed(4)} without (difference ${(mean((r) => r.tpePruned) - mean((r) => r.tpe)).toFixed(4)})`,
    );
  } finally {
    registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
