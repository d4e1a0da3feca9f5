/**
 * Interrupted runs do not stay "running" forever. The CLI records a run it was training as
 * cancelled (SIGTERM, SIGINT) or failed (SIGHUP, a closed output pipe) before it exits; and a
 * run whose process is gone (or whose pid now belongs to another process) is marked failed
 * when the store is opened.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { openRegistry } from '../../server/engine/registry';
import { tempWorkspace, type TempWorkspace } from '../unit/registry/helpers';

const CLI = resolve(__dirname, '../../dist/cli.js');
const WORKER = resolve(__dirname, '../unit/registry/fixtures/store-worker.ts');

/** Runs left "running" by a process that exited without finishing them. */
function abandonedRuns(root: string, count: number): { runs: string[]; pid: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', WORKER, 'run', root, 'weather', String(count)], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const runs = r.stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { run: string }).run);
  assert.equal(runs.length, count);
  return { runs, pid: r.pid as number };
}

test('opening the store marks runs of dead processes failed, and leaves live and foreign ones alone', () => {
  const ws = tempWorkspace();
  try {
    const reg0 = openRegistry(ws.root);
    const mine = reg0.createRun({ kind: 'train', model: 'weather', params: {} });
    reg0.close();
    const { runs, pid } = abandonedRuns(ws.root, 3);
    const [dead, reused, foreign] = runs.map((run) => ({ run, pid }));
    const db = new Database(join(ws.root, '.modelops', 'registry.db'));
    // `reused`: its pid is now this (live) test process, but a different process start time.
    db.prepare(`UPDATE runs SET pid = ?, pid_start = 'another-boot:12345' WHERE id = ?`).run(process.pid, reused.run);
    // `foreign`: started on another machine sharing the folder; its pid means nothing here.
    db.prepare(`UPDATE runs SET host = 'some-other-host' WHERE id = ?`).run(foreign.run);
    db.close();

    const reg = openRegistry(ws.root);
    try {
      const d = reg.getRun(dead.run);
      assert.equal(d.status, 'failed');
      assert.equal(d.error, `interrupted (process ${dead.pid} no longer running)`);
      assert.ok(d.finishedAt);
      assert.equal(reg.getRun(reused.run).status, 'failed');
      assert.equal(reg.getRun(reused.run).error, `interrupted (process ${process.pid} no longer running)`);
      assert.equal(reg.getRun(foreign.run).status, 'running');
      assert.equal(reg.getRun(mine.id).status, 'running', 'a run of a live process is left alone');
    } finally {
      reg.close();
    }
  } finally {
    ws.cleanup();
  }
});

const YAML = `version: 1
project: interrupt
data:
  train: data/weather.csv
  target: weather
  features: [precipitation, temp_max, temp_min, wind]
  split: { train: 0.7, validation: 0.15, test: 0.15, seed: 42 }
  missing: drop
model:
  name: weather
  task: classification
  framework: tfjs
  layers:
    - { type: dense, units: 8, activation: relu }
    - { type: dense, units: 5, activation: softmax }
train: { epochs: 100000, batchSize: 8, seed: 1 }
evaluate:
  metrics: [accuracy]
`;

function trainingWorkspace(): TempWorkspace {
  const ws = tempWorkspace('modelops-interrupt-');
  const sample = readFileSync(resolve(__dirname, '../../examples/sample/data/seattle-weather.csv'), 'utf8');
  mkdirSync(join(ws.root, 'data'));
  writeFileSync(join(ws.root, 'data', 'weather.csv'), sample);
  ws.file('modelops.yaml', YAML);
  return ws;
}

/** Starts `modelops train`, waits for the second epoch, then interrupts it with `interrupt`. */
async function interruptedTrain(
  interrupt: (child: ReturnType<typeof spawn>) => void,
): Promise<{ code: number | null; signal: string | null; stderr: string; ws: TempWorkspace }> {
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
  const ws = trainingWorkspace();
  const child = spawn(process.execPath, [CLI, 'train', '--backend', 'cpu'], {
    cwd: ws.root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stderr = '';
  let fired = false;
  child.stdout?.on('data', () => undefined);
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (!fired && /epoch 2\//.test(stderr)) {
      fired = true;
      interrupt(child);
    }
  });
  const [code, signal] = await new Promise<[number | null, string | null]>((done) =>
    child.on('exit', (c, s) => done([c, s])),
  );
  return { code, signal, stderr, ws };
}

function onlyRun(ws: TempWorkspace) {
  const reg = openRegistry(ws.root, { readonly: true });
  try {
    const runs = reg.listRuns();
    assert.equal(runs.length, 1);
    assert.deepEqual(reg.listModels(), [], 'nothing was registered');
    return runs[0];
  } finally {
    reg.close();
  }
}

test('modelops train killed with SIGTERM records its run as cancelled and exits 143', async () => {
  const r = await interruptedTrain((c) => c.kill('SIGTERM'));
  try {
    assert.ok(/epoch 2\//.test(r.stderr), r.stderr);
    assert.equal(r.code, 143, `exit ${r.code}/${r.signal}: ${r.stderr}`);
    const run = onlyRun(r.ws);
    assert.equal(run.status, 'cancelled');
    assert.ok(run.finishedAt);
  } finally {
    r.ws.cleanup();
  }
});

test('modelops train hung up (SIGHUP) records its run as failed', async () => {
  const r = await interruptedTrain((c) => c.kill('SIGHUP'));
  try {
    assert.equal(r.code, 129, `exit ${r.code}/${r.signal}: ${r.stderr}`);
    const run = onlyRun(r.ws);
    assert.equal(run.status, 'failed');
    assert.match(run.error ?? '', /SIGHUP/);
  } finally {
    r.ws.cleanup();
  }
});

test('modelops train whose output pipe closes (EPIPE, as under `| head`) records its run as failed without crashing', async () => {
  const r = await interruptedTrain((c) => c.stderr?.destroy());
  try {
    assert.equal(r.code, 141, `exit ${r.code}/${r.signal}`);
    const run = onlyRun(r.ws);
    assert.equal(run.status, 'failed');
    assert.match(run.error ?? '', /EPIPE/);
  } finally {
    r.ws.cleanup();
  }
});

test('any other command whose output pipe closes exits quietly with 141, with no stack trace', async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
  const ws = tempWorkspace();
  try {
    // The reading end is gone before the command writes its first line (`modelops … | head -0`).
    const child = spawn(process.execPath, [CLI, 'versions', 'list'], {
      cwd: ws.root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    child.stdout?.destroy();
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
    assert.equal(code, 141, stderr);
    assert.equal(stderr, '');
  } finally {
    ws.cleanup();
  }
});
