import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import type { Registry } from '../../../server/engine/registry/types';
import { train } from '../../../server/engine/training/trainer';
import { pruneVersion, quantizeVersion, type OptimizeProgress } from '../../../server/engine/optimize';
import { loadRuntime, writeOnnxBundle } from '../../../server/engine/runtime';
import { ModelOpsError } from '../../../server/engine/errors';
import { optimizeCommand } from '../../../server/cli/commands/optimize';
import { REPO, weatherWorkspace } from '../fixtures/weather';

// A real workspace: the sample data, a real SQLite registry, a TF.js version trained here, an
// ONNX version from the fixtures; each optimisation registers a real child version.
const ws = weatherWorkspace('modelops-optimize-', { data: 'data/seattle-weather.csv', rows: 'all' });
const root = ws.root;
const config = (name: string, model: string, extra = '') =>
  ws.config(name, {
    project: 'optimize',
    model,
    layers: ['{ type: dense, units: 32, activation: relu }', '{ type: dense, units: 5, activation: softmax }'],
    train: { epochs: 8 },
    rest: extra,
  });
const CONFIG = config('modelops.yaml', 'weather');

let registry: Registry;
let parent = '';
test.before(async () => {
  registry = openRegistry(root);
  const r = await train({ configPath: CONFIG, registry });
  parent = `${r.version.model}@${r.version.version}`;
});
test.after(() => {
  registry.close();
  ws.cleanup();
});

test('float16 and uint8 children: minor versions with lineage, measured, gated against the parent', async () => {
  const progress: OptimizeProgress[] = [];
  const f16 = await quantizeVersion({
    registry,
    ref: parent,
    configPath: CONFIG,
    dtype: 'float16',
    onProgress: (p) => progress.push(p),
  });
  assert.equal(f16.version.version, '1.1.0');
  assert.equal(f16.version.parentVersion, '1.0.0');
  assert.deepEqual(f16.version.tags, ['quantized', 'float16']);
  assert.equal(registry.getRun(f16.run.id).kind, 'optimize');
  assert.equal(registry.getRun(f16.run.id).params.method, 'quantize');
  assert.equal(registry.getRun(f16.run.id).params.dtype, 'float16');
  assert.ok(progress.length >= 3 && progress.at(-1)!.fraction === 1);
  // The metric barely moves; the default gate watches accuracy against the parent.
  assert.ok(Math.abs(f16.child.metrics.accuracy - f16.parent.metrics.accuracy) <= 0.01);
  assert.equal(f16.gates.results[0].metric, 'accuracy');
  assert.equal(f16.gates.results[0].expression, '>= parent - 0.005');
  assert.deepEqual(f16.gates.results[0].reference, { alias: 'parent', version: '1.0.0' });
  assert.equal(f16.version.gates?.passed, f16.gates.passed);
  // Measured numbers are stored as metrics, so `versions compare` shows them side by side.
  for (const k of ['size_bytes', 'load_ms', 'latency_p50_ms_b1', 'latency_p50_ms_b256', 'parent_size_bytes'])
    assert.equal(typeof f16.version.metrics[k], 'number', k);
  const cmp = registry.compareVersions(parent, `weather@${f16.version.version}`);
  assert.ok(cmp.metrics.size_bytes[1]! > 0);

  const u8 = await quantizeVersion({ registry, ref: parent, configPath: CONFIG, dtype: 'uint8' });
  assert.equal(u8.version.version, '1.2.0');
  // Weights 2× and 4× smaller; the bundle (with its JSON) shrinks less.
  assert.equal(f16.details.bytesBefore / f16.details.bytesAfter, 2);
  assert.equal(u8.details.bytesBefore / u8.details.bytesAfter, 4);
  assert.ok(u8.child.measurement.size_bytes < f16.child.measurement.size_bytes);
  assert.ok(f16.child.measurement.size_bytes < f16.parent.measurement.size_bytes);

  // An already-quantised bundle is refused, naming it.
  await assert.rejects(
    quantizeVersion({ registry, ref: `weather@${f16.version.version}`, configPath: CONFIG, dtype: 'uint8' }),
    (e: unknown) =>
      e instanceof ModelOpsError && e.code === 'optimize-unsupported' && /already quantised/.test(e.message),
  );
});

test('pruning: exact sparsity of dense kernels, rates per layer, gzip storage, a strict gate can fail and still register', async () => {
  const strict = config('strict.yaml', 'weather', 'optimize:\n  gates:\n    accuracy: ">= parent + 0.5"\n');
  const r = await pruneVersion({ registry, ref: parent, configPath: strict, sparsity: 0.6, epochs: 2 });
  assert.equal(r.version.parentVersion, '1.0.0');
  assert.equal(registry.getRun(r.run.id).params.sparsity, 0.6);
  assert.equal(registry.getRun(r.run.id).kind, 'optimize');
  assert.equal(registry.getRun(r.run.id).params.schedule, 'polynomial');
  // 4×32 and 32×5 kernels: round(0.6 · 128) = 77 and round(0.6 · 160) = 96 weights pruned.
  assert.deepEqual(
    r.details.rate.layers.map((l) => l.pruned),
    [77, 96],
  );
  assert.deepEqual(
    r.details.rate.layers.map((l) => l.bias),
    [32, 5],
  );
  assert.equal(r.details.rate.total, 128 + 32 + 160 + 5);
  assert.equal(r.details.rate.rate, (77 + 96) / 325);
  assert.equal(r.version.metrics.pruning_rate, r.details.rate.rate);
  assert.ok(r.details.compressedBytes < r.details.weightBytes);
  // Fine-tuning ran the whole schedule.
  assert.equal(r.details.steps, 2 * Math.ceil(1022 / 32)); // 1022 training rows (70 % of 1461), batch 32
  // The gate asked for the impossible: registered, marked failed.
  assert.equal(r.gates.passed, false);
  assert.equal(registry.getVersion(`weather@${r.version.version}`).gates?.passed, false);
  // The stored artifact is the compact form, and it loads as the server loads it.
  const dir = await registry.artifactPath(`weather@${r.version.version}`);
  assert.ok(existsSync(join(dir, 'weights.bin.gz')) && !existsSync(join(dir, 'weights.bin')));
  (await loadRuntime(dir)).dispose();
});

test('bad input: sparsity, dtype, schedule, ONNX pruning, ONNX uint8, a missing version, a command artifact', async () => {
  const is = (code: string, re: RegExp) => (e: unknown) =>
    e instanceof ModelOpsError && e.code === code && re.test(e.message) && !!e.hint;
  await assert.rejects(
    pruneVersion({ registry, ref: parent, configPath: CONFIG, sparsity: 1 }),
    is('optimize-bad-sparsity', /Sparsity 1 /),
  );
  await assert.rejects(
    pruneVersion({ registry, ref: parent, configPath: CONFIG, sparsity: 0.5, schedule: 'cubic' }),
    is('optimize-bad-option', /'cubic'/),
  );
  await assert.rejects(
    quantizeVersion({ registry, ref: parent, configPath: CONFIG, dtype: 'int8' }),
    is('optimize-bad-dtype', /'int8'/),
  );
  await assert.rejects(
    quantizeVersion({ registry, ref: 'weather@9.9.9', configPath: CONFIG, dtype: 'float16' }),
    is('version-not-found', /9\.9\.9/),
  );

  const bundle = join(root, 'onnx-bundle');
  await writeOnnxBundle(bundle, join(REPO, 'test', 'fixtures', 'onnx', 'weather-mlp-v1.onnx'), { target: 'weather' });
  const onnx = await registry.registerVersion({ model: 'weather-onnx', source: bundle });
  const onnxRef = `${onnx.model}@${onnx.version}`;
  const onnxConfig = config('onnx.yaml', 'weather-onnx');
  await assert.rejects(
    pruneVersion({ registry, ref: onnxRef, configPath: onnxConfig, sparsity: 0.5 }),
    is('optimize-unsupported', /ONNX version; pruning is TensorFlow.js-only/),
  );

  // ONNX float16 works end to end through the runtime layer.
  const q = await quantizeVersion({ registry, ref: onnxRef, configPath: onnxConfig, dtype: 'float16' });
  assert.equal(q.version.version, '1.1.0');
  assert.ok(Math.abs(q.child.metrics.accuracy - q.parent.metrics.accuracy) <= 0.005);
  assert.equal(q.gates.passed, true);

  // ONNX dynamic uint8: a gated child whose graph multiplies in integers; the gate decides (on
  // this small MLP quantising the input at run time can cost more than the default tolerance).
  const q8 = await quantizeVersion({ registry, ref: onnxRef, configPath: onnxConfig, dtype: 'uint8' });
  assert.equal(q8.version.version, '1.2.0');
  assert.equal(q8.details.dtype, 'uint8');
  assert.equal(q8.version.format, 'onnx');
  const graph = readFileSync(join(await registry.artifactPath(`weather-onnx@1.2.0`), 'model.onnx'));
  assert.ok(graph.includes(Buffer.from('MatMulInteger')) && graph.includes(Buffer.from('DynamicQuantizeLinear')));
  assert.ok(Math.abs(q8.child.metrics.accuracy - q8.parent.metrics.accuracy) <= 0.05);
  assert.equal(typeof q8.gates.passed, 'boolean');

  const pt = join(root, 'model.pt');
  writeFileSync(pt, 'not really torch');
  const torch = await registry.registerVersion({ model: 'torchy', source: pt });
  await assert.rejects(
    quantizeVersion({ registry, ref: `torchy@${torch.version}`, configPath: CONFIG, dtype: 'float16' }),
    is('optimize-unsupported', /'torch' artifact/),
  );
});

test('CLI: optimize quantize --json prints the child and exits 0 when gates pass; usage errors name the flag', async () => {
  const out: string[] = [];
  const io = { cwd: root, out: (s: string) => out.push(s), err: () => undefined, isTTY: false, env: {} };
  const code = await optimizeCommand.run(['quantize', parent, '--dtype', 'float16', '--json'], io);
  const doc = JSON.parse(out.join('\n')) as { version: string; parent: { ref: string }; gates: { passed: boolean } };
  assert.equal(doc.parent.ref, parent);
  assert.match(doc.version, /^weather@1\.\d+\.0$/);
  assert.equal(code, doc.gates.passed ? 0 : 1);
  await assert.rejects(
    optimizeCommand.run(['quantize', parent, '--dtype', 'float16', '--sparsity', '0.5'], io),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'cli-usage' && /--sparsity/.test(e.message),
  );
  await assert.rejects(
    optimizeCommand.run(['shrink', parent], io),
    (e: unknown) => e instanceof ModelOpsError && e.code === 'cli-usage' && /'shrink'/.test(e.message),
  );
  assert.ok(readFileSync(join(root, 'modelops.yaml'), 'utf8').length > 0);
});
