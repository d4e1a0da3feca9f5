/**
 * Group fairness on the evaluated rows, after Fairlearn's `MetricFrame`: any evaluation metric
 * per group of each sensitive column and of their intersection, with the between-group
 * difference (max − min) and ratio (min / max), and for classifiers
 * `demographic_parity_difference|ratio`, `equalized_odds_difference` and
 * `equal_opportunity_difference` as `fairlearn.metrics` defines them (method "between_groups",
 * agg "worst_case"), over the intersection of the sensitive columns as Fairlearn does when it is
 * given several. Groups below `minGroupSize` are reported with their counts, flagged and left
 * out of every gap, so a gap never rests on a handful of rows or divides by zero.
 */
import { ModelOpsError } from '../errors';
import type { FairnessConfig, FairnessMetric, MetricName, Task } from '../config/types';
import { FAIRNESS_METRICS } from '../config/types';
import type { Row } from '../data/read';
import { isMissingValue } from '../data/preprocess';
import { argmaxRows, classificationMetrics, flattenMetrics, regressionMetrics } from './metrics';

/** The group name of a missing sensitive value. */
export const MISSING_GROUP = '(missing)';

export interface FairnessGroup {
  /** Sensitive column → value, e.g. { sex: "F", age_band: "30-39" }. */
  group: Record<string, string>;
  /** "sex=F, age_band=30-39". */
  name: string;
  count: number;
  /** Below minGroupSize: shown, left out of the gaps. */
  small: boolean;
  /** Per-group value of each requested evaluation metric; null where undefined on this group. */
  values: Record<string, number | null>;
  /** Classification: per class (label order), the share of rows predicted as that class. */
  selectionRate?: number[];
  /** Classification: per class one-vs-rest; null when the group has no rows of that class (TPR) or none of the others (FPR). */
  tpr?: Array<number | null>;
  fpr?: Array<number | null>;
}

export interface Gap {
  /** max − min over the groups that count; null with fewer than two. */
  difference: number | null;
  /** min / max; null with fewer than two groups, a zero max or a negative value. */
  ratio: number | null;
}

export interface FairnessBreakdown {
  /** The sensitive columns grouped by: one, or all of them (the intersection). */
  by: string[];
  groups: FairnessGroup[];
  /** Metric → between-group gap of its per-group values. */
  gaps: Record<string, Gap>;
}

export interface FairnessReport {
  task: Task;
  sensitive: string[];
  minGroupSize: number;
  /** Evaluation metrics reported per group. */
  metrics: MetricName[];
  /** Binary classification: the label treated as positive (the second in label order). */
  positiveLabel: string | null;
  breakdowns: FairnessBreakdown[];
  /** The Fairlearn metrics (classification), over the intersection of the sensitive columns; null when undefined. */
  fairness: Partial<Record<FairnessMetric, number | null>>;
  /** Why a value is missing: too few groups, a group without positives, … */
  notes: string[];
}

export interface FairnessInput {
  task: Task;
  config: FairnessConfig;
  /** The evaluated rows (they carry the sensitive columns even when those are not features). */
  rows: readonly Row[];
  /** Where the rows came from, for errors. */
  source: string;
  /** Classification: label indexes; regression: values. */
  yTrue: ArrayLike<number>;
  /** Classification: predicted label indexes (or null to take the argmax of proba); regression: predictions. */
  yPred: ArrayLike<number> | null;
  labels?: string[];
  /** Classification: n × labels row-major probabilities, for roc_auc and log_loss per group. */
  proba?: ArrayLike<number> | null;
}

export function computeFairness(input: FairnessInput): FairnessReport {
  const { task, config, rows } = input;
  const n = rows.length;
  const labels = input.labels ?? [];
  const k = labels.length;
  for (const col of config.sensitive) {
    if (!rows.some((r) => Object.prototype.hasOwnProperty.call(r, col))) {
      throw new ModelOpsError(
        'missing-column',
        `evaluate.fairness.sensitive: '${col}' is not a column of ${input.source}.`,
        'Add the column to the data file (it need not be a model feature), or remove it from evaluate.fairness.sensitive.',
      );
    }
  }
  const isFairness = (m: string): m is FairnessMetric => (FAIRNESS_METRICS as readonly string[]).includes(m);
  if (task === 'regression') {
    const asked = config.metrics.filter(isFairness);
    if (asked.length)
      throw new ModelOpsError(
        'config-invalid',
        `evaluate.fairness.metrics: ${asked.join(', ')} exist only for classification, and this model is a regression.`,
        'Use regression metrics per group (mae, rmse, r2, …).',
      );
  }
  const metrics = config.metrics.filter((m): m is MetricName => !isFairness(m));
  let yPred: ArrayLike<number>;
  if (input.yPred) yPred = input.yPred;
  else if (task === 'classification' && input.proba) yPred = argmaxRows(input.proba, n, k);
  else throw new ModelOpsError('bad-output', 'Fairness needs the predictions of every row.', 'Report this as a bug.');

  const valueOf = (row: Row, col: string): string => (isMissingValue(row[col]) ? MISSING_GROUP : String(row[col]));
  const notes: string[] = [];
  const breakdown = (by: string[]): FairnessBreakdown => {
    const index = new Map<string, number[]>();
    rows.forEach((row, i) => {
      const key = JSON.stringify(by.map((c) => valueOf(row, c)));
      const list = index.get(key);
      if (list) list.push(i);
      else index.set(key, [i]);
    });
    const groups = [...index.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, idx]) => groupOf(by, JSON.parse(key) as string[], idx));
    const gaps: Record<string, Gap> = {};
    const counted = groups.filter((g) => !g.small);
    for (const m of metrics) gaps[m] = gapOf(counted.map((g) => g.values[m]));
    return { by, groups, gaps };
  };
  const groupOf = (by: string[], values: string[], idx: number[]): FairnessGroup => {
    const group = Object.fromEntries(by.map((c, j) => [c, values[j]]));
    const name = by.map((c, j) => `${c}=${values[j]}`).join(', ');
    const g: FairnessGroup = { group, name, count: idx.length, small: idx.length < config.minGroupSize, values: {} };
    let flat: Record<string, number>;
    if (task === 'classification') {
      const t = Int32Array.from(idx, (i) => input.yTrue[i]);
      const p = Int32Array.from(idx, (i) => yPred[i]);
      const pr = input.proba
        ? Float64Array.from(
            { length: idx.length * k },
            (_, x) => (input.proba as ArrayLike<number>)[idx[Math.floor(x / k)] * k + (x % k)],
          )
        : null;
      flat = flattenMetrics(classificationMetrics(t, p, labels, pr));
      g.selectionRate = [];
      g.tpr = [];
      g.fpr = [];
      for (let c = 0; c < k; c++) {
        let sel = 0,
          pos = 0,
          tp = 0,
          neg = 0,
          fp = 0;
        for (let j = 0; j < t.length; j++) {
          if (p[j] === c) sel++;
          if (t[j] === c) {
            pos++;
            if (p[j] === c) tp++;
          } else {
            neg++;
            if (p[j] === c) fp++;
          }
        }
        g.selectionRate.push(sel / t.length);
        g.tpr.push(pos > 0 ? tp / pos : null);
        g.fpr.push(neg > 0 ? fp / neg : null);
      }
    } else {
      flat = flattenMetrics(
        regressionMetrics(
          Float64Array.from(idx, (i) => input.yTrue[i]),
          Float64Array.from(idx, (i) => yPred[i]),
        ),
      );
    }
    for (const m of metrics) g.values[m] = typeof flat[m] === 'number' && Number.isFinite(flat[m]) ? flat[m] : null;
    return g;
  };

  const breakdowns = config.sensitive.map((c) => breakdown([c]));
  const joint = config.sensitive.length > 1 ? breakdown([...config.sensitive]) : breakdowns[0];
  if (config.sensitive.length > 1) breakdowns.push(joint);
  const counted = joint.groups.filter((g) => !g.small);
  const small = joint.groups.filter((g) => g.small);
  if (small.length)
    notes.push(
      `${small.length} group(s) have fewer than ${config.minGroupSize} rows and are left out of the gaps: ${small.map((g) => `${g.name} (${g.count})`).join('; ')}`,
    );
  if (counted.length < 2)
    notes.push(
      `fewer than two groups of ${config.sensitive.join(' × ')} have at least ${config.minGroupSize} rows, so no gap is computed`,
    );

  const fairness: FairnessReport['fairness'] = {};
  let positiveLabel: string | null = null;
  if (task === 'classification' && k >= 2) {
    // Binary: the positive class only (Fairlearn's pos_label); multiclass: each class one-vs-rest, worst class.
    const classes = k === 2 ? [1] : Array.from({ length: k }, (_, c) => c);
    if (k === 2) positiveLabel = labels[1];
    const worst = (per: (c: number) => Gap, pick: 'difference' | 'ratio'): number | null => {
      let out: number | null = null;
      for (const c of classes) {
        const v = per(c)[pick];
        if (v === null) continue;
        if (out === null || (pick === 'difference' ? v > out : v < out)) out = v;
      }
      return out;
    };
    const rate = (c: number) => gapOf(counted.map((g) => g.selectionRate?.[c] ?? null));
    const tpr = (c: number) => gapOf(counted.map((g) => g.tpr?.[c] ?? null));
    const fpr = (c: number) => gapOf(counted.map((g) => g.fpr?.[c] ?? null));
    fairness.demographic_parity_difference = worst(rate, 'difference');
    fairness.demographic_parity_ratio = counted.length >= 2 ? worst(rate, 'ratio') : null;
    fairness.equal_opportunity_difference = worst(tpr, 'difference');
    const eo = classes.map((c) => [tpr(c).difference, fpr(c).difference].filter((x): x is number => x !== null));
    fairness.equalized_odds_difference = eo.some((x) => x.length) ? Math.max(...eo.flat()) : null;
    if (counted.length >= 2) {
      if (fairness.demographic_parity_ratio === null)
        notes.push('demographic_parity_ratio: no group is predicted the class, so the ratio is undefined (0 / 0)');
      for (const c of classes) {
        const noPos = counted.filter((g) => g.tpr?.[c] === null);
        if (noPos.length)
          notes.push(
            `true positive rate of '${labels[c]}' is undefined for ${noPos.map((g) => g.name).join('; ')} (no rows of that class), left out of equal opportunity and equalized odds`,
          );
      }
    }
  }
  return {
    task,
    sensitive: [...config.sensitive],
    minGroupSize: config.minGroupSize,
    metrics,
    positiveLabel,
    breakdowns,
    fairness,
    notes,
  };
}

/** max − min and min / max of the defined values; null where fewer than two, or the ratio has no meaning. */
export function gapOf(values: ReadonlyArray<number | null | undefined>): Gap {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (v.length < 2) return { difference: null, ratio: null };
  const min = Math.min(...v);
  const max = Math.max(...v);
  return { difference: max - min, ratio: max > 0 && min >= 0 ? min / max : null };
}

/** The fairness metrics that have a value, as flat metric names for gates and the version's metrics. */
export function flattenFairness(report: FairnessReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [m, v] of Object.entries(report.fairness)) if (typeof v === 'number') out[m] = v;
  return out;
}
