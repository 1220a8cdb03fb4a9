// The seed's three query shapes of bench/hybrid.ts, as Quiver SQL and as LanceDB queries over the
// same rows (LanceDB's `id` is Quiver's row id), shared by the parent and its cold children.

import type * as lancedb from '@lancedb/lancedb';
import type * as quiver from '../../src/index.js';

export type ShapeName = 'vector + filter' | 'bm25 + filter' | 'hybrid rrf + filter';
export const SHAPES: ShapeName[] = ['vector + filter', 'bm25 + filter', 'hybrid rrf + filter'];
export const DAY = 86_400_000;
export const FILTER = `rating >= 4 and created_at > now() - interval 7 day and not list_contains(tags, 'unsafe')`;
/** LanceDB's created_at holds epoch ms: the cutoff is computed per query, as `now()` is in ours. */
export const lanceFilter = () => `rating >= 4 AND created_at > ${Date.now() - 7 * DAY} AND NOT array_has(tags, 'unsafe')`;
const sq = (s: string) => s.replace(/'/g, "''");

/** The queries' inputs: query vectors (row-major) and texts, written by the parent for its children. */
export interface QuerySet {
  dim: number;
  vectors: Float32Array;
  texts: string[];
}

export const vectorOf = (qs: QuerySet, i: number) => qs.vectors.slice(i * qs.dim, (i + 1) * qs.dim);

export function quiverQuery(shape: ShapeName, qs: QuerySet, i: number): { sql: string; params: quiver.Param[]; k: number } {
  const t = sq(qs.texts[i]);
  switch (shape) {
    case 'vector + filter':
      return { sql: `select row_id, prompt, rating from dataset where ${FILTER} order by cosine_similarity(prompt_emb, $1) desc limit 20`, params: [vectorOf(qs, i)], k: 20 };
    case 'bm25 + filter':
      return { sql: `select row_id, prompt, bm25(prompt, '${t}') as score from dataset where match(prompt, '${t}') and rating >= 3 order by score desc limit 10`, params: [], k: 10 };
    default:
      return { sql: `select row_id, prompt from dataset where ${FILTER} order by rrf(cosine_similarity(prompt_emb, $1), bm25(prompt, '${t}')) desc limit 10`, params: [vectorOf(qs, i)], k: 10 };
  }
}

/** The ids LanceDB answers with. BM25 uses an AND match (Quiver's `match()` is FTS5's implicit AND); hybrid fuses with its RRFReranker. */
export async function lanceQuery(lance: typeof lancedb, table: lancedb.Table, rrf: lancedb.rerankers.RRFReranker, shape: ShapeName, qs: QuerySet, i: number, ef: number): Promise<number[]> {
  let rows: Record<string, unknown>[];
  switch (shape) {
    case 'vector + filter':
      rows = await table.vectorSearch(vectorOf(qs, i)).distanceType('cosine').ef(ef).where(lanceFilter()).limit(20).select(['id', 'prompt', 'rating', '_distance']).toArray();
      break;
    case 'bm25 + filter':
      rows = await table.query().fullTextSearch(new lance.MatchQuery(qs.texts[i], 'prompt', { operator: lance.Operator.And })).where('rating >= 3').limit(10).select(['id', 'prompt', '_score']).toArray();
      break;
    default:
      rows = await table.query().nearestTo(vectorOf(qs, i)).distanceType('cosine').ef(ef).fullTextSearch(qs.texts[i]).where(lanceFilter()).rerank(rrf).limit(10).select(['id', 'prompt']).toArray();
  }
  return rows.map((r) => Number(r.id));
}
