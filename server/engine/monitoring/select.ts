/**
 * The k-th smallest value of a slice in Float64Array sort order (ascending, −0 before +0, NaN
 * last), without sorting: a window's median latency this way costs a fraction of a sort and
 * no allocation, and is the same value `slice().sort()[k]` gives.
 */
export function kthSmallest(
  values: Float64Array,
  start: number,
  end: number,
  k: number,
  scratch: Float64Array,
): number {
  // NaNs sort last: leave them out and answer NaN when k falls among them.
  let m = 0;
  let negatives = 0;
  let negativeZeros = 0;
  for (let i = start; i < end; i++) {
    const v = values[i];
    if (v !== v) continue;
    scratch[m++] = v;
    if (v < 0) negatives++;
    else if (v === 0 && 1 / v < 0) negativeZeros++;
  }
  if (k < 0 || k >= m) return NaN;
  let lo = 0;
  let hi = m - 1;
  // Quickselect with a three-way partition, so runs of equal values (common in latencies)
  // cost one pass instead of degrading to quadratic time.
  while (lo < hi) {
    const a = scratch[lo];
    const b = scratch[(lo + hi) >>> 1];
    const c = scratch[hi];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const v = scratch[i];
      if (v < pivot) {
        scratch[i++] = scratch[lt];
        scratch[lt++] = v;
      } else if (v > pivot) {
        scratch[i] = scratch[gt];
        scratch[gt--] = v;
      } else i++;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else {
      lo = k;
      break;
    }
  }
  const v = scratch[lo];
  // −0 and +0 compare equal above; in sort order the −0s come right after the negatives.
  if (v === 0) return k < negatives + negativeZeros ? -0 : 0;
  return v;
}
