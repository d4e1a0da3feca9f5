/**
 * The search space of a study: which config fields a parameter key names, the checks the
 * config language shows as diagnostics, grid enumeration, and applying a trial's values to a
 * config. Keys: a training field (`learningRate`, `batchSize`, `epochs`, `optimizer`) or a layer
 * field `layers.<index>.<field>`.
 */
import { ACTIVATIONS } from '../config/schema';
import type { LayerConfig, ModelOpsConfig, TuneConfig, TuneDirection, TuneParamConfig } from '../config/types';
import { ModelOpsError } from '../errors';

export type ParamValue = number | string;
export type Params = Record<string, ParamValue>;

/** Grids larger than this are refused: nobody trains that many models from an editor. */
export const MAX_GRID = 10_000;

const TRAIN_FIELDS = ['learningRate', 'batchSize', 'epochs', 'optimizer'] as const;
const OPTIMIZERS = ['adam', 'sgd', 'rmsprop', 'adagrad'];
/** What each layer type lets a study change. */
const LAYER_FIELDS: Record<string, readonly string[]> = {
  dense: ['units', 'activation'],
  dropout: ['rate'],
  batchNormalization: [],
};

type FieldKind = 'int' | 'real' | 'positive-real' | 'fraction' | 'name';
const FIELD_KIND: Record<string, FieldKind> = {
  learningRate: 'positive-real',
  batchSize: 'int',
  epochs: 'int',
  optimizer: 'name',
  units: 'int',
  activation: 'name',
  rate: 'fraction',
};
const NAMES: Record<string, readonly string[]> = { optimizer: OPTIMIZERS, activation: ACTIVATIONS };

export type ParamTarget =
  { kind: 'train'; field: (typeof TRAIN_FIELDS)[number] } | { kind: 'layer'; index: number; field: string };

/** What a key names, or null when it is not a parameter key at all. */
export function parseParamKey(key: string): ParamTarget | null {
  if ((TRAIN_FIELDS as readonly string[]).includes(key))
    return { kind: 'train', field: key as (typeof TRAIN_FIELDS)[number] };
  const m = /^layers\.(\d{1,4})\.([A-Za-z]+)$/.exec(key);
  return m ? { kind: 'layer', index: Number(m[1]), field: m[2] } : null;
}

/** A problem with the `tune:` block, located by its key path. */
export interface TuneProblem {
  path: Array<string | number>;
  /** Put the squiggle on the key (true) or on the value. */
  onKey: boolean;
  code: string;
  message: string;
}

const rec = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** The metric the study reads at each epoch, and whether bigger is better. */
export function directionOf(metric: string, explicit?: TuneDirection): TuneDirection {
  return explicit ?? (/acc/.test(metric) ? 'maximize' : 'minimize');
}

/**
 * The meaning checks of `tune:` on the raw document (the schema has checked types and ranges):
 * parameters that do not exist in the model, inconsistent ranges, a grid that cannot be built,
 * a budget with nothing in it, an objective the task does not report.
 */
export function checkTune(raw: Record<string, unknown>): TuneProblem[] {
  const tune = rec(raw.tune);
  const out: TuneProblem[] = [];
  const model = rec(raw.model);
  const task = model.task;
  const framework = model.framework ?? 'tfjs';
  if (framework !== 'tfjs')
    out.push({
      path: ['tune'],
      onKey: true,
      code: 'tune-framework',
      message: `tune: a study trains the network in model.layers, but model.framework is '${String(framework)}'; hyperparameter search needs framework: tfjs.`,
    });
  const layers = Array.isArray(model.layers) ? (model.layers as unknown[]).map(rec) : null;
  const space = rec(tune.space);
  const keys = Object.keys(space);
  if (tune.space !== undefined && keys.length === 0)
    out.push({
      path: ['tune', 'space'],
      onKey: true,
      code: 'tune-empty-space',
      message:
        'tune.space has no parameters: add at least one, e.g. learningRate: { type: loguniform, low: 0.0001, high: 0.1 }.',
    });
  const sampler = tune.sampler ?? 'tpe';
  for (const key of keys) {
    const p = rec(space[key]);
    const at = (...rest: string[]): Array<string | number> => ['tune', 'space', key, ...rest];
    const target = parseParamKey(key);
    if (!target) {
      out.push({
        path: at(),
        onKey: true,
        code: 'tune-unknown-param',
        message: `tune.space: '${key}' is not a parameter. Use a training field (${TRAIN_FIELDS.join(', ')}) or a layer field layers.<index>.<field> (dense: units, activation; dropout: rate).`,
      });
      continue;
    }
    if (target.kind === 'layer') {
      if (!layers) {
        out.push({
          path: at(),
          onKey: true,
          code: 'tune-unknown-param',
          message: `tune.space: '${key}' names a layer, but model.layers is not written (the default network is used); write the layers to tune them.`,
        });
        continue;
      }
      const layer = layers[target.index];
      if (!layer) {
        out.push({
          path: at(),
          onKey: true,
          code: 'tune-unknown-param',
          message: `tune.space: '${key}' names layer ${target.index}, but model.layers has ${layers.length} layer${layers.length === 1 ? '' : 's'} (indexes 0–${layers.length - 1}).`,
        });
        continue;
      }
      const type = String(layer.type);
      const fields = LAYER_FIELDS[type] ?? [];
      if (!fields.includes(target.field)) {
        const has = fields.length ? `has ${fields.join(' and ')}` : 'has no field to tune';
        out.push({
          path: at(),
          onKey: true,
          code: 'tune-unknown-param',
          message: `tune.space: '${key}': layer ${target.index} is a ${type} layer, which ${has} (not ${target.field}).`,
        });
        continue;
      }
      if (target.field === 'units' && target.index === layers.length - 1) {
        out.push({
          path: at(),
          onKey: true,
          code: 'tune-output-layer',
          message: `tune.space: '${key}' is the output layer's units, which the task fixes (classes, or 1); tune a hidden layer instead.`,
        });
        continue;
      }
    }
    out.push(...checkDistribution(key, p, sampler, at));
  }
  if (sampler === 'grid' && keys.length > 0 && !out.some((o) => o.code === 'tune-grid-steps')) {
    let size = 1;
    for (const key of keys) size *= gridPoints(space[key] as TuneParamConfig).length || 1;
    if (size > MAX_GRID)
      out.push({
        path: ['tune', 'sampler'],
        onKey: false,
        code: 'tune-grid-too-large',
        message: `tune.sampler: the grid has ${size.toLocaleString('en')} points (the product of every parameter's values), more than ${MAX_GRID.toLocaleString('en')}; use fewer steps or values, or sampler: tpe.`,
      });
  }
  const budget = rec(tune.budget);
  if (tune.budget !== undefined && budget.trials === undefined && budget.minutes === undefined)
    out.push({
      path: ['tune', 'budget'],
      onKey: true,
      code: 'tune-budget',
      message: 'tune.budget needs trials, minutes or both, e.g. budget: { trials: 30 }.',
    });
  for (const k of ['trials', 'minutes'] as const) {
    if (budget[k] === 0)
      out.push({
        path: ['tune', 'budget', k],
        onKey: false,
        code: 'tune-budget',
        message: `tune.budget.${k} is 0, so no trial would run; give a positive number or leave it out.`,
      });
  }
  const metric = rec(tune.objective).metric;
  if (typeof metric === 'string' && (task === 'classification' || task === 'regression')) {
    const wrong = task === 'regression' ? /acc/.test(metric) : /mae/.test(metric);
    if (wrong)
      out.push({
        path: ['tune', 'objective', 'metric'],
        onKey: false,
        code: 'metric-task-mismatch',
        message: `tune.objective.metric: the training log of a ${task} model has no '${metric}'; use ${task === 'regression' ? 'val_mae or val_loss' : 'val_accuracy or val_loss'}.`,
      });
  }
  return out;
}

function checkDistribution(
  key: string,
  p: Record<string, unknown>,
  sampler: unknown,
  at: (...rest: string[]) => Array<string | number>,
): TuneProblem[] {
  const out: TuneProblem[] = [];
  const field = key.includes('.') ? key.slice(key.lastIndexOf('.') + 1) : key;
  const kind = FIELD_KIND[field];
  const type = p.type;
  if (type === 'choice') {
    const values = Array.isArray(p.values) ? p.values : [];
    if (values.length === 0)
      out.push({
        path: at('values'),
        onKey: false,
        code: 'tune-empty-choice',
        message: `tune.space.${key}: a choice needs at least one value in values.`,
      });
    values.forEach((v, i) => {
      const bad = badValue(field, kind, v);
      if (bad)
        out.push({
          path: [...at('values'), i],
          onKey: false,
          code: 'tune-bad-value',
          message: `tune.space.${key}: ${bad}`,
        });
    });
    return out;
  }
  if (kind === 'name') {
    out.push({
      path: at('type'),
      onKey: false,
      code: 'tune-bad-type',
      message: `tune.space.${key}: ${field} is a name, so it needs type: choice with values (e.g. ${NAMES[field].slice(0, 3).join(', ')}).`,
    });
    return out;
  }
  if (kind === 'int' && type !== 'int')
    out.push({
      path: at('type'),
      onKey: false,
      code: 'tune-bad-type',
      message: `tune.space.${key}: ${field} is a whole number; use type: int (with step) or choice.`,
    });
  if (kind !== 'int' && type === 'int')
    out.push({
      path: at('type'),
      onKey: false,
      code: 'tune-bad-type',
      message: `tune.space.${key}: ${field} is a real number; use type: uniform or loguniform.`,
    });
  const { low, high } = p;
  if (typeof low === 'number' && typeof high === 'number') {
    if (low >= high)
      out.push({
        path: at('low'),
        onKey: false,
        code: 'tune-range',
        message: `tune.space.${key}: low (${low}) must be less than high (${high}).`,
      });
    if (type === 'loguniform' && low <= 0)
      out.push({
        path: at('low'),
        onKey: false,
        code: 'tune-range',
        message: `tune.space.${key}: a loguniform range needs low > 0 (log of ${low} is undefined); e.g. low: 0.0001.`,
      });
    const bad = badValue(field, kind, low) ?? badValue(field, kind, high);
    if (bad)
      out.push({
        path: at(badValue(field, kind, low) ? 'low' : 'high'),
        onKey: false,
        code: 'tune-bad-value',
        message: `tune.space.${key}: ${bad}`,
      });
  }
  if (sampler === 'grid' && (type === 'uniform' || type === 'loguniform') && p.steps === undefined)
    out.push({
      path: at(),
      onKey: true,
      code: 'tune-grid-steps',
      message: `tune.space.${key}: sampler grid needs a finite set of values; add steps (e.g. steps: 4) or use type: choice.`,
    });
  return out;
}

function badValue(field: string, kind: FieldKind | undefined, v: unknown): string | null {
  switch (kind) {
    case 'name':
      return typeof v === 'string' && NAMES[field].includes(v)
        ? null
        : `'${String(v)}' is not a valid ${field} (${NAMES[field].join(', ')}).`;
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) && v >= 1
        ? null
        : `${field} must be a whole number ≥ 1, not ${JSON.stringify(v)}.`;
    case 'positive-real':
      return typeof v === 'number' && v > 0 ? null : `${field} must be a number > 0, not ${JSON.stringify(v)}.`;
    case 'fraction':
      return typeof v === 'number' && v >= 0 && v < 1 ? null : `${field} must be in [0, 1), not ${JSON.stringify(v)}.`;
    default:
      return null;
  }
}

/** Every value a parameter takes on a grid (empty for a range without steps). */
export function gridPoints(p: TuneParamConfig): ParamValue[] {
  switch (p.type) {
    case 'choice':
      return [...p.values];
    case 'int': {
      const step = p.step ?? 1;
      const out: number[] = [];
      for (let v = p.low; v <= p.high && out.length <= MAX_GRID; v += step) out.push(v);
      return out;
    }
    case 'uniform':
    case 'loguniform': {
      const steps = p.steps ?? 0;
      if (steps < 2) return [];
      const log = p.type === 'loguniform';
      const lo = log ? Math.log(p.low) : p.low;
      const hi = log ? Math.log(p.high) : p.high;
      return Array.from({ length: steps }, (_, i) => {
        const x = lo + ((hi - lo) * i) / (steps - 1);
        return log ? Math.exp(x) : x;
      });
    }
  }
}

/** The keys of a space in a stable order (sorted), so samplers draw in the same order on every run. */
export function spaceKeys(space: Record<string, TuneParamConfig>): string[] {
  return Object.keys(space).sort();
}

/** A canonical text of the space: what a resumed study must match. */
export function canonicalSpace(space: Record<string, TuneParamConfig>): string {
  const sortObj = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortObj);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sortObj((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return JSON.stringify(sortObj(space));
}

/** The first key whose distribution differs between two spaces, or null when they are the same. */
export function spaceDifference(a: Record<string, TuneParamConfig>, b: Record<string, TuneParamConfig>): string | null {
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[key] ? canonicalSpace({ k: a[key] }) : null;
    const y = b[key] ? canonicalSpace({ k: b[key] }) : null;
    if (x !== y) return key;
  }
  return null;
}

/** The config a trial trains: the study's config with the trial's values written in. */
export function applyParams(config: ModelOpsConfig, params: Params): ModelOpsConfig {
  const out = structuredClone(config);
  for (const [key, value] of Object.entries(params)) {
    const t = parseParamKey(key);
    if (!t)
      throw new ModelOpsError(
        'config-invalid',
        `tune.space: '${key}' is not a parameter.`,
        'Fix the key in modelops.yaml (see docs/optimisation.md).',
      );
    if (t.kind === 'train') {
      (out.train as unknown as Record<string, unknown>)[t.field] = value;
      continue;
    }
    const layers = out.model.layers ?? [];
    const layer = layers[t.index] as (LayerConfig & Record<string, unknown>) | undefined;
    if (!layer || !(LAYER_FIELDS[layer.type] ?? []).includes(t.field)) {
      throw new ModelOpsError(
        'config-invalid',
        `tune.space: '${key}' does not name a field of model.layers (${layers.length} layers).`,
        'Fix the key in modelops.yaml; `modelops validate` shows where.',
      );
    }
    layer[t.field] = value;
  }
  return out;
}

/** The tune block with its engine defaults: direction from the metric, parallel from the cores. */
export function resolvedTune(
  tune: TuneConfig,
  cores: number,
): TuneConfig & { parallel: number; objective: { metric: string; direction: TuneDirection } } {
  return {
    ...tune,
    parallel: tune.parallel ?? Math.max(1, cores),
    objective: {
      metric: tune.objective.metric,
      direction: directionOf(tune.objective.metric, tune.objective.direction),
    },
  };
}
