/**
 * Reads a model's prediction log (rotated files oldest first, then the current one) into
 * column arrays: one entry per predicted row. `PredictionLogReader` drives the parts: the
 * chunked line source (source.ts), the scanner of the server's own line shape (serverLine.ts),
 * the JSON.parse fallback (jsonLine.ts), the feedback join (feedback.ts) and the row columns
 * (store.ts). Values are kept in typed arrays, so a million predictions fit in little memory
 * and time; a streamed read keeps only the rows its consumer still needs.
 */
import { logFiles } from '../../serving/predictionLog';
import type { LineStats, LogBlock, LogColumns, LogFeature, ReadLogOptions } from './columns';
import { FeedbackJoin } from './feedback';
import { JsonLineReader } from './jsonLine';
import { ServerLineScanner } from './serverLine';
import { ChunkedLineSource, type LineSink } from './source';
import { RowStore } from './store';

export class PredictionLogReader implements LineSink {
  /** Lines read by the server-line scanner and by the JSON.parse fallback (always counted). */
  readonly lines: LineStats = { fast: 0, fallback: 0 };
  private readonly store: RowStore;
  private readonly join: FeedbackJoin;
  private readonly scanner: ServerLineScanner;
  private readonly json: JsonLineReader;
  private readonly stream: ReadLogOptions['stream'] | null;
  private readonly pendingRows: number;
  private used = false;

  constructor(
    features: readonly LogFeature[],
    task: 'classification' | 'regression',
    labelOrder: readonly string[] = [],
    options: ReadLogOptions = {},
  ) {
    this.stream = options.stream ?? null;
    this.pendingRows = this.stream ? Math.max(0, this.stream.pendingRows) : Infinity;
    this.store = new RowStore(
      features,
      task,
      labelOrder,
      options.probabilities === true,
      this.stream !== null,
      options.since ?? -Infinity,
    );
    this.join = new FeedbackJoin(this.store, this.pendingRows);
    this.scanner = new ServerLineScanner(this.store, this.join);
    this.json = new JsonLineReader(this.store, this.join);
  }

  /** Reads every log file under `dir` (once per reader). Streamed: what is still retained at the end. */
  async read(dir: string): Promise<LogColumns> {
    if (this.used) throw new Error('A PredictionLogReader reads one log: make another for the next read.');
    this.used = true;
    await new ChunkedLineSource(this.stream?.chunkBytes).read(logFiles(dir), this);
    if (this.stream) {
      await this.block(true);
      return this.retained();
    }
    const { truthLabel, truthValue } = this.join.joinAll();
    return this.store.columns(truthLabel, truthValue);
  }

  /** Lines separated by '\n', as bytes: the scanner first, JSON.parse of the decoded line when it gives up. */
  bytes(bytes: Buffer): void {
    const scanner = this.scanner;
    const end = bytes.length;
    let start = 0;
    for (;;) {
      const nl = bytes.indexOf(10, start);
      const stop = nl < 0 ? end : nl;
      if (stop > start) {
        if (scanner.line(bytes, start, stop)) this.lines.fast++;
        else {
          this.lines.fallback++;
          this.json.line(bytes.toString('utf8', start, stop));
        }
      }
      if (nl < 0) break;
      start = nl + 1;
    }
  }

  chunk(): void | Promise<void> {
    if (this.stream) return this.block(false);
  }

  private retained(): LogColumns {
    const store = this.store;
    store.extendTruth();
    return store.columns(store.truthL?.view() ?? null, store.truthV?.view() ?? null);
  }

  private block(done: boolean): void | Promise<void> {
    const store = this.store;
    const b: LogBlock = {
      cols: this.retained(),
      base: store.base,
      total: store.count,
      done,
      feedback: { ...this.join.counts },
      pendingIds: this.join.heldIds,
      discard: (upTo) => this.discard(upTo),
    };
    return this.stream!.onBlock(b);
  }

  /** Forgets rows before log row `upTo`, but never rows that may still get feedback. */
  private discard(upTo: number): void {
    const store = this.store;
    const d = Math.min(upTo, store.count - this.pendingRows, store.count) - store.base;
    if (d > 0) store.discard(d);
  }
}

/** Reads every log file under `dir` for a model with these features. */
export function readPredictionLog(
  dir: string,
  features: readonly LogFeature[],
  task: 'classification' | 'regression',
  labelOrder: readonly string[] = [],
  options: ReadLogOptions = {},
): Promise<LogColumns> {
  return new PredictionLogReader(features, task, labelOrder, options).read(dir);
}
