/**
 * Issue 12, point 4: the extension's text builders live in extension/text/ without `vscode`, so
 * they load in plain Node (as here) and their output is checked as is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEntry, VersionRecord } from '../../../server/engine/registry/types';
import { compareTitle, comparisonMarkdown } from '../../../extension/text/compare';
import { approveCommandLine, historyMarkdown } from '../../../extension/text/governance';
import { epochsProblem, sparsityProblem } from '../../../extension/text/optimize';
import { gateSummary, ref } from '../../../extension/text/version';

const TEXT = join(__dirname, '..', '..', '..', 'extension', 'text');

function version(over: Partial<VersionRecord> = {}): VersionRecord {
  return {
    id: 1,
    model: 'weather',
    version: '1.0.0',
    artifactDigest: 'sha256:' + 'ab'.repeat(32),
    artifactKind: 'directory',
    format: 'modelops-tfjs',
    sizeBytes: 12_345,
    signature: null,
    metrics: {},
    runId: 'run-1',
    configDigest: 'sha256:' + 'cd'.repeat(32),
    datasets: [],
    gitCommit: null,
    gitDirty: false,
    parentVersion: null,
    note: null,
    tags: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    archived: false,
    aliases: [],
    gates: null,
    deployedTo: [],
    ...over,
  };
}

function entry(over: Partial<AuditEntry>): AuditEntry {
  return {
    seq: 1,
    at: '2026-01-02T00:00:00.000Z',
    actor: 'ana',
    action: 'alias.set',
    subject: 'weather@1.0.0',
    model: 'weather',
    version: '1.0.0',
    alias: null,
    target: null,
    before: null,
    after: null,
    prevHash: '0'.repeat(64),
    hash: 'f'.repeat(64),
    ...over,
  };
}

test('every module of extension/text loads in plain Node (none imports vscode)', async () => {
  const files = readdirSync(TEXT).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 7, `only ${files.length} modules in ${TEXT}`);
  for (const f of files) {
    const m = (await import(join(TEXT, f))) as Record<string, unknown>;
    assert.ok(Object.keys(m).length > 0, `${f} exports nothing`);
  }
});

test('compare: the title names one model once, the markdown shows both versions, the difference and the gates', () => {
  const a = version({ aliases: ['production'] });
  const b = version({
    id: 2,
    version: '1.1.0',
    artifactDigest: 'sha256:' + '12'.repeat(32),
    gates: { passed: true, results: [], evaluatedAt: 'x', override: null },
  });
  assert.equal(compareTitle({ a, b }), 'weather@1.0.0 ↔ 1.1.0 · compare');
  assert.equal(compareTitle({ a, b: { ...b, model: 'rain' } }), 'weather@1.0.0 ↔ rain@1.1.0 · compare');
  const train = (path: string, hex: string) => [{ role: 'train' as const, path, digest: `sha256:${hex.repeat(32)}` }];
  const text = comparisonMarkdown({
    a: { ...a, datasets: train('data/weather.csv', 'ab') },
    b: { ...b, datasets: train('.modelops/traffic/t.csv', 'cd') },
    metrics: { accuracy: [0.8, 0.85, 0.05], r2: [null, 0.5, null] },
    signatureChanged: true,
    sameArtifact: false,
    sameData: false,
  });
  assert.match(text, /^# weather@1\.0\.0 vs weather@1\.1\.0\n/);
  assert.match(text, /\| accuracy \| 0\.8000 \| 0\.8500 \| \+0\.0500 \|/);
  assert.match(text, /\| r2 \| — \| 0\.5000 \| — \|/);
  assert.match(text, /- Signature: \*\*changed\*\*/);
  assert.match(text, /- Config: same/);
  assert.match(text, /- Aliases: 1\.0\.0 production; 1\.1\.0 —/);
  assert.match(text, /- Gates of 1\.0\.0: none recorded/);
  assert.match(text, /- Gates of 1\.1\.0: passed/);
  assert.match(
    text,
    /- Data: \*\*different\*\* — 1\.0\.0 data\/weather\.csv \(abababababab\); 1\.1\.0 \.modelops\/traffic\/t\.csv \(cdcdcdcdcdcd\): each version's metrics come from its own test split/,
  );
});

test('governance: history escapes what users wrote and says a broken trail cannot be trusted', () => {
  const text = historyMarkdown({
    ref: 'weather@1.0.0',
    entries: [entry({ actor: 'ana|bob', alias: 'production', after: { version: '1.0.0', reason: 'a | b\nc' } })],
    verification: {
      ok: false,
      entries: 0,
      head: null,
      firstBad: { seq: 1, problem: 'hash mismatch', entry: null },
      anchor: 'checked',
    },
  });
  assert.match(text, /\*\*Audit trail BROKEN\*\* at entry #1: hash mismatch/);
  const row = text.split('\n').find((l) => l.startsWith('| 1 |'));
  assert.ok(row, text);
  // One row of six cells: the pipes and the newline users wrote do not split it.
  assert.equal(row.split(/(?<!\\)\|/).length - 2, 6, row);
  assert.match(row, /ana\\\|bob/);
  assert.match(row, /a \\\| b c \|$/);
  assert.equal(
    approveCommandLine(version(), 'production'),
    'modelops approve weather@1.0.0 --for production --comment "<what you reviewed>"',
  );
  assert.equal(ref(version()), 'weather@1.0.0');
  assert.match(
    gateSummary(version({ gates: { passed: false, results: [], evaluatedAt: 'x', override: null } })),
    /fail/i,
  );
});

test('optimize: the Prune… inputs accept a sparsity strictly inside (0, 1) and whole epochs 0…10000', () => {
  for (const ok of ['0.5', ' 0.01 ', '0.99']) assert.equal(sparsityProblem(ok), undefined, ok);
  for (const bad of ['', 'x', '0', '1', '-0.1', 'NaN']) assert.ok(sparsityProblem(bad), bad);
  for (const ok of ['0', '2', '10000']) assert.equal(epochsProblem(ok), undefined, ok);
  for (const bad of ['', '1.5', '-1', '10001', 'two']) assert.ok(epochsProblem(bad), bad);
});
