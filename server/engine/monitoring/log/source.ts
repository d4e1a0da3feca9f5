/**
 * Log files as bytes in large chunks cut at line ends: two buffers in turn, one parsed while
 * the next chunk is read into the other. Nothing is decoded here: the line readers scan the
 * UTF-8 bytes in place and decode only what they keep as text.
 */
import { open } from 'node:fs/promises';

/** What the source feeds: whole lines (one or more, separated by '\n'), and the end of each chunk. */
export interface LineSink {
  /** UTF-8 bytes of whole lines; valid only during the call (the buffer is refilled after). */
  bytes(bytes: Buffer): void;
  /** After each chunk's lines (not after the last carry of a file). */
  chunk(): void | Promise<void>;
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
            sink.bytes(joined);
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
        sink.bytes(data.subarray(from, lastNl));
        carry = data.subarray(lastNl + 1);
        await sink.chunk();
      }
      if (carry.length) sink.bytes(carry);
    } finally {
      if (pending) await pending.catch(() => undefined);
      await fh.close();
    }
  }
}
