/**
 * The general reader: any line JSON.parse accepts, in any key order and spacing. Lines the
 * server-line scanner gives up on come here; a line that is not a prediction or feedback
 * object is counted in `badLines` and skipped.
 */
import { hashString } from './columns';
import type { FeedbackJoin } from './feedback';
import type { RowStore } from './store';

interface PredLine {
  type?: string;
  id?: string;
  time?: string;
  version?: string;
  latencyMs?: number;
  inputs?: Record<string, unknown[]>;
  outputs?: { label?: string[]; value?: number[]; probabilities?: unknown };
  labels?: Array<string | number>;
}

export class JsonLineReader {
  constructor(
    private readonly store: RowStore,
    private readonly join: FeedbackJoin,
  ) {}

  line(raw: string): void {
    const { store } = this;
    // Probabilities are the last key of a prediction line and monitoring does not need them:
    // cutting them off before parsing nearly halves the work.
    let line = raw;
    const cut = store.probs ? -1 : raw.lastIndexOf(',"probabilities":[');
    if (cut > 0 && raw.endsWith(']}}')) line = raw.slice(0, cut) + '}}';
    let o: PredLine;
    try {
      o = JSON.parse(line) as PredLine;
    } catch {
      store.badLines++;
      return;
    }
    if (o.type === 'feedback') {
      if (typeof o.id === 'string' && Array.isArray(o.labels)) this.join.addRaw(o.id, o.labels);
      return;
    }
    if (o.type !== 'prediction' || !o.inputs || !o.outputs) {
      store.badLines++;
      return;
    }
    const out = store.task === 'classification' ? o.outputs.label : o.outputs.value;
    if (!Array.isArray(out)) {
      store.badLines++;
      return;
    }
    this.prediction(o, o.inputs, out);
  }

  private prediction(o: PredLine, inputs: Record<string, unknown[]>, out: unknown[]): void {
    const { store } = this;
    const n = out.length;
    const t = o.time ? Date.parse(o.time) : NaN;
    if (t < store.since) {
      store.beforeSince += n;
      return;
    }
    const vcode = store.versions.code(String(o.version));
    const lat = typeof o.latencyMs === 'number' ? o.latencyMs : NaN;
    for (const inp of store.inputs) {
      const vals = inputs[inp.name];
      if (inp.num) {
        for (let i = 0; i < n; i++) {
          const v = vals?.[i];
          inp.num.push(typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : NaN);
        }
      } else {
        const dict = inp.dict!;
        for (let i = 0; i < n; i++) {
          const v = vals?.[i];
          inp.cat!.push(typeof v === 'string' ? dict.code(v) : -1);
        }
      }
    }
    const { predLabel, predValue, probs, K, labels } = store;
    if (predLabel) for (let i = 0; i < n; i++) predLabel.push(labels.code(String(out[i])));
    if (predValue) for (let i = 0; i < n; i++) predValue.push(Number(out[i]));
    if (probs) {
      const rowsP = o.outputs!.probabilities;
      for (let i = 0; i < n; i++) {
        const row = Array.isArray(rowsP) ? (rowsP[i] as unknown) : undefined;
        const ok = Array.isArray(row) && row.length === K;
        for (let k = 0; k < K; k++) {
          const v = ok ? (row as unknown[])[k] : undefined;
          probs.push(typeof v === 'number' ? v : NaN);
        }
      }
    }
    const first = store.count;
    store.addRows(n, vcode, t, lat);
    if (typeof o.id === 'string') this.join.addRequest(o.id, hashString(o.id), first, n);
  }
}
