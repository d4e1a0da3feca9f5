/**
 * Registering ONNX models: the graph becomes the version's signature (so semver bumps major
 * when inputs or outputs change), a bare .onnx file is stored as an ONNX bundle, bad files are
 * refused before anything is stored, and formats ModelOps cannot run are stored with a message
 * that gives the export call.
 */
import { gateState } from '../../../shared/gateState';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkspaceRegistry } from '../../../server/engine/registry';
import { registerModel } from '../../../server/engine/registry/registerModel';
import { describeError, ModelOpsError } from '../../../server/engine/errors';
import type { CliIO } from '../../../server/cli/command';
import { versionsCommand } from '../../../server/cli/commands/versions';
import { loadRuntime } from '../../../server/engine/runtime';
import { readOnnxGraph } from '../../../server/engine/runtime/onnxGraph';
import { explainVersion } from '../../../server/engine/explain';
import { deploy } from '../../../server/engine/deploy';
import { loadConfig } from '../../../server/engine/config';
import { addModel, FLOAT, floatInit, valueInfo } from '../runtime/onnxBytes';
import { inWorkspace, tempWorkspace, type TempWorkspace } from '../registry/helpers';
import { sampleAccuracy } from '../fixtures/evaluationSample';

const FIX = join(__dirname, '..', '..', 'fixtures', 'onnx');

// Staging folders go to os.tmpdir(): point it at a private folder to see that none is left behind.
const privateTmp = mkdtempSync(join(tmpdir(), 'modelops-onnx-reg-tmp-'));
process.env.TMPDIR = privateTmp;

const staging = (): string[] => readdirSync(privateTmp).filter((n) => n.startsWith('modelops-onnx-'));

const withWorkspace =
  (fn: (ws: TempWorkspace, reg: WorkspaceRegistry) => Promise<void>): (() => Promise<void>) =>
  () =>
    inWorkspace('modelops-ws-', fn);

function fixture(ws: TempWorkspace, name: string, as = name): string {
  const dst = join(ws.root, 'models', as);
  mkdirSync(join(ws.root, 'models'), { recursive: true });
  copyFileSync(join(FIX, name), dst);
  return dst;
}

const isError =
  (code: string, ...parts: string[]) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof ModelOpsError, String(e));
    assert.equal(e.code, code, e.message);
    for (const p of parts) assert.ok(e.message.includes(p), `'${e.message}' should mention ${p}`);
    assert.ok(e.hint && e.hint.length > 10, 'a hint says what to do');
    return true;
  };

/** Nothing registered and nothing stored: no model row, no blob left after a sweep, no staging folder. */
function assertNothingStored(reg: WorkspaceRegistry, ws: TempWorkspace): void {
  assert.deepEqual(reg.listModels(), []);
  assert.deepEqual(reg.sweepOrphans(Date.now() + 10 * 60_000), { blobs: 0, temps: 0 });
  const sha = join(ws.root, '.modelops', 'artifacts', 'sha256');
  const blobs = existsSync(sha) ? readdirSync(sha).flatMap((p) => readdirSync(join(sha, p))) : [];
  assert.deepEqual(blobs, []);
  assert.deepEqual(staging(), [], 'no staging folder left behind');
}

test(
  'v1 then v2 (same signature, new weights) is a minor bump; the 6-input model is a major bump',
  withWorkspace(async (ws, reg) => {
    const v1 = await reg.registerVersion({ model: 'weather', source: fixture(ws, 'weather-mlp-v1.onnx') });
    assert.equal(v1.version, '1.0.0');
    assert.equal(v1.format, 'onnx');
    assert.equal(v1.artifactKind, 'directory', 'a bare .onnx file is stored as an ONNX bundle');
    assert.equal(v1.notice, undefined, 'ONNX runs here: no notice');

    const v2 = await reg.registerVersion({ model: 'weather', source: fixture(ws, 'weather-mlp-v2.onnx') });
    assert.equal(v2.version, '1.1.0');
    assert.deepEqual(v2.signature, v1.signature);

    const six = await reg.registerVersion({ model: 'weather', source: fixture(ws, 'weather-mlp-6in.onnx') });
    assert.equal(six.version, '2.0.0', 'inputs changed from 4 to 6 columns: major');
    assert.notDeepEqual(six.signature, v2.signature);
    assert.deepEqual(six.signature?.inputs, [{ name: 'features', datatype: 'FP32', shape: [-1, 6] }]);
    assert.equal(reg.compareVersions('weather@1.1.0', 'weather@2.0.0').signatureChanged, true);
    assert.deepEqual(staging(), [], 'staging folders removed');
  }),
);

test(
  "the signature is the graph's: names, datatypes, shapes with -1 for the symbolic batch",
  withWorkspace(async (ws, reg) => {
    for (const [file, model] of [
      ['weather-mlp-v1.onnx', 'mlp'],
      ['weather-mlp-label-probs.onnx', 'two-outputs'],
      ['temp-max-regressor.onnx', 'regressor'],
      ['weather-logreg-per-column.onnx', 'per-column'],
    ] as const) {
      const path = fixture(ws, file);
      const graph = readOnnxGraph(readFileSync(path), path);
      const v = await reg.registerVersion({ model, source: path });
      const expected = (vals: typeof graph.inputs) =>
        vals.map((x) => ({
          name: x.name,
          datatype: { float32: 'FP32', int64: 'INT64' }[x.elemType as 'float32' | 'int64'],
          shape: x.dims!.map((d) => (typeof d === 'number' ? d : -1)),
        }));
      assert.deepEqual(v.signature, { inputs: expected(graph.inputs), outputs: expected(graph.outputs) }, file);
      assert.equal(v.signature!.inputs[0].shape[0], -1, `${file}: batch is -1`);
    }
    const v = reg.getVersion('two-outputs');
    assert.deepEqual(v.signature, {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 5] },
      ],
    });
    // The stored bundle loads with the runtime, metadata_props giving labels and columns.
    const rt = await loadRuntime(await reg.artifactPath('mlp@1.0.0'));
    try {
      assert.equal(rt.kind, 'onnx');
      assert.deepEqual(rt.features, ['precipitation', 'temp_max', 'temp_min', 'wind']);
      assert.equal(rt.labels?.length, 5);
      const [p] = await rt.predict([{ precipitation: 0, temp_max: 20, temp_min: 10, wind: 3 }]);
      assert.ok(rt.labels?.includes(String(p.value)));
    } finally {
      rt.dispose();
    }
  }),
);

test(
  'the same file registered twice is the same artifact: a patch bump',
  withWorkspace(async (ws, reg) => {
    const path = fixture(ws, 'weather-mlp-v1.onnx');
    const a = await reg.registerVersion({ model: 'weather', source: path });
    const b = await reg.registerVersion({ model: 'weather', source: path, note: 'same file' });
    assert.equal(a.artifactDigest, b.artifactDigest);
    assert.equal(b.version, '1.0.1');
  }),
);

test(
  'an ONNX bundle folder registers as is, loaded as deploy would; a tampered one is refused',
  withWorkspace(async (ws, reg) => {
    const v = await reg.registerVersion({ model: 'weather', source: fixture(ws, 'weather-mlp-v1.onnx') });
    const bundle = await reg.artifactPath('weather@1.0.0');
    const copy = join(ws.root, 'bundle');
    mkdirSync(copy);
    for (const f of readdirSync(bundle)) copyFileSync(join(bundle, f), join(copy, f));
    const again = await reg.registerVersion({ model: 'weather', source: copy });
    assert.equal(again.version, '1.0.1', 'same bundle, same artifact');
    assert.deepEqual(again.signature, v.signature);

    copyFileSync(join(FIX, 'weather-mlp-v2.onnx'), join(copy, 'model.onnx'));
    await assert.rejects(
      reg.registerVersion({ model: 'weather', source: copy }),
      isError('bundle-corrupt', join(copy, 'model.onnx'), 'modelDigest'),
    );
    assert.equal(reg.listVersions({ model: 'weather' }).total, 2);
  }),
);

test(
  'a corrupt or truncated .onnx is refused naming the file, and nothing is registered',
  withWorkspace(async (ws, reg) => {
    const bytes = readFileSync(join(FIX, 'weather-mlp-v1.onnx'));
    const truncated = ws.file('truncated.onnx', bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(
      reg.registerVersion({ model: 'weather', source: truncated }),
      isError('onnx-corrupt', truncated),
    );
    const junk = ws.file('junk.onnx', Buffer.from('this is not a protobuf message at all\n'.repeat(20)));
    await assert.rejects(reg.registerVersion({ model: 'weather', source: junk }), isError('onnx-corrupt', junk));
    const empty = ws.file('empty.onnx', Buffer.alloc(0));
    await assert.rejects(
      reg.registerVersion({ model: 'weather', source: empty }),
      isError('onnx-corrupt', empty, 'empty'),
    );
    assertNothingStored(reg, ws);
  }),
);

test(
  'opset 12, an unknown operator and a dynamic non-batch dimension are refused naming the file and input',
  withWorkspace(async (ws, reg) => {
    // The real fixture with its opset_import version (17) edited to 12.
    const v1 = Buffer.from(readFileSync(join(FIX, 'weather-mlp-v1.onnx')));
    const at = v1.indexOf(Buffer.from([0x42, 0x02, 0x10, 17]));
    assert.ok(at > 0);
    v1[at + 3] = 12;
    const old = ws.file('old-opset.onnx', v1);
    await assert.rejects(
      reg.registerVersion({ model: 'weather', source: old }),
      isError('onnx-opset', old, 'opset 12', '13'),
    );

    const meta = { features: '["a","b","c"]', task: 'regression' };
    const dyn = ws.file('dynamic.onnx', Buffer.from(addModel({ xDims: ['batch', 'n'], metadata: meta })));
    await assert.rejects(
      reg.registerVersion({ model: 'weather', source: dyn }),
      isError('onnx-dynamic-dim', dyn, "input 'x'", 'dimension 1'),
    );

    // A well-formed regression graph (y = op(x, b), [batch, 1]) whose operator ONNX Runtime does not know.
    const custom = ws.file(
      'custom-op.onnx',
      Buffer.from(
        addModel({
          op: 'NoSuchOperator',
          metadata: { features: '["a"]', task: 'regression' },
          inputs: [valueInfo('x', FLOAT, ['batch', 1]), valueInfo('b', FLOAT, [1])],
          outputs: [valueInfo('y', FLOAT, ['batch', 1])],
          initializers: [floatInit('b', [1], [1])],
        }),
      ),
    );
    await assert.rejects(
      reg.registerVersion({ model: 'weather', source: custom }),
      isError('onnx-unsupported-op', custom, 'NoSuchOperator'),
    );
    assertNothingStored(reg, ws);
  }),
);

test(
  'a model whose input columns are not known is refused before it is stored; the caller may give them',
  withWorkspace(async (ws, reg) => {
    // y = x + b over [batch, 1] without metadata_props: what a plain exporter writes.
    const graph = addModel({
      metadata: {},
      inputs: [valueInfo('x', FLOAT, ['batch', 1]), valueInfo('b', FLOAT, [1])],
      outputs: [valueInfo('y', FLOAT, ['batch', 1])],
      initializers: [floatInit('b', [1], [1])],
    });
    const plain = ws.file('plain.onnx', Buffer.from(graph));
    await assert.rejects(
      reg.registerVersion({ model: 'plain', source: plain }),
      isError('onnx-features', plain, "'x'"),
    );
    assertNothingStored(reg, ws);
    const v = await reg.registerVersion({
      model: 'plain',
      source: plain,
      onnx: { task: 'regression', columns: ['wind'] },
    });
    assert.deepEqual(v.signature, {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
    });
    const rt = await loadRuntime(await reg.artifactPath('plain'));
    try {
      assert.deepEqual(rt.features, ['wind']);
      assert.equal((await rt.predict([{ wind: 2 }]))[0].value, 3);
    } finally {
      rt.dispose();
    }
  }),
);

test(
  'PyTorch, Keras, pickle and safetensors files register with the export call; they stay not evaluated',
  withWorkspace(async (ws, reg) => {
    const cases: Array<[string, string, string]> = [
      ['model.pt', 'torch', 'torch.onnx.export('],
      ['model.h5', 'h5', 'tf2onnx.convert.from_keras('],
      ['model.keras', 'keras', 'tf2onnx.convert.from_keras('],
      ['model.pkl', 'pickle', 'skl2onnx.to_onnx('],
      ['model.joblib', 'pickle', 'skl2onnx.to_onnx('],
      ['model.safetensors', 'safetensors', 'load_state_dict'],
    ];
    for (const [file, format, call] of cases) {
      const v = await reg.registerVersion({
        model: format.replace(/[^a-z]/g, ''),
        source: ws.file(file, Buffer.from(`not really a ${format} model`)),
      });
      assert.equal(v.format, format, file);
      assert.equal(v.signature, null);
      assert.equal(v.gates, null, 'not evaluated');
      assert.ok(v.notice?.includes(call), `${file}: ${v.notice}`);
      assert.ok(v.notice?.includes('opset'));
      assert.ok(v.notice?.includes('cannot run it'));
      // The notice is part of the record, not only of the registration's answer.
      assert.equal(reg.getVersion(`${v.model}@${v.version}`).notice, v.notice);
    }
    mkdirSync(join(ws.root, 'saved', 'variables'), { recursive: true });
    ws.file('saved/saved_model.pb', 'x');
    const sm = await reg.registerVersion({ model: 'savedmodel', source: join(ws.root, 'saved') });
    assert.equal(sm.format, 'savedmodel');
    assert.ok(sm.notice?.includes('tf2onnx.convert --saved-model'));
  }),
);

/** A copy of examples/onnx (the bring-your-own-model workspace) to register into. */
function exampleWorkspace(ws: TempWorkspace): string {
  const src = join(__dirname, '..', '..', '..', 'examples', 'onnx');
  cpSync(src, ws.root, { recursive: true });
  return join(ws.root, 'modelops.yaml');
}

test(
  'registerModel: the config gives the spec, the training data the reference profile, then evaluation records the gates',
  withWorkspace(async (ws, reg) => {
    const configPath = exampleWorkspace(ws);
    const r1 = await registerModel({ registry: reg, configPath });
    assert.equal(r1.notEvaluated, null, String(r1.notEvaluated));
    assert.equal(r1.version.version, '1.0.0');
    assert.equal(r1.version.model, 'weather-onnx');
    assert.ok(r1.version.configDigest, 'the config is recorded');
    assert.deepEqual(
      r1.version.datasets.map((d) => d.path),
      ['data/seattle-weather.csv'],
    );
    assert.ok(r1.evaluation && r1.evaluation.rows > 100);
    assert.ok(r1.version.gates, 'gates recorded');
    assert.deepEqual(r1.version.gates?.results.map((g) => g.metric).sort(), ['accuracy', 'f1_weighted']);
    assert.equal(
      r1.version.gates?.results.find((g) => g.metric === 'accuracy')?.passed,
      r1.evaluation.metrics.accuracy >= 0.7,
    );
    const rt = await loadRuntime(await reg.artifactPath('weather-onnx@1.0.0'));
    try {
      assert.equal(rt.target, 'weather');
      assert.ok(rt.profile && rt.profile.rows > 500, 'reference profile from the training split');
      assert.deepEqual(Object.keys(rt.profile!.features).sort(), ['precipitation', 'temp_max', 'temp_min', 'wind']);
      // The test split's probabilities and classes (CBPE's reference when labels come late): the
      // rows the evaluation scored, with the same arg-max accuracy.
      const split = rt.profile!.evaluation!;
      const k = rt.labels!.length;
      assert.equal(split.rows, r1.evaluation.rows);
      assert.ok(Math.abs(sampleAccuracy(split, k) - r1.evaluation.metrics.accuracy) < 0.01);
    } finally {
      rt.dispose();
    }
    const r2 = await registerModel({
      registry: reg,
      configPath,
      source: join(ws.root, 'models', 'weather-mlp-v2.onnx'),
      cwd: ws.root,
    });
    assert.equal(r2.version.version, '1.1.0');
    assert.equal(r2.notEvaluated, null);
  }),
);

test(
  'registerModel: a PyTorch checkpoint registers with its notice and is not evaluated',
  withWorkspace(async (ws, reg) => {
    const configPath = exampleWorkspace(ws);
    const pt = ws.file('models/weather.pt', Buffer.from('PK not really a torch zip'));
    const r = await registerModel({ registry: reg, configPath, source: pt });
    assert.equal(r.version.format, 'torch');
    assert.equal(r.evaluation, null);
    // Its configured gates are recorded as not evaluated: never a pass, promotion needs a reason.
    assert.equal(gateState(r.version.gates), 'not-evaluated');
    assert.ok(r.notEvaluated?.includes('torch.onnx.export('));
    // Explaining or deploying it is refused as a format nothing here runs (deploy at its package
    // step, before any server), not as a damaged bundle.
    const ref = `${r.version.model}@${r.version.version}`;
    await assert.rejects(
      explainVersion({ registry: reg, ref, configPath }),
      (e: unknown) =>
        e instanceof ModelOpsError &&
        e.code === 'not-evaluable' &&
        e.message ===
          `${ref} cannot be explained here: it is a 'torch' artifact, which no model runtime (TensorFlow.js, ONNX Runtime) here runs.`,
    );
    const { config } = await loadConfig(configPath);
    await assert.rejects(
      deploy({ registry: reg, config, target: 'local', ref, tokenFor: () => null }),
      (e: unknown) =>
        e instanceof ModelOpsError &&
        /failed at step 'package': .* cannot be deployed here: it is a 'torch' artifact/.test(e.message) &&
        /serve it with the tool that produced it/.test(e.hint ?? ''),
    );
  }),
);

async function cli(cwd: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const io: CliIO = { cwd, out: (t) => out.push(t), err: (t) => out.push(t), isTTY: false, env: {} };
  try {
    return { code: await versionsCommand.run(argv, io), out: out.join('\n'), err: '' };
  } catch (e) {
    return { code: 1, out: out.join('\n'), err: describeError(e) };
  }
}

test('modelops versions register prints the signature; with --config an ONNX file is evaluated and gated; a .pt prints the export call', async () => {
  const ws = tempWorkspace('modelops-ws-');
  try {
    exampleWorkspace(ws);
    const plain = await cli(ws.root, ['register', 'models/weather-mlp-v1.onnx', '--model', 'plain']);
    assert.equal(plain.code, 0, plain.err);
    assert.match(plain.out, /registered plain@1\.0\.0 {2}onnx directory/);
    assert.match(plain.out, /input +features +FP32 \[-1, 4\]/);
    assert.match(plain.out, /output +probabilities +FP32 \[-1, 5\]/);

    const withConfig = await cli(ws.root, ['register', '--config', 'modelops.yaml']);
    assert.equal(withConfig.code, 0, withConfig.err);
    assert.match(withConfig.out, /registered weather-onnx@1\.0\.0/);
    assert.match(withConfig.out, /evaluated on \d+ rows \(data\/seattle-weather\.csv \(test split\)\)/);
    assert.match(withConfig.out, /gates: passed\n +✓ accuracy/);

    ws.file('models/weather.pt', 'not a real checkpoint');
    const pt = await cli(ws.root, ['register', 'models/weather.pt', '--model', 'torchy']);
    assert.equal(pt.code, 0, pt.err);
    assert.match(pt.out, /signature: none recorded/);
    assert.ok(pt.out.includes('torch.onnx.export(model.eval()'), pt.out);

    const bad = ws.file('models/bad.onnx', readFileSync(join(FIX, 'weather-mlp-v1.onnx')).subarray(0, 300));
    const refused = await cli(ws.root, ['register', 'models/bad.onnx', '--config', 'modelops.yaml']);
    assert.equal(refused.code, 1);
    assert.ok(refused.err.includes(bad) && refused.err.includes('not a readable ONNX model'), refused.err);
  } finally {
    ws.cleanup();
  }
});
