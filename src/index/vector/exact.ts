// Exact top-k vector search over all ordinals or a candidate set: the ground truth every other
// strategy is measured against, and the planner's choice when few rows match.
// Invariant: results are the true top-k by the metric's SQL score (float64 rescoring of the
// float32 SIMD picks), best first, ties broken by the lower ordinal, length min(k, matches).

import { QuiverError } from '../../errors.js';
import { type Candidates, candidateCount } from './gather.js';
import { type Metric, type SearchResult, MetricTopK, checkK, checkMetric, checkQuery, scoreOf, usearchMetric } from './metric.js';
import { type RowMap, checkRowMap, rowCount, vectorsPerRowMax } from './row-map.js';
import { scan } from './scan.js';

/** Options for {@link exactSearch}. */
export interface ExactSearchOptions {
  /** Metric whose SQL value is reported as the score. Default `'cosine'`. */
  metric?: Metric;
  /** Row ordinals to consider (a filter bitmap or an ordinal list). Default: every row. */
  candidates?: Candidates;
  /** Multi-vector rows: results are distinct rows scored by their best vector. Default: one vector per row. */
  rows?: RowMap;
  /** Bound on the gather scratch buffer; larger candidate sets are scanned in chunks. Default 64 MiB. */
  scratchBytesMax?: number;
  /** Threads for the SIMD scan. Default 1 (one query, one core; parallelism belongs to the caller). */
  threads?: number;
}

/** Extra picks per chunk beyond k, so float32 ranking noise at the k-th place cannot drop a row
 * whose float64 score belongs in the top k. */
const RESCORE_SLACK = 8;

/**
 * Exact top-k of `query` among the rows of `vectors` (row-major, `dim` wide).
 *
 * @example
 * const { ordinals, scores } = exactSearch(vectors, 768, query, 10, { metric: 'cosine', candidates: filter });
 */
export function exactSearch(
  vectors: Float32Array,
  dim: number,
  query: Float32Array,
  k: number,
  options: ExactSearchOptions = {},
): SearchResult {
  const metric = checkMetric(options.metric ?? 'cosine');
  checkQuery(query, dim);
  checkK(k);
  if (vectors.length % dim !== 0) throw new QuiverError('invalid_input', `index: vector data length ${vectors.length} is not a multiple of dim ${dim}`);
  const vectorCount = vectors.length / dim;
  if (options.rows) checkRowMap(options.rows, vectorCount);
  const rowTotal = rowCount(options.rows, vectorCount);
  const top = new MetricTopK(Math.min(k, Math.max(1, candidateCount(options.candidates, rowTotal))), metric);
  if (candidateCount(options.candidates, rowTotal) === 0) return top.result();
  scan({
    data: vectors,
    query,
    dim,
    usearchMetric: usearchMetric(metric),
    candidates: options.candidates,
    rowTotal,
    rows: options.rows,
    fetch: (k + RESCORE_SLACK) * vectorsPerRowMax(options.rows),
    bytesMax: options.scratchBytesMax ?? 64 * 1024 * 1024,
    threads: options.threads ?? 1,
    visit: (v, r) => top.push(r, scoreOf(metric, query, vectors, v, dim)),
  });
  return top.result();
}
