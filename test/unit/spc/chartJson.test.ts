import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chartCommand } from '../../../server/cli/commands/chart';
import type { CliIO } from '../../../server/cli/command';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'modelops-chart-json-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function io(): CliIO & { stdout: string[] } {
  const stdout: string[] = [];
  return { cwd: dir, out: (t) => stdout.push(t), err: () => undefined, isTTY: false, env: {}, stdout };
}

interface PointJson {
  value: number;
  n: number | null;
  std: number;
  ucl: number;
  lcl: number;
  estimated?: number | null;
}

test('chart control --p-chart --json prints the chart without --out: σ and limits per window agree with p̄ and each n', async () => {
  const values = [
    { value: 0.9, n: 100 },
    { value: 0.92, n: 50 },
    { value: 0.88, n: 200 },
    { value: 0.91, n: 100, estimated: 0.9 },
    { value: 0.6, n: 25 },
  ];
  writeFileSync(join(dir, 'p.json'), JSON.stringify(values));
  const out = io();
  assert.equal(
    await chartCommand.run(['control', '--values', 'p.json', '--p-chart', '--baseline', '4', '--json'], out),
    0,
  );
  assert.deepEqual(readdirSync(dir), ['p.json'], 'no file written');
  const j = JSON.parse(out.stdout.join('')) as {
    chart: string;
    centre: number;
    std: number | null;
    ucl: number | null;
    sigmaEstimator: string;
    side: string;
    points: PointJson[];
  };
  assert.equal(j.chart, 'p');
  assert.equal(j.sigmaEstimator, 'binomial');
  assert.equal(j.side, 'both');
  // Unequal windows: no single σ or limit is claimed for the chart.
  assert.equal(j.std, null);
  assert.equal(j.ucl, null);
  const pbar = (0.9 * 100 + 0.92 * 50 + 0.88 * 200 + 0.91 * 100) / 450;
  assert.ok(Math.abs(j.centre - pbar) < 1e-12);
  j.points.forEach((p, i) => {
    const sd = Math.sqrt((pbar * (1 - pbar)) / values[i].n);
    assert.equal(p.n, values[i].n);
    assert.ok(Math.abs(p.std - sd) < 1e-12, `point ${i} σ ${p.std} vs ${sd}`);
    assert.ok(Math.abs(p.ucl - Math.min(1, pbar + 3 * sd)) < 1e-12);
    assert.ok(Math.abs(p.lcl - Math.max(0, pbar - 3 * sd)) < 1e-12);
  });
  assert.equal(j.points[3].estimated, 0.9);
  assert.equal(j.points[0].estimated, null);
});

test('chart control --json on an individuals chart: the σ estimator and the side are options, said in the JSON', async () => {
  writeFileSync(join(dir, 'v.json'), JSON.stringify([1, 3, 2, 4, 2.5, -9, 12]));
  const out = io();
  assert.equal(
    await chartCommand.run(
      ['control', '--values', 'v.json', '--baseline', '4', '--estimator', 'movingRange', '--side', 'lower', '--json'],
      out,
    ),
    0,
  );
  const j = JSON.parse(out.stdout.join('')) as {
    std: number;
    sigmaEstimator: string;
    side: string;
    violations: Array<{ index: number; side: string }>;
  };
  assert.equal(j.sigmaEstimator, 'movingRange');
  assert.ok(Math.abs(j.std - 5 / 3 / 1.128) < 1e-12);
  assert.equal(j.side, 'lower');
  assert.deepEqual(
    j.violations.map((v) => v.side),
    ['below'],
    'the rise at 12 is not reported on a lower-sided chart',
  );
  assert.equal(existsSync(join(dir, 'report.html')), false);
});

test("chart control --estimated-by names the estimate's method in the JSON and the report; a wrong one is refused", async () => {
  writeFileSync(join(dir, 'e.json'), JSON.stringify([{ value: 1.2, estimated: 1.1 }, 1.3, 1.1, 1.25, 1.4]));
  const out = io();
  assert.equal(
    await chartCommand.run(
      ['control', '--values', 'e.json', '--metric', 'mae', '--estimated-by', 'cbpe', '--json'],
      out,
    ),
    0,
  );
  assert.equal((JSON.parse(out.stdout.join('')) as { estimatedBy?: string }).estimatedBy, 'cbpe');
  const html = join(dir, 'e.html');
  assert.equal(
    await chartCommand.run(['control', '--values', 'e.json', '--estimated-by', 'dle', '--out', html], io()),
    0,
  );
  // The report's chart data carries the method (the page labels the dashed series from it).
  assert.match(readFileSync(html, 'utf8'), /"estimatedBy":"dle"/);
  await assert.rejects(
    chartCommand.run(['control', '--values', 'e.json', '--estimated-by', 'nannyml', '--json'], io()),
    /--estimated-by must be cbpe or dle \(got "nannyml"\)/,
  );
});
