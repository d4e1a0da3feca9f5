/** Fixture data for the chart tests and the benchmark. */
import { buildControlChart } from '../../server/engine/spc';
import type { StudyRecord, TrialRecord } from '../../server/engine/registry/studies';
import type {
  CompareData,
  ConfusionData,
  DriftData,
  ExplainData,
  FairnessData,
  RunMetricsData,
} from '../../webview/protocol';

/** Baseline 8, 10, 12 → μ 10, σ 2, UCL 16, LCL 4; violations: rule 1 at 3, rule 2 at 5 and 7. */
export function controlFixture() {
  const values = [8, 10, 12, 17, 10, 14.5, 11, 14.2, 9];
  return buildControlChart(
    values.map((value, i) => ({ value, n: 50, start: `2025-01-0${i + 1}T00:00Z`, end: `2025-01-0${i + 1}T23:59Z` })),
    { baseline: 3, metric: 'latency_ms' },
  );
}

/** A deterministic in-control series of `n` points (a few spikes for markers). */
export function largeControl(n: number) {
  let s = 42;
  const rand = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const values = Array.from({ length: n }, (_, i) => {
    const u = rand() + rand() + rand() - 1.5; // roughly normal, σ ≈ 0.5
    return 0.9 + 0.02 * u + (i % 5000 === 4999 ? 0.08 : 0);
  });
  return buildControlChart(
    values.map((value) => ({ value })),
    { baseline: Math.min(100, n), metric: 'accuracy' },
  );
}

export function runsFixture(): RunMetricsData {
  const run = (id: string, offset: number, epochs: number) => ({
    runId: id,
    label: `run ${id}`,
    status: 'succeeded' as const,
    points: Array.from({ length: epochs }, (_, e) => ({
      step: e + 1,
      metrics: {
        loss: 1 / (e + 1) + offset,
        val_loss: 1.1 / (e + 1) + offset,
        accuracy: 0.5 + e * 0.08 - offset,
        val_accuracy: 0.48 + e * 0.07 - offset,
      },
    })),
  });
  return { runs: [run('a1', 0, 5), run('b2', 0.05, 4)] };
}

export function compareFixture(): CompareData {
  return {
    versions: ['weather@1.0.0', 'weather@1.1.0', 'weather@2.0.0'],
    metrics: [
      { name: 'accuracy', values: [0.81, 0.84, 0.86] },
      { name: 'f1_macro', values: [0.62, 0.66, 0.7] },
      { name: 'precision_macro', values: [0.65, null, 0.72] },
      { name: 'log_loss', values: [0.55, 0.49, 0.45] },
    ],
  };
}

export function confusionFixture(): ConfusionData {
  return {
    labels: ['rain', 'sun', 'fog'],
    matrix: [
      [5, 1, 0],
      [2, 6, 2],
      [0, 0, 4],
    ],
  };
}

export function driftFixture(): DriftData {
  return {
    method: 'psi',
    threshold: 0.2,
    features: [
      { feature: 'temp_max', score: 0.31 },
      { feature: 'precipitation', score: 0.05 },
      { feature: 'wind', score: 0.12, threshold: 0.1 },
    ],
    window: { start: '2025-02-01T00:00Z', end: '2025-02-02T00:00Z', size: 100 },
  };
}

/**
 * A linear model f(x) = 0.5 + 0.3·temp − 0.1·wind + 0·rain with background means 0: φ_i = w_i·x_i,
 * so every row's values and its output are known by hand. Two outputs (p, 1 − p) as a binary classifier.
 */
export function explainFixture(): ExplainData {
  const w = [0.3, -0.1, 0];
  const xs = [
    [1, 2, 5],
    [-1, 0.5, 3],
    [0.5, -2, 1],
  ];
  return {
    ref: 'weather@1.0.0',
    data: 'data/w.csv (test split)',
    method: 'exact',
    features: ['temp', 'wind', 'rain'],
    outputs: ['sun', 'rain'],
    base: [0.5, 0.5],
    background: 10,
    rows: xs.map((x, j) => {
      const phi = x.map((v, i) => w[i] * v);
      const p = 0.5 + phi.reduce((a, b) => a + b, 0);
      return { id: String(j), input: x.map(String), output: [p, 1 - p], values: phi.map((v) => [v, -v]) };
    }),
    meanAbsShap: null,
    permutation: {
      metric: 'accuracy',
      baseline: 0.9,
      repeats: 5,
      features: [
        { feature: 'temp', mean: 0.2, std: 0.02 },
        { feature: 'wind', mean: 0.05, std: 0.01 },
        { feature: 'rain', mean: 0, std: 0 },
      ],
    },
  };
}

/** Three groups by sex, one below the minimum group size, and a failing fairness gate. */
export function fairnessFixture(): FairnessData {
  return {
    ref: 'credit@1.0.0',
    data: 'data/credit.csv (test split)',
    minGroupSize: 30,
    metrics: ['accuracy', 'recall_macro'],
    breakdowns: [
      {
        by: ['sex'],
        groups: [
          { name: 'sex=F', count: 120, small: false, values: { accuracy: 0.8, recall_macro: 0.7 } },
          { name: 'sex=M', count: 100, small: false, values: { accuracy: 0.9, recall_macro: 0.75 } },
          { name: 'sex=(missing)', count: 4, small: true, values: { accuracy: 0.25, recall_macro: null } },
        ],
        gaps: {
          accuracy: { difference: 0.1, ratio: 0.8 / 0.9 },
          recall_macro: { difference: 0.05, ratio: 0.7 / 0.75 },
        },
      },
    ],
    fairness: [
      { name: 'demographic_parity_difference', value: 0.12, gate: '<= 0.1', passed: false },
      { name: 'equalized_odds_difference', value: 0.04 },
    ],
    notes: ['sex=(missing) has 4 rows (< 30): left out of the gaps'],
  };
}

/**
 * A tuning study of six trials (completed, pruned, failed) over an activation choice and a
 * log-uniform learning rate; the objective depends on the activation only (relu 0.8, tanh 0.6).
 */
export function studyRecords(): {
  study: StudyRecord;
  trial: (
    number: number,
    status: TrialRecord['status'],
    activation: string,
    learningRate: number,
    value: number | null,
    epochs?: number,
  ) => TrialRecord;
  trials: TrialRecord[];
} {
  const study: StudyRecord = {
    id: 'study-20261127-0915-abc123',
    model: 'weather',
    status: 'running',
    sampler: 'tpe',
    metric: 'val_accuracy',
    direction: 'maximize',
    space: JSON.stringify({
      activation: { type: 'choice', values: ['relu', 'tanh'] },
      learningRate: { type: 'loguniform', low: 0.001, high: 0.1 },
    }),
    settings: { seed: 1, budget: { trials: 8 } },
    configPath: null,
    configDigest: null,
    createdAt: '2026-11-27T09:15:00.000Z',
    finishedAt: null,
    error: null,
    registeredVersion: null,
  };

  const trial = (
    number: number,
    status: TrialRecord['status'],
    activation: string,
    learningRate: number,
    value: number | null,
    epochs = 3,
  ): TrialRecord => ({
    studyId: study.id,
    number,
    status,
    params: { activation, learningRate },
    value,
    intermediate: Array.from({ length: epochs }, (_, i) => (value === null ? null : value - 0.01 * (epochs - 1 - i))),
    epochs,
    runId: `run-${number}`,
    error: status === 'failed' ? 'loss became NaN at epoch 2' : null,
    startedAt: study.createdAt,
    finishedAt: status === 'running' ? null : study.createdAt,
  });

  // The objective depends on the activation only: relu 0.8, tanh 0.6 (η² of activation = 1).
  const trials: TrialRecord[] = [
    trial(0, 'completed', 'tanh', 0.002, 0.6),
    trial(1, 'completed', 'relu', 0.05, 0.8),
    trial(2, 'pruned', 'tanh', 0.01, 0.55, 2),
    trial(3, 'failed', 'relu', 0.09, null, 2),
    trial(4, 'completed', 'tanh', 0.03, 0.6),
    trial(5, 'completed', 'relu', 0.004, 0.8),
  ];
  return { study, trial, trials };
}
