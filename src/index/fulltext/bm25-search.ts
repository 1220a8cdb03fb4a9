// BM25 top-k and match over one or more segments scored with one set of statistics, ranked
// exactly as SQLite FTS5's bm25() ranks, skipping documents whose score bound cannot enter the
// top k (block-max AND, MaxScore OR).
// Invariant: statistics (document count, total tokens, per-term document frequency) are the
// caller's and cover every live document, whether or not a search filters it out, as FTS5's do;
// each segment maps its positions to result ordinals (-1: not live), one ordinal per document.

import { QuiverError } from '../../errors.js';
import { Bitmap } from '../bitmap.js';
import { TopK } from '../top-k.js';
import { BLOCK, type Postings } from './postings.js';
import type { TextSegment } from './segment.js';
import type { Tokenizer } from './tokenizer.js';

/** Options for a full-text search. */
export interface FullTextSearchOptions {
  /** Documents (result ordinals) that may be returned; statistics still cover all documents. Default: all. */
  filter?: Bitmap;
  /**
   * `'and'`: every query term must occur (FTS5's implicit AND for `MATCH 'a b'`).
   * `'or'`: any term may occur (FTS5's `MATCH 'a OR b'`). Default `'and'`.
   */
  mode?: 'and' | 'or';
}

/** Ordinals best first; `scores` are BM25 (higher is better) and equal `-bm25(fts)` of FTS5. */
export interface TextSearchResult {
  ordinals: Uint32Array;
  scores: Float64Array;
}

/** A segment as searched: its positions' result ordinals (null: position = ordinal, all live). */
export interface SearchPart {
  segment: TextSegment;
  map: Int32Array | null;
}

/** The statistics a search scores with. */
export interface Bm25Stats {
  /** Live documents (N); result ordinals are 0..documents-1. */
  documents: number;
  totalTokens: number;
  /** Live documents holding `term`. */
  df(term: string): number;
}

/** A query term within one segment: its postings, idf, and how often the query names it. */
interface QueryTerm {
  p: Postings;
  idf: number;
  weight: number;
  ub: number;
  pos: number;
}

/** FTS5 replaces a non-positive idf by this, so very common terms still rank by frequency. */
const IDF_FLOOR = 1e-6;
/** Upper bounds are widened by this factor before pruning, so rounding never prunes a winner. */
const BOUND_SLACK = 1 + 1e-9;
const NONE = 0xffffffff;

/** FTS5's idf: log((N - n + 0.5) / (n + 0.5)), floored at 1e-6. */
export function idfOf(documents: number, df: number): number {
  const idf = Math.log((documents - df + 0.5) / (df + 0.5));
  return idf <= 0 ? IDF_FLOOR : idf;
}

/** Searches `parts` with `stats`; every part shares the tokenizer and k1, b (the caller checks). */
export class Bm25Search {
  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly parts: readonly SearchPart[],
    private readonly stats: Bm25Stats,
  ) {}

  /** Documents containing every term of `query` (the FTS5 `MATCH` predicate, implicit AND). */
  match(query: string): Bitmap {
    const out = new Bitmap(this.stats.documents);
    const q = this.query(query);
    if (!q || q.missing) return out;
    for (const part of this.parts) {
      const plan = this.prepare(part, q.tokens, q.idf);
      if (plan.missing) continue;
      intersect(plan.unique, part.map, undefined, (doc, o) => void (o >= 0 && out.set(o)));
    }
    return out;
  }

  /** Top-k documents by BM25, best first, ties broken by the lower ordinal. */
  search(query: string, k: number, options: FullTextSearchOptions = {}): TextSearchResult {
    if (!Number.isInteger(k) || k < 1) throw new QuiverError('invalid_input', `index: k must be a positive integer, got ${k}`);
    const mode = options.mode ?? 'and';
    if (mode !== 'and' && mode !== 'or') throw new QuiverError('invalid_input', `index: mode must be "and" or "or", got "${mode}"`);
    const top = new TopK(k, true);
    const q = this.query(query);
    if (q && !(mode === 'and' && q.missing)) {
      const avgdl = this.stats.totalTokens / this.stats.documents;
      // One top-k across segments: a segment's pruning uses the k-th score the earlier ones reached.
      for (const part of this.parts) {
        const plan = this.prepare(part, q.tokens, q.idf);
        if (plan.unique.length === 0 || (mode === 'and' && plan.missing)) continue;
        const norms = part.segment.norms(avgdl);
        const k1p1 = part.segment.k1 + 1.0;
        const score = (doc: number) => scoreOf(plan.phrases, doc, norms[doc], k1p1);
        if (mode === 'and') searchAnd(plan.unique, part.map, options.filter, top, score);
        else searchOr(plan.unique, part.map, options.filter, top, norms, k1p1, score);
      }
    }
    return { ordinals: top.ordinals(), scores: top.scores() };
  }

  /** The query's tokens and each distinct token's idf; undefined when it has no token. */
  private query(query: string): { tokens: string[]; idf: Map<string, number>; missing: boolean } | undefined {
    const tokens = this.tokenizer.tokenize(query);
    if (tokens.length === 0 || this.stats.documents === 0) return undefined;
    const idf = new Map<string, number>();
    let missing = false;
    for (const t of tokens) {
      if (idf.has(t)) continue;
      const df = this.stats.df(t);
      if (df === 0) missing = true;
      idf.set(t, idfOf(this.stats.documents, df));
    }
    return { tokens, idf, missing };
  }

  /**
   * One segment's FTS5 "phrases" (one per query token, duplicates kept, as FTS5 scores them)
   * and the distinct terms behind them that the segment holds, with their bounds.
   */
  private prepare(part: SearchPart, tokens: string[], idf: Map<string, number>): { phrases: QueryTerm[]; unique: QueryTerm[]; missing: boolean } {
    const seg = part.segment;
    const avgdl = this.stats.totalTokens / this.stats.documents;
    const byTerm = new Map<string, QueryTerm>();
    const phrases: QueryTerm[] = [];
    let missing = false;
    for (const t of tokens) {
      let q = byTerm.get(t);
      if (!q) {
        const p = seg.postings(t);
        if (p.len === 0) missing = true;
        else p.bounds(avgdl, seg.docLen, (tf, dl) => seg.part(tf, dl, avgdl));
        q = { p, idf: idf.get(t)!, weight: 0, ub: 0, pos: 0 };
        byTerm.set(t, q);
      }
      q.weight++;
      phrases.push(q);
    }
    const unique = [...byTerm.values()].filter((q) => q.p.len > 0);
    for (const q of unique) q.ub = q.weight * q.idf * q.p.max * BOUND_SLACK;
    return { phrases, unique, missing };
  }
}

/** Exact FTS5 bm25 (positive) of `doc`, summing phrases in query order; tf from cursors. */
function scoreOf(phrases: QueryTerm[], doc: number, norm: number, k1p1: number): number {
  let s = 0;
  for (let i = 0; i < phrases.length; i++) {
    const q = phrases[i];
    const tf = q.pos < q.p.len && q.p.docs[q.pos] === doc ? q.p.tfs[q.pos] : 0;
    s += q.idf * ((tf * k1p1) / (tf + norm));
  }
  return s;
}

/** The result ordinal of `doc` if it is live and passes `filter`, else -1. */
function admitted(doc: number, map: Int32Array | null, filter: Bitmap | undefined): number {
  const o = map ? map[doc] : doc;
  return o < 0 || (filter && !filter.has(o)) ? -1 : o;
}

/**
 * Calls `visit(doc, ordinal)` for each position containing all terms, ascending; `ordinal` is
 * -1 for one that is not live or not in `filter`. Stops when `visit` returns false.
 */
function intersect(terms: QueryTerm[], map: Int32Array | null, filter: Bitmap | undefined, visit: (doc: number, ordinal: number) => boolean | void, skipBlock?: (b: number) => boolean): void {
  const order = [...terms].sort((a, b) => a.p.len - b.p.len);
  for (const q of order) q.pos = 0;
  const lead = order[0];
  const docs = lead.p.docs;
  for (let blockStart = 0; blockStart < lead.p.len; blockStart += BLOCK) {
    if (skipBlock?.(blockStart / BLOCK)) continue;
    const end = Math.min(lead.p.len, blockStart + BLOCK);
    for (let i = blockStart; i < end; i++) {
      const doc = docs[i];
      lead.pos = i;
      const o = admitted(doc, map, filter);
      if (o < 0) continue;
      let all = true;
      for (let t = 1; t < order.length; t++) {
        const q = order[t];
        q.pos = q.p.seek(q.pos, doc);
        if (q.pos >= q.p.len) return;
        if (q.p.docs[q.pos] !== doc) {
          all = false;
          break;
        }
      }
      if (all && visit(doc, o) === false) return;
    }
  }
}

/**
 * AND: walk the rarest term's postings, seek the others; a block of the rarest term is skipped
 * when its bound plus the other terms' bounds cannot beat the current k-th score.
 */
function searchAnd(terms: QueryTerm[], map: Int32Array | null, filter: Bitmap | undefined, top: TopK, score: (doc: number) => number): void {
  const lead = [...terms].sort((a, b) => a.p.len - b.p.len)[0];
  let restUb = 0;
  for (const q of terms) if (q !== lead) restUb += q.ub;
  const leadScale = lead.weight * lead.idf * BOUND_SLACK;
  intersect(
    terms,
    map,
    filter,
    (doc, o) => top.push(o, score(doc)),
    (block) => {
      const worst = top.worst();
      return worst !== undefined && leadScale * lead.p.blockMax[block] + restUb <= worst;
    },
  );
}

/**
 * OR with MaxScore: terms sorted by bound; the low-bound "non-essential" prefix whose summed
 * bounds cannot beat the k-th score never drives candidates, only completes them.
 */
function searchOr(terms: QueryTerm[], map: Int32Array | null, filter: Bitmap | undefined, top: TopK, norms: Float64Array, k1p1: number, score: (doc: number) => number): void {
  const sorted = [...terms].sort((a, b) => a.ub - b.ub);
  const prefix = new Float64Array(sorted.length);
  let acc = 0;
  sorted.forEach((q, i) => (prefix[i] = acc += q.ub));
  for (const q of sorted) q.pos = 0;
  const contribution = (q: QueryTerm, norm: number) => q.weight * q.idf * ((q.p.tfs[q.pos] * k1p1) / (q.p.tfs[q.pos] + norm));
  // A top-k shared with earlier segments may already exclude the low-bound terms.
  let essential = 0;
  const w0 = top.worst();
  if (w0 !== undefined) while (essential < sorted.length && prefix[essential] <= w0) essential++;
  for (;;) {
    let doc = NONE;
    for (let t = essential; t < sorted.length; t++) {
      const q = sorted[t];
      if (q.pos < q.p.len && q.p.docs[q.pos] < doc) doc = q.p.docs[q.pos];
    }
    if (doc === NONE) return;
    const norm = norms[doc];
    let partial = 0;
    for (let t = essential; t < sorted.length; t++) {
      const q = sorted[t];
      if (q.pos < q.p.len && q.p.docs[q.pos] === doc) partial += contribution(q, norm);
    }
    const o = admitted(doc, map, filter);
    let viable = o >= 0;
    const worst = top.worst();
    for (let t = essential - 1; viable && t >= 0; t--) {
      if (worst !== undefined && partial + prefix[t] <= worst) viable = false;
      else {
        const q = sorted[t];
        q.pos = q.p.seek(q.pos, doc);
        if (q.pos < q.p.len && q.p.docs[q.pos] === doc) partial += contribution(q, norm);
      }
    }
    if (viable) {
      top.push(o, score(doc));
      const w = top.worst();
      if (w !== undefined) while (essential < sorted.length && prefix[essential] <= w) essential++;
    }
    // Move the essential cursors that sat on this doc past it.
    for (let t = essential; t < sorted.length; t++) {
      const q = sorted[t];
      if (q.pos < q.p.len && q.p.docs[q.pos] === doc) q.pos++;
    }
    // Non-essential cursors that sat on it move on lazily via seek.
  }
}
