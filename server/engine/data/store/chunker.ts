/**
 * Content-defined chunking (FastCDC with normalised chunking, Xia et al. 2016/2020): a gear
 * rolling hash over the bytes picks cut points that depend on the content around them, not on
 * offsets, so appending rows or inserting a byte changes only the chunks near the edit. The file
 * is read through one fixed buffer, so memory stays bounded whatever its size.
 */
import { open } from 'node:fs/promises';
import { ModelOpsError } from '../../errors';

export interface ChunkingParams {
  /** No cut before this many bytes (the hash is not even computed there: the FastCDC skip). */
  min: number;
  /** Target average; a power of two (it sets the masks). */
  avg: number;
  /** A chunk is cut here whatever the content. */
  max: number;
}

/** 256 KiB / 1 MiB / 4 MiB: ~1,000 chunks per GB, each small enough to read whole. */
export const DEFAULT_CHUNKING: ChunkingParams = { min: 256 * 1024, avg: 1024 * 1024, max: 4 * 1024 * 1024 };

/**
 * The gear table. Its values decide every cut point: changing them (or the seed) would make
 * every file chunk differently from what existing stores hold, and nothing would deduplicate.
 */
const GEAR: Uint32Array = (() => {
  const t = new Uint32Array(256);
  let seed = 0x6d6f6463; // "modc"
  for (let i = 0; i < 256; i++) {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    t[i] = (x ^ (x >>> 14)) >>> 0;
  }
  return t;
})();

/** The top `bits` bits of a 32-bit word: with `h << 1` they depend on the last ~32 bytes. */
const topMask = (bits: number): number => (bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0) | 0;

export function checkParams(p: ChunkingParams): void {
  const pow2 = p.avg > 0 && (p.avg & (p.avg - 1)) === 0;
  if (!pow2 || !(p.min > 0 && p.min < p.avg && p.avg < p.max)) {
    throw new ModelOpsError(
      'config-invalid',
      `Chunk sizes min ${p.min} / avg ${p.avg} / max ${p.max} are not usable.`,
      'Use 0 < min < avg < max with avg a power of two (the default is 256 KiB / 1 MiB / 4 MiB).',
    );
  }
}

/**
 * Length of the next chunk of `buf[start, end)`. The caller guarantees `end - start >= max`
 * unless the file ends at `end`.
 */
export function cutPoint(buf: Uint8Array, start: number, end: number, p: ChunkingParams): number {
  const n = end - start;
  if (n <= p.min) return n;
  const bits = Math.round(Math.log2(p.avg));
  // Normalised chunking: a stricter mask before the average, a looser one after, so sizes cluster around it.
  const maskS = topMask(bits + 2);
  const maskL = topMask(bits - 2);
  const normal = start + Math.min(p.avg, n);
  const limit = start + Math.min(p.max, n);
  let h = 0;
  let i = start + p.min;
  for (; i < normal; i++) {
    h = ((h << 1) + GEAR[buf[i]]) | 0;
    if ((h & maskS) === 0) return i - start + 1;
  }
  for (; i < limit; i++) {
    h = ((h << 1) + GEAR[buf[i]]) | 0;
    if ((h & maskL) === 0) return i - start + 1;
  }
  return limit - start;
}

/**
 * The file's chunks in order. Each yielded buffer is a view into the reader's buffer: use it
 * (hash it, write it) before asking for the next one.
 */
export async function* chunkFile(path: string, params: ChunkingParams = DEFAULT_CHUNKING): AsyncGenerator<Buffer> {
  checkParams(params);
  const size = Math.max(2 * params.max, 8 * 1024 * 1024);
  const buf = Buffer.allocUnsafe(size);
  const fh = await open(path, 'r');
  try {
    let start = 0;
    let end = 0;
    let eof = false;
    for (;;) {
      if (!eof && end - start < params.max) {
        // Keep the unread tail and fill the rest of the buffer.
        if (start > 0) {
          buf.copy(buf, 0, start, end);
          end -= start;
          start = 0;
        }
        while (end < size) {
          const { bytesRead } = await fh.read(buf, end, size - end, null);
          if (bytesRead === 0) {
            eof = true;
            break;
          }
          end += bytesRead;
        }
      }
      if (start === end) return;
      const len = cutPoint(buf, start, end, params);
      yield buf.subarray(start, start + len);
      start += len;
    }
  } finally {
    await fh.close();
  }
}
