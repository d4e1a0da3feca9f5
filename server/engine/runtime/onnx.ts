/**
 * ONNX models through ONNX Runtime (onnxruntime-node, CPU execution provider).
 *
 * An ONNX bundle is a directory with `model.onnx` and `modelops.json` (OnnxManifest): which
 * columns the model reads in which order (and which are derived from raw ones), how they are
 * fed (one `[batch, n]` tensor or one tensor per column), which outputs hold probabilities,
 * labels or values, and the same reference profile a TF.js bundle carries. `writeOnnxBundle`
 * resolves all of that once from the caller's spec, `metadata_props` and the graph, so loading
 * is a read of two files and a session create.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { ModelOpsError } from '../errors';
import { inputWidth, isMissingValue, numberValue, transformRows, type TransformContext } from '../data/preprocess';
import { buildProfile, evaluationSample, lossSample } from '../data/profile';
import type { FeatureTransform, Prediction, Task } from '../model/types';
import { decodeScores } from './decode';
import { derive, parseDerived, type Derivation } from './derive';
import {
  checkDims,
  checkGraph,
  datatypeOf,
  describeValue,
  readOnnxGraph,
  tensorSpecOf,
  type OnnxGraphInfo,
  type OnnxValueInfo,
} from './onnxGraph';
import {
  ONNX_MANIFEST_FORMAT,
  ONNX_MODEL_FILE,
  type BatchResult,
  type BundleDescription,
  type Datatype,
  type InputMapping,
  type ModelRuntime,
  type OnnxBundleSpec,
  type OnnxManifest,
  type OutputSelection,
  type RuntimeColumn,
  type RuntimeOptions,
  type RuntimeSignature,
  type RuntimeTensorSpec,
} from './types';

const MANIFEST_JSON = 'modelops.json';
/** Rows per session.run on the batch path: bounds the memory of one call, large enough that per-call overhead vanishes. */
const CHUNK_ROWS = 1 << 16;
/**
 * Intra-op threads. 1 evaluates a million rows of the 4-feature MLP in about 0.3 s of model time,
 * well inside the 1 s target, and stays steady when the other core is busy; 2 halves the model
 * time on an idle machine but varies widely under load (docs/benchmarks.md). Callers that own
 * the machine (a CLI evaluation) may pass `threads: 2`.
 */
const DEFAULT_THREADS = 1;

type Ort = typeof import('onnxruntime-node');
let ortModule: Promise<Ort> | null = null;

/** Loads onnxruntime-node on first use, so processes that never run an ONNX model do not load its 40 MB library. */
function ort(): Promise<Ort> {
  ortModule ??= import('onnxruntime-node').catch((e: unknown) => {
    ortModule = null;
    throw new ModelOpsError(
      'onnx-runtime-missing',
      `ONNX Runtime (onnxruntime-node) could not be loaded: ${e instanceof Error ? e.message : String(e)}.`,
      'Run npm ci in the extension folder, or reinstall the extension for this platform.',
    );
  });
  return ortModule;
}

/** Creates a CPU session; ONNX Runtime's refusals (unknown operators, bad graphs) become ModelOpsErrors naming the file. */
export async function createOnnxSession(
  bytes: Uint8Array,
  file: string,
  threads = DEFAULT_THREADS,
): Promise<InferenceSession> {
  const o = await ort();
  try {
    return await o.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim();
    const op =
      /Could not find an implementation for (\S+?)\(/.exec(msg)?.[1] ??
      /(\S+?)\(-?\d+\) is not a registered function\/op/.exec(msg)?.[1] ??
      /No Op registered for (\S+)/.exec(msg)?.[1];
    if (op) {
      throw new ModelOpsError(
        'onnx-unsupported-op',
        `${file}: ONNX Runtime ${o.env.versions.common} cannot run operator '${op}' (${msg}).`,
        'Export the model with standard operators and opset 13–21, or without custom ops (torch.onnx.export opset_version=17; skl2onnx target_opset=17).',
      );
    }
    if (/protobuf parsing failed/i.test(msg)) {
      throw new ModelOpsError(
        'onnx-corrupt',
        `${file} is not a readable ONNX model: ONNX Runtime says '${msg}'.`,
        'The file is damaged or truncated; export the model again and register that file.',
      );
    }
    throw new ModelOpsError(
      'onnx-load',
      `${file}: ONNX Runtime cannot load the model: ${msg}`,
      'Check the model with onnx.checker.check_model, or export it again with opset 17.',
    );
  }
}

/** Reads and checks an ONNX file's graph (no session). */
export async function inspectOnnxFile(file: string): Promise<OnnxGraphInfo> {
  const bytes = await readBytes(file, file);
  const info = readOnnxGraph(bytes, file);
  checkGraph(info, file);
  return info;
}

async function readBytes(path: string, shown: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelOpsError(
      'onnx-missing',
      `${shown} cannot be read (${code ?? String(e)}).`,
      code === 'ENOENT' ? 'Check the path, or register the version again.' : 'Check the file permissions.',
    );
  }
}

/** Everything resolved about how to feed a model and read its outputs. */
interface Plan {
  task: Task;
  labels?: string[];
  columns: string[];
  derived: Map<string, Derivation>;
  mapping: InputMapping;
  /** Graph inputs with the model columns each holds (indexes into `columns`, or into the encoded width for 'config'). */
  inputs: Array<{ name: string; datatype: Datatype; dims: number[]; cols: number[] }>;
  outputs: OutputSelection;
  preprocessing: 'in-graph' | 'config';
  transforms?: FeatureTransform[];
  missing: 'error' | 'nan';
  features: RuntimeColumn[];
  encodedWidth: number;
  signature: RuntimeSignature;
  valueDatatype: Datatype;
}

interface PlanInput {
  task?: Task;
  columns?: string[];
  derived?: Record<string, string>;
  labels?: string[];
  inputMapping?: InputMapping;
  outputs?: OutputSelection;
  preprocessing?: 'in-graph' | 'config';
  transforms?: FeatureTransform[];
  missing?: 'error' | 'nan';
}

function metaList(info: OnnxGraphInfo, key: string, file: string): string[] | undefined {
  const raw = info.metadata[key];
  if (raw === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    v = null;
  }
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' && typeof x !== 'number')) {
    throw new ModelOpsError(
      'onnx-metadata',
      `${file}: metadata_props '${key}' is ${JSON.stringify(raw.slice(0, 60))}, not a JSON list of names.`,
      `Set it to a JSON list such as ["a", "b"], or give ${key} in modelops.yaml.`,
    );
  }
  return v.map(String);
}

const FLOATS = new Set(['float32', 'float64']);
const isTensor = (v: OnnxValueInfo): boolean => v.kind === 'tensor';
const rank = (v: OnnxValueInfo): number => v.dims?.length ?? -1;

/** Picks one of several candidates: by preferred name, else the only one. */
function pick(cands: OnnxValueInfo[], preferred: string[]): OnnxValueInfo | undefined {
  for (const p of preferred) {
    const hit = cands.find((c) => c.name.toLowerCase() === p);
    if (hit) return hit;
  }
  return cands.length === 1 ? cands[0] : undefined;
}

function resolvePlan(info: OnnxGraphInfo, file: string, given: PlanInput): Plan {
  const byName = new Map(info.outputs.map((o) => [o.name, o]));
  const outputList = info.outputs.map((o) => `'${o.name}' (${describeValue(o)})`).join(', ');

  // Task and labels: the caller, else metadata_props.
  const metaTask = info.metadata.task;
  const task =
    given.task ??
    (metaTask === 'classification' || metaTask === 'regression' ? metaTask : undefined) ??
    (given.labels || info.metadata.labels ? 'classification' : 'regression');
  if (task !== 'classification' && task !== 'regression') {
    throw new ModelOpsError(
      'onnx-task',
      `${file}: task '${String(task)}' is neither classification nor regression.`,
      'Set model.task in modelops.yaml.',
    );
  }
  const labels = task === 'classification' ? (given.labels ?? metaList(info, 'labels', file)) : undefined;

  // Output selection.
  const outputs: OutputSelection = { ...given.outputs };
  for (const [role, name] of Object.entries(outputs)) {
    if (role === 'labelKind' || name === undefined) continue;
    if (!byName.has(name))
      throw new ModelOpsError(
        'onnx-output',
        `${file} has no output '${name}' (for ${role}); its outputs are ${outputList}.`,
        `Name one of them as ${role}.`,
      );
  }
  let valueDatatype: Datatype = 'FP32';
  if (task === 'classification') {
    if (!outputs.probabilities) {
      const cands = info.outputs.filter((o) => isTensor(o) && FLOATS.has(o.elemType) && rank(o) === 2);
      const p = pick(cands, ['probabilities', 'output_probability', 'probs', 'proba']);
      if (!p) {
        const zip = info.outputs.find((o) => o.kind === 'sequence' && o.elemType.startsWith('map('));
        if (zip) {
          throw new ModelOpsError(
            'onnx-zipmap',
            `${file}: output '${zip.name}' is a ${describeValue(zip)} (scikit-learn's ZipMap), not a probability tensor.`,
            'Export with skl2onnx options={id(model): {"zipmap": False}} so probabilities are a [batch, classes] float tensor.',
          );
        }
        throw new ModelOpsError(
          'onnx-output',
          `${file}: no output holds class probabilities as a float [batch, classes] tensor (outputs: ${outputList}).`,
          'Name the probabilities output in modelops.yaml (model.onnx.outputs.probabilities), or export one.',
        );
      }
      outputs.probabilities = p.name;
    }
    const probs = byName.get(outputs.probabilities)!;
    if (!isTensor(probs) || !FLOATS.has(probs.elemType) || (rank(probs) !== 2 && rank(probs) !== 1)) {
      throw new ModelOpsError(
        'onnx-output',
        `${file}: probabilities output '${probs.name}' is ${describeValue(probs)}; expected float32 [batch, classes].`,
        'Name another output, or export probabilities as a float tensor.',
      );
    }
    checkDims(probs, 'output', file);
    if (!outputs.label) {
      const cands = info.outputs.filter(
        (o) =>
          o.name !== outputs.probabilities &&
          isTensor(o) &&
          ['int64', 'int32', 'string'].includes(o.elemType) &&
          (rank(o) === 1 || (rank(o) === 2 && o.dims?.[1] === 1)),
      );
      const l = pick(cands, ['label', 'output_label', 'labels', 'class']);
      if (l) outputs.label = l.name;
    }
    if (outputs.label) {
      const l = byName.get(outputs.label)!;
      if (!isTensor(l) || !['int64', 'int32', 'string'].includes(l.elemType)) {
        throw new ModelOpsError(
          'onnx-output',
          `${file}: label output '${l.name}' is ${describeValue(l)}; expected int64 or string [batch].`,
          'Name another output as the label, or leave it out (the label is then the most probable class).',
        );
      }
      if (l.elemType !== 'string') outputs.labelKind ??= info.producerName === 'skl2onnx' ? 'value' : 'index';
    }
    const k = probs.dims?.[1];
    const width = typeof k === 'number' ? k : 1;
    if (!labels || labels.length === 0) {
      throw new ModelOpsError(
        'onnx-labels',
        `${file}: a classifier needs its class labels in output order (${width} classes), and neither the config nor metadata_props 'labels' gives them.`,
        'List them in modelops.yaml (model.labels), or add metadata_props labels=["a", "b", …] when exporting.',
      );
    }
    if (width !== labels.length && !(width === 1 && labels.length === 2)) {
      throw new ModelOpsError(
        'onnx-labels',
        `${file}: probabilities output '${probs.name}' has ${width} columns but ${labels.length} labels are given (${labels.join(', ')}).`,
        "Give one label per probability column, in the model's class order.",
      );
    }
  } else {
    if (!outputs.value) {
      const cands = info.outputs.filter(
        (o) => isTensor(o) && FLOATS.has(o.elemType) && (rank(o) === 1 || (rank(o) === 2 && o.dims?.[1] === 1)),
      );
      const v = pick(cands, ['value', 'variable', 'predictions', 'prediction', 'output']);
      if (!v)
        throw new ModelOpsError(
          'onnx-output',
          `${file}: no single float [batch] or [batch, 1] output holds the predicted value (outputs: ${outputList}).`,
          'Name it in modelops.yaml (model.onnx.outputs.value).',
        );
      outputs.value = v.name;
    }
    const v = byName.get(outputs.value)!;
    if (!isTensor(v) || !FLOATS.has(v.elemType) || !(rank(v) === 1 || (rank(v) === 2 && v.dims?.[1] === 1))) {
      throw new ModelOpsError(
        'onnx-output',
        `${file}: value output '${v.name}' is ${describeValue(v)}; expected float [batch] or [batch, 1].`,
        'Name another output as the value.',
      );
    }
    checkDims(v, 'output', file);
    valueDatatype = v.elemType === 'float64' ? 'FP64' : 'FP32';
  }

  // Inputs: how columns reach the graph.
  const preprocessing = given.preprocessing ?? 'in-graph';
  const graphInputs = info.inputs;
  const mapping: InputMapping = given.inputMapping ?? (graphInputs.length > 1 ? 'per-column' : 'single');
  let columns =
    given.columns ??
    (preprocessing === 'config' ? given.transforms?.map((t) => t.name) : undefined) ??
    metaList(info, 'features', file);
  if (!columns && mapping === 'per-column') columns = graphInputs.map((i) => i.name);
  if (!columns || columns.length === 0) {
    throw new ModelOpsError(
      'onnx-features',
      `${file}: the model's input columns are not known (input ${graphInputs.map((i) => `'${i.name}' ${describeValue(i)}`).join(', ')}).`,
      'List them in order in modelops.yaml (data.features), or add metadata_props features=["a", "b", …] when exporting.',
    );
  }
  const derived = parseDerived(given.derived, file);
  for (const c of derived.keys()) {
    if (!columns.includes(c))
      throw new ModelOpsError(
        'bad-derived-input',
        `${file}: derived input '${c}' is not one of the model's columns (${columns.join(', ')}).`,
        'Derive only columns the model reads.',
      );
  }
  const inputs: Plan['inputs'] = [];
  let encodedWidth = columns.length;
  if (preprocessing === 'config') {
    if (!given.transforms || given.transforms.length === 0)
      throw new ModelOpsError(
        'onnx-preprocessing',
        `${file}: preprocessing is 'config' but no feature transforms are given.`,
        "Give the fitted transforms, or use preprocessing: 'in-graph'.",
      );
    if (mapping !== 'single' || graphInputs.length !== 1)
      throw new ModelOpsError(
        'onnx-preprocessing',
        `${file}: preprocessing 'config' needs one [batch, n] input; the model has ${graphInputs.length} input(s).`,
        "Use preprocessing: 'in-graph' for per-column models.",
      );
    encodedWidth = inputWidth(given.transforms);
  }
  if (mapping === 'single') {
    if (graphInputs.length !== 1)
      throw new ModelOpsError(
        'onnx-inputs',
        `${file} has ${graphInputs.length} inputs (${graphInputs.map((i) => `'${i.name}'`).join(', ')}); input mapping 'single' needs exactly one.`,
        "Use inputMapping: 'per-column'.",
      );
    const g = graphInputs[0];
    const dt = datatypeOf(g.elemType);
    if (!isTensor(g) || !dt)
      throw new ModelOpsError(
        'onnx-inputs',
        `${file}: input '${g.name}' is ${describeValue(g)}; supported element types are float32, float64, int64, int32, bool and string.`,
        'Export the input as a float32 tensor.',
      );
    const w = rank(g) === 2 ? g.dims![1] : rank(g) === 1 && encodedWidth === 1 ? 1 : null;
    if (w !== encodedWidth) {
      throw new ModelOpsError(
        'onnx-inputs',
        `${file}: input '${g.name}' is ${describeValue(g)}, but ${encodedWidth} column${encodedWidth === 1 ? '' : 's'} ${preprocessing === 'config' ? 'come out of the preprocessing' : `are listed (${columns.join(', ')})`}.`,
        'List exactly the columns the model reads, in its order.',
      );
    }
    if (preprocessing === 'config' && dt !== 'FP32')
      throw new ModelOpsError(
        'onnx-inputs',
        `${file}: input '${g.name}' is ${describeValue(g)}; preprocessing 'config' feeds float32.`,
        'Export the input as float32.',
      );
    inputs.push({
      name: g.name,
      datatype: dt,
      dims: rank(g) === 2 ? [-1, encodedWidth] : [-1],
      cols: Array.from({ length: encodedWidth }, (_, i) => i),
    });
  } else {
    const cols = columns;
    const used = new Set<number>();
    for (const g of graphInputs) {
      const j = cols.indexOf(g.name);
      if (j < 0)
        throw new ModelOpsError(
          'onnx-inputs',
          `${file}: input '${g.name}' matches none of the columns (${cols.join(', ')}).`,
          'Per-column models need one column per input, named like the input.',
        );
      const dt = datatypeOf(g.elemType);
      if (!isTensor(g) || !dt)
        throw new ModelOpsError(
          'onnx-inputs',
          `${file}: input '${g.name}' is ${describeValue(g)}; supported element types are float32, float64, int64, int32, bool and string.`,
          'Export the input as a float32 or string tensor.',
        );
      if (!(rank(g) === 1 || (rank(g) === 2 && g.dims![1] === 1)))
        throw new ModelOpsError(
          'onnx-inputs',
          `${file}: input '${g.name}' is ${describeValue(g)}; a per-column input must be [batch] or [batch, 1].`,
          "Use inputMapping: 'single' for a [batch, n] input.",
        );
      inputs.push({ name: g.name, datatype: dt, dims: rank(g) === 2 ? [-1, 1] : [-1], cols: [j] });
      used.add(j);
    }
    const unused = cols.filter((_, j) => !used.has(j));
    if (unused.length > 0)
      throw new ModelOpsError(
        'onnx-inputs',
        `${file}: column${unused.length === 1 ? '' : 's'} ${unused.map((c) => `'${c}'`).join(', ')} ha${unused.length === 1 ? 's' : 've'} no model input of that name (inputs: ${graphInputs.map((i) => i.name).join(', ')}).`,
        'List only the columns the model takes.',
      );
  }

  // The raw columns callers send: model columns, with derived ones replaced by their sources.
  const features: RuntimeColumn[] = [];
  const seen = new Set<string>();
  const add = (c: RuntimeColumn): void => {
    if (!seen.has(c.name)) features.push(c);
    seen.add(c.name);
  };
  columns.forEach((c, j) => {
    const d = derived.get(c);
    if (d) return add({ name: d.source, datatype: 'BYTES', kind: 'date' });
    if (preprocessing === 'config') {
      const t = given.transforms!.find((x) => x.name === c);
      return add({
        name: c,
        datatype: t?.kind === 'categorical' ? 'BYTES' : 'FP32',
        kind: t?.kind === 'categorical' ? 'categorical' : 'numeric',
      });
    }
    const input = inputs.find((i) => i.cols.includes(j))!;
    add({ name: c, datatype: input.datatype, kind: input.datatype === 'BYTES' ? 'categorical' : 'numeric' });
  });

  const signature: RuntimeSignature = {
    inputs: features.map((f) => ({ name: f.name, datatype: f.datatype, shape: [-1] })),
    outputs:
      task === 'classification'
        ? [
            { name: 'label', datatype: 'BYTES', shape: [-1] },
            { name: 'probabilities', datatype: 'FP32', shape: [-1, labels!.length] },
          ]
        : [{ name: 'value', datatype: valueDatatype, shape: [-1] }],
  };
  return {
    task,
    labels,
    columns,
    derived,
    mapping,
    inputs,
    outputs,
    preprocessing,
    transforms: given.transforms,
    missing: given.missing ?? 'error',
    features,
    encodedWidth,
    signature,
    valueDatatype,
  };
}

function where(ctx: TransformContext | undefined, i: number, column: string): string {
  const pos = ctx?.lines ? `line ${ctx.lines[i]}` : `row ${i + 1}`;
  return `${ctx?.source ? `${ctx.source} ` : ''}${pos}, column '${column}'`;
}

function show(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 37)}...` : v}'`;
  return JSON.stringify(v) ?? String(v);
}

type ArrayOut = Float32Array | Float64Array;

export class OnnxRuntime implements ModelRuntime {
  readonly kind = 'onnx' as const;
  readonly task: Task;
  readonly labels?: string[];
  readonly signature: RuntimeSignature;
  readonly features: string[];
  readonly columns: RuntimeColumn[];
  readonly target?: string;
  readonly profile?: OnnxManifest['profile'];
  readonly encodedWidth: number;
  readonly encode?: (rows: ReadonlyArray<Record<string, unknown>>, ctx?: TransformContext) => Float32Array;
  readonly predictBatch?: (x: Float32Array, n: number) => Promise<BatchResult>;
  private disposed = false;
  private readonly labelIndex: Map<string, number>;
  /** Datatype of the graph input each model column feeds. */
  private readonly columnTypes: Datatype[];

  constructor(
    readonly manifest: OnnxManifest,
    private readonly plan: Plan,
    private readonly session: InferenceSession,
    private readonly o: Ort,
    readonly file: string,
  ) {
    this.task = plan.task;
    this.labels = plan.labels;
    this.signature = plan.signature;
    this.features = plan.features.map((f) => f.name);
    this.columns = plan.features;
    this.target = manifest.target;
    this.profile = manifest.profile;
    this.encodedWidth = plan.encodedWidth;
    this.labelIndex = new Map((plan.labels ?? []).map((l, i) => [l, i]));
    this.columnTypes = plan.columns.map((_, j) => plan.inputs.find((inp) => inp.cols.includes(j))?.datatype ?? 'FP32');
    // The numeric path exists when no input takes text.
    if (plan.inputs.every((i) => i.datatype !== 'BYTES')) {
      this.encode = (rows, ctx) => this.encodeRows(rows, ctx);
      this.predictBatch = (x, n) => this.runBatch(x, n);
    }
  }

  async predict(rows: ReadonlyArray<Record<string, unknown>>, ctx?: TransformContext): Promise<Prediction[]> {
    const n = rows.length;
    if (n === 0) return [];
    if (this.predictBatch && this.encode) return this.decode(await this.predictBatch(this.encode(rows, ctx), n), n);
    return this.decode(await this.runFeeds(this.textFeeds(rows, ctx), n), n);
  }

  /** Model column j of a row, derived when it is a derived column. */
  private cell(row: Record<string, unknown>, j: number, i: number, ctx: TransformContext | undefined): unknown {
    const c = this.plan.columns[j];
    const d = this.plan.derived.get(c);
    if (!d) return row[c];
    const v = row[d.source];
    const x = derive(d.fn, v);
    if (x === null) {
      throw new ModelOpsError(
        'bad-date',
        `${where(ctx, i, d.source)}: ${isMissingValue(v) ? 'the value is missing' : `${show(v)} is not a date`}; '${c}' is ${d.fn}(${d.source}).`,
        'Send an ISO date such as 2015-02-28.',
      );
    }
    return x;
  }

  private checkRow(row: unknown, i: number, ctx: TransformContext | undefined): Record<string, unknown> {
    if (row === null || typeof row !== 'object') {
      throw new ModelOpsError(
        'bad-input',
        `${ctx?.source ? `${ctx.source} ` : ''}row ${i + 1} is not an object of feature values.`,
        'Send one object per row, keyed by feature name.',
      );
    }
    return row as Record<string, unknown>;
  }

  private number(v: unknown, i: number, j: number, ctx: TransformContext | undefined, datatype: Datatype): number {
    let x: number;
    if (typeof v === 'number') x = v;
    else if (typeof v === 'boolean') x = v ? 1 : 0;
    else if (isMissingValue(v)) {
      if (this.plan.missing === 'nan' && (datatype === 'FP32' || datatype === 'FP64')) return NaN;
      throw new ModelOpsError(
        'missing-value',
        `${where(ctx, i, this.plan.columns[j])}: the value is missing.`,
        "Send a value for every feature, or set missing: 'nan' for a model that imputes.",
      );
    } else if (typeof v === 'string')
      x =
        datatype === 'BOOL' && /^(true|false)$/i.test(v.trim())
          ? v.trim().toLowerCase() === 'true'
            ? 1
            : 0
          : Number(v);
    else x = NaN;
    if (!Number.isFinite(x)) {
      throw new ModelOpsError(
        'not-a-number',
        `${where(ctx, i, this.plan.columns[j])}: ${show(v)} is not a finite number.`,
        'Send a number for this feature.',
      );
    }
    if ((datatype === 'INT64' || datatype === 'INT32' || datatype === 'BOOL') && !Number.isInteger(x)) {
      throw new ModelOpsError(
        'not-an-integer',
        `${where(ctx, i, this.plan.columns[j])}: ${show(v)} is not a whole number; the model takes ${datatype}.`,
        'Send a whole number for this feature.',
      );
    }
    if (datatype === 'BOOL' && x !== 0 && x !== 1) {
      throw new ModelOpsError(
        'not-a-bool',
        `${where(ctx, i, this.plan.columns[j])}: ${show(v)} is not true/false.`,
        'Send true, false, 1 or 0.',
      );
    }
    return x;
  }

  private encodeRows(rows: ReadonlyArray<Record<string, unknown>>, ctx?: TransformContext): Float32Array {
    const plan = this.plan;
    const n = rows.length;
    if (plan.preprocessing === 'config') {
      const src =
        plan.derived.size === 0 ? rows : rows.map((r, i) => this.withDerived(this.checkRow(r, i, ctx), i, ctx));
      return transformRows(src, plan.transforms!, ctx);
    }
    const m = plan.columns.length;
    const names = plan.columns;
    const types = this.columnTypes;
    // Plain float columns take a finite number as is; everything else goes through the checks.
    const fast = names.map((c, j) => !plan.derived.has(c) && (types[j] === 'FP32' || types[j] === 'FP64'));
    const out = new Float32Array(n * m);
    for (let i = 0; i < n; i++) {
      const row = rows[i];
      if (row === null || typeof row !== 'object') this.checkRow(row, i, ctx);
      const o = i * m;
      for (let j = 0; j < m; j++) {
        if (fast[j]) {
          const v = row[names[j]];
          if (typeof v === 'number' && Number.isFinite(v)) {
            out[o + j] = v;
            continue;
          }
        }
        out[o + j] = this.number(this.cell(row, j, i, ctx), i, j, ctx, types[j]);
      }
    }
    return out;
  }

  private withDerived(
    row: Record<string, unknown>,
    i: number,
    ctx: TransformContext | undefined,
  ): Record<string, unknown> {
    const out = { ...row };
    this.plan.columns.forEach((c, j) => {
      if (this.plan.derived.has(c)) out[c] = this.cell(row, j, i, ctx);
    });
    return out;
  }

  private tensor(datatype: Datatype, data: ArrayOut, dims: number[], name: string): Tensor {
    const T = this.o.Tensor;
    switch (datatype) {
      case 'FP32':
        return new T('float32', data instanceof Float32Array ? data : Float32Array.from(data), dims);
      case 'FP64':
        return new T('float64', data instanceof Float64Array ? data : Float64Array.from(data), dims);
      case 'INT32':
        return new T('int32', Int32Array.from(data), dims);
      case 'INT64': {
        const b = new BigInt64Array(data.length);
        for (let i = 0; i < data.length; i++) {
          if (!Number.isInteger(data[i]))
            throw new ModelOpsError(
              'not-an-integer',
              `Input '${name}' element ${i}: ${data[i]} is not a whole number; the model takes INT64.`,
              'Send whole numbers for this feature.',
            );
          b[i] = BigInt(data[i]);
        }
        return new T('int64', b, dims);
      }
      case 'BOOL':
        return new T(
          'bool',
          Uint8Array.from(data, (x) => (x ? 1 : 0)),
          dims,
        );
      case 'BYTES':
        throw new ModelOpsError(
          'onnx-inputs',
          `Input '${name}' takes text; the numeric batch path cannot feed it.`,
          'Use predict() with rows.',
        );
    }
  }

  private async runBatch(x: Float32Array, n: number): Promise<BatchResult> {
    const w = this.plan.encodedWidth;
    if (x.length < n * w)
      throw new ModelOpsError(
        'bad-input',
        `The batch holds ${x.length} values; ${n} rows × ${w} columns need ${n * w}.`,
        'Pass the matrix encode() returned.',
      );
    let result: BatchResult | null = null;
    for (let start = 0; start < n; start += CHUNK_ROWS) {
      const m = Math.min(CHUNK_ROWS, n - start);
      const xs = x.subarray(start * w, (start + m) * w);
      const feeds: Record<string, Tensor> = {};
      for (const inp of this.plan.inputs) {
        let data: Float32Array;
        if (inp.cols.length === w) data = xs;
        else {
          // One column out of the row-major matrix.
          data = new Float32Array(m);
          const j = inp.cols[0];
          for (let i = 0; i < m; i++) data[i] = xs[i * w + j];
        }
        feeds[inp.name] = this.tensor(
          inp.datatype,
          data,
          inp.dims.map((d) => (d === -1 ? m : d)),
          inp.name,
        );
      }
      const part = await this.runFeeds(feeds, m);
      if (!result) {
        // Allocated on the first chunk, once its output width and type are known.
        const full =
          part.outputs instanceof Float64Array ? new Float64Array(n * part.width) : new Float32Array(n * part.width);
        result = { outputs: full, width: part.width, labels: part.labels ? new Int32Array(n) : undefined };
      }
      result.outputs.set(part.outputs, start * part.width);
      if (part.labels && result.labels) result.labels.set(part.labels, start);
    }
    return (
      result ?? { outputs: new Float32Array(0), width: this.task === 'classification' ? (this.labels?.length ?? 0) : 1 }
    );
  }

  /** Feeds for models with text inputs, built straight from the rows. */
  private textFeeds(rows: ReadonlyArray<Record<string, unknown>>, ctx?: TransformContext): Record<string, Tensor> {
    const n = rows.length;
    const feeds: Record<string, Tensor> = {};
    for (const inp of this.plan.inputs) {
      const dims = inp.dims.map((d) => (d === -1 ? n : d));
      const k = inp.cols.length;
      if (inp.datatype === 'BYTES') {
        const data: string[] = new Array(n * k);
        for (let i = 0; i < n; i++) {
          const row = this.checkRow(rows[i], i, ctx);
          for (let c = 0; c < k; c++) {
            const v = this.cell(row, inp.cols[c], i, ctx);
            if (isMissingValue(v))
              throw new ModelOpsError(
                'missing-value',
                `${where(ctx, i, this.plan.columns[inp.cols[c]])}: the value is missing.`,
                'Send a value for every feature.',
              );
            data[i * k + c] = String(v);
          }
        }
        feeds[inp.name] = new this.o.Tensor('string', data, dims);
      } else {
        const data = new Float64Array(n * k);
        for (let i = 0; i < n; i++) {
          const row = this.checkRow(rows[i], i, ctx);
          for (let c = 0; c < k; c++)
            data[i * k + c] = this.number(this.cell(row, inp.cols[c], i, ctx), i, inp.cols[c], ctx, inp.datatype);
        }
        feeds[inp.name] = this.tensor(
          inp.datatype,
          inp.datatype === 'FP32' ? Float32Array.from(data) : data,
          dims,
          inp.name,
        );
      }
    }
    return feeds;
  }

  private async runFeeds(feeds: Record<string, Tensor>, n: number): Promise<BatchResult> {
    if (this.disposed) throw new ModelOpsError('model-disposed', 'The model was unloaded.', 'Load the version again.');
    const sel = this.plan.outputs;
    const fetch = [sel.probabilities, sel.label, sel.value].filter((x): x is string => x !== undefined);
    let out: InferenceSession.ReturnType;
    try {
      out = await this.session.run(feeds, fetch);
    } catch (e) {
      throw new ModelOpsError(
        'onnx-run',
        `${this.file}: ONNX Runtime failed on a batch of ${n} rows: ${e instanceof Error ? e.message : String(e)}`,
        'Check that the inputs match the model signature.',
      );
    }
    if (this.task === 'regression') {
      const v = out[sel.value!];
      return { outputs: floatData(v.data, sel.value!, this.file), width: 1 };
    }
    const p = out[sel.probabilities!];
    let probs = floatData(p.data, sel.probabilities!, this.file);
    let width = p.dims.length === 2 ? p.dims[1] : 1;
    const k = this.labels!.length;
    if (width === 1 && k === 2) {
      // A single sigmoid column: expand to [1 − p, p].
      const two = probs instanceof Float64Array ? new Float64Array(2 * n) : new Float32Array(2 * n);
      for (let i = 0; i < n; i++) {
        two[2 * i] = 1 - probs[i];
        two[2 * i + 1] = probs[i];
      }
      probs = two;
      width = 2;
    }
    const result: BatchResult = { outputs: probs, width };
    if (sel.label) result.labels = this.labelIndexes(out[sel.label].data, n);
    return result;
  }

  private labelIndexes(data: Tensor['data'], n: number): Int32Array {
    const idx = new Int32Array(n);
    const k = this.labels!.length;
    for (let i = 0; i < n; i++) {
      const v = (data as ArrayLike<unknown>)[i];
      if (typeof v === 'string') idx[i] = this.labelIndex.get(v) ?? -1;
      else {
        const x = Number(v as number | bigint);
        if (this.plan.outputs.labelKind === 'value') idx[i] = this.labelIndex.get(String(x)) ?? -1;
        else idx[i] = x >= 0 && x < k ? x : -1;
      }
    }
    return idx;
  }

  decode(result: BatchResult, n: number): Prediction[] {
    return decodeScores(result, n, this.task, this.labels ?? []);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.session.release().catch(() => undefined);
  }
}

function floatData(data: Tensor['data'], name: string, file: string): ArrayOut {
  if (data instanceof Float32Array || data instanceof Float64Array) return data;
  throw new ModelOpsError('onnx-output', `${file}: output '${name}' did not return floats.`, 'Name a float output.');
}

function graphSummary(info: OnnxGraphInfo): OnnxManifest['graph'] {
  const spec = (v: OnnxValueInfo): RuntimeTensorSpec =>
    tensorSpecOf(v) ?? { name: v.name, datatype: 'BYTES', shape: v.shape ?? [] };
  return {
    inputs: info.inputs.map(spec),
    outputs: info.outputs.map(spec),
    opsets: info.opsets,
    producer: `${info.producerName}${info.producerVersion ? ` ${info.producerVersion}` : ''}`,
    irVersion: info.irVersion,
    operators: info.operators,
  };
}

/** What a bundle spec says about how to run the graph. */
function planInputOf(spec: OnnxBundleSpec): PlanInput {
  return {
    task: spec.task,
    columns: spec.columns,
    derived: spec.derived,
    labels: spec.labels,
    inputMapping: spec.inputMapping,
    outputs: spec.outputs,
    preprocessing: spec.preprocessing,
    transforms: spec.transforms,
    missing: spec.missing,
  };
}

/** Reads and checks a graph, resolves how to run it, and opens a session: the first steps of every ONNX load. */
async function prepare(
  file: string,
  given: PlanInput,
  threads: number | undefined,
): Promise<{ bytes: Uint8Array; info: OnnxGraphInfo; plan: Plan; session: InferenceSession }> {
  const bytes = await readBytes(file, file);
  const info = readOnnxGraph(bytes, file);
  checkGraph(info, file);
  const plan = resolvePlan(info, file, given);
  return { bytes, info, plan, session: await createOnnxSession(bytes, file, threads) };
}

/**
 * Writes an ONNX bundle: `dir/model.onnx` (a copy of `onnxFile`) and `dir/modelops.json`.
 * Checks the graph and that ONNX Runtime can load it first, so a registered version always loads.
 */
export async function writeOnnxBundle(dir: string, onnxFile: string, spec: OnnxBundleSpec = {}): Promise<OnnxManifest> {
  const { bytes, info, plan, session } = await prepare(onnxFile, planInputOf(spec), spec.threads);
  const manifest: OnnxManifest = {
    format: ONNX_MANIFEST_FORMAT,
    task: plan.task,
    ...(spec.target !== undefined ? { target: spec.target } : {}),
    columns: plan.columns,
    ...(plan.derived.size > 0
      ? { derived: Object.fromEntries([...plan.derived].map(([c, d]) => [c, `${d.fn}(${d.source})`])) }
      : {}),
    ...(plan.labels ? { labels: plan.labels } : {}),
    inputs: { mapping: plan.mapping },
    outputs: plan.outputs,
    preprocessing: plan.preprocessing,
    ...(plan.transforms ? { transforms: plan.transforms } : {}),
    missing: plan.missing,
    signature: plan.signature,
    graph: graphSummary(info),
    modelDigest: createHash('sha256').update(bytes).digest('hex'),
    createdAt: new Date().toISOString(),
  };
  const runtime = new OnnxRuntime(manifest, plan, session, await ort(), onnxFile);
  try {
    if (spec.profile) manifest.profile = spec.profile;
    else if (spec.reference && spec.reference.rows.length > 0) {
      const preds = await runtime.predict(spec.reference.rows);
      // Drift profiles the raw columns a request carries; a derived input's date source is not profiled.
      const profiled: FeatureTransform[] = plan.features
        .filter((f) => f.kind !== 'date')
        .map((f) =>
          f.kind === 'numeric'
            ? { name: f.name, kind: 'numeric', mean: 0, std: 1, impute: null }
            : { name: f.name, kind: 'categorical', categories: [], impute: null },
        );
      manifest.profile = buildProfile(
        spec.reference.rows,
        profiled,
        preds.map((p) => p.value),
        spec.reference.seed ?? 1,
      );
      const labels = plan.labels;
      if (labels && spec.target !== undefined && spec.evaluation && spec.evaluation.rows.length > 0) {
        const scored = await runtime.predict(spec.evaluation.rows);
        const k = labels.length;
        const probabilities = new Float64Array(scored.length * k).fill(NaN);
        scored.forEach((p, i) => {
          if (p.probabilities?.length === k) probabilities.set(p.probabilities, i * k);
        });
        // A row's true class by its label text; rows whose label the model does not know are left out.
        const truth = spec.evaluation.rows.map((r) => labels.indexOf(String(r[spec.target!])));
        // Rows without probabilities (a model with no probability output) are left out too.
        for (let i = 0; i < truth.length; i++) if (probabilities[i * k] !== probabilities[i * k]) truth[i] = -1;
        const sample = evaluationSample(probabilities, truth, k);
        if (sample.rows > 0) manifest.profile.evaluation = sample;
      } else if (plan.task === 'regression' && spec.target !== undefined && spec.evaluation?.rows.length) {
        // A regression model's test split: its raw inputs, predictions and true values (DLE's reference).
        const rows = spec.evaluation.rows;
        const scored = await runtime.predict(rows);
        const sample = lossSample(
          rows,
          profiled.map((f) => f.name),
          scored.map((p) => numberValue(p.value)),
          rows.map((r) => numberValue(r[spec.target!])),
        );
        if (sample.rows > 0) manifest.profile.evaluationLoss = sample;
      }
    }
  } finally {
    runtime.dispose();
  }
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, ONNX_MODEL_FILE), bytes);
  await writeFile(join(dir, MANIFEST_JSON), JSON.stringify(manifest, null, 2));
  return manifest;
}

/** Loads an ONNX bundle directory (its manifest already read by `loadRuntime`). */
function planInputOfManifest(manifest: OnnxManifest): PlanInput {
  return {
    task: manifest.task,
    columns: manifest.columns,
    derived: manifest.derived,
    labels: manifest.labels,
    inputMapping: manifest.inputs?.mapping,
    outputs: manifest.outputs,
    preprocessing: manifest.preprocessing,
    transforms: manifest.transforms,
    missing: manifest.missing,
  };
}

export async function loadOnnxBundle(
  dir: string,
  manifest: OnnxManifest,
  options: RuntimeOptions = {},
): Promise<OnnxRuntime> {
  const file = join(dir, ONNX_MODEL_FILE);
  const { plan, session } = await prepare(file, planInputOfManifest(manifest), options.threads);
  return new OnnxRuntime(manifest, plan, session, await ort(), file);
}

/**
 * What an ONNX bundle takes and gives, from its manifest and graph alone: the same plan
 * `loadOnnxBundle` makes, without starting ONNX Runtime (monitoring needs no predictions).
 */
export async function describeOnnxBundle(dir: string, manifest: OnnxManifest): Promise<BundleDescription> {
  const file = join(dir, ONNX_MODEL_FILE);
  const info = readOnnxGraph(await readBytes(file, file), file);
  checkGraph(info, file);
  const plan = resolvePlan(info, file, planInputOfManifest(manifest));
  return {
    task: plan.task,
    ...(plan.labels ? { labels: plan.labels } : {}),
    ...(manifest.target !== undefined ? { target: manifest.target } : {}),
    columns: plan.features,
    ...(manifest.profile ? { profile: manifest.profile } : {}),
  };
}

/**
 * An ONNX file run directly, without a bundle (the registry's details page, checks before
 * registering, tests): everything comes from `spec`, metadata_props and the graph.
 */
export async function openOnnxFile(onnxFile: string, spec: OnnxBundleSpec = {}): Promise<OnnxRuntime> {
  const { bytes, info, plan, session } = await prepare(onnxFile, planInputOf(spec), spec.threads);
  const manifest: OnnxManifest = {
    format: ONNX_MANIFEST_FORMAT,
    task: plan.task,
    columns: plan.columns,
    labels: plan.labels,
    inputs: { mapping: plan.mapping },
    outputs: plan.outputs,
    preprocessing: plan.preprocessing,
    signature: plan.signature,
    graph: graphSummary(info),
    modelDigest: createHash('sha256').update(bytes).digest('hex'),
    createdAt: new Date().toISOString(),
    ...(spec.profile ? { profile: spec.profile } : {}),
  };
  return new OnnxRuntime(manifest, plan, session, await ort(), onnxFile);
}
