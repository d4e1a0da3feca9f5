import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chartCommand } from '../../../server/cli/commands/chart';
import type { CliIO } from '../../../server/cli/command';
import { isModelOpsError } from '../../../server/engine/errors';
import { locateWebviewBundle } from '../../../server/report';
import { openRegistry } from '../../../server/engine/registry';
import { REPORT_DATA_ELEMENT_ID, type InitMessage } from '../../../webview/protocol';
import { unpackNumberColumns } from '../../../webview/packed';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'modelops-chart-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function io(): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { cwd: dir, out: (t) => stdout.push(t), err: (t) => stderr.push(t), isTTY: false, env: {}, stdout, stderr };
}

/** The init message inlined in a report, read as the page reads it. */
function inlined(path: string): InitMessage {
  const html = readFileSync(path, 'utf8');
  const m = new RegExp(`<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">(.*?)</script>`, 's').exec(html);
  assert.ok(m, 'report has inlined data');
  return unpackNumberColumns(JSON.parse(m[1])) as InitMessage;
}

test('the renderer bundle is found (run `npm run build` first), and a clear error names the fix when it is not', () => {
  assert.match(locateWebviewBundle(), /dist[\\/]webview\.js$/);
  assert.throws(
    () => locateWebviewBundle([join(dir, 'nope.js')]),
    (e) =>
      isModelOpsError(e) && /dist\/webview\.js was not found/.test(e.message) && /npm run build/.test(e.hint ?? ''),
  );
});

test('chart control from CSV: self-contained page, limits from the baseline, path printed', async () => {
  writeFileSync(join(dir, 'acc.csv'), 'value,n,start,end\n8,50,a,b\n10,50,c,d\n12,50,e,f\n17,50,g,h\n10,50,,\n');
  const o = io();
  const code = await chartCommand.run(
    ['control', '--values', 'acc.csv', '--baseline', '3', '--metric', 'accuracy', '--out', 'out/control.html'],
    o,
  );
  assert.equal(code, 0);
  assert.equal(o.stdout[0], join(dir, 'out/control.html'));
  assert.match(o.stderr[0], /5 points, μ 10\.0000, σ 2\.00000, 1 violation\(s\) of rule 1/);
  const html = readFileSync(o.stdout[0], 'utf8');
  assert.match(
    html,
    /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'nonce-[^']+'; script-src 'nonce-[^']+'">/,
  );
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=/);
  const init = inlined(o.stdout[0]);
  assert.equal(init.kind, 'control');
  if (init.kind !== 'control') return;
  assert.equal(init.data.limits?.ucl, 16);
  assert.deepEqual(init.data.values, [8, 10, 12, 17, 10]);
  assert.deepEqual(init.data.start, ['a', 'c', 'e', 'g', null]);
  assert.deepEqual(
    init.data.violations.map((v) => [v.index, v.rule]),
    [[3, 1]],
  );
});

test('chart control from JSON with an explicit baseline and --json output', async () => {
  writeFileSync(join(dir, 'v.json'), JSON.stringify({ values: [0.9, 0.91, 0.6] }));
  const o = io();
  assert.equal(
    await chartCommand.run(
      ['control', '--values', 'v.json', '--mean', '0.9', '--std', '0.01', '--rules', '1', '--out', 'j.html', '--json'],
      o,
    ),
    0,
  );
  const r = JSON.parse(o.stdout.join('\n')) as { path: string; ucl: number; violations: Array<{ index: number }> };
  assert.ok(Math.abs(r.ucl - 0.93) < 1e-12);
  assert.deepEqual(
    r.violations.map((v) => v.index),
    [2],
  );
});

test('chart control errors name the file and row, or the missing flag', async () => {
  writeFileSync(join(dir, 'bad.csv'), 'value\n1\nabc\n');
  await assert.rejects(
    chartCommand.run(['control', '--values', 'bad.csv', '--out', 'x.html'], io()),
    (e) => isModelOpsError(e) && /bad\.csv: row 3, column "value" is "abc"/.test(e.message),
  );
  await assert.rejects(
    chartCommand.run(['control', '--values', 'bad.csv'], io()),
    (e) => isModelOpsError(e) && /Missing --out/.test(e.message),
  );
  writeFileSync(join(dir, 'short.json'), '[1,2]');
  await assert.rejects(
    chartCommand.run(['control', '--values', 'short.json', '--baseline', '5', '--out', 'x.html'], io()),
    (e) => isModelOpsError(e) && /first 5 points/.test(e.message),
  );
  await assert.rejects(
    chartCommand.run(['pie', '--out', 'x.html'], io()),
    (e) => isModelOpsError(e) && /Unknown chart 'pie'/.test(e.message),
  );
});

test('chart metrics and compare read runs and versions from the workspace store', async () => {
  const ws = join(dir, 'ws');
  const reg = openRegistry(ws);
  let runId: string;
  try {
    const run = reg.createRun({ kind: 'train', model: 'weather', params: {} });
    runId = run.id;
    for (let e = 1; e <= 3; e++) reg.appendRunMetrics(run.id, e, { loss: 1 / e, accuracy: 0.5 + e / 10 });
    reg.finishRun(run.id, { status: 'succeeded' });
    writeFileSync(join(dir, 'model-a.bin'), 'weights a');
    writeFileSync(join(dir, 'model-b.bin'), 'weights b');
    await reg.registerVersion({
      model: 'weather',
      source: join(dir, 'model-a.bin'),
      version: '1.0.0',
      metrics: { accuracy: 0.8, f1_macro: 0.6 },
      runId: run.id,
    });
    await reg.registerVersion({
      model: 'weather',
      source: join(dir, 'model-b.bin'),
      version: '1.1.0',
      metrics: { accuracy: 0.85 },
    });
  } finally {
    reg.close();
  }
  const o = io();
  assert.equal(await chartCommand.run(['metrics', runId, '--root', ws, '--out', 'm.html'], o), 0);
  const m = inlined(o.stdout[0]);
  assert.equal(m.kind, 'runMetrics');
  if (m.kind === 'runMetrics')
    assert.deepEqual(
      m.data.runs[0].points.map((p) => p.metrics.loss),
      [1, 0.5, 1 / 3],
    );

  // A version names the run that registered it; one registered from a file has none.
  const byVersion = io();
  assert.equal(await chartCommand.run(['metrics', 'weather@1.0.0', '--root', ws, '--out', 'v.html'], byVersion), 0);
  const v = inlined(byVersion.stdout[0]);
  assert.equal(v.kind === 'runMetrics' && v.data.runs[0].runId, runId);
  await assert.rejects(
    chartCommand.run(['metrics', 'weather@1.1.0', '--root', ws, '--out', 'v.html'], io()),
    (e) => isModelOpsError(e) && /weather@1\.1\.0 records no run/.test(e.message),
  );

  const c = io();
  assert.equal(
    await chartCommand.run(['compare', 'weather@1.0.0', 'weather@1.1.0', '--root', ws, '--out', 'c.html'], c),
    0,
  );
  const d = inlined(c.stdout[0]);
  assert.equal(d.kind, 'compare');
  if (d.kind === 'compare') {
    assert.deepEqual(d.data.versions, ['weather@1.0.0', 'weather@1.1.0']);
    assert.deepEqual(d.data.metrics, [
      { name: 'accuracy', values: [0.8, 0.85] },
      { name: 'f1_macro', values: [0.6, null] },
    ]);
  }
  await assert.rejects(
    chartCommand.run(['compare', 'weather@1.0.0', '--root', ws, '--out', 'c.html'], io()),
    (e) => isModelOpsError(e) && /at least two/.test(e.message),
  );
});
