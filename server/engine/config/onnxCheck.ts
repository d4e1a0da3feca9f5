/**
 * Meaning checks of an ONNX model against the config (`framework: onnx` with `model.path`, or
 * `framework: command` whose `train.outputs` is an `.onnx`): the same questions the runtime
 * asks when it registers the model (runtime/onnx.ts resolvePlan), answered in the editor from
 * the graph alone — inputs against the features, outputs against the task, labels against the
 * probability columns. No session is created: an unsupported operator is found at register time.
 *
 * The analyzer is synchronous, so the file is read synchronously: only when it is at most
 * MAX_EDITOR_ONNX_BYTES (the reader skips weights, but the bytes must be in memory), and the
 * graph (or the reason it cannot be read) is cached by path, size and modification time.
 */
import { readFileSync } from 'node:fs';
import { ModelOpsError } from '../errors';
import {
  checkDims,
  checkGraph,
  describeValue,
  readOnnxGraph,
  type OnnxGraphInfo,
  type OnnxValueInfo,
} from '../runtime/onnxGraph';
import { parseDerived } from '../runtime/derive';
import { fileInfo } from './datafile';
import { didYouMean } from './text';
import type { Range, Severity } from './types';

/** Larger files are not read by the editor's checks (they are checked at register time). */
export const MAX_EDITOR_ONNX_BYTES = 256 * 1024 * 1024;

type Graph = { info: OnnxGraphInfo } | { error: string; code: string } | { tooLarge: number };
const graphCache = new Map<string, { key: string; graph: Graph }>();

/** The graph of an ONNX file, read once per (size, mtime); null when the file does not exist. */
export function readGraphCached(abs: string, shown: string): Graph | null {
  const st = fileInfo(abs);
  if (!st) return null;
  const key = `${st.size}:${st.mtimeMs}:${shown}`;
  const hit = graphCache.get(abs);
  if (hit && hit.key === key) return hit.graph;
  let graph: Graph;
  if (st.size > MAX_EDITOR_ONNX_BYTES) graph = { tooLarge: st.size };
  else {
    try {
      const info = readOnnxGraph(readFileSync(abs), shown);
      checkGraph(info, shown);
      graph = { info };
    } catch (e) {
      graph =
        e instanceof ModelOpsError
          ? { error: e.message, code: e.code }
          : {
              error: `${shown} cannot be read: ${e instanceof Error ? e.message : String(e)}`,
              code: 'onnx-unreadable',
            };
    }
  }
  graphCache.set(abs, { key, graph });
  if (graphCache.size > 16) graphCache.delete(graphCache.keys().next().value as string);
  return graph;
}

type Path = Array<string | number>;

/** What the checks need from the analyzer. */
export interface OnnxCheckHost {
  add(range: Range, severity: Severity, code: string, message: string, data?: Record<string, unknown>): void;
  at(path: Path): Range;
  keyAt(path: Path): Range;
  has(path: Path): boolean;
}

export interface OnnxCheckInput {
  abs: string;
  /** The path as written in the config. */
  shown: string;
  /** Where the path is written: ['model', 'path'] or ['train', 'outputs']. */
  fileKey: Path;
  task?: 'classification' | 'regression';
  /** data.features as written (strings), or undefined when not given. */
  features?: string[];
  /** The feature columns in effect (data.features, else the file's columns but the target); undefined when unknown. */
  featureSet?: string[];
  /** Data file columns, when known. */
  dataColumns?: string[] | null;
  onnx: Record<string, unknown>;
  /** Sorted distinct target values seen in the training data, and whether that is all of them. */
  classes?: { labels: string[]; exact: boolean };
  target?: string;
}

const FLOATS = new Set(['float32', 'float64']);
const SUPPORTED = new Set(['float32', 'float64', 'int64', 'int32', 'bool', 'string']);
const rank = (v: OnnxValueInfo): number => v.dims?.length ?? -1;
const isValueShape = (v: OnnxValueInfo): boolean =>
  v.kind === 'tensor' && FLOATS.has(v.elemType) && (rank(v) === 1 || (rank(v) === 2 && v.dims?.[1] === 1));
const isProbShape = (v: OnnxValueInfo): boolean => v.kind === 'tensor' && FLOATS.has(v.elemType) && rank(v) === 2;
const list = (xs: readonly string[]): string => xs.join(', ');
const quoted = (xs: readonly string[]): string => xs.map((x) => `'${x}'`).join(', ');

function metaList(info: OnnxGraphInfo, key: string): string[] | undefined | null {
  const raw = info.metadata[key];
  if (raw === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.map(String);
  } catch {
    // reported below
  }
  return null;
}

function pick(cands: OnnxValueInfo[], preferred: string[]): OnnxValueInfo | undefined {
  for (const p of preferred) {
    const hit = cands.find((c) => c.name.toLowerCase() === p);
    if (hit) return hit;
  }
  return cands.length === 1 ? cands[0] : undefined;
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

function record(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** Checks that need no model file: derived expressions and their source columns, preprocessing vs mapping. */
export function checkOnnxBlock(
  h: OnnxCheckHost,
  onnx: Record<string, unknown>,
  dataColumns: string[] | null | undefined,
): void {
  for (const [col, expr] of Object.entries(record(onnx.derived))) {
    if (typeof expr !== 'string') continue;
    let source: string | undefined;
    try {
      source = parseDerived({ [col]: expr }, `model.onnx.derived.${col}`).get(col)?.source;
    } catch (e) {
      h.add(
        h.at(['model', 'onnx', 'derived', col]),
        'error',
        'bad-derived-input',
        e instanceof Error ? e.message : String(e),
      );
      continue;
    }
    if (source && dataColumns && !dataColumns.includes(source)) {
      const s = didYouMean(source, dataColumns);
      h.add(
        h.at(['model', 'onnx', 'derived', col]),
        'error',
        'unknown-column',
        `model.onnx.derived.${col}: '${source}' is not a column of the data (${list(dataColumns)}).${s ? ` Did you mean '${s}'?` : ''}`,
        s ? { suggestion: `"${expr.replace(source, s)}"` } : undefined,
      );
    }
  }
  if (onnx.preprocessing === 'config' && onnx.inputs === 'per-column') {
    h.add(
      h.at(['model', 'onnx', 'preprocessing']),
      'error',
      'onnx-preprocessing',
      `model.onnx.preprocessing: 'config' feeds one float32 [batch, n] tensor, so it cannot go with inputs: per-column.`,
      { suggestion: 'in-graph' },
    );
  }
}

/** The checks against the model file; returns the graph when it could be read. */
export function checkOnnxModel(h: OnnxCheckHost, c: OnnxCheckInput): OnnxGraphInfo | null {
  const g = readGraphCached(c.abs, c.shown);
  if (!g) return null;
  const fileAt = h.at(c.fileKey);
  if ('tooLarge' in g) {
    h.add(
      fileAt,
      'information',
      'onnx-not-checked',
      `${c.shown} is ${Math.round(g.tooLarge / 1048576)} MB; the editor does not read ONNX files over ${MAX_EDITOR_ONNX_BYTES / 1048576} MB. It is checked when it is registered.`,
    );
    return null;
  }
  if ('error' in g) {
    h.add(fileAt, 'error', g.code, g.error);
    return null;
  }
  const info = g.info;
  const file = c.shown;
  const onnx = c.onnx;
  const has = (...p: Path) => h.has(['model', 'onnx', ...p]);

  // ---- columns: what the model reads, in order ----
  const inputs = info.inputs;
  const inputsList = inputs.map((i) => `'${i.name}' (${describeValue(i)})`).join(', ');
  const mapping =
    onnx.inputs === 'single' || onnx.inputs === 'per-column'
      ? onnx.inputs
      : inputs.length > 1
        ? 'per-column'
        : 'single';
  const derivedKeys = Object.keys(record(onnx.derived));
  const metaFeatures = metaList(info, 'features');
  if (metaFeatures === null)
    h.add(
      fileAt,
      'warning',
      'onnx-metadata',
      `${file}: metadata_props 'features' is not a JSON list of names; the column order comes from data.features.`,
    );
  const configured = c.featureSet
    ? [...c.featureSet, ...derivedKeys.filter((d) => !c.featureSet!.includes(d))]
    : undefined;
  const featuresAt = c.features ? h.at(['data', 'features']) : fileAt;
  let columns = configured;
  // Per-column inputs are matched by name below; a single input's order comes from metadata_props when the model has it.
  if (metaFeatures && metaFeatures.length > 0 && mapping === 'single') {
    if (configured) {
      const missing = metaFeatures.filter((f) => !configured.includes(f));
      const extra = configured.filter((f) => !metaFeatures.includes(f));
      if (missing.length || extra.length) {
        const them = missing.length === 1 ? 'it' : 'them';
        const hint = missing.length
          ? ` It also reads ${quoted(missing)}: list ${them} in data.features, or compute ${them} under model.onnx.derived (e.g. month: "month(date)").`
          : '';
        h.add(
          featuresAt,
          'error',
          'onnx-inputs',
          `${file} reads the columns ${list(metaFeatures)} (metadata_props features), but the config gives ${list(configured)}.${extra.length ? ` The model has no input for ${quoted(extra)}.` : ''}${hint}`,
        );
      } else if (metaFeatures.join('\u0000') !== configured.join('\u0000')) {
        h.add(
          featuresAt,
          'warning',
          'onnx-column-order',
          `${file} reads its columns in the order ${list(metaFeatures)} (metadata_props features); data.features lists ${list(configured)}. The model's order is used.`,
        );
      }
    }
    columns = metaFeatures;
  }

  // ---- inputs ----
  const mappingAt = has('inputs') ? h.at(['model', 'onnx', 'inputs']) : fileAt;
  for (const i of inputs) {
    if (i.kind !== 'tensor' || !SUPPORTED.has(i.elemType)) {
      h.add(
        fileAt,
        'error',
        'onnx-inputs',
        `${file}: input '${i.name}' is ${describeValue(i)}; supported element types are float32, float64, int64, int32, bool and string.`,
      );
      return info;
    }
  }
  if (mapping === 'single') {
    if (inputs.length !== 1) {
      h.add(
        mappingAt,
        'error',
        'onnx-inputs',
        `${file} has ${inputs.length} inputs (${inputsList}); inputs: single needs exactly one [batch, n] tensor.`,
        has('inputs') ? { suggestion: 'per-column' } : undefined,
      );
    } else if (onnx.preprocessing !== 'config') {
      const i = inputs[0];
      const width = rank(i) === 2 ? i.dims![1] : rank(i) === 1 ? 1 : null;
      if (typeof width !== 'number') {
        h.add(
          fileAt,
          'error',
          'onnx-inputs',
          `${file}: input '${i.name}' is ${describeValue(i)}; one [batch, n] tensor is expected.`,
        );
      } else if (columns && width !== columns.length) {
        const more =
          width > columns.length
            ? ` The model reads ${width - columns.length} more column${width - columns.length === 1 ? '' : 's'}: list ${width - columns.length === 1 ? 'it' : 'them'} in data.features, or compute ${width - columns.length === 1 ? 'it' : 'them'} under model.onnx.derived (e.g. month: "month(date)").`
            : ` List only the ${width} columns the model reads, in its order.`;
        h.add(
          featuresAt,
          'error',
          'onnx-inputs',
          `${file}: input '${i.name}' is ${describeValue(i)}, but ${columns.length} column${columns.length === 1 ? ' is' : 's are'} given (${list(columns)}).${more}`,
        );
      }
    } else if (inputs[0].elemType !== 'float32') {
      h.add(
        h.at(['model', 'onnx', 'preprocessing']),
        'error',
        'onnx-preprocessing',
        `${file}: input '${inputs[0].name}' is ${describeValue(inputs[0])}; preprocessing: config feeds float32.`,
        { suggestion: 'in-graph' },
      );
    }
  } else {
    const names = inputs.map((i) => i.name);
    const cols = columns ?? names;
    const unmatchedInputs = names.filter((n) => !cols.includes(n));
    for (const i of inputs) {
      if (!(rank(i) === 1 || (rank(i) === 2 && i.dims?.[1] === 1))) {
        h.add(
          mappingAt,
          'error',
          'onnx-inputs',
          `${file}: input '${i.name}' is ${describeValue(i)}; a per-column input must be [batch] or [batch, 1].`,
          has('inputs') ? { suggestion: 'single' } : undefined,
        );
        return info;
      }
    }
    if (columns) {
      const unmatchedCols = columns.filter((col) => !names.includes(col));
      const suggested = new Set<string>();
      for (const col of unmatchedCols) {
        const idx = c.features?.indexOf(col) ?? -1;
        // One column and one input left over: that input is the one meant, however different the name.
        const s =
          didYouMean(col, unmatchedInputs) ??
          (unmatchedCols.length === 1 && unmatchedInputs.length === 1 ? unmatchedInputs[0] : undefined);
        if (s) suggested.add(s);
        const at = idx >= 0 ? h.at(['data', 'features', idx]) : featuresAt;
        h.add(
          at,
          'error',
          'onnx-inputs',
          `${file} has no input named '${col}'; its inputs are ${list(names)} (one per column, matched by name).${s ? ` Did you mean '${s}'?` : ''}`,
          s && idx >= 0 ? { suggestion: s } : undefined,
        );
      }
      const unfed = unmatchedInputs.filter((n) => !suggested.has(n));
      if (unfed.length)
        h.add(
          featuresAt,
          'error',
          'onnx-inputs',
          `${file}: input${unfed.length === 1 ? '' : 's'} ${quoted(unfed)} match${unfed.length === 1 ? 'es' : ''} none of the columns (${list(columns)}).`,
        );
    }
  }

  // ---- outputs ----
  const outputs = info.outputs;
  const outNames = outputs.map((o) => o.name);
  const outputList = outputs.map((o) => `'${o.name}' (${describeValue(o)})`).join(', ');
  const chosen = record(onnx.outputs);
  for (const role of ['probabilities', 'label', 'value'] as const) {
    const name = chosen[role];
    if (typeof name !== 'string' || outNames.includes(name)) continue;
    const s = didYouMean(name, outNames);
    h.add(
      h.at(['model', 'onnx', 'outputs', role]),
      'error',
      'onnx-output',
      `${file} has no output '${name}'; its outputs are ${outputList}.${s ? ` Did you mean '${s}'?` : ''}`,
      s ? { suggestion: s } : undefined,
    );
    return info;
  }
  const byName = new Map(outputs.map((o) => [o.name, o]));
  const taskAt = h.at(['model', 'task']);
  const dimsError = (o: OnnxValueInfo): boolean => {
    try {
      checkDims(o, 'output', file);
      return false;
    } catch (e) {
      h.add(fileAt, 'error', 'onnx-dynamic-dim', e instanceof Error ? e.message : String(e));
      return true;
    }
  };
  if (c.task === 'classification') {
    const probs =
      typeof chosen.probabilities === 'string'
        ? byName.get(chosen.probabilities)
        : pick(outputs.filter(isProbShape), ['probabilities', 'output_probability', 'probs', 'proba']);
    if (probs && !isProbShape(probs) && !(probs.kind === 'tensor' && FLOATS.has(probs.elemType) && rank(probs) === 1)) {
      h.add(
        h.at(['model', 'onnx', 'outputs', 'probabilities']),
        'error',
        'onnx-output',
        `${file}: output '${probs.name}' is ${describeValue(probs)}; probabilities are a float [batch, classes] tensor.`,
      );
      return info;
    }
    if (!probs) {
      const zip = outputs.find((o) => o.kind === 'sequence' && o.elemType.startsWith('map('));
      const value = outputs.find(isValueShape);
      if (zip)
        h.add(
          fileAt,
          'error',
          'onnx-zipmap',
          `${file}: output '${zip.name}' is a ${describeValue(zip)} (scikit-learn's ZipMap), not a probability tensor. Export with skl2onnx options={id(model): {"zipmap": False}}.`,
        );
      else if (value && outputs.filter((o) => o.kind === 'tensor' && FLOATS.has(o.elemType)).length === 1) {
        h.add(
          taskAt,
          'error',
          'onnx-task',
          `model.task is classification, but ${file} outputs one value per row ('${value.name}' is ${describeValue(value)}), as a regression model does; a classifier outputs float [batch, classes] probabilities.`,
          { suggestion: 'regression' },
        );
      } else
        h.add(
          fileAt,
          'error',
          'onnx-output',
          `${file}: no output holds class probabilities as a float [batch, classes] tensor (outputs: ${outputList}). Name it under model.onnx.outputs.probabilities.`,
        );
      return info;
    }
    if (dimsError(probs)) return info;
    if (typeof chosen.label === 'string') {
      const l = byName.get(chosen.label)!;
      if (l.kind !== 'tensor' || !['int64', 'int32', 'string'].includes(l.elemType))
        h.add(
          h.at(['model', 'onnx', 'outputs', 'label']),
          'error',
          'onnx-output',
          `${file}: output '${l.name}' is ${describeValue(l)}; a label output is int64 or string [batch].`,
        );
    }
    const width = rank(probs) === 2 && typeof probs.dims?.[1] === 'number' ? (probs.dims[1] as number) : 1;
    const cfgLabels = strings(onnx.labels);
    const metaLabels = metaList(info, 'labels');
    if (metaLabels === null)
      h.add(
        fileAt,
        'warning',
        'onnx-metadata',
        `${file}: metadata_props 'labels' is not a JSON list of names; give model.onnx.labels.`,
      );
    const fits = (k: number) => k === width || (width === 1 && k === 2);
    const known = cfgLabels?.length || metaLabels?.length || c.classes?.labels.length || 0;
    if (width === 1 && typeof chosen.probabilities !== 'string' && known > 2) {
      h.add(
        taskAt,
        'error',
        'onnx-task',
        `model.task is classification, but ${file} outputs one value per row ('${probs.name}' is ${describeValue(probs)}), as a regression model does; a classifier of ${known} classes outputs float [batch, ${known}] probabilities.`,
        { suggestion: 'regression' },
      );
      return info;
    }
    const cols = `output '${probs.name}' of ${file} has ${width} probability column${width === 1 ? '' : 's'}`;
    if (cfgLabels && cfgLabels.length > 0) {
      if (!fits(cfgLabels.length))
        h.add(
          h.at(['model', 'onnx', 'labels']),
          'error',
          'onnx-labels',
          `model.onnx.labels lists ${cfgLabels.length} label${cfgLabels.length === 1 ? '' : 's'} (${list(cfgLabels)}), but ${cols}.`,
        );
    } else if (metaLabels && metaLabels.length > 0) {
      if (!fits(metaLabels.length))
        h.add(
          fileAt,
          'error',
          'onnx-labels',
          `${file}: metadata_props labels lists ${metaLabels.length} (${list(metaLabels)}), but ${cols}. Give the labels in order under model.onnx.labels.`,
        );
    } else if (c.classes) {
      const k = c.classes.labels.length;
      if (!fits(k) && (c.classes.exact || k > width))
        h.add(
          fileAt,
          'error',
          'onnx-labels',
          `${cols}, but target '${c.target}' has ${k} class${k === 1 ? '' : 'es'} in the data (${list(c.classes.labels.slice(0, 8))}${k > 8 ? ', …' : ''}). Give the labels in the model's order under model.onnx.labels.`,
        );
    } else {
      h.add(
        fileAt,
        'warning',
        'onnx-labels',
        `${file} names no labels (metadata_props labels) and model.onnx.labels is not set; the sorted target values of the training data will be used as the class order.`,
      );
    }
    const modelLabels =
      cfgLabels && cfgLabels.length ? cfgLabels : metaLabels && metaLabels.length ? metaLabels : undefined;
    if (modelLabels && c.classes) {
      const unknown = c.classes.labels.filter((l) => !modelLabels.includes(l));
      if (unknown.length)
        h.add(
          cfgLabels ? h.at(['model', 'onnx', 'labels']) : fileAt,
          'warning',
          'onnx-labels',
          `target '${c.target}' has value${unknown.length === 1 ? '' : 's'} ${quoted(unknown.slice(0, 5))} that the model's labels (${list(modelLabels)}) do not include; evaluation fails on such rows.`,
        );
    }
  } else if (c.task === 'regression') {
    const value =
      typeof chosen.value === 'string'
        ? byName.get(chosen.value)
        : pick(outputs.filter(isValueShape), ['value', 'variable', 'predictions', 'prediction', 'output']);
    if (value && !isValueShape(value)) {
      h.add(
        h.at(['model', 'onnx', 'outputs', 'value']),
        'error',
        'onnx-output',
        `${file}: output '${value.name}' is ${describeValue(value)}; a regression value is float [batch] or [batch, 1].`,
      );
      return info;
    }
    if (!value) {
      const probs = outputs.find((o) => isProbShape(o) && typeof o.dims?.[1] === 'number' && (o.dims[1] as number) > 1);
      if (probs)
        h.add(
          taskAt,
          'error',
          'onnx-task',
          `model.task is regression, but ${file} outputs '${probs.name}' (${describeValue(probs)}), class probabilities as a classifier does; a regression model outputs one float per row.`,
          { suggestion: 'classification' },
        );
      else
        h.add(
          fileAt,
          'error',
          'onnx-output',
          `${file}: no single float [batch] or [batch, 1] output holds the predicted value (outputs: ${outputList}). Name it under model.onnx.outputs.value.`,
        );
      return info;
    }
    dimsError(value);
  }
  return info;
}
