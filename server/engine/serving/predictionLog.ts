/**
 * Append-only prediction log, one JSONL file per model:
 *   <dir>/<model>/predictions.jsonl, rotated to predictions.1.jsonl … predictions.<keep>.jsonl
 * when it would pass `maxBytes`, so the disk used is bounded by (keep + 1) × maxBytes.
 * Lines are buffered in memory (encoded off the JS heap) and appended on an interval (and at
 * close), so logging never waits for the disk inside a request. When the buffer passes `maxBufferBytes` before the
 * disk has caught up, new lines are dropped and counted rather than growing memory.
 *
 * A failed append (ENOSPC, EFBIG, EIO) is truncated back to the size the file had before it,
 * so the file only ever holds whole lines; the lines of that append are dropped and counted
 * (`dropped`, `lastError`, reported by `/v2` and `/metrics`), and `onError` hears about it
 * once per burst of failures rather than once per line.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writevSync,
} from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
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
  /**
   * Told when lines start being dropped (level 'error', once per burst) and when appends work
   * again (level 'info', with the count lost in the burst).
   */
  onError?: (message: string, level: 'error' | 'info') => void;
}

/** Log files and folders hold request data: owner only. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

const countLines = (parts: readonly Buffer[]): number => {
  let n = 0;
  for (const chunk of parts) for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  return n;
};

/** Size of the off-heap blocks lines are encoded into. */
const BLOCK_BYTES = 256 * 1024;
/**
 * Written blocks kept for the next lines (8: 2 MB, what a 200 ms flush holds at 15k lines of
 * 600 bytes a second): a fresh block's pages are faulted in by the kernel as lines are encoded
 * into it, which cost as much as the encoding.
 */
const SPARE_BLOCKS = 8;

/** What is left of `parts` after the first `written` bytes (a short write goes on from there). */
export function unwritten(parts: readonly Buffer[], written: number): Buffer[] {
  let i = 0;
  while (i < parts.length && written >= parts[i].length) written -= parts[i++].length;
  const rest = parts.slice(i);
  if (rest.length > 0 && written > 0) rest[0] = rest[0].subarray(written);
  return rest;
}

const byteLength = (parts: readonly Buffer[]): number => parts.reduce((n, p) => n + p.length, 0);

const errorText = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  return err && typeof err === 'object' && typeof err.message === 'string' ? err.message : String(e);
};

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

/**
 * `GET …/log?since=`: a date (`2024-05-01`, UTC midnight) or a date and time with its zone
 * (`2024-05-01T12:00:00Z`, `…+02:00`); a time without a zone would be read in the server's zone.
 */
const SINCE_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/** `since` in ms since the epoch, or null when it is not one of the forms above. */
export function parseLogSince(text: string): number | null {
  if (!SINCE_TIME.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * How much earlier than `since` a file's mtime must be to skip it: file timestamps can lag the
 * clock the lines' times come from (a kernel tick; whole seconds on ext3 or HFS+, two on FAT).
 */
export const LOG_MTIME_SLACK_MS = 2000;

/**
 * Whether a log file last written at `mtimeMs` may hold a line timed at or after `sinceMs`.
 * Every line is appended after its time is taken, so a file last written before `since` holds
 * none; nor feedback for a prediction from then on, which is appended after that prediction.
 */
export function mayHoldSince(mtimeMs: number, sinceMs: number): boolean {
  return mtimeMs >= sinceMs - LOG_MTIME_SLACK_MS;
}

/** Bytes of a log file's start read to name it: its first line, or this much of a longer one. */
const ID_BYTES = 64 * 1024;
const FIRST_READ = 4096;

/** A log file as `GET …/log/files` lists it: named by its first line, which rotation does not change. */
export interface LogFileInfo {
  /** The first 32 hex digits of the SHA-256 of its first line (with its newline). */
  id: string;
  size: number;
  /** Last written, ISO time. */
  modified: string;
}

/**
 * A log file's id, read from an open handle: files are append-only and only renamed by rotation,
 * so the same bytes keep the same id under any name, and a reader that has the first N bytes of a
 * file can ask for the rest of it by id. Null for an empty file.
 */
export async function logFileId(fh: FileHandle): Promise<string | null> {
  // A log line is a few hundred bytes: a small read names most files; a longer first line is read on.
  let head = Buffer.allocUnsafe(FIRST_READ);
  let { bytesRead } = await fh.read(head, 0, FIRST_READ, 0);
  if (bytesRead === 0) return null;
  let nl = head.subarray(0, bytesRead).indexOf(10);
  if (nl < 0 && bytesRead === FIRST_READ) {
    head = Buffer.allocUnsafe(ID_BYTES);
    ({ bytesRead } = await fh.read(head, 0, ID_BYTES, 0));
    nl = head.subarray(0, bytesRead).indexOf(10);
  }
  const first = head.subarray(0, nl < 0 ? bytesRead : nl + 1);
  return createHash('sha256').update(first).digest('hex').slice(0, 32);
}

/** A model's log files, oldest first, by id (empty files left out). */
export async function logFileInfos(dir: string): Promise<LogFileInfo[]> {
  const out: LogFileInfo[] = [];
  for (const file of logFiles(dir)) {
    const fh = await open(file, 'r').catch(() => null);
    if (!fh) continue; // rotated out since it was listed
    try {
      const st = await fh.stat();
      const id = await logFileId(fh);
      if (id) out.push({ id, size: st.size, modified: new Date(st.mtimeMs).toISOString() });
    } finally {
      await fh.close();
    }
  }
  return out;
}

/** The open file of a model's log whose id is `id` (the caller closes it), or null when none is. */
export async function openLogFile(dir: string, id: string): Promise<FileHandle | null> {
  for (const file of logFiles(dir)) {
    const fh = await open(file, 'r').catch(() => null);
    if (!fh) continue;
    if ((await logFileId(fh).catch(() => null)) === id) return fh;
    await fh.close();
  }
  return null;
}

interface ModelLog {
  model: string;
  dir: string;
  /**
   * Lines waiting to be written, UTF-8 encoded as they arrive into off-heap blocks (full ones in
   * `blocks`, the current one `block` up to `used`): nothing of a line stays on the JS heap until
   * the flush, so lines held for up to `flushMs` under load cost the garbage collector nothing.
   */
  blocks: Buffer[];
  block: Buffer | null;
  used: number;
  bytes: number;
  size: number | null;
}

export class PredictionLog {
  private logs = new Map<string, ModelLog>();
  private spare: Buffer[] = [];
  private timer: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;
  /** Lines dropped: the disk could not keep up, or an append failed (disk full, I/O error). */
  dropped = 0;
  /** Last write error, kept so /v2 can report it; requests never fail on it. */
  lastError: string | null = null;
  /** Lines dropped since the current burst of failures began; null while appends work. */
  private burst: number | null = null;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly maxBufferBytes: number;
  private readonly onError: (message: string, level: 'error' | 'info') => void;

  constructor(
    private readonly root: string,
    options: PredictionLogOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.keep = Math.max(0, options.keep ?? 4);
    this.maxBufferBytes = options.maxBufferBytes ?? 32 * 1024 * 1024;
    this.onError = options.onError ?? (() => undefined);
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 200);
    this.timer.unref();
  }

  dirOf(model: string): string {
    return join(this.root, model);
  }

  append(model: string, line: PredictionLogLine | FeedbackLogLine): void {
    this.appendText(model, JSON.stringify(line));
  }

  /** A line already serialised (one JSON object, no newline), as the server builds prediction lines. */
  appendText(model: string, json: string): void {
    if (this.closed) return;
    let log = this.logs.get(model);
    if (!log) {
      log = { model, dir: this.dirOf(model), blocks: [], block: null, used: 0, bytes: 0, size: null };
      this.logs.set(model, log);
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit; the newline one more.
    const most = json.length * 3 + 1;
    if (log.bytes + most > this.maxBufferBytes) {
      this.lost(model, 1, 'the disk did not keep up and the log buffer is full');
      return;
    }
    if (!log.block || log.block.length - log.used < most) {
      if (log.block && log.used > 0) log.blocks.push(log.block.subarray(0, log.used));
      log.block =
        most <= BLOCK_BYTES ? (this.spare.pop() ?? Buffer.allocUnsafeSlow(BLOCK_BYTES)) : Buffer.allocUnsafeSlow(most);
      log.used = 0;
    }
    const n = log.block.write(json, log.used) + 1;
    log.block[log.used + n - 1] = 10;
    log.used += n;
    log.bytes += n;
  }

  /**
   * The model's waiting lines, block by block (written with one writev, never copied into one
   * buffer); the log starts a new block.
   */
  private take(log: ModelLog): Buffer[] {
    const parts = log.block && log.used > 0 ? [...log.blocks, log.block.subarray(0, log.used)] : log.blocks;
    log.blocks = [];
    log.block = null;
    log.used = 0;
    log.bytes = 0;
    return parts;
  }

  /** Blocks whose lines are written (or dropped) go back to the spares. */
  private recycle(parts: readonly Buffer[]): void {
    for (const p of parts) {
      if (this.spare.length >= SPARE_BLOCKS) return;
      // Only whole BLOCK_BYTES blocks (allocUnsafeSlow: each its own ArrayBuffer, from offset 0).
      if (p.byteOffset === 0 && p.buffer.byteLength === BLOCK_BYTES) this.spare.push(Buffer.from(p.buffer));
    }
  }

  /** Writes buffered lines; resolves when they are on disk. */
  flush(): Promise<void> {
    this.writing = this.writing.then(async () => {
      for (const log of this.logs.values()) {
        if (log.bytes === 0) continue;
        const parts = this.take(log);
        try {
          await this.write(log, parts);
          this.recovered();
        } catch (e) {
          this.lost(log.model, countLines(parts), errorText(e));
        }
        this.recycle(parts);
      }
    });
    return this.writing;
  }

  /** Counts dropped lines; the first drop of a burst is reported, the rest only counted. */
  private lost(model: string, lines: number, why: string): void {
    this.dropped += lines;
    this.lastError = why;
    if (this.burst === null) {
      this.burst = 0;
      this.onError(
        `prediction log of '${model}': dropping lines (${why}); counted in modelops_prediction_log_dropped_total and GET /v2`,
        'error',
      );
    }
    this.burst += lines;
  }

  private recovered(): void {
    if (this.burst === null) return;
    const n = this.burst;
    this.burst = null;
    this.onError(`prediction log: appends work again after ${n} dropped line(s)`, 'info');
  }

  private async write(log: ModelLog, parts: Buffer[]): Promise<void> {
    const length = byteLength(parts);
    const file = join(log.dir, LOG_FILE);
    if (log.size === null) {
      await mkdir(log.dir, { recursive: true, mode: DIR_MODE });
      log.size = await stat(file).then(
        (s) => s.size,
        () => 0,
      );
    }
    if (log.size > 0 && log.size + length > this.maxBytes) {
      await this.rotate(log.dir);
      log.size = 0;
    }
    const fh = await open(file, 'a', FILE_MODE);
    let before = log.size;
    try {
      before = (await fh.stat()).size;
      for (let rest = parts; rest.length > 0;) rest = unwritten(rest, (await fh.writev(rest)).bytesWritten);
      log.size = before + length;
    } catch (e) {
      // A partial append would leave half a line for the next record to be glued onto.
      await fh.truncate(before).catch(() => undefined);
      log.size = null;
      throw e;
    } finally {
      await fh.close().catch(() => undefined);
    }
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
      if (log.bytes === 0) continue;
      const parts = this.take(log);
      try {
        mkdirSync(log.dir, { recursive: true, mode: DIR_MODE });
        const file = join(log.dir, LOG_FILE);
        let fd = openSync(file, 'a', FILE_MODE);
        let before = fstatSync(fd).size;
        if (before > 0 && before + byteLength(parts) > this.maxBytes) {
          closeSync(fd);
          if (this.keep > 0) {
            rmSync(join(log.dir, `predictions.${this.keep}.jsonl`), { force: true });
            for (let i = this.keep - 1; i >= 1; i--) {
              const from = join(log.dir, `predictions.${i}.jsonl`);
              if (existsSync(from)) renameSync(from, join(log.dir, `predictions.${i + 1}.jsonl`));
            }
            renameSync(file, join(log.dir, 'predictions.1.jsonl'));
          } else rmSync(file, { force: true });
          fd = openSync(file, 'a', FILE_MODE);
          before = 0;
        }
        try {
          for (let rest = parts; rest.length > 0;) rest = unwritten(rest, writevSync(fd, rest));
        } catch (e) {
          try {
            ftruncateSync(fd, before);
          } catch {
            /* the file keeps the partial line; nothing more can be done at exit */
          }
          throw e;
        } finally {
          closeSync(fd);
        }
      } catch (e) {
        this.lost(log.model, countLines(parts), errorText(e));
      }
      this.recycle(parts);
    }
  }
}
