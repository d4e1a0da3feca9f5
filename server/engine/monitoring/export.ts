/**
 * Labelled production traffic: the logged inputs of each prediction joined with the true label
 * that arrived as feedback. This is what monitoring hands to the next retrain.
 */
import type { ModelOpsConfig } from '../config/types';
import { ModelOpsError } from '../errors';
import type { Row } from '../data/read';
import type { Registry } from '../registry/types';
import { defaultLogDir, defaultManifestFor } from './monitor';
import { readPredictionLog } from './readLog';

export interface LabelledTrafficOptions {
  registry: Registry;
  config: ModelOpsConfig;
  target: string;
  model?: string;
  /** Prediction index range [from, to) in log order; default all. */
  from?: number;
  to?: number;
  logDir?: string;
}

export interface LabelledTraffic {
  /** Feature columns, then the target. */
  columns: string[];
  rows: Row[];
  /** Predictions in the range that had no label yet (left out). */
  unlabelled: number;
}

export async function labelledTraffic(options: LabelledTrafficOptions): Promise<LabelledTraffic> {
  const { registry, config, target } = options;
  const model = options.model ?? config.model.name;
  const version = registry.activeDeployment(target, model)?.version ?? registry.getVersion(model).version;
  const manifest = await defaultManifestFor(registry, model)(version);
  if (!manifest) throw new ModelOpsError('no-manifest', `Cannot read the model bundle of ${model}@${version}.`, 'Deploy a version first: a TF.js bundle trained here or an ONNX model.');
  const cols = await readPredictionLog(options.logDir ?? defaultLogDir(registry, config, target, model), manifest.features, manifest.task, manifest.labels ?? []);
  // A version exported elsewhere may not name its target: the config's is the one it is retrained on.
  const targetName = manifest.target ?? config.data.target;
  const from = Math.max(0, options.from ?? 0);
  const to = Math.min(cols.count, options.to ?? cols.count);
  const rows: Row[] = [];
  let unlabelled = 0;
  for (let i = from; i < to; i++) {
    const truth = cols.truthLabel ? (cols.truthLabel[i] >= 0 ? cols.labels.values[cols.truthLabel[i]] : null) : cols.truthValue && !Number.isNaN(cols.truthValue[i]) ? cols.truthValue[i] : null;
    if (truth === null) {
      unlabelled++;
      continue;
    }
    const row: Row = {};
    for (const f of manifest.features) {
      if (cols.numeric[f.name]) {
        const v = cols.numeric[f.name][i];
        row[f.name] = Number.isNaN(v) ? null : v;
      } else {
        const c = cols.categorical[f.name][i];
        row[f.name] = c >= 0 ? cols.dictionaries[f.name].values[c] : null;
      }
    }
    row[targetName] = truth;
    rows.push(row);
  }
  return { columns: [...manifest.features.map((f) => f.name), targetName], rows, unlabelled };
}
