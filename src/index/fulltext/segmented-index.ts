// BM25 over several immutable segments (one per fragment) with deletions, as one collection:
// the statistics of the live documents are combined at query time from the segments' counts
// minus what their deleted positions held, so they equal those of an index built over the
// live documents alone (and FTS5's over the same rows).
// Invariant: every live position maps to exactly one result ordinal, and the ordinals of all
// parts are exactly 0..documentCount-1.

import { assert, QuiverError } from '../../errors.js';
import type { Bitmap } from '../bitmap.js';
import { Bm25Search, type FullTextSearchOptions, type SearchPart, type TextSearchResult } from './bm25-search.js';
import type { TextSearcher } from './bm25-index.js';

/** Distinct terms whose live document frequency is remembered (a query names a few). */
const DF_TERMS_MAX = 65_536;

/**
 * A read-only BM25 collection over `parts`, each a segment whose positions map to result
 * ordinals (`-1` for a deleted position). Segments must share tokenizer and scoring options.
 *
 * @example
 * const a = TextSegment.build(['a red fox', 'gone']), b = TextSegment.build(['a red car']);
 * const ix = new SegmentedTextIndex([{ segment: a, map: Int32Array.of(0, -1) }, { segment: b, map: Int32Array.of(1) }]);
 * ix.search('red', 10, { mode: 'or' }).ordinals; // both live documents; "gone" counts nowhere
 */
export class SegmentedTextIndex implements TextSearcher {
  readonly documentCount: number;
  private readonly totalTokens: number;
  private readonly searcher: Bm25Search;
  private readonly dfs = new Map<string, number>();

  constructor(private readonly parts: readonly SearchPart[]) {
    if (parts.length === 0) throw new QuiverError('invalid_input', 'index: a segmented full-text index needs a segment');
    const options = JSON.stringify(parts[0].segment.options);
    let documents = 0;
    let tokens = 0;
    for (const { segment, map } of parts) {
      if (JSON.stringify(segment.options) !== options) throw new QuiverError('invalid_input', 'index: full-text segments with different options cannot be combined');
      if (!map) {
        documents += segment.documents;
        tokens += segment.totalTokens;
        continue;
      }
      assert(map.length === segment.documents, 'a segment maps every position');
      tokens += segment.totalTokens;
      for (let d = 0; d < map.length; d++) {
        if (map[d] >= 0) documents++;
        else tokens -= segment.docLen[d];
      }
    }
    this.documentCount = documents;
    this.totalTokens = tokens;
    this.searcher = new Bm25Search(parts[0].segment.tokenizer, parts, { documents, totalTokens: tokens, df: (t) => this.df(t) });
  }

  /** Live documents holding `term`: each segment's postings minus its deleted positions'. */
  df(term: string): number {
    let n = this.dfs.get(term);
    if (n === undefined) {
      n = 0;
      for (const { segment, map } of this.parts) {
        const p = segment.postings(term);
        if (!map) n += p.len;
        else for (let i = 0; i < p.len; i++) if (map[p.docs[i]] >= 0) n++;
      }
      if (this.dfs.size >= DF_TERMS_MAX) this.dfs.clear();
      this.dfs.set(term, n);
    }
    return n;
  }

  /** The combined total of live tokens (avgdl = totalTokenCount / documentCount). */
  get totalTokenCount(): number {
    return this.totalTokens;
  }

  match(query: string): Bitmap {
    return this.searcher.match(query);
  }

  search(query: string, k: number, options: FullTextSearchOptions = {}): TextSearchResult {
    return this.searcher.search(query, k, options);
  }
}
