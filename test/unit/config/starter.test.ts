import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeConfig } from '../../../server/engine/config';
import { initWorkspace } from '../../../server/engine/init';

// Issue 16: "Create modelops.yaml" gave a new user a warning at once (alias-missing for the
// relative gate), as the editor sees it: a registry with no versions, so no alias anywhere.
test("a new user's starter config has no error or warning in an empty registry, only an information on the relative gate", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'modelops-starter-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = initWorkspace(dir);
  const text = readFileSync(r.configPath, 'utf8');
  const diagnostics = analyzeConfig(text, { path: r.configPath, aliasExists: () => false }).diagnostics;
  assert.deepEqual(
    diagnostics.filter((d) => d.severity === 'error' || d.severity === 'warning'),
    [],
  );
  assert.deepEqual(
    diagnostics.map((d) => [d.code, d.severity]),
    [['alias-missing', 'information']],
  );
});

// Issue 16: an invalid metric's message listed all 16 metrics (regression ones for a classifier)
// and "Did you mean" came last, cut off in Problems.
test('an unknown gate metric names only the task’s metrics, "Did you mean" first', () => {
  const base = readFileSync(join(__dirname, '..', '..', '..', 'examples', 'sample', 'modelops.yaml'), 'utf8');
  const text = base.replace(/^(\s+)accuracy: (">= [\d.]+")/m, '$1acuracy: $2');
  assert.notEqual(text, base, 'the sample has an accuracy gate to misspell');
  const d = analyzeConfig(text, { noFileChecks: true }).diagnostics.find((x) => x.code === 'unknown-metric');
  assert.ok(d, 'an unknown-metric diagnostic');
  assert.match(
    d.message,
    /^'acuracy' is not a classification metric\. Did you mean 'accuracy'\? Metrics for classification: /,
  );
  assert.doesNotMatch(d.message, /\brmse\b|\bmae\b|\br2\b/);
  assert.equal(d.data?.suggestion, 'accuracy');
  const regression = text.replace('task: classification', 'task: regression').replace('acuracy', 'rmsee');
  const r = analyzeConfig(regression, { noFileChecks: true }).diagnostics.find((x) => x.code === 'unknown-metric');
  assert.match(r?.message ?? '', /^'rmsee' is not a regression metric\. Did you mean 'rmse'\?/);
  assert.doesNotMatch(r?.message ?? '', /accuracy/);
});
