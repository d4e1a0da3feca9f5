/**
 * A tiny real study end to end through the CLI: the sample workspace (Seattle weather), 3 trials
 * of 3 epochs trained in worker threads, `tune show --json`, `tune register` and the version's
 * lineage back to the study and trial.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openRegistry } from '../../../server/engine/registry';

const TSX = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href;
const SAMPLE = resolve('examples/sample');

function cli(cwd: string, ...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', TSX, resolve('server/cli/main.ts'), ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('modelops tune runs a study, shows it and registers the best trial with lineage to it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-tune-cli-'));
  try {
    cpSync(join(SAMPLE, 'data'), join(dir, 'data'), { recursive: true });
    const config = readFileSync(join(SAMPLE, 'modelops.yaml'), 'utf8')
      .replace('epochs: 40', 'epochs: 3')
      .replace(/\ndeploy:[\s\S]*$/, '\n');
    writeFileSync(
      join(dir, 'modelops.yaml'),
      `${config}tune:\n  space:\n    learningRate: { type: loguniform, low: 0.001, high: 0.1 }\n    layers.0.units: { type: int, low: 8, high: 32, step: 8 }\n  sampler: random\n  budget: { trials: 3 }\n  pruner: { type: none }\n  seed: 1\n  parallel: 2\n`,
    );
    const run = cli(dir, 'tune', '--json');
    assert.equal(run.code, 0, run.err);
    const result = JSON.parse(run.out) as {
      study: { id: string; status: string };
      best: { number: number; value: number; runId: string };
      trials: Array<{ status: string; epochs: number; runId: string; intermediate: number[] }>;
    };
    assert.equal(result.study.status, 'completed');
    assert.equal(result.trials.length, 3);
    for (const t of result.trials) {
      assert.equal(t.status, 'completed', JSON.stringify(t));
      assert.equal(t.epochs, 3);
      assert.equal(t.intermediate.length, 3);
      assert.ok(t.runId);
    }
    assert.ok(result.best.value > 0.3 && result.best.value <= 1, `val accuracy ${result.best.value}`);
    assert.match(run.err, /trial 0 {2}completed/);

    const show = cli(dir, 'tune', 'show', 'latest');
    assert.equal(show.code, 0, show.err);
    assert.match(show.out, /best so far/);

    const reg = cli(dir, 'tune', 'register', result.study.id, '--json');
    assert.equal(reg.code, 0, reg.err);
    const r = JSON.parse(reg.out) as {
      version: { model: string; version: string; runId: string; note: string };
      trial: { number: number };
    };
    assert.equal(r.trial.number, result.best.number);
    const registry = openRegistry(dir);
    try {
      const v = registry.getVersion(`${r.version.model}@${r.version.version}`);
      const trainRun = registry.getRun(v.runId!);
      assert.equal(trainRun.params.study, result.study.id);
      assert.equal(trainRun.params.trial, result.best.number);
      assert.match(v.note ?? '', new RegExp(`study ${result.study.id}, trial ${result.best.number}`));
      // each trial is a run with its per-epoch curve
      assert.equal(registry.runMetrics(result.best.runId).length, 3);
    } finally {
      registry.close();
    }
    const list = cli(dir, 'tune', 'list', '--json');
    assert.equal(
      (JSON.parse(list.out) as Array<{ registeredVersion: string }>)[0].registeredVersion,
      `${r.version.model}@${r.version.version}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
