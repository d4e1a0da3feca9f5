/**
 * TensorFlow.js bundles (trained by ModelOps) behind the runtime interface: a thin wrapper of
 * `loadModelBundle`, whose preprocessing (standardisation, one-hot) is the `encode` step.
 */
import { inputWidth, transformRows } from '../data/preprocess';
import { loadModelBundle, probabilitiesOf, type LoadedModel } from '../model/bundle';
import type { ModelManifest, Prediction, Task } from '../model/types';
import { decodeScores } from './decode';
import type { BatchResult, ModelRuntime, RuntimeColumn, RuntimeSignature } from './types';

/** The raw columns a TF.js bundle takes: its fitted features, numeric as FP32, categorical as text. */
export function tfjsColumns(manifest: ModelManifest): RuntimeColumn[] {
  return manifest.features.map((f) => ({
    name: f.name,
    datatype: f.kind === 'numeric' ? 'FP32' : 'BYTES',
    kind: f.kind,
  }));
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

  constructor(
    readonly manifest: ModelManifest,
    private readonly model: LoadedModel,
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

  async predictBatch(x: Float32Array, n: number): Promise<BatchResult> {
    const { outputs, width } = await this.model.predictEncoded(x, n);
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

  decode(result: BatchResult, n: number): Prediction[] {
    return decodeScores(result, n, this.task, this.labels ?? []);
  }

  dispose(): void {
    this.model.dispose();
  }
}

export async function loadTfjsRuntime(dir: string): Promise<TfjsRuntime> {
  const model = await loadModelBundle(dir);
  return new TfjsRuntime(model.manifest, model);
}
