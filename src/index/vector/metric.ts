// Vector metrics and the one place that defines how a kernel's score relates to SQL functions.
// Invariant: every kernel reports `score` in the SQL function's own units, and orders results
// best first with ties broken by the lower ordinal, so strategies are interchangeable.

import { QuiverError } from '../../errors.js';
import { TopK } from '../top-k.js';

/** Supported metrics. Each names the SQL function whose value a result's `score` equals. */
export type Metric = 'cosine' | 'l2' | 'ip';

/**
 * - `cosine`: score = `cosine_similarity(q, v)` in [-1, 1], higher is better.
 * - `l2`: score = `l2_distance(q, v)` (Euclidean, not squared), lower is better.
 * - `ip`: score = `inner_product(q, v)`, higher is better.
 */
export function higherIsBetter(metric: Metric): boolean {
  return metric !== 'l2';
}

/** usearch's name for the metric used to rank (l2 ranks by squared distance: same order). */
export function usearchMetric(metric: Metric): 'cos' | 'l2sq' | 'ip' {
  return metric === 'cosine' ? 'cos' : metric === 'l2' ? 'l2sq' : 'ip';
}

export function checkMetric(metric: string): Metric {
  if (metric !== 'cosine' && metric !== 'l2' && metric !== 'ip') {
    throw new QuiverError('invalid_input', `index: metric must be "cosine", "l2" or "ip", got "${metric}"`);
  }
  return metric;
}

/** Throws when a query has the wrong length or a non-finite component, naming which. */
export function checkQuery(query: Float32Array, dim: number): void {
  if (!(query instanceof Float32Array)) {
    throw new QuiverError('invalid_input', `index: query vector must be a Float32Array, got ${typeof query}`);
  }
  if (query.length !== dim) {
    throw new QuiverError('invalid_input', `index: query vector has ${query.length} dimensions, index has ${dim}`);
  }
  for (let j = 0; j < dim; j++) {
    if (!Number.isFinite(query[j])) {
      throw new QuiverError('invalid_input', `index: query vector component ${j} is ${query[j]} (NaN or infinite)`);
    }
  }
}

export function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new QuiverError('invalid_input', `index: k must be a positive integer, got ${k}`);
}

/**
 * The SQL value of `metric` between `q` and row `o` of `data`, in float64 so that every strategy
 * reports bit-identical scores for the same pair and ties break the same way.
 */
export function scoreOf(metric: Metric, q: Float32Array, data: Float32Array, o: number, dim: number): number {
  const base = o * dim;
  if (metric === 'l2') {
    let s = 0;
    for (let j = 0; j < dim; j++) {
      const d = q[j] - data[base + j];
      s += d * d;
    }
    return Math.sqrt(s);
  }
  let dot = 0;
  if (metric === 'ip') {
    for (let j = 0; j < dim; j++) dot += q[j] * data[base + j];
    return dot;
  }
  let nv = 0;
  let nq = 0;
  for (let j = 0; j < dim; j++) {
    const v = data[base + j];
    dot += q[j] * v;
    nv += v * v;
    nq += q[j] * q[j];
  }
  // A zero vector has no direction; SQL engines return NaN there, we rank it last with 0.
  return nv === 0 || nq === 0 ? 0 : dot / Math.sqrt(nv * nq);
}

/** Search results, best first. `scores` are in the metric's SQL units (see `higherIsBetter`). */
export interface SearchResult {
  ordinals: Uint32Array;
  scores: Float32Array;
}

/** A top-k of rows under `metric`, whose result carries float32 scores. */
export class MetricTopK extends TopK {
  constructor(k: number, metric: Metric) {
    super(k, higherIsBetter(metric));
  }

  result(): SearchResult {
    return { ordinals: this.ordinals(), scores: Float32Array.from(this.scores()) };
  }
}
