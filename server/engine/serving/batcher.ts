/**
 * Micro-batching: concurrent infer requests for one model version are merged into one model
 * call of at most `maxBatchSize` rows, waiting at most `maxWaitMs` for company. A request larger
 * than the maximum goes alone.
 */
import type { Prediction } from '../model/types';

export interface BatcherOptions {
  maxBatchSize: number;
  maxWaitMs: number;
  onBatch?: (rows: number) => void;
}

interface Pending {
  rows: Array<Record<string, unknown>>;
  resolve: (p: Prediction[]) => void;
  reject: (e: unknown) => void;
}

export class Batcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;

  constructor(
    private readonly predict: (rows: Array<Record<string, unknown>>) => Promise<Prediction[]>,
    private readonly options: BatcherOptions,
  ) {}

  submit(rows: Array<Record<string, unknown>>): Promise<Prediction[]> {
    return new Promise<Prediction[]>((resolve, reject) => {
      if (this.queuedRows > 0 && this.queuedRows + rows.length > this.options.maxBatchSize) this.flush();
      this.queue.push({ rows, resolve, reject });
      this.queuedRows += rows.length;
      if (this.queuedRows >= this.options.maxBatchSize) this.flush();
      else if (!this.timer && !this.immediate) {
        if (this.options.maxWaitMs > 0) this.timer = setTimeout(() => this.flush(), this.options.maxWaitMs);
        else this.immediate = setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    this.queuedRows = 0;
    const rows = batch.length === 1 ? batch[0].rows : batch.flatMap((p) => p.rows);
    this.options.onBatch?.(rows.length);
    this.predict(rows).then(
      (preds) => {
        let o = 0;
        for (const p of batch) {
          p.resolve(batch.length === 1 ? preds : preds.slice(o, o + p.rows.length));
          o += p.rows.length;
        }
      },
      (e) => {
        for (const p of batch) p.reject(e);
      },
    );
  }

  /** Sends whatever is queued now (used before unloading). */
  drain(): void {
    this.flush();
  }
}
