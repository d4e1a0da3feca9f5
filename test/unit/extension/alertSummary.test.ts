import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertBurst, type BurstItem } from '../../../extension/services/alertBurst';
import { alertBreakdown, alertKind, burstMessage, summariseAlerts } from '../../../extension/text/alerts';
import { datasetDescription, datasetTooltip, storedState } from '../../../extension/tree/datasets';
import {
  estimateCaveat,
  formatBytes,
  predictionsFileName,
  predictionSummaryText,
  unpredictedText,
} from '../../../shared/format';
import { alertCounts } from '../../../server/lsp/handlers/monitoring';
import type { AlertRecord, DeploymentRecord } from '../../../server/engine/registry/types';
import type { DatasetInfo } from '../../../server/protocol/monitoring';

const item = (key: string, rule: string, over: Partial<BurstItem> = {}): BurstItem => ({
  key,
  target: 'production',
  model: 'weather',
  version: '1.1.0',
  rule,
  message: `${rule} broke`,
  ...over,
});

test('alerts are summarised by kind, in a fixed order', () => {
  assert.equal(alertKind('we1'), 'control chart');
  assert.equal(alertKind('cbpe:we2'), 'estimated performance');
  assert.equal(alertKind('drift:temp_max'), 'drift');
  assert.equal(alertKind('drift:predictions'), 'drift');
  assert.equal(alertKind('something'), 'other');
  const rules = [
    'drift:a',
    'we1',
    'drift:b',
    'we2',
    'drift:c',
    'drift:d',
    'drift:e',
    'we3',
    'drift:f',
    'drift:g',
    'drift:h',
    'we4',
  ];
  assert.equal(summariseAlerts(rules.map((rule) => ({ rule }))), '12 new alerts: 4 control chart, 8 drift');
  assert.equal(
    summariseAlerts([{ rule: 'we1' }, { rule: 'we2' }, { rule: 'drift:x' }], 'production'),
    '3 new alerts on production: 2 control chart, 1 drift',
  );
  assert.equal(summariseAlerts([{ rule: 'cbpe:we1' }], 'staging'), '1 new alert on staging: 1 estimated performance');
  assert.equal(alertBreakdown([]), '');
});

test('a burst is flushed once per target after a quiet time; the same alert twice is one entry with the live outcome', async () => {
  const flushed: Array<{ target: string; items: BurstItem[] }> = [];
  const burst = new AlertBurst((target, items) => flushed.push({ target, items }), { quietMs: 40, maxWaitMs: 1000 });
  burst.add(item('id:1', 'we1'));
  burst.add(item('id:2', 'drift:temp_max'));
  burst.add(item('id:3', 'drift:wind', { target: 'staging' }));
  // The registry path first, then the live notification of the same alert with what monitor.on did.
  burst.add(
    item('id:1', 'we1', {
      outcome: {
        action: 'rollback',
        ok: true,
        detail: "rolled back weather on 'production' from 1.1.0 to 1.0.0 (deployment #4)",
        rolledBackTo: '1.0.0',
      },
    }),
  );
  burst.add(item('id:2', 'drift:temp_max'));
  assert.equal(flushed.length, 0, 'nothing is shown while alerts keep coming');
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(
    flushed.map((f) => [f.target, f.items.map((i) => i.key)]),
    [
      ['production', ['id:1', 'id:2']],
      ['staging', ['id:3']],
    ],
  );
  const prod = flushed[0].items;
  assert.equal(prod[0].outcome?.rolledBackTo, '1.0.0', 'the later copy without an outcome does not erase it');
  assert.equal(
    burstMessage('production', prod),
    "ModelOps: 2 new alerts on production: 1 control chart, 1 drift. monitor.on: rolled back weather on 'production' from 1.1.0 to 1.0.0 (deployment #4).",
  );
  assert.equal(
    burstMessage('staging', flushed[1].items),
    'ModelOps: 1 new alert on staging: 1 drift. weather@1.1.0: drift:wind broke.',
  );
  burst.dispose();
});

test('a burst that never goes quiet is still shown after maxWaitMs; a removed alert is not shown', async () => {
  const flushed: BurstItem[][] = [];
  const burst = new AlertBurst((_t, items) => flushed.push(items), { quietMs: 60, maxWaitMs: 150 });
  burst.add(item('id:9', 'we1'));
  burst.remove('id:9');
  for (let i = 0; i < 8; i++) {
    burst.add(item(`id:${i}`, 'drift:x'));
    await new Promise((r) => setTimeout(r, 30));
  }
  assert.ok(flushed.length >= 1, 'shown before the stream of alerts stopped');
  assert.ok(!flushed.flat().some((i) => i.key === 'id:9'));
  burst.dispose();
});

test('alert counts belong to the version serving now, since its deployment; a rollback starts over', () => {
  const dep = (id: number, version: string, at: string, status: DeploymentRecord['status']): DeploymentRecord => ({
    id,
    target: 'production',
    model: 'weather',
    version,
    status,
    previousVersion: null,
    at,
    steps: [],
    reason: null,
  });
  const alert = (id: number, version: string, at: string): AlertRecord => ({
    id,
    target: 'production',
    model: 'weather',
    version,
    rule: 'we1',
    metric: 'accuracy',
    message: 'm',
    at,
    acknowledged: false,
  });
  const alerts = [
    alert(1, '1.0.0', '2026-01-01T10:00:00.000Z'),
    alert(2, '1.1.0', '2026-01-02T10:00:00.000Z'),
    alert(3, '1.1.0', '2026-01-02T11:00:00.000Z'),
  ];
  const registry = (deployments: DeploymentRecord[]) => ({
    listDeployments: () => deployments,
    listAlerts: () => alerts,
  });
  // 1.1.0 deployed on the 2nd: its two alerts count.
  const before = alertCounts(
    registry([
      dep(2, '1.1.0', '2026-01-02T09:00:00.000Z', 'active'),
      dep(1, '1.0.0', '2026-01-01T09:00:00.000Z', 'superseded'),
    ]),
  );
  assert.deepEqual(before, [
    {
      target: 'production',
      model: 'weather',
      version: '1.1.0',
      since: '2026-01-02T09:00:00.000Z',
      sinceDeploy: 2,
      byVersion: { '1.0.0': 1, '1.1.0': 2 },
    },
  ]);
  // Rolled back to 1.0.0 afterwards: its old alert from before the rollback does not count, the per-version totals stay.
  const after = alertCounts(
    registry([
      dep(3, '1.0.0', '2026-01-02T12:00:00.000Z', 'active'),
      dep(2, '1.1.0', '2026-01-02T09:00:00.000Z', 'rolled-back'),
    ]),
  );
  assert.equal(after[0].version, '1.0.0');
  assert.equal(after[0].sinceDeploy, 0);
  assert.deepEqual(after[0].byVersion, { '1.0.0': 1, '1.1.0': 2 });
});

test('the Datasets node says rows, size, whether the bytes are stored and which versions used the data', () => {
  const d: DatasetInfo = {
    digest: `sha256:${'ab'.repeat(32)}`,
    path: 'data/weather.csv',
    rows: 1461,
    columns: [
      { name: 'temp_max', type: 'number' },
      { name: 'weather', type: 'string' },
    ],
    createdAt: '2026-01-01T00:00:00.000Z',
    stored: { size: 48_640, chunkCount: 3, storedAt: '2026-01-01T00:00:00.000Z' },
    freedAt: null,
    usedBy: [
      {
        model: 'weather',
        version: '1.0.0',
        role: 'train',
        path: 'data/weather.csv',
        aliases: ['production'],
        archived: false,
      },
      {
        model: 'weather',
        version: '1.0.0',
        role: 'validation',
        path: 'data/weather.csv',
        aliases: ['production'],
        archived: false,
      },
      { model: 'weather', version: '1.1.0', role: 'train', path: 'data/weather.csv', aliases: [], archived: false },
    ],
  };
  assert.equal(datasetDescription(d), '1,461 rows · 47.5 KiB · stored · 2 versions');
  const tip = datasetTooltip(d);
  assert.match(tip, /weather@1\.0\.0 — train \(production\)/);
  assert.match(tip, /weather@1\.1\.0 — train/);
  assert.match(tip, /Checkout Dataset/);
  assert.equal(storedState({ stored: null, freedAt: '2026-02-01T00:00:00Z' }), 'freed by gc');
  assert.equal(datasetDescription({ ...d, stored: null, usedBy: [] }), '1,461 rows · digest only · no version');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(5 * 1024 ** 3), '5.0 GiB');
  assert.equal(formatBytes(48_230), '47.1 KiB');
  assert.equal(formatBytes(140 * 1024 ** 2), '140 MiB');
});

test('an estimate on drifted inputs is said to rest on an assumption; without drift nothing is said', () => {
  assert.equal(estimateCaveat({ method: 'cbpe' }, []), '');
  assert.equal(
    estimateCaveat({ method: 'cbpe' }, ['temp_max']),
    "the CBPE estimate assumes the model's probabilities stay calibrated on the drifted inputs (temp_max): confirm it with labels",
  );
  assert.match(
    estimateCaveat({ method: 'dle' }, ['a', 'b']),
    /the DLE estimate assumes its loss model still holds on the drifted inputs \(a, b\)/,
  );
});

test('batch predictions in words: class shares, a regression range, rows without a prediction', () => {
  assert.equal(
    predictionSummaryText({ predicted: 400, summary: { classes: { sun: 240, rain: 159, fog: 1, snow: 0 } } }),
    'sun 60% · rain 40% · fog <1%',
  );
  assert.equal(
    predictionSummaryText({ predicted: 3, summary: { min: 0.5, max: 9.75, mean: 3.123456 } }),
    'mean 3.123 (min 0.5, max 9.75)',
  );
  assert.equal(predictionSummaryText({ predicted: 0, summary: { min: null, max: null, mean: null } }), '');
  assert.equal(unpredictedText({ rows: 0, lines: [] }), '');
  assert.equal(
    unpredictedText({ rows: 1, lines: [7] }),
    '1 row without a prediction (a missing feature the version does not impute: line 7)',
  );
  assert.match(unpredictedText({ rows: 12, lines: [2, 3] }), /^12 rows without a prediction .*lines 2, 3, …\)$/);
  assert.equal(predictionsFileName('days.csv'), 'days.predictions.csv');
  assert.equal(predictionsFileName('.hidden'), '.hidden.predictions.csv');
});
