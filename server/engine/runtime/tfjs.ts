/**
 * TensorFlow.js bundles (trained by ModelOps) behind the runtime interface: a thin wrapper of
 * `loadModelBundle`, whose preprocessing (standardisation, one-hot) is the `encode` step.
 *
 * Bulk batches (`predictBatch(x, n, { bulk: true })`: explanations) may run a compiled forward
 * pass of the network instead (denseForward.ts): compiled from the bundle's own files at the first
 * bulk call, and used only after it matched TF.js on a probe batch for this loaded model. Every
 * other call — serving, `predict` — runs TF.js.
 */
import { inputWidth, transformRows } from '../data/preprocess';
import { loadModelBundle, probabilitiesOf, type LoadedModel } from '../model/bundle';
import type { ModelManifest, Prediction, Task } from '../model/types';
import { readTfjsFiles } from '../optimize/tfjsFiles';
import { decodeScores } from './decode';
import { compileDenseForward, decodeWeights, probeRows, verifyForward, type DenseForward } from './denseForward';
import type { BatchOptions, BatchResult, ModelRuntime, RuntimeColumn, RuntimeSignature } from './types';

/** The raw columns a TF.js bundle takes: its fitted features, numeric as FP32, categorical as text. */
export function tfjsColumns(manifest: ModelManifest): RuntimeColumn[] {
  return manifest.features.map((f) => ({
    name: f.name,
    datatype: f.kind === 'numeric' ? 'FP32' : 'BYTES',
    kind: f.kind,
  }));
}

/** Which pass bulk batches run, and why. */
export interface ForwardPath {
  /** 'unchecked': no bulk batch yet; 'compiled': verified and in use; 'tfjs': not usable here. */
  path: 'unchecked' | 'compiled' | 'tfjs';
  /** Why TF.js runs bulk batches, or what the verification measured. */
  reason?: string;
}

export interface TfjsRuntimeOptions {
  /** Compile a forward pass for bulk batches (default true). */
  compiled?: boolean;
}

export class TfjsRuntime implements ModelRuntime {
  readonly kind = 'tfjs' as const;
  readonly task: Task;
  readonly labels?: string[];
  readonly signature: RuntimeSignature;
  readonly features: string[];
  readonly columns: RuntimeColumn[];
  readonly target: string;
  readonly profile: ModelManifest['profile'];
  readonly encodedWidth: number;

  private forward: Promise<DenseForward | null> | null = null;
  private path: ForwardPath = { path: 'unchecked' };
  private disposed = false;

  /** `dir`: the bundle directory the compiled pass reads its topology and weights from (none: TF.js only). */
  constructor(
    readonly manifest: ModelManifest,
    private readonly model: LoadedModel,
    private readonly dir?: string,
    private readonly options: TfjsRuntimeOptions = {},
  ) {
    this.task = manifest.task;
    this.labels = manifest.labels;
    // model/types.ts's datatypes are a subset of the runtime's.
    this.signature = manifest.signature;
    this.features = manifest.features.map((f) => f.name);
    this.columns = tfjsColumns(manifest);
    this.target = manifest.target;
    this.profile = manifest.profile;
    this.encodedWidth = inputWidth(manifest.features);
  }

  predict(
    rows: ReadonlyArray<Record<string, unknown>>,
    ctx?: Parameters<ModelRuntime['predict']>[1],
  ): Promise<Prediction[]> {
    return this.model.predict(rows as Array<Record<string, unknown>>, ctx);
  }

  encode(rows: ReadonlyArray<Record<string, unknown>>, ctx?: Parameters<ModelRuntime['predict']>[1]): Float32Array {
    return transformRows(rows, this.manifest.features, ctx);
  }

  async predictBatch(x: Float32Array, n: number, options?: BatchOptions): Promise<BatchResult> {
    // After dispose TF.js's own refusal ('model-disposed') answers.
    const forward = options?.bulk && !this.disposed ? await this.compiled(x, n) : null;
    const { outputs, width } = forward
      ? { outputs: forward.run(x, n), width: forward.outputWidth }
      : await this.model.predictEncoded(x, n);
    if (this.task === 'regression') {
      if (width === 1) return { outputs, width: 1 };
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) v[i] = outputs[i * width];
      return { outputs: v, width: 1 };
    }
    const k = this.labels?.length ?? width;
    // Softmax outputs pass as they are; a single sigmoid unit becomes [1 − p, p].
    return width === k ? { outputs, width } : { outputs: probabilitiesOf(outputs, n, width, k), width: k };
  }

  /** Which pass bulk batches run (for logs and tests). */
  get forwardPath(): ForwardPath {
    return { ...this.path };
  }

  /** The verified compiled pass, or null (TF.js). Compiled and checked once, at the first bulk batch. */
  private compiled(x: Float32Array, n: number): Promise<DenseForward | null> {
    this.forward ??= this.compile(x, n).catch((e: unknown) =>
      this.refuse(`compiling failed: ${e instanceof Error ? e.message : String(e)}`),
    );
    return this.forward;
  }

  private async compile(x: Float32Array, n: number): Promise<DenseForward | null> {
    if (this.options.compiled === false) return this.refuse('turned off for this runtime');
    if (!this.dir) return this.refuse('no bundle directory to compile from');
    const files = await readTfjsFiles(this.dir);
    const weights = decodeWeights(files.specs, files.data);
    if (typeof weights === 'string') return this.refuse(weights);
    const c = compileDenseForward(files.modelJson.modelTopology, weights, this.encodedWidth);
    if (!c.ok) return this.refuse(c.reason);
    const probe = probeRows(x, n, this.encodedWidth);
    const rows = probe.length / this.encodedWidth;
    const reference = await this.model.predictEncoded(probe, rows);
    if (reference.width !== c.forward.outputWidth)
      return this.refuse(
        `TF.js returns ${reference.width} outputs per row, the compiled pass ${c.forward.outputWidth}`,
      );
    const v = verifyForward(c.forward.run(probe, rows), reference.outputs, rows);
    const measured = `max |Δ| ${v.maxDiff.toExponential(2)} against TF.js on ${rows} probe rows (tolerance ${v.tolerance.toExponential(2)})`;
    if (!v.ok) return this.refuse(`verification failed: ${measured}`);
    this.path = { path: 'compiled', reason: `${c.forward.layers.join(' → ')}; ${measured}` };
    debug(`compiled forward pass in use for ${this.dir}: ${this.path.reason}`);
    return c.forward;
  }

  private refuse(reason: string): null {
    this.path = { path: 'tfjs', reason };
    debug(`TF.js runs bulk batches for ${this.dir ?? 'this model'}: ${reason}`);
    return null;
  }

  decode(result: BatchResult, n: number): Prediction[] {
    return decodeScores(result, n, this.task, this.labels ?? []);
  }

  dispose(): void {
    this.disposed = true;
    this.model.dispose();
  }
}

/** A line on stderr with MODELOPS_DEBUG set; silent otherwise (falling back to TF.js is not an error). */
function debug(message: string): void {
  if (process.env.MODELOPS_DEBUG) process.stderr.write(`modelops: ${message}\n`);
}

export async function loadTfjsRuntime(dir: string, options: TfjsRuntimeOptions = {}): Promise<TfjsRuntime> {
  const model = await loadModelBundle(dir);
  return new TfjsRuntime(model.manifest, model, dir, options);
}
