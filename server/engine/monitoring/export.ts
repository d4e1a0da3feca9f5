/**
 * Labelled production traffic: the logged inputs of each prediction joined with the true label
 * that arrived as feedback. This is what monitoring hands to the next retrain
 * (`modelops train --from-traffic`, server/engine/training/fromTraffic.ts).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ModelOpsConfig } from '../config/types';
import { ModelOpsError } from '../errors';
import type { Row } from '../data/read';
import type { Registry } from '../registry/types';
import { defaultManifestFor } from './monitor';
import { defaultLogDir } from './logSource';
import { readPredictionLog } from './readLog';
import { logFiles } from '../serving/predictionLog';

export interface LabelledTrafficOptions {
  registry: Registry;
  config: ModelOpsConfig;
  target: string;
  model?: string;
  /** Prediction index range [from, to) in log order; default all. */
  from?: number;
  to?: number;
  /** Only predictions requested at or after this time (ms since epoch). */
  since?: number;
  logDir?: string;
}

export interface LabelledTraffic {
  /** Feature columns, then the target. */
  columns: string[];
  rows: Row[];
  /** Predictions in the range that had no label yet (left out). */
  unlabelled: number;
  /** Predictions in the range (labelled or not); `rows.length + unlabelled`. */
  predictions: number;
  /** Predictions in the index range left out because they were requested before `since`. */
  beforeSince: number;
  /** Feedback lines whose request id matches no logged prediction (ignored). */
  unmatchedFeedback: number;
  /** Request times (ISO) of the first and last prediction in the range; null when there are none. */
  period: { first: string; last: string } | null;
}

export async function labelledTraffic(options: LabelledTrafficOptions): Promise<LabelledTraffic> {
  const { registry, config, target } = options;
  const model = options.model ?? config.model.name;
  const version = registry.activeDeployment(target, model)?.version ?? registry.getVersion(model).version;
  const manifest = await defaultManifestFor(registry, model)(version);
  if (!manifest)
    throw new ModelOpsError(
      'no-manifest',
      `Cannot read the model bundle of ${model}@${version}.`,
      'Deploy a version first: a TF.js bundle trained here or an ONNX model.',
    );
  const logDir = options.logDir ?? defaultLogDir(registry, config, target, model);
  const cols = await readPredictionLog(logDir, manifest.features, manifest.task, manifest.labels ?? []);
  // A version exported elsewhere may not name its target: the config's is the one it is retrained on.
  const targetName = manifest.target ?? config.data.target;
  const from = Math.max(0, options.from ?? 0);
  const to = Math.min(cols.count, options.to ?? cols.count);
  const since = options.since ?? -Infinity;
  const rows: Row[] = [];
  let unlabelled = 0;
  let beforeSince = 0;
  let first = Infinity;
  let last = -Infinity;
  for (let i = from; i < to; i++) {
    const t = cols.time[i];
    if (t < since) {
      beforeSince++;
      continue;
    }
    if (t < first) first = t;
    if (t > last) last = t;
    const truth = cols.truthLabel
      ? cols.truthLabel[i] >= 0
        ? cols.labels.values[cols.truthLabel[i]]
        : null
      : cols.truthValue && !Number.isNaN(cols.truthValue[i])
        ? cols.truthValue[i]
        : null;
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
  return {
    columns: [...manifest.features.map((f) => f.name), targetName],
    rows,
    unlabelled,
    predictions: rows.length + unlabelled,
    beforeSince,
    unmatchedFeedback: await unmatchedFeedback(logDir),
    period: Number.isFinite(first)
      ? { first: new Date(first).toISOString(), last: new Date(last).toISOString() }
      : null,
  };
}

// The server writes `{"type":"prediction","id":"…"` / `{"type":"feedback","id":"…"`: read the id
// in place; any other shape (or an escaped id) goes through JSON.parse.
const LINE_HEAD = /^\{"type":"(prediction|feedback)","id":"([^"\\]*)"/;

/**
 * Feedback lines whose request id no logged prediction carries (a typo, or a request from before
 * the log was rotated away): the server logs them as sent; the join ignores them and this counts them.
 */
async function unmatchedFeedback(dir: string): Promise<number> {
  const ids = new Set<string>();
  const feedback: string[] = [];
  for (const file of logFiles(dir)) {
    const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line) continue;
      let type: string | undefined;
      let id: string | undefined;
      const m = LINE_HEAD.exec(line);
      if (m) [, type, id] = m;
      else {
        try {
          const o = JSON.parse(line) as { type?: unknown; id?: unknown };
          if (typeof o.type === 'string' && typeof o.id === 'string') [type, id] = [o.type, o.id];
        } catch {
          continue; // a bad line is counted by readPredictionLog
        }
      }
      if (id === undefined) continue;
      if (type === 'prediction') ids.add(id);
      else if (type === 'feedback') feedback.push(id);
    }
  }
  let n = 0;
  for (const id of feedback) if (!ids.has(id)) n++;
  return n;
}
