import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { findOnPath, resolveSidecarRuntime } from '../../../extension/sidecarRuntime';
import { backoffDelay, onCrash, RESTART_POLICY } from '../../../extension/restartPolicy';

function withDirs(fn: (a: string, b: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), 'modelops-runtime-'));
  const a = join(root, 'a');
  const b = join(root, 'b');
  mkdirSync(a);
  mkdirSync(b);
  try {
    fn(a, b);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('runtime: node on PATH wins over the extension host; the first executable on PATH is taken', () => {
  withDirs((a, b) => {
    writeFileSync(join(a, 'node'), '#!/bin/sh\n'); // not executable: skipped
    writeFileSync(join(b, 'node'), '#!/bin/sh\n');
    chmodSync(join(b, 'node'), 0o755);
    const r = resolveSidecarRuntime({
      pathEnv: [a, b].join(delimiter),
      execPath: '/opt/editor/code',
      platform: 'linux',
    });
    assert.deepEqual(r, { path: join(b, 'node'), source: 'path' });
    assert.equal(findOnPath('node', a, 'linux'), null);
  });
});

test('runtime: without node on PATH the extension host runtime is used', () => {
  withDirs((a) => {
    const r = resolveSidecarRuntime({ pathEnv: a, execPath: '/opt/editor/code', platform: 'linux' });
    assert.deepEqual(r, { path: '/opt/editor/code', source: 'extension-host' });
    assert.equal(resolveSidecarRuntime({ pathEnv: '', execPath: '/x/node' }).source, 'extension-host');
  });
});

test('runtime: the setting wins, and a wrong setting is an error that names it', () => {
  withDirs((a, b) => {
    const exe = join(a, 'node20');
    writeFileSync(exe, '#!/bin/sh\n');
    chmodSync(exe, 0o755);
    writeFileSync(join(b, 'node'), '');
    chmodSync(join(b, 'node'), 0o755);
    assert.deepEqual(resolveSidecarRuntime({ setting: exe, pathEnv: b, execPath: '/e' }), {
      path: exe,
      source: 'setting',
    });
    assert.throws(
      () => resolveSidecarRuntime({ setting: join(a, 'missing'), pathEnv: b, execPath: '/e' }),
      /modelops\.sidecar\.nodePath is ".*missing", which is not an executable file/,
    );
    assert.throws(
      () => resolveSidecarRuntime({ setting: 'node', pathEnv: b, execPath: '/e' }),
      /not an executable file/,
    );
    // Blank means unset.
    assert.equal(resolveSidecarRuntime({ setting: '  ', pathEnv: b, execPath: '/e' }).source, 'path');
  });
});

test('restart policy: 1 s, 2 s, 4 s … capped, and gives up after 5 crashes in 3 minutes', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(backoffDelay), [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  let crashes: number[] = [];
  const t0 = 1_000_000;
  const delays: number[] = [];
  for (let i = 0; i < RESTART_POLICY.maxCrashes; i++) {
    const d = onCrash(crashes, t0 + i * 1000);
    assert.equal(d.action, 'restart');
    delays.push(d.delayMs);
    crashes = d.crashes;
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000]);
  assert.equal(onCrash(crashes, t0 + 6000).action, 'give-up');
  // Crashes older than the window are forgotten: a crash 3 minutes later starts over at 1 s.
  const later = onCrash(crashes, t0 + 4000 + RESTART_POLICY.windowMs + 1);
  assert.deepEqual([later.action, later.delayMs, later.crashes.length], ['restart', 1000, 1]);
});
