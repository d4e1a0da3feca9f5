/**
 * Log files as text in large chunks cut at line ends: two buffers in turn, one parsed while
 * the next chunk is read into the other. A chunk of pure ASCII (the server's usual lines) is
 * decoded as Latin-1, which gives the same string for less work than UTF-8.
 */
import * as buffer from 'node:buffer';
import { open } from 'node:fs/promises';

/** What the source feeds: whole lines (one or more, separated by '\n'), and the end of each chunk. */
export interface LineSink {
  text(text: string): void;
  /** After each chunk's lines (not after the last carry of a file). */
  chunk(): void | Promise<void>;
}

// Node ≥ 18.15; older runtimes decode every chunk as UTF-8.
const isAscii: ((b: Uint8Array) => boolean) | undefined = (buffer as { isAscii?: (b: Uint8Array) => boolean }).isAscii;

function decode(data: Buffer, from: number, to: number): string {
  return isAscii?.(data.subarray(from, to)) ? data.toString('latin1', from, to) : data.toString('utf8', from, to);
}

export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

export class ChunkedLineSource {
  private readonly size: number;
  private readonly buffers: [Buffer, Buffer];

  constructor(chunkBytes = DEFAULT_CHUNK_BYTES) {
    this.size = Math.max(1024, chunkBytes);
    this.buffers = [Buffer.allocUnsafe(this.size), Buffer.allocUnsafe(this.size)];
  }

  /** Feeds every line of the files, in order, to `sink`. A file that cannot be opened is skipped. */
  async read(files: readonly string[], sink: LineSink): Promise<void> {
    for (const file of files) await this.readFile(file, sink);
  }

  private async readFile(file: string, sink: LineSink): Promise<void> {
    const fh = await open(file, 'r').catch(() => null);
    if (!fh) return;
    const { size, buffers } = this;
    let turn = 0;
    let pending: Promise<{ bytesRead: number; buffer: Buffer }> | null = fh.read(buffers[turn], 0, size, null);
    try {
      // The unfinished line at the end of the previous chunk (it lives in the other buffer).
      let carry: Buffer = Buffer.alloc(0);
      for (;;) {
        const { bytesRead, buffer: buf } = await pending!;
        pending = null;
        if (bytesRead === 0) break;
        const data = buf.subarray(0, bytesRead);
        let from = 0;
        if (carry.length) {
          const nl = data.indexOf(10);
          const head = nl < 0 ? data : data.subarray(0, nl);
          const joined = Buffer.concat([carry, head]);
          carry = Buffer.alloc(0);
          if (nl < 0) {
            carry = joined;
            from = data.length;
          } else {
            sink.text(decode(joined, 0, joined.length));
            from = nl + 1;
          }
        }
        // The carry is consumed: the other buffer may be refilled now, while this one is parsed.
        turn ^= 1;
        pending = fh.read(buffers[turn], 0, size, null);
        if (from >= data.length) continue;
        // Cut at the last newline, in bytes, so a multi-byte character is never split.
        const lastNl = data.lastIndexOf(10);
        if (lastNl < from) {
          carry = Buffer.from(data.subarray(from));
          continue;
        }
        sink.text(decode(data, from, lastNl));
        carry = data.subarray(lastNl + 1);
        await sink.chunk();
      }
      if (carry.length) sink.text(decode(carry, 0, carry.length));
    } finally {
      if (pending) await pending.catch(() => undefined);
      await fh.close();
    }
  }
}
