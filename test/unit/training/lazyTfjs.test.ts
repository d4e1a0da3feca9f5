import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

// Loading TensorFlow.js costs seconds of CPU: the engine loads it only where a model is built,
// trained or loaded (server/engine/tfjs/load.ts), not because a module imports another one that
// might. Each check runs in a fresh Node process, since this one may have TF.js loaded already.

const REPO = join(__dirname, '../../..');
const LOADER = join(REPO, 'scripts/test-loader.js');

/** Runs `script` (CommonJS, TypeScript requires allowed) in a fresh process; returns its stdout JSON. */
function inFreshProcess<T>(script: string): T {
  const out = execFileSync(process.execPath, ['--require', LOADER, '-e', script], { cwd: REPO, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop() as string) as T;
}

// Prints, after each require, the @tensorflow modules loaded so far.
const TRACE = `
const tfjsLoaded = () => Object.keys(require.cache).filter((f) => f.includes('/node_modules/@tensorflow/'));
const loaded = {};
for (const m of MODULES) {
  require('./' + m);
  loaded[m] = tfjsLoaded().length;
}
`;

const ENTRY_POINTS = [
  'server/engine/config',
  'server/engine/registry',
  'server/engine/monitoring',
  'server/engine/runtime',
  'server/engine/evaluation/evaluate',
  'server/engine/serving/server',
  'server/engine/optimize',
  'server/engine/tuning',
  'server/engine/tuning/trial',
  'server/engine/training/trainer',
  'server/engine/training/loop',
  'server/engine/model/bundle',
  'server/lsp/handlers/index',
  'server/lsp/handlers/training',
];

test('importing the engine entry points (registry, config, monitoring, training, …) does not load TensorFlow.js', () => {
  const loaded = inFreshProcess<Record<string, number>>(
    `const MODULES = ${JSON.stringify(ENTRY_POINTS)};${TRACE} console.log(JSON.stringify(loaded));`,
  );
  const culprit = ENTRY_POINTS.find((m) => loaded[m] > 0);
  assert.equal(culprit, undefined, `importing ${culprit} loaded @tensorflow/* modules`);
  assert.deepEqual(Object.keys(loaded), ENTRY_POINTS);
});

test('tfjs() loads TensorFlow.js on first use, with the wasm backend registered as before', () => {
  const r = inFreshProcess<{ before: number; same: boolean; wasm: boolean; after: number }>(
    `const MODULES = ['server/engine/tfjs/load'];${TRACE}
const { tfjs } = require('./server/engine/tfjs/load');
const tf = tfjs();
const same = tf === tfjs() && tf === require('@tensorflow/tfjs');
console.log(JSON.stringify({ before: loaded[MODULES[0]], same, wasm: tf.findBackendFactory('wasm') !== null, after: tfjsLoaded().length }));`,
  );
  assert.equal(r.before, 0, 'importing the module alone loads nothing');
  assert.ok(r.after > 0, 'the first call loads @tensorflow/tfjs (so the check above can see it)');
  assert.ok(r.same, 'one cached module, the package itself');
  assert.ok(r.wasm, "the 'wasm' backend is registered, as the static import used to do");
});
