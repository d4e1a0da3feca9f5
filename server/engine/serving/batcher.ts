/**
 * Micro-batching: concurrent infer requests for one model version are merged into one model
 * call of at most `maxBatchSize` rows, waiting at most `maxWaitMs` for company. A request larger
 * than the maximum goes alone. A merged call that fails is run again one request at a time, so
 * a request the model refuses fails alone and its neighbours are answered.
 *
 * A job is what one request brings: its rows, or (numeric path) its encoded matrix; `merge`
 * joins the jobs of a call (default: concatenated row arrays).
 */
import type { Prediction } from '../model/types';

export interface BatcherOptions {
  maxBatchSize: number;
  maxWaitMs: number;
  onBatch?: (rows: number) => void;
}

/** One request's work: anything with a row count. */
export interface BatchJob {
  readonly length: number;
}

interface Pending<J> {
  rows: J;
  resolve: (p: Prediction[]) => void;
  reject: (e: unknown) => void;
}

const concatRows = <J extends BatchJob>(jobs: J[]): J =>
  (jobs as unknown as Array<Array<Record<string, unknown>>>).flat() as unknown as J;

export class Batcher<J extends BatchJob = Array<Record<string, unknown>>> {
  private queue: Array<Pending<J>> = [];
  private queuedRows = 0;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;

  constructor(
    private readonly predict: (rows: J) => Promise<Prediction[]>,
    private readonly options: BatcherOptions,
    private readonly merge: (jobs: J[]) => J = concatRows,
  ) {}

  submit(rows: J): Promise<Prediction[]> {
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
    const rows = batch.length === 1 ? batch[0].rows : this.merge(batch.map((p) => p.rows));
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
        if (batch.length === 1) return batch[0].reject(e);
        // Find the request at fault: each goes alone.
        for (const p of batch) this.predict(p.rows).then(p.resolve, p.reject);
      },
    );
  }

  /** Sends whatever is queued now (used before unloading). */
  drain(): void {
    this.flush();
  }
}
