import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRegistry } from '../../../server/engine/registry';
import { writeOnnxBundle } from '../../../server/engine/runtime';
import { explainCommand } from '../../../server/cli/commands/explain';
import { importancePath, readStoredImportance } from '../../../server/engine/explain';

const FIX = join(__dirname, '..', '..', 'fixtures', 'onnx');

test('modelops explain: rows of the test split, global importance stored with the version, --json', async () => {
  const root = mkdtempSync(join(tmpdir(), 'modelops-explain-cli-'));
  try {
    mkdirSync(join(root, 'data'));
    copyFileSync(
      join(__dirname, '..', '..', '..', 'examples', 'sample', 'data', 'seattle-weather.csv'),
      join(root, 'data', 'seattle-weather.csv'),
    );
    writeFileSync(
      join(root, 'modelops.yaml'),
      `version: 1
project: explain
data:
  train: data/seattle-weather.csv
  target: weather
  features: [precipitation, temp_max, temp_min, wind]
  split: { train: 0.7, validation: 0.15, test: 0.15, seed: 42 }
model:
  name: weather
  task: classification
  framework: onnx
  path: bundle/model.onnx
`,
    );
    const registry = openRegistry(root);
    await writeOnnxBundle(join(root, 'bundle'), join(FIX, 'weather-mlp-v1.onnx'), { target: 'weather' });
    const v = await registry.registerVersion({ model: 'weather', source: join(root, 'bundle') });
    registry.close();
    const ref = `${v.model}@${v.version}`;
    const out: string[] = [];
    const io = { cwd: root, out: (t: string) => out.push(t), err: () => undefined, isTTY: false, env: {} };

    assert.equal(await explainCommand.run([ref, '--rows', '0,5', '--background', '20', '--json'], io), 0);
    const j = JSON.parse(out.join('\n')) as {
      rowIds: string[];
      shap: { base: number[]; background: number; rows: Array<{ output: number[]; values: number[][] }> };
      stored: string | null;
    };
    assert.deepEqual(j.rowIds, ['0', '5']);
    assert.equal(j.shap.background, 20);
    assert.equal(j.stored, null);
    for (const row of j.shap.rows)
      for (let c = 0; c < 5; c++)
        assert.ok(Math.abs(j.shap.base[c] + row.values.reduce((a, x) => a + x[c], 0) - row.output[c]) < 1e-6);

    out.length = 0;
    assert.equal(await explainCommand.run([ref, '--background', '10', '--repeats', '2'], io), 0);
    const text = out.join('\n');
    assert.match(text, /exact Shapley values of \d+ row\(s\)/);
    assert.match(text, /global importance/);
    assert.ok(existsSync(importancePath(root, 'weather', v.version)));
    const stored = JSON.parse(readFileSync(importancePath(root, 'weather', v.version), 'utf8')) as {
      artifactDigest: string;
      permutation: { repeats: number };
    };
    assert.equal(stored.artifactDigest, v.artifactDigest);
    assert.equal(stored.permutation.repeats, 2);
    const reg = openRegistry(root);
    try {
      assert.notEqual(await readStoredImportance(reg, ref), null);
    } finally {
      reg.close();
    }

    await assert.rejects(explainCommand.run([ref, '--rows', '99999'], io), /Row 99999 is not in/);
    await assert.rejects(explainCommand.run([ref, '--rows', 'a'], io), /0-based row indexes/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
