/**
 * Version archives (`modelops versions export|import`): a real ONNX classifier with its config,
 * gate report and training data carried from one workspace's registry to another's, where it is
 * the same version (digest, metrics, lineage), scores a file exactly as it did, and restores the
 * data's bytes; an archive altered in any way (a flipped byte, an unlisted or escaping entry, a
 * missing file, a truncation) is refused with the registry left as it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { openRegistry, type WorkspaceRegistry } from '../../../server/engine/registry';
import { exportVersion, importVersion } from '../../../server/engine/registry/versionArchive';
import { writeOnnxBundle } from '../../../server/engine/runtime';
import { predictFile } from '../../../server/engine/evaluation/predictFile';
import { DataStore } from '../../../server/engine/data/store/store';
import { checkoutData } from '../../../server/engine/data/store/checkout';
import { ModelOpsError } from '../../../server/engine/errors';
import { versionsCommand } from '../../../server/cli/commands/versions';
import type { CliIO } from '../../../server/cli/command';
import { inWorkspace, tempWorkspace, type TempWorkspace } from './helpers';

const FIX = join(__dirname, '..', '..', 'fixtures', 'onnx');
const CSV = [
  'precipitation,temp_max,temp_min,wind,weather',
  '0,12.8,5,4.7,drizzle',
  '10.9,10.6,2.8,4.5,rain',
  '0.8,11.7,7.2,2.3,rain',
  '0,5.6,-3.2,2.1,sun',
  '2.5,4.4,2.2,4.4,fog',
].join('\n');

/** Registers the weather ONNX classifier as weather@1.2.0 with a config, stored training data and a gate report. */
async function source(ws: TempWorkspace, reg: WorkspaceRegistry): Promise<string> {
  const bundle = join(ws.root, 'bundle');
  await writeOnnxBundle(bundle, join(FIX, 'weather-mlp-v1.onnx'), { target: 'weather' });
  const data = ws.file('data/train.csv', `${CSV}\n`);
  const put = await new DataStore(reg.storeDir).putFile(data);
  reg.datasets.record({
    manifest: put.manifest,
    path: 'data/train.csv',
    rows: 5,
    columns: [{ name: 'weather', type: 'string' }],
    profile: null,
  });
  const config = ws.file('modelops.yaml', 'model:\n  name: weather\n');
  const parent = join(ws.root, 'parent');
  await writeOnnxBundle(parent, join(FIX, 'weather-mlp-v1.onnx'), {
    target: 'weather',
    labels: ['a', 'b', 'c', 'd', 'e'],
  });
  await reg.registerVersion({ model: 'weather', source: parent, version: '1.1.0' });
  // The run that registered it, with a metric series (the training curves).
  const run = reg.createRun({ kind: 'train', model: 'weather', params: { epochs: 3 }, backend: 'cpu' });
  for (let step = 1; step <= 3; step++)
    reg.appendRunMetrics(run.id, step, { loss: 1 / step, accuracy: 0.6 + step / 10 });
  reg.finishRun(run.id, { status: 'succeeded', metrics: { accuracy: 0.875 } });
  await reg.registerVersion({
    model: 'weather',
    source: bundle,
    version: '1.2.0',
    runId: run.id,
    metrics: { accuracy: 0.875 },
    configPath: config,
    datasets: [{ role: 'train', path: 'data/train.csv', digest: put.manifest.digest }],
    note: 'from the lab',
    tags: ['onnx'],
  });
  reg.recordGates('weather@1.2.0', {
    passed: true,
    results: [
      {
        metric: 'accuracy',
        expression: '>= 0.8',
        op: '>=',
        threshold: 0.8,
        actual: 0.875,
        passed: true,
        reference: null,
        message: 'accuracy 0.875 ≥ 0.800',
      },
    ],
    evaluatedAt: '2026-11-01T00:00:00.000Z',
    override: null,
  });
  return put.manifest.digest;
}

/** Exports weather@1.2.0 from a fresh source workspace and runs `fn` with the archive and a second, empty workspace. */
async function withArchive(
  fn: (archive: string, target: TempWorkspace, reg: WorkspaceRegistry, from: WorkspaceRegistry) => Promise<void>,
  withData = true,
): Promise<void> {
  await inWorkspace('modelops-export-', async (ws, from) => {
    await source(ws, from);
    const archive = join(ws.root, 'weather-1.2.0.modelops.tgz');
    await exportVersion(from, { ref: 'weather@1.2.0', out: archive, withData });
    await inWorkspace('modelops-import-', async (target, reg) => fn(archive, target, reg, from));
  });
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test('an exported version imports into another workspace as the same version: bytes, record, lineage, data, predictions', async () => {
  await withArchive(async (archive, target, reg, from) => {
    const r = await importVersion(reg, { file: archive });
    assert.equal(r.status, 'imported');
    const a = from.getVersion('weather@1.2.0');
    const b = r.version;
    assert.equal(`${b.model}@${b.version}`, 'weather@1.2.0');
    for (const k of [
      'artifactDigest',
      'artifactKind',
      'format',
      'sizeBytes',
      'configDigest',
      'gitCommit',
      'gitDirty',
      'note',
    ] as const)
      assert.deepEqual(b[k], a[k], k);
    assert.deepEqual(b.metrics, a.metrics);
    assert.deepEqual(b.signature, a.signature);
    assert.deepEqual(b.datasets, a.datasets);
    assert.deepEqual(b.tags, a.tags);
    assert.deepEqual(b.gates?.results, a.gates?.results);
    assert.equal(b.gates?.passed, true);
    assert.equal(a.parentVersion, '1.1.0');
    assert.equal(b.parentVersion, null); // 1.1.0 is not here
    assert.deepEqual(b.origin, {
      archive: { name: 'weather-1.2.0.modelops.tgz', digest: sha(readFileSync(archive)) },
      exportedAt: b.origin!.exportedAt,
      exportedBy: from.actor(),
      ref: 'weather@1.2.0',
      createdAt: a.createdAt,
      registeredBy: a.registeredBy,
    });
    assert.equal(await reg.configText('weather@1.2.0'), 'model:\n  name: weather\n');
    // Its run comes with it: the record and the metric series the training curves draw.
    assert.equal(b.runId, a.runId);
    assert.deepEqual(r.run, { id: a.runId, kind: 'train', steps: 3 });
    const run = reg.getRun(b.runId!);
    const was = from.getRun(a.runId!);
    assert.deepEqual({ ...run }, { ...was });
    assert.equal(run.version, '1.2.0');
    assert.deepEqual(reg.runMetrics(run.id), from.runMetrics(was.id));
    // The training data's exact bytes come back out of the new workspace's store.
    assert.deepEqual(r.data, [{ path: 'data/train.csv', digest: a.datasets[0].digest, size: CSV.length + 1 }]);
    const m = reg.datasets.manifest(a.datasets[0].digest)!;
    const restored = join(target.root, 'restored.csv');
    await checkoutData(new DataStore(reg.storeDir), m, restored);
    assert.equal(readFileSync(restored, 'utf8'), `${CSV}\n`);
    // It scores a file exactly as it did where it was registered.
    const score = target.file('score.csv', `${CSV}\n`);
    const p1 = join(target.root, 'p1.csv');
    const p2 = join(target.root, 'p2.csv');
    await predictFile({ registry: from, ref: 'weather@1.2.0', dataPath: score, out: p1 });
    await predictFile({ registry: reg, ref: 'weather@1.2.0', dataPath: score, out: p2 });
    assert.equal(readFileSync(p2, 'utf8'), readFileSync(p1, 'utf8'));
    // The audit trail says it was imported, and from where.
    const entry = reg.auditLog({}).find((e) => e.action === 'version.register');
    assert.equal((entry?.after as { importedFrom?: { ref: string } }).importedFrom?.ref, 'weather@1.2.0');
    // Importing it again changes nothing.
    const again = await importVersion(reg, { file: archive });
    assert.equal(again.status, 'present');
    assert.equal(reg.listVersions({ model: 'weather' }).total, 1);
  });
});

test('imported where it was made (under another number), the version names the run that is already here', async () => {
  await withArchive(async (archive, _target, _reg, from) => {
    const runs = from.listRuns().length;
    const r = await importVersion(from, { file: archive, version: '1.3.0' });
    const was = from.getVersion('weather@1.2.0');
    assert.equal(r.version.runId, was.runId);
    assert.equal(from.listRuns().length, runs);
    assert.equal(from.getRun(was.runId!).version, '1.2.0');
  });
});

test("the parent link is kept when the parent's own bytes are here", async () => {
  await inWorkspace('modelops-export-', async (ws, from) => {
    await source(ws, from);
    const parent = join(ws.root, 'weather-1.1.0.modelops.tgz');
    const child = join(ws.root, 'weather-1.2.0.modelops.tgz');
    await exportVersion(from, { ref: 'weather@1.1.0', out: parent });
    await exportVersion(from, { ref: 'weather@1.2.0', out: child });
    await inWorkspace('modelops-import-', async (_t, reg) => {
      await importVersion(reg, { file: parent });
      const r = await importVersion(reg, { file: child });
      assert.equal(r.version.parentVersion, '1.1.0');
    });
  });
});

test('a taken version with other bytes is refused unless imported under another version; a parent with other bytes is not linked', async () => {
  await withArchive(async (archive, target, reg) => {
    const other = target.file('other.onnx', readFileSync(join(FIX, 'weather-mlp-v1.onnx')));
    const bundle = join(target.root, 'b');
    await writeOnnxBundle(bundle, other, { target: 'weather', labels: ['a', 'b', 'c', 'd', 'e'] });
    await reg.registerVersion({ model: 'weather', source: bundle, version: '1.1.0', parentVersion: null });
    await reg.registerVersion({ model: 'weather', source: bundle, version: '1.2.0' });
    await assert.rejects(importVersion(reg, { file: archive }), (e: ModelOpsError) => {
      assert.equal(e.code, 'version-exists');
      assert.match(e.message, /weather@1\.2\.0 already exists here with other bytes/);
      assert.match(e.hint ?? '', /--version x\.y\.z/);
      return true;
    });
    assert.equal(reg.listVersions({ model: 'weather' }).total, 2);
    // An alias is not a version: "weather@production" would name whatever holds it.
    await assert.rejects(importVersion(reg, { file: archive, version: 'production' }), /Invalid version 'production'/);
    const r = await importVersion(reg, { file: archive, version: '1.3.0', model: 'weather' });
    assert.equal(r.version.version, '1.3.0');
    assert.equal(r.version.origin?.ref, 'weather@1.2.0');
    // Its parent 1.1.0 is here, but with other bytes: the link is not kept.
    assert.equal(r.version.parentVersion, null);
  }, false);
});

/** Rewrites an archive: `edit` gets each entry's name and bytes and returns what to write (null drops it). */
async function rewrite(
  archive: string,
  out: string,
  edit: (name: string, bytes: Buffer) => Array<{ name: string; bytes: Buffer; type?: 'file' | 'symlink' }> | null,
): Promise<void> {
  const entries: Array<{ name: string; bytes: Buffer }> = [];
  const extract = tar.extract();
  await new Promise<void>((done, fail) => {
    extract.on('entry', (h, s, next) => {
      const parts: Buffer[] = [];
      s.on('data', (c: Buffer) => parts.push(c));
      s.on('end', () => {
        entries.push({ name: h.name, bytes: Buffer.concat(parts) });
        next();
      });
    });
    extract.on('finish', done);
    extract.on('error', fail);
    extract.end(gunzipSync(readFileSync(archive)));
  });
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((done) => pack.on('end', done));
  for (const e of entries)
    for (const x of edit(e.name, e.bytes) ?? [])
      if (x.type === 'symlink') pack.entry({ name: x.name, type: 'symlink', linkname: '/etc/passwd' });
      else pack.entry({ name: x.name }, x.bytes);
  pack.finalize();
  await ended;
  writeFileSync(out, gzipSync(Buffer.concat(chunks)));
}

test('an altered archive is refused naming what is wrong, and the registry and the disk are left as they were', async () => {
  await withArchive(async (archive, target, reg) => {
    const bad = join(target.root, 'bad.modelops.tgz');
    const outside = join(tmpdir(), `modelops-escape-${process.pid}`);
    const cases: Array<[string, Parameters<typeof rewrite>[2], RegExp]> = [
      [
        'a flipped byte in the model',
        (n, b) => [
          { name: n, bytes: n.endsWith('model.onnx') ? Buffer.from(b.map((x, i) => (i === 100 ? x ^ 1 : x))) : b },
        ],
        /artifact\/model\.onnx does not match its digest/,
      ],
      [
        'a missing file',
        (n, b) => (n.startsWith('data/') ? null : [{ name: n, bytes: b }]),
        /1 listed file\(s\) are missing, first data\//,
      ],
      [
        'an unlisted entry that escapes',
        (n, b) => [
          { name: n, bytes: b },
          ...(n.startsWith('config/') ? [{ name: `../../../..${outside}`, bytes: b }] : []),
        ],
        /which its manifest does not list/,
      ],
      [
        'a symbolic link',
        (n, b) => [
          { name: n, bytes: b },
          ...(n.startsWith('config/') ? [{ name: 'artifact/x', bytes: b, type: 'symlink' as const }] : []),
        ],
        /artifact\/x is a symlink, not a file/,
      ],
      [
        'no manifest first',
        (n, b) => (n === 'modelops-version.json' ? null : [{ name: n, bytes: b }]),
        /its first entry is artifact\//,
      ],
      [
        'a newer format',
        (n, b) => [
          {
            name: n,
            bytes:
              n === 'modelops-version.json'
                ? Buffer.from(b.toString().replace('"formatVersion": 1', '"formatVersion": 2'))
                : b,
          },
        ],
        /archive format 2; this ModelOps reads format 1/,
      ],
      [
        'a malformed run',
        (n, b) => [
          {
            name: n,
            bytes: n === 'modelops-version.json' ? Buffer.from(b.toString().replace('"loss": 1', '"loss": "1"')) : b,
          },
        ],
        /modelops-version\.json has a malformed run/,
      ],
      [
        // Every entry matches its listing, so the archive's checks pass; the registry's do not.
        'other model bytes listed with their own digest',
        (n, b) => {
          const model = (bytes: Buffer): Buffer => Buffer.from(bytes.map((x, i) => (i === 100 ? x ^ 1 : x)));
          if (n.endsWith('model.onnx')) return [{ name: n, bytes: model(b) }];
          if (n !== 'modelops-version.json') return [{ name: n, bytes: b }];
          const m = JSON.parse(b.toString()) as { artifact: Array<{ path: string; digest: string }> };
          const entry = m.artifact.find((e) => e.path.endsWith('model.onnx'))!;
          entry.digest = sha(model(readFileSync(join(FIX, 'weather-mlp-v1.onnx'))));
          return [{ name: n, bytes: Buffer.from(JSON.stringify(m, null, 2)) }];
        },
        /bad\.modelops\.tgz: artifact\/model\.onnx is not the model artifact\/modelops\.json describes/,
      ],
    ];
    for (const [what, edit, message] of cases) {
      await rewrite(archive, bad, edit);
      await assert.rejects(importVersion(reg, { file: bad }), (e: ModelOpsError) => {
        assert.match(e.message, message, what);
        return true;
      });
      assert.equal(reg.listModels().length, 0, what);
      assert.equal(reg.datasets.list().length, 0, what);
      assert.equal(existsSync(outside), false, what);
    }
    // Cut short: gzip or tar says so, as a corrupt archive.
    writeFileSync(bad, readFileSync(archive).subarray(0, 2000));
    await assert.rejects(importVersion(reg, { file: bad }), (e: ModelOpsError) => e.code === 'archive-corrupt');
    assert.equal(reg.listModels().length, 0);
    // No staging folder is left behind.
    assert.deepEqual(
      readdirSync(tmpdir()).filter(
        (f) => f.startsWith('modelops-import-') && existsSync(join(tmpdir(), f, 'artifact')),
      ),
      [],
    );
  });
});

test('export refuses to replace a file without --force, and a cancelled export leaves no file', async () => {
  await inWorkspace('modelops-export-', async (ws, reg) => {
    await source(ws, reg);
    const out = ws.file('taken.tgz', 'keep me');
    await assert.rejects(
      exportVersion(reg, { ref: 'weather@1.2.0', out }),
      (e: ModelOpsError) => e.code === 'archive-exists',
    );
    assert.equal(readFileSync(out, 'utf8'), 'keep me');
    // Cancelled: the half-written archive is closed and removed; the old file stays.
    const cancel = new AbortController();
    cancel.abort();
    await assert.rejects(
      exportVersion(reg, { ref: 'weather@1.2.0', out, force: true, signal: cancel.signal }),
      (e: ModelOpsError) => e.code === 'cancelled',
    );
    assert.equal(readFileSync(out, 'utf8'), 'keep me');
    assert.deepEqual(
      readdirSync(ws.root).filter((f) => f.endsWith('.tmp')),
      [],
    );
    const r = await exportVersion(reg, { ref: 'weather@1.2.0', out, force: true });
    assert.equal(r.data.length, 0);
    assert.equal(r.digest, sha(readFileSync(out)));
    assert.deepEqual(
      readdirSync(ws.root).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });
});

function io(cwd: string): CliIO & { text: () => string } {
  const lines: string[] = [];
  return {
    cwd,
    isTTY: false,
    env: {},
    out: (s: string) => lines.push(s),
    err: (s: string) => lines.push(s),
    text: () => lines.join('\n'),
  } as unknown as CliIO & { text: () => string };
}

test('the CLI: versions export writes <model>-<version>.modelops.tgz, versions import says what it brought', async () => {
  const a = tempWorkspace('modelops-cli-export-');
  const b = tempWorkspace('modelops-cli-import-');
  try {
    const reg = openRegistry(a.root);
    await source(a, reg);
    reg.close();
    const o1 = io(a.root);
    assert.equal(await versionsCommand.run(['export', 'weather@1.2.0', '--with-data', '--root', a.root], o1), 0);
    const archive = join(a.root, 'weather-1.2.0.modelops.tgz');
    assert.ok(existsSync(archive), o1.text());
    assert.match(o1.text(), /weather@1\.2\.0 → weather-1\.2\.0\.modelops\.tgz/);
    assert.match(o1.text(), /with train data data\/train\.csv/);
    mkdirSync(join(b.root, '.modelops'));
    const o2 = io(b.root);
    assert.equal(await versionsCommand.run(['import', archive, '--root', b.root], o2), 0);
    assert.match(o2.text(), /imported weather@1\.2\.0/);
    assert.match(o2.text(), /data\/train\.csv/);
    const o3 = io(b.root);
    assert.equal(await versionsCommand.run(['import', archive, '--root', b.root, '--json'], o3), 0);
    assert.equal((JSON.parse(o3.text()) as { status: string }).status, 'present');
  } finally {
    a.cleanup();
    b.cleanup();
  }
});
