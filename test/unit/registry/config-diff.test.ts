/**
 * The line diff behind `modelops versions diff`, checked against GNU diff and patch, and the
 * CLI forms `versions config` and `versions diff`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIO } from '../../../server/cli/command';
import { versionsCommand } from '../../../server/cli/commands/versions';
import {
  diffLines,
  splitLines,
  unifiedDiff,
  type VersionDiff,
  type VersionConfig,
} from '../../../server/engine/registry';
import { describeError } from '../../../server/engine/errors';
import { tempWorkspace } from './helpers';

function gnuDiff(dir: string, a: string, b: string): string {
  writeFileSync(join(dir, 'a'), a);
  writeFileSync(join(dir, 'b'), b);
  const r = spawnSync('diff', ['-u', '--label', 'A', '--label', 'B', 'a', 'b'], { cwd: dir, encoding: 'utf8' });
  assert.ok(r.status === 0 || r.status === 1, `diff failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

const BASE = Array.from({ length: 40 }, (_, i) => `line ${i}\n`);
const edit = (f: (l: string[]) => void): string => {
  const c = [...BASE];
  f(c);
  return c.join('');
};

test('unifiedDiff writes what GNU diff -u writes: hunks, merged context, ranges, missing final newline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-diff-'));
  try {
    const cases: Array<[string, string]> = [
      [BASE.join(''), edit((l) => ((l[5] = 'X\n'), (l[12] = 'Y\n')))], // 6 lines apart: one hunk
      [BASE.join(''), edit((l) => ((l[5] = 'X\n'), (l[13] = 'Y\n')))], // 7 apart: two hunks
      [BASE.join(''), edit((l) => l.splice(0, 0, 'first\n'))],
      [BASE.join(''), edit((l) => l.splice(39, 1))],
      [BASE.join(''), edit((l) => l.splice(20, 0, 'a\n', 'b\n'))],
      [BASE.join(''), edit((l) => (l[39] = 'line 39'))],
      ['', 'only\n'],
      ['gone\n', ''],
      ['a', 'a\n'],
      ['a\nb', 'a\nc'],
      [
        'version: 1\nmodel:\n  layers:\n    - { type: dense, units: 32 }\n    - { type: dense, units: 5 }\ntrain:\n  epochs: 40\n  learningRate: 0.01\n',
        'version: 1\nmodel:\n  layers:\n    - { type: dense, units: 64 }\n    - { type: dropout, rate: 0.1 }\n    - { type: dense, units: 5 }\ntrain:\n  epochs: 60\n  learningRate: 0.01\n',
      ],
    ];
    for (const [a, b] of cases)
      assert.equal(unifiedDiff(a, b, { fromLabel: 'A', toLabel: 'B' }), gnuDiff(dir, a, b), JSON.stringify([a, b]));
    assert.equal(unifiedDiff('same\n', 'same\n', { fromLabel: 'A', toLabel: 'B' }), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('on random inputs the diff is minimal (as many edits as GNU diff) and GNU patch turns a into b with it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-diff-'));
  let seed = 7;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const edits = (d: string): number => d.split('\n').filter((l) => /^[-+]/.test(l) && !/^(---|\+\+\+) /.test(l)).length;
  try {
    for (let t = 0; t < 120; t++) {
      // Few distinct lines, so many equally short scripts exist and ties are exercised.
      const alphabet = 'abcdefgh'.slice(0, 2 + Math.floor(rnd() * 6)).split('');
      const make = (n: number): string =>
        Array.from({ length: n }, () => `${alphabet[Math.floor(rnd() * alphabet.length)]}\n`).join('');
      let a = make(Math.floor(rnd() * 30));
      let b =
        rnd() < 0.5
          ? make(Math.floor(rnd() * 30))
          : splitLines(a)
              .map((l) => (rnd() < 0.15 ? `x${l}` : l))
              .join('');
      if (rnd() < 0.2) a = a.replace(/\n$/, '');
      if (rnd() < 0.2) b = b.replace(/\n$/, '');
      const mine = unifiedDiff(a, b, { fromLabel: 'A', toLabel: 'B' });
      assert.equal(edits(mine), edits(gnuDiff(dir, a, b)), JSON.stringify([a, b]));
      if (a === b) continue;
      writeFileSync(join(dir, 'p'), mine);
      writeFileSync(join(dir, 'a'), a);
      const r = spawnSync('patch', ['-s', '-o', 'out', 'a', 'p'], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, `patch failed: ${r.error?.message ?? r.stderr}\n${mine}`);
      assert.equal(readFileSync(join(dir, 'out'), 'utf8'), b, mine);
      rmSync(join(dir, 'out'));
    }
    // The edit script itself: equal lines keep both sides, in order.
    const ops = diffLines(['a\n', 'b\n', 'c\n'], ['a\n', 'c\n', 'd\n']);
    assert.deepEqual(
      ops.map((o) => `${o.kind[0]}${o.line.trim()}`),
      ['ea', 'db', 'ec', 'id'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function run(cwd: string, argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { cwd, out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false, env: {} };
  try {
    const code = await versionsCommand.run(argv, io);
    return { code, text: out.join('\n'), err: err.join('\n') };
  } catch (e) {
    return { code: 1, text: out.join('\n'), err: describeError(e) };
  }
}

test('modelops versions config and versions diff: the stored configs, metrics side by side, --json', async () => {
  const ws = tempWorkspace();
  try {
    const v1Config = 'version: 1\nproject: weather\ntrain:\n  epochs: 40\n  batchSize: 32\n';
    const v2Config = 'version: 1\nproject: weather\ntrain:\n  epochs: 60\n  batchSize: 32\n';
    ws.file('modelops.yaml', v1Config);
    ws.file('a.pt', 'weights a');
    ws.file('b.pt', 'weights b');
    ws.file('c.pt', 'weights c');
    ws.file('m1.json', '{"accuracy": 0.9, "f1_macro": 0.8}');
    ws.file('m2.json', '{"accuracy": 0.95, "f1_macro": 0.78}');
    assert.equal(
      (
        await run(ws.root, [
          'register',
          'a.pt',
          '--model',
          'weather',
          '--config',
          'modelops.yaml',
          '--metrics',
          'm1.json',
        ])
      ).code,
      0,
    );
    writeFileSync(join(ws.root, 'modelops.yaml'), v2Config);
    assert.equal(
      (
        await run(ws.root, [
          'register',
          'b.pt',
          '--model',
          'weather',
          '--config',
          'modelops.yaml',
          '--metrics',
          'm2.json',
        ])
      ).code,
      0,
    );
    assert.equal((await run(ws.root, ['register', 'c.pt', '--model', 'weather'])).code, 0);
    // The file moves on; the versions keep theirs.
    writeFileSync(join(ws.root, 'modelops.yaml'), 'version: 1\nproject: something else\n');

    const cfg = await run(ws.root, ['config', 'weather@1.0.0']);
    assert.equal(cfg.code, 0, cfg.err);
    assert.equal(`${cfg.text}\n`, v1Config);
    const cfgJson = JSON.parse((await run(ws.root, ['config', 'weather@1.1.0', '--json'])).text) as VersionConfig;
    assert.deepEqual([cfgJson.ref, cfgJson.source, cfgJson.text], ['weather@1.1.0', 'registry', v2Config]);
    const noConfig = await run(ws.root, ['config', 'weather@1.2.0']);
    assert.equal(noConfig.code, 1);
    assert.match(noConfig.err, /No config text for weather@1\.2\.0: weather@1\.2\.0 was registered without a config\./);
    assert.match(noConfig.err, /--config modelops\.yaml/);

    const diff = await run(ws.root, ['diff', 'weather@1.0.0', 'weather@1.1.0']);
    assert.equal(diff.code, 0, diff.err);
    assert.match(diff.text, /metric\s+weather@1\.0\.0\s+weather@1\.1\.0\s+Δ/);
    assert.match(diff.text, /accuracy\s+0\.9000\s+0\.9500\s+\+0\.0500/);
    assert.match(diff.text, /f1_macro\s+0\.8000\s+0\.7800\s+-0\.0200/);
    assert.match(diff.text, /artifact:\s+different/);
    const expected = [
      'config:',
      '--- weather@1.0.0/modelops.yaml',
      '+++ weather@1.1.0/modelops.yaml',
      '@@ -1,5 +1,5 @@',
      ' version: 1',
      ' project: weather',
      ' train:',
      '-  epochs: 40',
      '+  epochs: 60',
      '   batchSize: 32',
    ].join('\n');
    assert.ok(diff.text.endsWith(expected), diff.text);

    const json = JSON.parse(
      (await run(ws.root, ['diff', 'weather@1.0.0', 'weather@1.1.0', '--json'])).text,
    ) as VersionDiff;
    assert.equal(json.configDiff, `${expected.slice('config:\n'.length)}\n`);
    assert.deepEqual(json.comparison.metrics.accuracy.slice(0, 2), [0.9, 0.95]);
    assert.deepEqual([json.configA.source, json.configB.source], ['registry', 'registry']);

    assert.match(
      (await run(ws.root, ['diff', 'weather@1.0.0', 'weather@1.0.0'])).text,
      /config: same \([0-9a-f]{12}\)/,
    );
    const partial = await run(ws.root, ['diff', 'weather@1.1.0', 'weather@1.2.0']);
    assert.equal(partial.code, 0);
    assert.match(
      partial.text,
      /config: cannot be compared\n {2}weather@1\.2\.0: weather@1\.2\.0 was registered without a config\./,
    );
    assert.match((await run(ws.root, ['diff', 'weather@1.0.0'])).err, /Missing two versions to diff/);
  } finally {
    ws.cleanup();
  }
});
