// Re-ranking in two rounds, for candidates whose float32 vectors cost a read each (a remote
// store's pages): the first round scores the candidates the int8 codes rank best, the second
// only those the codes' error, measured on the first round, leaves able to reach the top k.
// Invariant: a candidate is left out only when its code score, raised by ERROR_SAFETY times the
// largest code error the first round saw, is still below the k-th best exact score so far;
// the answer then equals the one-round re-rank's unless a code errs by more than that.
// Cosine only (higher is better): its code score is in the float32 score's units.

/**
 * The first round's size per wanted row. Measured on bench/objstore.ts's rows (20,000 × 256-d,
 * its filter, 200 queries near the data, top 20 of 80 candidates): the first 40 by code score
 * held the one-round answer every time, and no second round was needed.
 */
export const FIRST_ROUND_PER_ROW = 2;
/**
 * The margin is this many times the largest |code score − exact score| of the first round: a
 * sample of ≥ 2k errors whose maximum the rest's may exceed, though not by 2× at once (the same
 * measurement: the codes erred by at most 0.0031 on every one of the 200 × 80 candidates).
 */
export const ERROR_SAFETY = 2;

/** Positions of `approx` in the first round: the best `want × FIRST_ROUND_PER_ROW` by code score (ties by position). */
export function firstRound(approx: Float64Array, want: number): { first: number[]; rest: number[] } {
  const order = Array.from(approx.keys()).sort((a, b) => approx[b] - approx[a] || a - b);
  const n = Math.min(order.length, Math.max(1, want) * FIRST_ROUND_PER_ROW);
  return { first: order.slice(0, n), rest: order.slice(n) };
}

/**
 * Positions of `rest` that may still reach the top `want`: their code score plus the margin is
 * at least the want-th best exact score of the first round (`exact[i]` that of `first[i]`).
 * All of them when the first round holds fewer than `want`.
 */
export function secondRound(approx: Float64Array, first: readonly number[], exact: Float64Array, rest: readonly number[], want: number): number[] {
  if (first.length < want) return [...rest];
  let err = 0;
  first.forEach((p, i) => void (err = Math.max(err, Math.abs(approx[p] - exact[i]))));
  const kth = [...exact].sort((a, b) => b - a)[want - 1];
  const margin = ERROR_SAFETY * err;
  return rest.filter((p) => approx[p] + margin >= kth);
}
