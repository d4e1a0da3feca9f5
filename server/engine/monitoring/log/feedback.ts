/**
 * The feedback join: request ids → their rows, and feedback lines → truth for those rows.
 * A whole-log read keeps every request and joins after reading; a streamed read keeps only the
 * requests among the latest `pendingRows` rows (a bounded table) and joins each feedback line
 * as it is read, counting what came too late or matched nothing.
 */
import { type FeedbackCounts, hashString, I32 } from './columns';
import type { RowStore } from './store';

/** A copy of `a` in an array twice its length (the tables' parallel columns grow together). */
function doubled<T extends Int32Array | Float64Array>(a: T): T {
  const d = new (a.constructor as new (n: number) => T)(a.length * 2);
  d.set(a);
  return d;
}

/**
 * Request id → slot (a later request with the same id replaces the earlier, as a Map would).
 * Open addressing on hashes the scanner computes while it finds the end of the id, so a
 * hundred thousand ids cost no string hashing and no Map growth.
 */
class IdTable {
  private ids: string[] = [];
  private hashes = new Int32Array(1024);
  private values = new Int32Array(1024);
  /** Entry index + 1 per bucket; 0 is empty. */
  private table = new Int32Array(2048);
  private mask = 2047;

  set(id: string, hash: number, value: number): void {
    let p = hash & this.mask;
    for (;;) {
      const e = this.table[p] - 1;
      if (e < 0) break;
      if (this.hashes[e] === hash && this.ids[e] === id) {
        this.values[e] = value;
        return;
      }
      p = (p + 1) & this.mask;
    }
    const e = this.ids.length;
    if (e === this.hashes.length) {
      this.hashes = doubled(this.hashes);
      this.values = doubled(this.values);
    }
    this.ids.push(id);
    this.hashes[e] = hash;
    this.values[e] = value;
    this.table[p] = e + 1;
    if ((e + 1) * 2 > this.table.length) this.grow();
  }

  /** The value for an id, or −1. */
  get(id: string, hash: number): number {
    for (let p = hash & this.mask; ; p = (p + 1) & this.mask) {
      const e = this.table[p] - 1;
      if (e < 0) return -1;
      if (this.hashes[e] === hash && this.ids[e] === id) return this.values[e];
    }
  }

  private grow(): void {
    const size = this.table.length * 2;
    this.table = new Int32Array(size);
    this.mask = size - 1;
    for (let e = 0; e < this.ids.length; e++) {
      let p = this.hashes[e] & this.mask;
      while (this.table[p] !== 0) p = (p + 1) & this.mask;
      this.table[p] = e + 1;
    }
  }
}

/**
 * Streaming: request id → (first row, rows) for the latest requests only. Entries are evicted
 * in bulk (a rebuild keeping requests that start at or after the cut) once the table holds
 * twice what it kept at the last rebuild, so its size follows the pending rows, not the log.
 */
class PendingRequests {
  private ids: string[] = [];
  private hashes = new Int32Array(1024);
  private first = new Float64Array(1024);
  private rows = new Int32Array(1024);
  private table = new Int32Array(2048);
  private mask = 2047;
  private limit = 4096;
  /** Slot of the last `get`. */
  found = -1;

  get size(): number {
    return this.ids.length;
  }

  set(id: string, hash: number, first: number, rows: number, cut: number): void {
    let p = hash & this.mask;
    for (;;) {
      const e = this.table[p] - 1;
      if (e < 0) break;
      if (this.hashes[e] === hash && this.ids[e] === id) {
        this.first[e] = first;
        this.rows[e] = rows;
        return;
      }
      p = (p + 1) & this.mask;
    }
    if (this.ids.length >= this.limit) {
      this.rebuild(cut);
      this.set(id, hash, first, rows, cut);
      return;
    }
    const e = this.ids.length;
    if (e === this.hashes.length) {
      this.hashes = doubled(this.hashes);
      this.first = doubled(this.first);
      this.rows = doubled(this.rows);
    }
    this.ids.push(id);
    this.hashes[e] = hash;
    this.first[e] = first;
    this.rows[e] = rows;
    this.table[p] = e + 1;
    if ((e + 1) * 2 > this.table.length) this.reindex(this.table.length * 2);
  }

  /** First row of an id's request (its row count in `rowsOf`), or −1. */
  get(id: string, hash: number): number {
    for (let p = hash & this.mask; ; p = (p + 1) & this.mask) {
      const e = this.table[p] - 1;
      if (e < 0) return -1;
      if (this.hashes[e] === hash && this.ids[e] === id) {
        this.found = e;
        return this.first[e];
      }
    }
  }

  rowsOf(): number {
    return this.rows[this.found];
  }

  /** Keeps requests that start at or after `cut`. */
  private rebuild(cut: number): void {
    let n = 0;
    for (let e = 0; e < this.ids.length; e++) {
      if (this.first[e] < cut) continue;
      this.ids[n] = this.ids[e];
      this.hashes[n] = this.hashes[e];
      this.first[n] = this.first[e];
      this.rows[n] = this.rows[e];
      n++;
    }
    this.ids.length = n;
    this.limit = Math.max(4096, n * 2);
    let size = 2048;
    while (size < n * 2 + 2) size *= 2;
    this.reindex(size);
  }

  private reindex(size: number): void {
    this.table = new Int32Array(size);
    this.mask = size - 1;
    for (let e = 0; e < this.ids.length; e++) {
      let p = this.hashes[e] & this.mask;
      while (this.table[p] !== 0) p = (p + 1) & this.mask;
      this.table[p] = e + 1;
    }
  }
}

/**
 * Feedback in log order: its request id, and either label codes in `codes` (start, length) or,
 * for lines JSON.parse read, the raw values (start −1). A whole-log read joins after reading,
 * so codes are given in the same order whichever path read a line; a label not yet known when
 * its line is scanned waits in `pendingLabels` (code −2 − k) and is coded in that pass.
 */
export class FeedbackJoin {
  readonly counts: FeedbackCounts = { applied: 0, late: 0, unmatched: 0 };
  /** Whole-log reads: id → slot; the slot's first row and row count. */
  private readonly requests: IdTable | null;
  private readonly reqFirst = new I32();
  private readonly reqRows = new I32();
  /** Streamed reads: the latest requests only. */
  private readonly pending: PendingRequests | null;
  private readonly ids: string[] = [];
  private readonly hashes = new I32();
  private readonly starts = new I32();
  private readonly lens = new I32();
  /** Label codes of scanned feedback lines (the scanner pushes, then `commitCodes` or `dropCodes`). */
  readonly codes = new I32();
  readonly pendingLabels: string[] = [];
  private readonly raw = new Map<number, Array<string | number>>();

  constructor(
    private readonly store: RowStore,
    /** Streamed reads: how many rows back a request still takes feedback; Infinity otherwise. */
    private readonly pendingRows: number,
  ) {
    const streamed = pendingRows !== Infinity;
    this.requests = streamed ? null : new IdTable();
    this.pending = streamed ? new PendingRequests() : null;
  }

  /** Request ids held (bounded by the pending rows in a streamed read). */
  get heldIds(): number {
    return this.pending ? this.pending.size : this.reqFirst.length;
  }

  addRequest(id: string, hash: number, first: number, rows: number): void {
    if (this.pending) {
      this.pending.set(id, hash, first, rows, first + rows - this.pendingRows);
      return;
    }
    this.requests!.set(id, hash, this.reqFirst.length);
    this.reqFirst.push(first);
    this.reqRows.push(rows);
  }

  /** A feedback line as parsed values (JSON.parse, or the regression scanner). */
  addRaw(id: string, values: Array<string | number>): void {
    if (this.pending) {
      this.joinNow(id, hashString(id), -1, values.length, values);
      return;
    }
    this.raw.set(this.ids.length, values);
    this.ids.push(id);
    this.hashes.push(hashString(id));
    this.starts.push(-1);
    this.lens.push(values.length);
  }

  /** A scanned feedback line whose label codes were pushed to `codes` from `start`. */
  commitCodes(id: string, hash: number, start: number): void {
    if (this.pending) {
      this.joinNow(id, hash, start, this.codes.length - start, null);
      // Joined: its codes and new labels are no longer needed.
      this.codes.length = 0;
      this.pendingLabels.length = 0;
      return;
    }
    this.ids.push(id);
    this.hashes.push(hash);
    this.starts.push(start);
    this.lens.push(this.codes.length - start);
  }

  /** Forgets codes pushed for a line the scanner gave up on; false, for it to return. */
  dropCodes(codes: number, pendingLabels: number): false {
    this.codes.length = codes;
    this.pendingLabels.length = pendingLabels;
    return false;
  }

  /**
   * Streamed reads: joins a feedback line as it is read (label codes in `codes` from `start`,
   * or the parsed `values` when start is −1), nothing kept.
   */
  private joinNow(id: string, hash: number, start: number, len: number, values: Array<string | number> | null): void {
    const store = this.store;
    store.extendTruth();
    const pending = this.pending!;
    const first = pending.get(id, hash);
    if (first < 0) {
      this.counts.unmatched++;
      return;
    }
    if (first < store.count - this.pendingRows || first < store.base) {
      this.counts.late++;
      return;
    }
    this.counts.applied++;
    const { truthL, truthV, labels } = store;
    const at = first - store.base;
    const m = Math.min(pending.rowsOf(), len);
    if (values === null) {
      const codes = this.codes.data;
      for (let i = 0; i < m; i++) {
        const c = codes[start + i];
        truthL!.data[at + i] = c >= 0 ? c : labels.code(this.pendingLabels[-2 - c]);
      }
      return;
    }
    for (let i = 0; i < m; i++) {
      if (truthL) truthL.data[at + i] = labels.code(String(values[i]));
      else truthV!.data[at + i] = Number(values[i]);
    }
  }

  /** Whole-log reads: the truth of every row, from the feedback in log order. */
  joinAll(): { truthLabel: Int32Array | null; truthValue: Float64Array | null } {
    const { count, labels, task } = this.store;
    const truthLabel = task === 'classification' ? new Int32Array(count).fill(-1) : null;
    const truthValue = task === 'classification' ? null : new Float64Array(count).fill(NaN);
    const first = this.reqFirst.view();
    const rows = this.reqRows.view();
    const starts = this.starts.view();
    const lens = this.lens.view();
    const codes = this.codes.view();
    const hashes = this.hashes.view();
    for (let f = 0; f < this.ids.length; f++) {
      const slot = this.requests!.get(this.ids[f], hashes[f]);
      if (slot < 0) continue;
      const at = first[slot];
      const m = Math.min(rows[slot], lens[f]);
      if (starts[f] >= 0) {
        for (let i = 0; i < m; i++) {
          const c = codes[starts[f] + i];
          truthLabel![at + i] = c >= 0 ? c : labels.code(this.pendingLabels[-2 - c]);
        }
        continue;
      }
      const values = this.raw.get(f)!;
      for (let i = 0; i < m; i++) {
        if (truthLabel) truthLabel[at + i] = labels.code(String(values[i]));
        else if (truthValue) truthValue[at + i] = Number(values[i]);
      }
    }
    return { truthLabel, truthValue };
  }
}
