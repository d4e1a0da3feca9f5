/**
 * Interventional Shapley values, as the SHAP library's ExactExplainer (and the interventional
 * TreeExplainer) define them: for a row x and background rows B,
 *   v(S) = mean over b in B of f(x_S, b_S̄),   base = v(∅) = mean f(B),
 *   φ_i  = Σ_{S ⊆ N∖{i}} |S|! (M−|S|−1)! / M! · (v(S ∪ {i}) − v(S)),
 * so base + Σ φ_i = v(N) = f(x). f is each model output: every class probability (classifiers)
 * or the predicted value. Players are raw input columns (see model.ts).
 *
 * `exact` evaluates all 2^M coalitions; `permutation` averages marginal contributions along
 * random feature orders in antithetic pairs (an order and its reverse), reporting the standard
 * error of each value over the pairs. Each order's contributions sum to f(x) − base, so the
 * estimate is additive too. Coalitions go through the model in chunks of rows.
 */
import { ModelOpsError } from '../errors';
import { seededRandom } from '../data/split';
import { hybridRow, verifyOwners, type ExplainModel, type RawRow } from './model';

export type ShapMethod = 'exact' | 'permutation';

export interface ShapOptions {
  /** 'auto' (default): exact up to `maxExactFeatures`, else permutation. */
  method?: 'auto' | ShapMethod;
  /** Widest model explained exactly under 'auto' (default 12). Exact is refused beyond 16. */
  maxExactFeatures?: number;
  /** Antithetic pairs of feature orders per row (permutation; default 32, at least 2). */
  pairs?: number;
  /** Seed of the feature orders (permutation; default 0). */
  seed?: number;
  /** Model rows per predictBatch call (default 65,536). */
  chunkRows?: number;
  /** Epoch ms after which the computation stops with 'explain-timeout'. */
  deadline?: number;
  signal?: AbortSignal;
}

export interface ShapRow {
  /** f(x), per output. */
  output: number[];
  /** values[feature][output]. */
  values: number[][];
  /** Standard error of each value (permutation only): sd of the pair estimates / √pairs. */
  stderr?: number[][];
}

export interface ShapResult {
  method: ShapMethod;
  features: string[];
  outputs: string[];
  /** v(∅) = mean model output over the background, per output. */
  base: number[];
  background: number;
  /** Antithetic pairs per row (permutation). */
  pairs?: number;
  /** 'assembled': hybrids built from encoded rows (checked); 'raw': raw hybrid rows encoded. */
  encoding: 'assembled' | 'raw';
  rows: ShapRow[];
}

export const MAX_EXACT_FEATURES = 16;

interface Item {
  row: number;
  s: Uint8Array;
}

/** Means over the background of f at coalition hybrids, item by item. */
class CoalitionEvaluator {
  private readonly xe: Float32Array | null;
  private readonly be: Float32Array | null;
  private readonly k: number;

  constructor(
    private readonly model: ExplainModel,
    private readonly xs: RawRow[],
    readonly bg: RawRow[],
    readonly assembled: boolean,
    private readonly options: ShapOptions,
  ) {
    this.k = model.outputs.length;
    this.xe = assembled ? model.encode!(xs) : null;
    this.be = assembled ? model.encode!(bg) : null;
  }

  private check(): void {
    if (this.options.signal?.aborted)
      throw new ModelOpsError('cancelled', 'The explanation was cancelled.', 'Start it again when you are ready.');
    if (this.options.deadline !== undefined && Date.now() > this.options.deadline) {
      throw new ModelOpsError(
        'explain-timeout',
        'The explanation did not finish within its deadline.',
        'Explain fewer rows, use a smaller background, or use the permutation method with fewer pairs.',
      );
    }
  }

  async outputsOf(which: 'x' | 'bg'): Promise<Float64Array> {
    if (this.assembled)
      return which === 'x'
        ? this.model.runEncoded(this.xe!, this.xs.length)
        : this.model.runEncoded(this.be!, this.bg.length);
    return this.model.runRows(which === 'x' ? this.xs : this.bg);
  }

  async means(items: Item[]): Promise<Float64Array> {
    const { k } = this;
    const nb = this.bg.length;
    const out = new Float64Array(items.length * k);
    const per = Math.max(1, Math.floor((this.options.chunkRows ?? 65_536) / nb));
    for (let start = 0; start < items.length; start += per) {
      this.check();
      const chunk = items.slice(start, start + per);
      const y = this.assembled
        ? await this.runAssembled(chunk)
        : await this.model.runRows(
            chunk.flatMap((it) => this.bg.map((b) => hybridRow(this.model.features, this.xs[it.row], b, it.s))),
          );
      for (let t = 0; t < chunk.length; t++) {
        const o = (start + t) * k;
        for (let j = 0; j < nb; j++) {
          const yo = (t * nb + j) * k;
          for (let c = 0; c < k; c++) out[o + c] += y[yo + c];
        }
        for (let c = 0; c < k; c++) out[o + c] /= nb;
      }
    }
    return out;
  }

  private runAssembled(chunk: Item[]): Promise<Float64Array> {
    const w = this.model.encodedWidth;
    const owner = this.model.owner!;
    const nb = this.bg.length;
    const be = this.be!;
    const xe = this.xe!;
    const x = new Float32Array(chunk.length * nb * w);
    const cols: number[] = [];
    for (let t = 0; t < chunk.length; t++) {
      const { row, s } = chunk[t];
      cols.length = 0;
      for (let c = 0; c < w; c++) if (s[owner[c]]) cols.push(c);
      const base = t * nb * w;
      x.set(be, base);
      const xo = row * w;
      for (let j = 0; j < nb; j++) {
        const o = base + j * w;
        for (const c of cols) x[o + c] = xe[xo + c];
      }
    }
    return this.model.runEncoded(x, chunk.length * nb);
  }
}

function pickMethod(m: number, options: ShapOptions): ShapMethod {
  const method = options.method ?? 'auto';
  if (method === 'exact' && m > MAX_EXACT_FEATURES) {
    throw new ModelOpsError(
      'explain-too-wide',
      `Exact Shapley values need 2^${m} coalitions per row for ${m} features; the limit is ${MAX_EXACT_FEATURES} features.`,
      "Use the permutation method (method: 'permutation').",
    );
  }
  if (method !== 'auto') return method;
  return m <= (options.maxExactFeatures ?? 12) ? 'exact' : 'permutation';
}

/** Shapley values of `xs` against the background rows `bg`. */
export async function shapValues(
  model: ExplainModel,
  xs: RawRow[],
  bg: RawRow[],
  options: ShapOptions = {},
): Promise<ShapResult> {
  const m = model.features.length;
  const k = model.outputs.length;
  if (m === 0)
    throw new ModelOpsError(
      'explain-no-features',
      'The model has no input columns to explain.',
      'Explain a model with at least one input column.',
    );
  if (bg.length === 0)
    throw new ModelOpsError(
      'explain-no-background',
      'The background sample is empty.',
      'Give at least one background row (the training split, or rows in the request).',
    );
  const method = pickMethod(m, options);
  const pairs = options.pairs ?? 32;
  if (method === 'permutation' && (!Number.isInteger(pairs) || pairs < 2))
    throw new ModelOpsError(
      'explain-bad-pairs',
      `pairs is ${pairs}; the permutation estimate needs at least 2 antithetic pairs to state its error.`,
      'Use pairs ≥ 2.',
    );

  // Assemble encoded hybrids only when the owner map reproduces real encodings on these rows.
  let assembled = false;
  if (model.owner && model.encode && xs.length > 0) {
    const probe: Uint8Array[] = [];
    const rnd = seededRandom(7);
    for (let t = 0; t < Math.min(32, 2 ** Math.min(m, 20)); t++)
      probe.push(Uint8Array.from({ length: m }, () => (rnd() < 0.5 ? 1 : 0)));
    for (let i = 0; i < m; i++) probe.push(Uint8Array.from({ length: m }, (_, j) => (j === i ? 1 : 0)));
    assembled = verifyOwners(model, xs.slice(0, 2), bg.slice(0, 4), probe);
  }
  const ev = new CoalitionEvaluator(model, xs, bg, assembled, options);
  const fb = await ev.outputsOf('bg');
  const base = new Array<number>(k).fill(0);
  for (let j = 0; j < bg.length; j++) for (let c = 0; c < k; c++) base[c] += fb[j * k + c];
  for (let c = 0; c < k; c++) base[c] /= bg.length;
  const fx = xs.length > 0 ? await ev.outputsOf('x') : new Float64Array(0);

  const result: ShapResult = {
    method,
    features: [...model.features],
    outputs: [...model.outputs],
    base,
    background: bg.length,
    encoding: assembled ? 'assembled' : 'raw',
    rows: [],
  };
  if (method === 'exact') result.rows = await exactRows(ev, m, k, xs.length, fx, base, options);
  else {
    result.pairs = pairs;
    result.rows = await permutationRows(ev, m, k, xs.length, fx, base, pairs, options.seed ?? 0);
  }
  return result;
}

async function exactRows(
  ev: CoalitionEvaluator,
  m: number,
  k: number,
  n: number,
  fx: Float64Array,
  base: number[],
  options: ShapOptions,
): Promise<ShapRow[]> {
  const full = (1 << m) - 1;
  const masks: Uint8Array[] = [];
  const size = new Uint8Array(full + 1);
  for (let s = 0; s <= full; s++) {
    masks.push(Uint8Array.from({ length: m }, (_, i) => (s >> i) & 1));
    for (let i = 0; i < m; i++) size[s] += (s >> i) & 1;
  }
  // w(|S|) = |S|!(M−|S|−1)!/M! = 1 / (M · C(M−1, |S|)).
  const weight = new Float64Array(m);
  let binom = 1;
  for (let s = 0; s < m; s++) {
    weight[s] = 1 / (m * binom);
    binom = (binom * (m - 1 - s)) / (s + 1);
  }
  const inner = full - 1; // coalitions other than ∅ and N
  // Rows per block: enough coalitions to fill a few model calls, without holding them all.
  const per = Math.max(1, Math.floor(((options.chunkRows ?? 65_536) * 4) / Math.max(1, inner * ev.bg.length)));
  const rows: ShapRow[] = [];
  const v = new Float64Array((full + 1) * k);
  for (let r0 = 0; r0 < n; r0 += per) {
    const r1 = Math.min(n, r0 + per);
    const items: Item[] = [];
    for (let r = r0; r < r1; r++) for (let s = 1; s < full; s++) items.push({ row: r, s: masks[s] });
    const means = await ev.means(items);
    for (let r = r0; r < r1; r++) {
      for (let c = 0; c < k; c++) {
        v[c] = base[c];
        v[full * k + c] = fx[r * k + c];
      }
      v.set(means.subarray((r - r0) * inner * k, (r - r0 + 1) * inner * k), k);
      const values: number[][] = [];
      for (let i = 0; i < m; i++) {
        const bit = 1 << i;
        const phi = new Array<number>(k).fill(0);
        for (let s = 0; s <= full; s++) {
          if (s & bit) continue;
          const w = weight[size[s]];
          const a = (s | bit) * k;
          const b = s * k;
          for (let c = 0; c < k; c++) phi[c] += w * (v[a + c] - v[b + c]);
        }
        values.push(phi);
      }
      rows.push({ output: Array.from(fx.subarray(r * k, (r + 1) * k)), values });
    }
  }
  return rows;
}

async function permutationRows(
  ev: CoalitionEvaluator,
  m: number,
  k: number,
  n: number,
  fx: Float64Array,
  base: number[],
  pairs: number,
  seed: number,
): Promise<ShapRow[]> {
  const rnd = seededRandom(seed);
  const rows: ShapRow[] = [];
  for (let r = 0; r < n; r++) {
    const orders: Uint32Array[] = [];
    const items: Item[] = [];
    for (let p = 0; p < pairs; p++) {
      const pi = new Uint32Array(m);
      for (let i = 0; i < m; i++) pi[i] = i;
      for (let i = m - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [pi[i], pi[j]] = [pi[j], pi[i]];
      }
      const rev = pi.slice().reverse();
      for (const order of [pi, rev]) {
        orders.push(order);
        const s = new Uint8Array(m);
        for (let j = 0; j < m - 1; j++) {
          s[order[j]] = 1;
          items.push({ row: r, s: s.slice() });
        }
      }
    }
    const means = await ev.means(items);
    const mean = new Float64Array(m * k);
    const m2 = new Float64Array(m * k);
    const est = new Float64Array(m * k);
    const one = new Float64Array(m * k);
    for (let p = 0; p < pairs; p++) {
      est.fill(0);
      for (let h = 0; h < 2; h++) {
        const o = 2 * p + h;
        const order = orders[o];
        one.fill(0);
        for (let j = 0; j < m; j++) {
          for (let c = 0; c < k; c++) {
            const prev = j === 0 ? base[c] : means[(o * (m - 1) + j - 1) * k + c];
            const cur = j === m - 1 ? fx[r * k + c] : means[(o * (m - 1) + j) * k + c];
            one[order[j] * k + c] = cur - prev;
          }
        }
        for (let t = 0; t < m * k; t++) est[t] += one[t] / 2;
      }
      // Welford over the pair estimates.
      for (let t = 0; t < m * k; t++) {
        const d = est[t] - mean[t];
        mean[t] += d / (p + 1);
        m2[t] += d * (est[t] - mean[t]);
      }
    }
    const values: number[][] = [];
    const stderr: number[][] = [];
    for (let i = 0; i < m; i++) {
      values.push(Array.from(mean.subarray(i * k, (i + 1) * k)));
      stderr.push(Array.from(m2.subarray(i * k, (i + 1) * k), (q) => Math.sqrt(q / (pairs - 1) / pairs)));
    }
    rows.push({ output: Array.from(fx.subarray(r * k, (r + 1) * k)), values, stderr });
  }
  return rows;
}
