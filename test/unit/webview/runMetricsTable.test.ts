import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunMetricsData } from '../../../webview/protocol';
import {
  allSteps,
  metricColumns,
  metricGroups,
  metricNames,
  runMetricsCsv,
  runMetricsTable,
  seriesOf,
} from '../../../webview/charts/runMetricsTable';

/** Two runs with different steps and metrics; a label CSV must quote; a diverged epoch (NaN, ∞). */
const data = (): RunMetricsData => ({
  runs: [
    {
      runId: 'r1',
      label: 'run, "one"',
      points: [
        { step: 1, metrics: { accuracy: 0.8, val_loss: 0.6, loss: 0.5 } },
        { step: 2, metrics: { loss: NaN, val_loss: Infinity, accuracy: 0.85 } },
      ],
    },
    {
      runId: 'r2',
      label: 'two',
      points: [
        { step: 2, metrics: { val_accuracy: 0.7, loss: 0.4 } },
        { step: 3, metrics: { loss: 0.3 } },
      ],
    },
  ],
});

test('metric groups: loss first, then as first seen; x before val_x; the configured list when given', () => {
  assert.deepEqual(metricGroups(data()), [
    { name: 'loss', metrics: ['loss', 'val_loss'] },
    { name: 'accuracy', metrics: ['accuracy', 'val_accuracy'] },
  ]);
  assert.deepEqual(metricNames(data()), ['loss', 'val_loss', 'accuracy', 'val_accuracy']);
  assert.deepEqual(metricGroups({ ...data(), metrics: ['val_accuracy', 'accuracy'] }), [
    { name: 'accuracy', metrics: ['accuracy', 'val_accuracy'] },
  ]);
  assert.deepEqual(metricGroups({ runs: [] }), []);
});

test('run metrics CSV: a line per run and epoch; quoted labels; missing and non-finite values empty', () => {
  assert.equal(
    runMetricsCsv(data()),
    [
      'run_id,run,epoch,loss,val_loss,accuracy,val_accuracy',
      'r1,"run, ""one""",1,0.5,0.6,0.8,',
      'r1,"run, ""one""",2,,,0.85,',
      'r2,two,2,0.4,,,0.7',
      'r2,two,3,0.3,,,',
      '',
    ].join('\n'),
  );
  assert.equal(runMetricsCsv({ runs: [] }), 'run_id,run,epoch\n');
  assert.equal(
    runMetricsCsv({ runs: [{ runId: 'r\n3', label: 'x', points: [{ step: 1, metrics: { loss: 1 } }] }] }),
    'run_id,run,epoch,loss\n"r\n3",x,1,1\n',
  );
});

test('run metrics table: a row per run and epoch, numbers as they are, a metric the epoch lacks is null', () => {
  const t = runMetricsTable(data());
  assert.equal(t.caption, 'Metrics per epoch');
  assert.deepEqual(t.headers, ['run · epoch', 'loss', 'val_loss', 'accuracy', 'val_accuracy']);
  assert.deepEqual(t.rows, [
    ['run, "one" · epoch 1', 0.5, 0.6, 0.8, null],
    ['run, "one" · epoch 2', NaN, Infinity, 0.85, null],
    ['two · epoch 2', 0.4, null, null, 0.7],
    ['two · epoch 3', 0.3, null, null, null],
  ]);
  assert.deepEqual(runMetricsTable(data(), ['loss']).headers, ['run · epoch', 'loss']);
  assert.deepEqual(runMetricsTable({ runs: [] }).rows, []);
});

test('columns: the union of steps, ascending; a gap (null) where a run has no finite value', () => {
  const d = data();
  assert.deepEqual(allSteps(d.runs), [1, 2, 3]);
  const series = seriesOf(d, ['loss', 'val_loss']);
  assert.deepEqual(series, [
    { run: 0, metric: 'loss' },
    { run: 0, metric: 'val_loss' },
    { run: 1, metric: 'loss' },
    { run: 1, metric: 'val_loss' },
  ]);
  assert.deepEqual(metricColumns(d, series), {
    steps: [1, 2, 3],
    columns: [
      [0.5, null, null],
      [0.6, null, null],
      [null, 0.4, 0.3],
      [null, null, null],
    ],
  });
  assert.deepEqual(metricColumns({ runs: [] }, []), { steps: [], columns: [] });
});
