// The vector search planner: a pure function from (rows, matching rows, k, index?) to a plan.
// Invariant: every plan it returns yields min(k, matches) rows when executed, because the ANN
// strategies carry a widening budget and fall back to a scan of the matching rows.

/** Inputs to {@link planVectorSearch}. */
export interface VectorPlanInput {
  /** Rows in the collection. */
  n: number;
  /** Rows passing the filter (n when unfiltered). */
  matches: number;
  k: number;
  /** Whether an ANN index over the rows exists. */
  hasIndex: boolean;
  dim: number;
  /** Largest vector count of any row (max-sim rows); default 1. */
  vectorsPerRowMax?: number;
  /** Search depth for the ANN graph; default 64. */
  ef?: number;
  /** Candidates re-ranked in float32 per wanted result; default 4. */
  rerankFactor?: number;
  /**
   * How many of the k results must be in exact order; default k. Only those get `rerankFactor`
   * picks each: ranks beyond it (the tail of a reciprocal-rank-fusion window) get one pick each.
   */
  exactTop?: number;
}

/** Picks re-ranked in float32: `rerankFactor` per result that must be in exact order, one per other result. */
export function rerankPool(k: number, rerankFactor: number, exactTop = k): number {
  const top = Math.min(k, Math.max(1, exactTop));
  return top * rerankFactor + (k - top);
}

export type VectorPlan =
  | { strategy: 'empty'; params: Record<string, never> }
  /** Scan every row in float32 in place (no index, no filter). */
  | { strategy: 'exact-scan'; params: { fetch: number } }
  /** Gather the matching rows' float32 vectors and scan them: exact. */
  | { strategy: 'exact-gather'; params: { fetch: number } }
  /** Gather the matching rows' int8 codes, scan them, re-rank `fetch` picks in float32. */
  | { strategy: 'quantized-gather'; params: { fetch: number } }
  /** Unfiltered graph search for `count` vectors, re-ranked in float32. */
  | { strategy: 'ann'; params: { count: number; countMax: number } }
  /** Graph search for `count` vectors, keep matching rows, widen ×4 up to `countMax`, then
   * fall back to quantized-gather over the matching rows. */
  | { strategy: 'ann-filtered'; params: { count: number; countMax: number } };

export type VectorStrategy = VectorPlan['strategy'];

function annCost(count: number, ef: number, dim: number): number {
  return (Math.max(count, ef) + 2 * ef) * dim * COST_NS.ann;
}

/**
 * Measured costs on the reference machine (2 cores, AVX-512, 100k × 768, one thread; see
 * docs/search-kernels.md): nanoseconds per vector component, plus fixed nanoseconds per query.
 * Only their ratios matter to the plan.
 */
export const COST_NS = {
  /** float32 gather + SIMD scan, per component of a matching row. */
  exactGather: 0.85,
  exactGatherFixed: 20_000,
  /** int8 gather + SIMD scan, per component of a matching row. */
  quantizedGather: 0.42,
  quantizedGatherFixed: 100_000,
  /** float64 re-ranking in JS, per component of a pick. */
  rerank: 0.65,
  /** int8 graph search, per component per vector visited: ~(count + 2·ef) vectors. */
  ann: 3.9,
} as const;

/** Graph searches asking for more than this fraction of all vectors are never worth it. */
const ANN_COUNT_FRACTION_MAX = 0.25;

/**
 * Picks the cheapest strategy by estimated cost; selectivity enters through how many graph
 * results are needed to see k × rerankFactor matching vectors (count ≈ wanted / selectivity).
 *
 * @example
 * planVectorSearch({ n: 100_000, matches: 1_000, k: 10, hasIndex: true, dim: 768 }).strategy; // 'quantized-gather'
 * planVectorSearch({ n: 100_000, matches: 100, k: 10, hasIndex: true, dim: 768 }).strategy; // 'exact-gather'
 */
export function planVectorSearch(input: VectorPlanInput): VectorPlan {
  const { n, matches, k, dim } = input;
  const vpr = input.vectorsPerRowMax ?? 1;
  const ef = input.ef ?? 64;
  const rerank = input.rerankFactor ?? 4;
  const exactFetch = (k + 8) * vpr;
  if (matches <= 0 || n <= 0) return { strategy: 'empty', params: {} };
  if (!input.hasIndex) {
    return matches >= n && vpr === 1
      ? { strategy: 'exact-scan', params: { fetch: exactFetch } }
      : { strategy: 'exact-gather', params: { fetch: exactFetch } };
  }
  // When every match is needed anyway, reading them all exactly is both cheapest and exact.
  if (matches <= k) return { strategy: 'exact-gather', params: { fetch: exactFetch } };
  const pool = rerankPool(k, rerank, input.exactTop) * vpr;
  const wanted = Math.max(ef, pool);
  const selectivity = Math.min(1, matches / n);
  const count = Math.ceil(wanted / selectivity);
  const quantFetch = pool;
  const cost = {
    exact: COST_NS.exactGatherFixed + matches * vpr * dim * COST_NS.exactGather,
    quant: COST_NS.quantizedGatherFixed + matches * vpr * dim * COST_NS.quantizedGather + quantFetch * dim * COST_NS.rerank,
    ann: annCost(count, ef, dim) + quantFetch * dim * COST_NS.rerank,
  };
  // Widening stops where another graph search would cost more than scanning the matches.
  let countMax = count;
  while (countMax * 4 <= n * vpr * ANN_COUNT_FRACTION_MAX && annCost(countMax * 4, ef, dim) < cost.quant) countMax *= 4;
  const annViable = count <= n * vpr * ANN_COUNT_FRACTION_MAX;
  if (annViable && cost.ann < cost.quant && cost.ann < cost.exact) {
    return matches >= n
      ? { strategy: 'ann', params: { count, countMax } }
      : { strategy: 'ann-filtered', params: { count, countMax } };
  }
  if (cost.exact <= cost.quant) return { strategy: 'exact-gather', params: { fetch: exactFetch } };
  return { strategy: 'quantized-gather', params: { fetch: quantFetch } };
}
