/**
 * Append-only prediction log, one JSONL file per model:
 *   <dir>/<model>/predictions.jsonl, rotated to predictions.1.jsonl … predictions.<keep>.jsonl
 * when it would pass `maxBytes`, so the disk used is bounded by (keep + 1) × maxBytes.
 * Lines are buffered in memory and appended on an interval (and at close), so logging never
 * waits for the disk inside a request. When the buffer passes `maxBufferBytes` before the
 * disk has caught up, new lines are dropped and counted rather than growing memory.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { appendFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeedbackLogLine, PredictionLogLine } from './types';

export interface PredictionLogOptions {
  /** Rotate when the current file would pass this size. Default 64 MB. */
  maxBytes?: number;
  /** Rotated files kept. Default 4. */
  keep?: number;
  /** Flush interval. Default 200 ms. */
  flushMs?: number;
  /** Memory cap for lines waiting to be written. Default 32 MB. */
  maxBufferBytes?: number;
}

export const LOG_FILE = 'predictions.jsonl';

/** Files of a model's log, oldest first. */
export function logFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const rotated = readdirSync(dir)
    .map((f) => /^predictions\.(\d+)\.jsonl$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ n: Number(m[1]), path: join(dir, m[0]) }))
    .sort((a, b) => b.n - a.n)
    .map((x) => x.path);
  const current = join(dir, LOG_FILE);
  return existsSync(current) ? [...rotated, current] : rotated;
}

interface ModelLog {
  dir: string;
  lines: string[];
  bytes: number;
  size: number | null;
}

export class PredictionLog {
  private logs = new Map<string, ModelLog>();
  private timer: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;
  /** Lines dropped because the disk could not keep up. */
  dropped = 0;
  /** Last write error, kept so /v2 can report it; requests never fail on it. */
  lastError: string | null = null;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly maxBufferBytes: number;

  constructor(
    private readonly root: string,
    options: PredictionLogOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.keep = Math.max(0, options.keep ?? 4);
    this.maxBufferBytes = options.maxBufferBytes ?? 32 * 1024 * 1024;
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 200);
    this.timer.unref();
  }

  dirOf(model: string): string {
    return join(this.root, model);
  }

  append(model: string, line: PredictionLogLine | FeedbackLogLine): void {
    if (this.closed) return;
    let log = this.logs.get(model);
    if (!log) {
      log = { dir: this.dirOf(model), lines: [], bytes: 0, size: null };
      this.logs.set(model, log);
    }
    const text = JSON.stringify(line) + '\n';
    if (log.bytes + text.length > this.maxBufferBytes) {
      this.dropped++;
      return;
    }
    log.lines.push(text);
    log.bytes += text.length;
  }

  /** Writes buffered lines; resolves when they are on disk. */
  flush(): Promise<void> {
    this.writing = this.writing.then(async () => {
      for (const log of this.logs.values()) {
        if (log.lines.length === 0) continue;
        const chunk = log.lines.join('');
        log.lines = [];
        log.bytes = 0;
        try {
          await this.write(log, chunk);
        } catch (e) {
          this.lastError = e instanceof Error ? e.message : String(e);
        }
      }
    });
    return this.writing;
  }

  private async write(log: ModelLog, chunk: string): Promise<void> {
    const file = join(log.dir, LOG_FILE);
    if (log.size === null) {
      await mkdir(log.dir, { recursive: true });
      log.size = await stat(file).then((s) => s.size, () => 0);
    }
    const bytes = Buffer.byteLength(chunk);
    if (log.size > 0 && log.size + bytes > this.maxBytes) {
      await this.rotate(log.dir);
      log.size = 0;
    }
    await appendFile(file, chunk);
    log.size += bytes;
  }

  private async rotate(dir: string): Promise<void> {
    const file = join(dir, LOG_FILE);
    if (this.keep === 0) {
      await rm(file, { force: true });
      return;
    }
    await rm(join(dir, `predictions.${this.keep}.jsonl`), { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      await rename(join(dir, `predictions.${i}.jsonl`), join(dir, `predictions.${i + 1}.jsonl`)).catch(() => undefined);
    }
    await rename(file, join(dir, 'predictions.1.jsonl'));
  }

  /** Flushes and stops the timer. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
  }

  /** Last-chance synchronous flush for process exit (no rotation checks beyond size). */
  flushSync(): void {
    for (const log of this.logs.values()) {
      if (log.lines.length === 0) continue;
      const chunk = log.lines.join('');
      log.lines = [];
      log.bytes = 0;
      try {
        mkdirSync(log.dir, { recursive: true });
        const file = join(log.dir, LOG_FILE);
        const size = existsSync(file) ? statSync(file).size : 0;
        if (size > 0 && size + Buffer.byteLength(chunk) > this.maxBytes && this.keep > 0) {
          rmSync(join(log.dir, `predictions.${this.keep}.jsonl`), { force: true });
          for (let i = this.keep - 1; i >= 1; i--) {
            const from = join(log.dir, `predictions.${i}.jsonl`);
            if (existsSync(from)) renameSync(from, join(log.dir, `predictions.${i + 1}.jsonl`));
          }
          renameSync(file, join(log.dir, 'predictions.1.jsonl'));
        }
        appendFileSync(file, chunk);
      } catch (e) {
        this.lastError = e instanceof Error ? e.message : String(e);
      }
    }
  }
}
