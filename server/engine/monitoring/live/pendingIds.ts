/**
 * The requests of one unscored live window by id, so that feedback finds their rows. Ids are kept
 * as UTF-8 bytes in one buffer and found through an open-addressing table of their hashes; each
 * part (a request's rows in this window) is six numbers in a Float64Array. Nothing is allocated
 * per request: a Map of id strings to part objects was most of the live scorer's per-request time
 * and garbage. A repeated id has one entry per part, and `take` finds them all.
 */

/** An id as UTF-8 bytes `[start, end)` of `bytes` (the scorer reads ids from a batch's buffer). */
export interface RequestId {
  bytes: Uint8Array;
  start: number;
  end: number;
}

/** Per entry: hash, id start, id length, first global row, rows, offset in the request. */
const STRIDE = 6;
/** An entry already taken keeps its slot (the probe sequence must not break) with rows −1. */
const TAKEN = -1;

/**
 * Writes `text` as UTF-8 at `at` (room for 3 bytes per UTF-16 unit is the caller's); returns the
 * bytes written. ASCII (UUIDs, counters) is copied here: for a short id a native write costs more.
 */
export function writeUtf8(target: Buffer, at: number, text: string): number {
  for (let n = 0; n < text.length; n++) {
    const c = text.charCodeAt(n);
    if (c >= 0x80) return target.write(text, at, 'utf8');
    target[at + n] = c;
  }
  return text.length;
}

export class PendingIds {
  private entries = new Float64Array(STRIDE * 64);
  private count = 0;
  private live = 0;
  /** Entry index + 1 per slot, 0 when empty; twice the entries at least. */
  private slots = new Int32Array(128);
  private bytes = Buffer.allocUnsafe(4096);
  private used = 0;

  /** Parts not yet taken. */
  get size(): number {
    return this.live;
  }

  /** Adds a part: `rows` rows from global row `g`, starting at row `offset` of the request. */
  add(id: string | RequestId, g: number, rows: number, offset: number): void {
    const len = this.stage(id);
    const hash = this.hashStaged(len);
    if ((this.count + 1) * 2 > this.slots.length) this.grow();
    if ((this.count + 1) * STRIDE > this.entries.length) {
      const more = new Float64Array(this.entries.length * 2);
      more.set(this.entries);
      this.entries = more;
    }
    const e = this.count++;
    const at = e * STRIDE;
    this.entries[at] = hash;
    this.entries[at + 1] = this.used;
    this.entries[at + 2] = len;
    this.entries[at + 3] = g;
    this.entries[at + 4] = rows;
    this.entries[at + 5] = offset;
    this.used += len;
    this.place(e, hash);
    this.live++;
  }

  /**
   * Removes every part of `id`, appending each one's first global row, rows and offset to `out`.
   * Returns how many parts it found.
   */
  take(id: string | RequestId, out: number[]): number {
    if (this.live === 0) return 0;
    const len = this.stage(id);
    const hash = this.hashStaged(len);
    const mask = this.slots.length - 1;
    let found = 0;
    for (let s = hash & mask; this.slots[s] !== 0; s = (s + 1) & mask) {
      const at = (this.slots[s] - 1) * STRIDE;
      const { entries } = this;
      if (entries[at] !== hash || entries[at + 4] === TAKEN || entries[at + 2] !== len) continue;
      if (!this.sameBytes(entries[at + 1], len)) continue;
      out.push(entries[at + 3], entries[at + 4], entries[at + 5]);
      entries[at + 4] = TAKEN;
      this.live--;
      found++;
    }
    return found;
  }

  /** Forgets every part (the window was scored); the memory is kept for the next window. */
  clear(): void {
    this.count = 0;
    this.live = 0;
    this.used = 0;
    this.slots.fill(0);
  }

  /** Writes the id's bytes after the stored ones (not yet kept); returns their length. */
  private stage(id: string | RequestId): number {
    if (typeof id === 'string') {
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      this.reserve(id.length * 3);
      return writeUtf8(this.bytes, this.used, id);
    }
    const len = id.end - id.start;
    this.reserve(len);
    const b = this.bytes;
    const src = id.bytes;
    for (let i = 0; i < len; i++) b[this.used + i] = src[id.start + i];
    return len;
  }

  private reserve(n: number): void {
    if (this.used + n <= this.bytes.length) return;
    const more = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + n));
    this.bytes.copy(more, 0, 0, this.used);
    this.bytes = more;
  }

  /** FNV-1a over the staged bytes, as a non-negative 31-bit number. */
  private hashStaged(len: number): number {
    let h = 0x811c9dc5;
    const b = this.bytes;
    for (let i = this.used, end = this.used + len; i < end; i++) h = Math.imul(h ^ b[i], 0x01000193);
    return h >>> 1;
  }

  private sameBytes(start: number, len: number): boolean {
    const b = this.bytes;
    for (let i = 0; i < len; i++) if (b[start + i] !== b[this.used + i]) return false;
    return true;
  }

  private place(e: number, hash: number): void {
    const mask = this.slots.length - 1;
    let s = hash & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = e + 1;
  }

  private grow(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    for (let e = 0; e < this.count; e++) this.place(e, this.entries[e * STRIDE]);
  }
}
