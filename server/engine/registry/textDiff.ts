/**
 * A line diff (Myers' O(ND) algorithm) and its unified form, for comparing the configs of two
 * versions without a dependency. Output follows `diff -u`: three lines of context, `@@ -l,s +l,s @@`
 * hunks, and "\ No newline at end of file" where a side lacks its final newline.
 */

export interface DiffOp {
  kind: 'equal' | 'delete' | 'insert';
  /** The line, including its '\n' when it has one. */
  line: string;
}

/** Lines with their terminators, so a missing final newline counts as a difference. */
export function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** The shortest edit script turning `a` into `b`. */
export function diffLines(a: readonly string[], b: readonly string[]): DiffOp[] {
  // Common prefix and suffix first: config edits are usually a few lines in a long file.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const head: DiffOp[] = a.slice(0, start).map((line) => ({ kind: 'equal', line }));
  const tail: DiffOp[] = a.slice(endA).map((line) => ({ kind: 'equal', line }));
  return [...head, ...myers(a.slice(start, endA), b.slice(start, endB)), ...tail];
}

function myers(a: readonly string[], b: readonly string[]): DiffOp[] {
  const n = a.length;
  const m = b.length;
  if (n === 0) return b.map((line) => ({ kind: 'insert', line }));
  if (m === 0) return a.map((line) => ({ kind: 'delete', line }));
  const max = n + m;
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d] holds v[-d..d] as it was before round d: O(D²) memory instead of O(D·(N+M)).
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice(off - d, off + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[off + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  const ops: DiffOp[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const at = (k: number): number => trace[d][k + d];
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : at(prevK);
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push({ kind: 'equal', line: a[x - 1] });
      x--;
      y--;
    }
    if (d > 0) {
      if (down) ops.push({ kind: 'insert', line: b[y - 1] });
      else ops.push({ kind: 'delete', line: a[x - 1] });
      x = prevX;
      y = prevY;
    }
  }
  return ops.reverse();
}

export interface UnifiedDiffOptions {
  /** Header names, e.g. "weather@1.0.0/modelops.yaml". */
  fromLabel: string;
  toLabel: string;
  /** Lines of context around each change (default 3). */
  context?: number;
}

/** `diff -u` of two texts; the empty string when they are equal. */
export function unifiedDiff(a: string, b: string, options: UnifiedDiffOptions): string {
  if (a === b) return '';
  const ops = diffLines(splitLines(a), splitLines(b));
  const context = Math.max(0, Math.floor(options.context ?? 3));
  // Line numbers (0-based) in a and b before each op.
  const posA: number[] = [];
  const posB: number[] = [];
  let ia = 0;
  let ib = 0;
  for (const op of ops) {
    posA.push(ia);
    posB.push(ib);
    if (op.kind !== 'insert') ia++;
    if (op.kind !== 'delete') ib++;
  }
  const changed = ops.flatMap((op, i) => (op.kind === 'equal' ? [] : [i]));
  // Hunks: runs of changes whose gaps are at most 2 × context equal lines.
  const hunks: Array<[number, number]> = [];
  for (const i of changed) {
    const last = hunks[hunks.length - 1];
    if (last && i - last[1] - 1 <= 2 * context) last[1] = i;
    else hunks.push([i, i]);
  }
  const out = [`--- ${options.fromLabel}`, `+++ ${options.toLabel}`];
  for (const [first, lastChange] of hunks) {
    const from = Math.max(0, first - context);
    const to = Math.min(ops.length - 1, lastChange + context);
    let countA = 0;
    let countB = 0;
    const body: string[] = [];
    for (let i = from; i <= to; i++) {
      const op = ops[i];
      if (op.kind !== 'insert') countA++;
      if (op.kind !== 'delete') countB++;
      const mark = op.kind === 'equal' ? ' ' : op.kind === 'delete' ? '-' : '+';
      if (op.line.endsWith('\n')) body.push(mark + op.line.slice(0, -1));
      else body.push(mark + op.line, '\\ No newline at end of file');
    }
    out.push(`@@ -${range(posA[from], countA)} +${range(posB[from], countB)} @@`, ...body);
  }
  return `${out.join('\n')}\n`;
}

/** "start,count" as diff writes it: 1-based; an empty range names the line before it; ",1" is left out. */
function range(before: number, count: number): string {
  if (count === 0) return `${before},0`;
  return count === 1 ? `${before + 1}` : `${before + 1},${count}`;
}
