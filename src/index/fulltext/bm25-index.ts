// The BM25 full-text index: an in-memory inverted index (term → postings of ordinal and term
// frequency) with document lengths, ranked exactly as SQLite FTS5's bm25() ranks, and top-k
// search that skips documents whose score upper bound cannot enter the top k.
// Invariant: statistics (document count, total tokens, per-term document frequency) always
// cover every added document, whether or not a search filters it out, as FTS5's do.

import { QuiverError } from '../../errors.js';
import { Bitmap } from '../bitmap.js';
import { decodeContainer, encodeContainer, u32Of } from '../codec.js';
import { TopK } from '../top-k.js';
import { BLOCK, Postings } from './postings.js';
import { Tokenizer, type TokenizerOptions } from './tokenizer.js';

/** Options for {@link FullTextIndex}. Tokenizer options are documented on {@link TokenizerOptions}. */
export interface FullTextIndexOptions extends TokenizerOptions {
  /** BM25 term-frequency saturation. Default 1.2 (as FTS5). */
  k1?: number;
  /** BM25 length normalisation. Default 0.75 (as FTS5). */
  b?: number;
}

/** Options for {@link FullTextIndex.search}. */
export interface FullTextSearchOptions {
  /** Documents that may be returned; statistics still cover all documents. Default: all. */
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

/** A query term: its postings, idf, and which query positions (FTS5 phrases) it fills. */
interface QueryTerm {
  p: Postings;
  idf: number;
  weight: number;
  ub: number;
  pos: number;
  tf: number;
}

const FORMAT_VERSION = 1;
const MAGIC = 'QFTS';
/** FTS5 replaces a non-positive idf by this, so very common terms still rank by frequency. */
const IDF_FLOOR = 1e-6;
/** Upper bounds are widened by this factor before pruning, so rounding never prunes a winner. */
const BOUND_SLACK = 1 + 1e-9;

/**
 * BM25 search over documents addressed by ordinal (the i-th added document is ordinal i).
 *
 * @example
 * const fts = FullTextIndex.build(['a red fox', 'a lazy dog']);
 * fts.search('red fox', 10).ordinals; // Uint32Array [0]
 */
export class FullTextIndex {
  readonly tokenizer: Tokenizer;
  readonly k1: number;
  readonly b: number;
  private readonly terms = new Map<string, Postings>();
  private docLen = new Uint32Array(1024);
  private nDocs = 0;
  private totalTokens = 0;
  private epoch = 0;
  /** Per-document `k1 · (1 − b + b · dl / avgdl)` for the current epoch (FTS5's denominator term). */
  private norms = new Float64Array(0);
  private normsEpoch = -1;

  constructor(options: FullTextIndexOptions = {}) {
    this.tokenizer = new Tokenizer(options);
    this.k1 = options.k1 ?? 1.2;
    this.b = options.b ?? 0.75;
    if (!(this.k1 >= 0) || !(this.b >= 0 && this.b <= 1)) {
      throw new QuiverError('invalid_input', `index: bm25 needs k1 >= 0 and 0 <= b <= 1, got k1=${this.k1} b=${this.b}`);
    }
  }

  static build(docs: ReadonlyArray<string | null | undefined>, options: FullTextIndexOptions = {}): FullTextIndex {
    const index = new FullTextIndex(options);
    index.add(docs);
    return index;
  }

  get documentCount(): number {
    return this.nDocs;
  }

  get termCount(): number {
    return this.terms.size;
  }

  /** Appends documents as the next ordinals; null and undefined index as empty documents. */
  add(docs: ReadonlyArray<string | null | undefined>): void {
    if (this.nDocs + docs.length > this.docLen.length) {
      const next = new Uint32Array(Math.max(this.nDocs + docs.length, this.docLen.length * 2));
      next.set(this.docLen.subarray(0, this.nDocs));
      this.docLen = next;
    }
    const tf = new Map<string, number>();
    for (const text of docs) {
      const doc = this.nDocs++;
      const tokens = this.tokenizer.tokenize(text ?? '');
      this.docLen[doc] = tokens.length;
      this.totalTokens += tokens.length;
      tf.clear();
      for (const t of tokens) tf.set(t, (tf.get(t) ?? 0) + 1);
      for (const [t, f] of tf) {
        let p = this.terms.get(t);
        if (!p) this.terms.set(t, (p = new Postings()));
        p.push(doc, f);
      }
    }
    this.epoch++;
    this.refreshBounds();
  }

  /**
   * Recomputes length norms and every term's block bounds for the new statistics: O(postings)
   * once per add(), so no query pays for it (adding is batched; many tiny adds should batch).
   */
  private refreshBounds(): void {
    if (this.nDocs === 0) return;
    const avgdl = this.totalTokens / this.nDocs;
    const part = (tf: number, dl: number) => this.part(tf, dl, avgdl);
    for (const p of this.terms.values()) p.bounds(this.epoch, this.docLen, part);
    this.docNorms();
  }

  /** FTS5's idf: log((N - n + 0.5) / (n + 0.5)), floored at 1e-6. */
  idf(df: number): number {
    const idf = Math.log((this.nDocs - df + 0.5) / (df + 0.5));
    return idf <= 0 ? IDF_FLOOR : idf;
  }

  /** The BM25 term part, written as FTS5 writes it so scores agree to the last bit. */
  private part(tf: number, dl: number, avgdl: number): number {
    return (tf * (this.k1 + 1.0)) / (tf + this.k1 * (1 - this.b + (this.b * dl) / avgdl));
  }

  /** Per-document length normalisation, recomputed once after documents were added. */
  private docNorms(): Float64Array {
    if (this.normsEpoch !== this.epoch) {
      const avgdl = this.totalTokens / this.nDocs;
      const norms = new Float64Array(this.nDocs);
      for (let d = 0; d < this.nDocs; d++) norms[d] = this.k1 * (1 - this.b + (this.b * this.docLen[d]) / avgdl);
      this.norms = norms;
      this.normsEpoch = this.epoch;
    }
    return this.norms;
  }

  /** Documents containing every term of `query` (the FTS5 `MATCH` predicate, implicit AND). */
  match(query: string): Bitmap {
    const out = new Bitmap(this.nDocs);
    const plan = this.prepare(query);
    if (!plan || plan.missing) return out;
    this.intersect(plan.unique, undefined, (doc) => out.set(doc));
    return out;
  }

  /** Top-k documents by BM25, best first, ties broken by the lower ordinal. */
  search(query: string, k: number, options: FullTextSearchOptions = {}): TextSearchResult {
    if (!Number.isInteger(k) || k < 1) throw new QuiverError('invalid_input', `index: k must be a positive integer, got ${k}`);
    const mode = options.mode ?? 'and';
    if (mode !== 'and' && mode !== 'or') throw new QuiverError('invalid_input', `index: mode must be "and" or "or", got "${mode}"`);
    const plan = this.prepare(query);
    const top = new TopK(k, true);
    if (!plan || (mode === 'and' && plan.missing) || plan.unique.length === 0) {
      return { ordinals: new Uint32Array(0), scores: new Float64Array(0) };
    }
    const norms = this.docNorms();
    const score = (doc: number) => this.score(plan.phrases, doc, norms);
    if (mode === 'and') this.searchAnd(plan.unique, options.filter, top, score);
    else this.searchOr(plan.unique, options.filter, top, score);
    return { ordinals: top.ordinals(), scores: top.scores() };
  }

  /**
   * Tokenizes the query into FTS5 "phrases" (one per query token, duplicates kept, as FTS5
   * scores them) and the distinct terms behind them.
   */
  private prepare(query: string): { phrases: QueryTerm[]; unique: QueryTerm[]; missing: boolean } | undefined {
    const tokens = this.tokenizer.tokenize(query);
    if (tokens.length === 0) return undefined;
    const avgdl = this.totalTokens / this.nDocs;
    const byTerm = new Map<string, QueryTerm>();
    const phrases: QueryTerm[] = [];
    let missing = false;
    for (const t of tokens) {
      let q = byTerm.get(t);
      if (!q) {
        const p = this.terms.get(t) ?? new Postings(0);
        if (p.len === 0) missing = true;
        p.bounds(this.epoch, this.docLen, (tf, dl) => this.part(tf, dl, avgdl));
        q = { p, idf: this.idf(p.len), weight: 0, ub: 0, pos: 0, tf: 0 };
        byTerm.set(t, q);
      }
      q.weight++;
      phrases.push(q);
    }
    const unique = [...byTerm.values()].filter((q) => q.p.len > 0);
    for (const q of unique) q.ub = q.weight * q.idf * q.p.max * BOUND_SLACK;
    return { phrases, unique, missing };
  }

  /** Exact FTS5 bm25 (positive) of `doc`, summing phrases in query order; tf from cursors. */
  private score(phrases: QueryTerm[], doc: number, norms: Float64Array): number {
    const norm = norms[doc];
    const k1p1 = this.k1 + 1.0;
    let s = 0;
    for (let i = 0; i < phrases.length; i++) {
      const q = phrases[i];
      const tf = q.pos < q.p.len && q.p.docs[q.pos] === doc ? q.p.tfs[q.pos] : 0;
      s += q.idf * ((tf * k1p1) / (tf + norm));
    }
    return s;
  }

  /** Calls `visit` for each doc (passing `filter`) containing all terms, ascending. */
  private intersect(terms: QueryTerm[], filter: Bitmap | undefined, visit: (doc: number) => boolean | void, skipBlock?: (b: number) => boolean): void {
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
        if (filter && !filter.has(doc)) continue;
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
        if (all && visit(doc) === false) return;
      }
    }
  }

  /**
   * AND: walk the rarest term's postings, seek the others; a block of the rarest term is skipped
   * when its bound plus the other terms' bounds cannot beat the current k-th score.
   */
  private searchAnd(terms: QueryTerm[], filter: Bitmap | undefined, top: TopK, score: (doc: number) => number): void {
    const lead = [...terms].sort((a, b) => a.p.len - b.p.len)[0];
    let restUb = 0;
    for (const q of terms) if (q !== lead) restUb += q.ub;
    const leadScale = lead.weight * lead.idf * BOUND_SLACK;
    this.intersect(
      terms,
      filter,
      (doc) => top.push(doc, score(doc)),
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
  private searchOr(terms: QueryTerm[], filter: Bitmap | undefined, top: TopK, score: (doc: number) => number): void {
    const sorted = [...terms].sort((a, b) => a.ub - b.ub);
    const prefix = new Float64Array(sorted.length);
    let acc = 0;
    sorted.forEach((q, i) => (prefix[i] = acc += q.ub));
    for (const q of sorted) q.pos = 0;
    let essential = 0;
    const norms = this.docNorms();
    const k1p1 = this.k1 + 1.0;
    for (;;) {
      let doc = 0xffffffff;
      for (let t = essential; t < sorted.length; t++) {
        const q = sorted[t];
        if (q.pos < q.p.len && q.p.docs[q.pos] < doc) doc = q.p.docs[q.pos];
      }
      if (doc === 0xffffffff) return;
      const norm = norms[doc];
      let partial = 0;
      for (let t = essential; t < sorted.length; t++) {
        const q = sorted[t];
        if (q.pos < q.p.len && q.p.docs[q.pos] === doc) partial += q.weight * q.idf * ((q.p.tfs[q.pos] * k1p1) / (q.p.tfs[q.pos] + norm));
      }
      let viable = !filter || filter.has(doc);
      const worst = top.worst();
      for (let t = essential - 1; viable && t >= 0; t--) {
        if (worst !== undefined && partial + prefix[t] <= worst) viable = false;
        else {
          const q = sorted[t];
          q.pos = q.p.seek(q.pos, doc);
          if (q.pos < q.p.len && q.p.docs[q.pos] === doc) partial += q.weight * q.idf * ((q.p.tfs[q.pos] * k1p1) / (q.p.tfs[q.pos] + norm));
        }
      }
      if (viable) {
        top.push(doc, score(doc));
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

  /** A self-describing binary (format {@link FORMAT_VERSION}) with a CRC-32; see docs/search-kernels.md. */
  serialize(): Uint8Array {
    const names = [...this.terms.keys()];
    let total = 0;
    for (const t of names) total += this.terms.get(t)!.len;
    const counts = new Uint32Array(names.length);
    const docs = new Uint32Array(total);
    const tfs = new Uint32Array(total);
    let at = 0;
    names.forEach((t, i) => {
      const p = this.terms.get(t)!;
      counts[i] = p.len;
      docs.set(p.docs.subarray(0, p.len), at);
      tfs.set(p.tfs.subarray(0, p.len), at);
      at += p.len;
    });
    // Tokens never contain U+0000 (it is a separator), so it can delimit the term list.
    const termBytes = Buffer.from(names.join('\u0000'), 'utf8');
    const t = this.tokenizer.options;
    const header = {
      kind: 'fulltext-bm25',
      documentCount: this.nDocs,
      totalTokens: this.totalTokens,
      termCount: names.length,
      postingCount: total,
      options: { k1: this.k1, b: this.b, removeDiacritics: t.removeDiacritics, minTokenLength: t.minTokenLength, stopwords: t.stopwords },
    };
    return encodeContainer(MAGIC, FORMAT_VERSION, header, { terms: termBytes, counts, docs, tfs, docLen: this.docLen.subarray(0, this.nDocs) });
  }

  /** Reads {@link serialize}'s output; throws `index: corrupt full-text index: ...` on any damage. */
  static deserialize(bytes: Uint8Array): FullTextIndex {
    const { header, sections } = decodeContainer(bytes, MAGIC, [FORMAT_VERSION], 'full-text index');
    const corrupt = (why: string) => new QuiverError('corrupt', `index: corrupt full-text index: ${why}`);
    const index = new FullTextIndex(header.options as FullTextIndexOptions);
    const n = header.documentCount as number;
    const names = sections.terms.length === 0 ? [] : Buffer.from(sections.terms).toString('utf8').split('\u0000');
    const counts = u32Of(sections.counts);
    const docs = u32Of(sections.docs);
    const tfs = u32Of(sections.tfs);
    if (names.length !== header.termCount || counts.length !== names.length) throw corrupt('term count disagrees with header');
    if (docs.length !== header.postingCount || tfs.length !== docs.length) throw corrupt('posting count disagrees with header');
    if (sections.docLen.byteLength !== n * 4) throw corrupt('document lengths disagree with header');
    index.docLen = u32Of(sections.docLen).slice();
    index.nDocs = n;
    index.totalTokens = header.totalTokens as number;
    index.epoch++;
    let at = 0;
    names.forEach((t, i) => {
      const p = new Postings(0);
      p.docs = docs.slice(at, at + counts[i]);
      p.tfs = tfs.slice(at, at + counts[i]);
      p.len = counts[i];
      at += counts[i];
      index.terms.set(t, p);
    });
    if (at !== docs.length) throw corrupt('postings do not add up');
    index.refreshBounds();
    return index;
  }
}
