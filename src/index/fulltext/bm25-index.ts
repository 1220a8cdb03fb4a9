// The BM25 full-text index of one run of documents built in memory: one segment scored with
// its own statistics, ranked exactly as SQLite FTS5's bm25() ranks (see bm25-search.ts).
// Invariant: statistics (document count, total tokens, per-term document frequency) always
// cover every added document, whether or not a search filters it out, as FTS5's do.

import type { Bitmap } from '../bitmap.js';
import { Bm25Search, idfOf, type FullTextSearchOptions, type TextSearchResult } from './bm25-search.js';
import { TextSegment, type FullTextIndexOptions } from './segment.js';
import type { Tokenizer } from './tokenizer.js';

/** What both full-text indexes answer: BM25 top-k and match over their result ordinals. */
export interface TextSearcher {
  readonly documentCount: number;
  search(query: string, k: number, options?: FullTextSearchOptions): TextSearchResult;
  match(query: string): Bitmap;
}

/**
 * BM25 search over documents addressed by ordinal (the i-th added document is ordinal i).
 *
 * @example
 * const fts = FullTextIndex.build(['a red fox', 'a lazy dog']);
 * fts.search('red fox', 10).ordinals; // Uint32Array [0]
 */
export class FullTextIndex implements TextSearcher {
  private readonly segment: TextSegment;
  private searcher: Bm25Search | undefined;

  constructor(options: FullTextIndexOptions = {}, segment?: TextSegment) {
    this.segment = segment ?? new TextSegment(options);
  }

  static build(docs: ReadonlyArray<string | null | undefined>, options: FullTextIndexOptions = {}): FullTextIndex {
    return new FullTextIndex({}, TextSegment.build(docs, options));
  }

  get tokenizer(): Tokenizer {
    return this.segment.tokenizer;
  }
  get k1(): number {
    return this.segment.k1;
  }
  get b(): number {
    return this.segment.b;
  }
  get documentCount(): number {
    return this.segment.documents;
  }
  get termCount(): number {
    return this.segment.termCount;
  }

  /** Appends documents as the next ordinals; null and undefined index as empty documents. */
  add(docs: ReadonlyArray<string | null | undefined>): void {
    this.segment.add(docs);
    this.searcher = undefined;
  }

  /** FTS5's idf: log((N - n + 0.5) / (n + 0.5)), floored at 1e-6. */
  idf(df: number): number {
    return idfOf(this.segment.documents, df);
  }

  /** Documents containing every term of `query` (the FTS5 `MATCH` predicate, implicit AND). */
  match(query: string): Bitmap {
    return this.search$().match(query);
  }

  /** Top-k documents by BM25, best first, ties broken by the lower ordinal. */
  search(query: string, k: number, options: FullTextSearchOptions = {}): TextSearchResult {
    return this.search$().search(query, k, options);
  }

  private search$(): Bm25Search {
    const s = this.segment;
    this.searcher ??= new Bm25Search(s.tokenizer, [{ segment: s, map: null }], { documents: s.documents, totalTokens: s.totalTokens, df: (t) => s.postings(t).len });
    return this.searcher;
  }

  /** A self-describing binary with a CRC-32 (the segment format); see docs/search-kernels.md. */
  serialize(): Uint8Array {
    return this.segment.serialize();
  }

  /** Reads {@link serialize}'s output; throws `index: corrupt full-text index: ...` on any damage. */
  static deserialize(bytes: Uint8Array): FullTextIndex {
    return new FullTextIndex({}, TextSegment.deserialize(bytes).segment);
  }
}
