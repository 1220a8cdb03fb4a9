// One full-text segment: the postings (term → ascending positions with term frequency) and
// document lengths of one run of documents, e.g. one fragment's rows, with its own counts.
// Invariant: a segment's positions are 0..documents-1 in the order documents were added; the
// counts (documents, total tokens, each term's postings) always cover every added document.
// BM25 statistics belong to whoever combines segments (bm25-search.ts), not to a segment.

import { QuiverError } from '../../errors.js';
import { decodeContainer, encodeContainer, u32Of } from '../codec.js';
import { Postings } from './postings.js';
import { Tokenizer, type TokenizerOptions } from './tokenizer.js';

/** Options for {@link TextSegment}. Tokenizer options are documented on {@link TokenizerOptions}. */
export interface FullTextIndexOptions extends TokenizerOptions {
  /** BM25 term-frequency saturation. Default 1.2 (as FTS5). */
  k1?: number;
  /** BM25 length normalisation. Default 0.75 (as FTS5). */
  b?: number;
}

const FORMAT_VERSION = 1;
const MAGIC = 'QFTS';
const EMPTY = new Postings(0);

/** A deserialized segment's postings as stored: one term's at [starts[i], starts[i + 1]) of docs and tfs. */
interface StoredPostings {
  index: Map<string, number>;
  starts: Uint32Array;
  docs: Uint32Array;
  tfs: Uint32Array;
}

export class TextSegment {
  readonly tokenizer: Tokenizer;
  readonly k1: number;
  readonly b: number;
  /**
   * Postings by term. A deserialized segment fills it as terms are asked for (see `stored`);
   * {@link allTerms} gives every term.
   */
  private readonly terms = new Map<string, Postings>();
  /**
   * A deserialized segment's postings not yet made objects: a query asks for a few terms of
   * thousands, and building one Postings per term at load was most of a fresh process's first
   * BM25 query (bench/fts-segments.ts at 100k rows, 10 segments: ~110 of ~200 ms, much of it
   * collecting 50k small objects).
   */
  private stored?: StoredPostings;
  docLen = new Uint32Array(1024);
  documents = 0;
  totalTokens = 0;
  /** Per-document `k1 · (1 − b + b · dl / avgdl)` for {@link normsAvgdl} (FTS5's denominator term). */
  private normsCache = new Float64Array(0);
  private normsAvgdl = -1;

  constructor(options: FullTextIndexOptions = {}) {
    this.tokenizer = new Tokenizer(options);
    this.k1 = options.k1 ?? 1.2;
    this.b = options.b ?? 0.75;
    if (!(this.k1 >= 0) || !(this.b >= 0 && this.b <= 1)) {
      throw new QuiverError('invalid_input', `index: bm25 needs k1 >= 0 and 0 <= b <= 1, got k1=${this.k1} b=${this.b}`);
    }
  }

  static build(docs: ReadonlyArray<string | null | undefined>, options: FullTextIndexOptions = {}): TextSegment {
    const s = new TextSegment(options);
    s.add(docs);
    return s;
  }

  /** The options that decide tokens and scores: two segments combine only when these agree. */
  get options(): Required<Omit<FullTextIndexOptions, 'stopwords'>> & { stopwords: string[] } {
    const t = this.tokenizer.options;
    return { k1: this.k1, b: this.b, removeDiacritics: t.removeDiacritics, minTokenLength: t.minTokenLength, stopwords: t.stopwords };
  }

  postings(term: string): Postings {
    const got = this.terms.get(term);
    if (got) return got;
    const i = this.stored?.index.get(term);
    if (i === undefined) return EMPTY;
    const { starts, docs, tfs } = this.stored!;
    const p = new Postings(0);
    p.docs = docs.subarray(starts[i], starts[i + 1]);
    p.tfs = tfs.subarray(starts[i], starts[i + 1]);
    p.len = starts[i + 1] - starts[i];
    this.terms.set(term, p);
    return p;
  }

  /** How many distinct terms the segment holds. */
  get termCount(): number {
    return this.stored ? this.stored.index.size : this.terms.size;
  }

  /** Every term with its postings, in the order terms first appeared. */
  allTerms(): Map<string, Postings> {
    if (this.stored) {
      for (const t of this.stored.index.keys()) this.postings(t);
      this.stored = undefined;
    }
    return this.terms;
  }

  /** Appends documents as the next positions; null and undefined index as empty documents. */
  add(docs: ReadonlyArray<string | null | undefined>): void {
    this.allTerms();
    if (this.documents + docs.length > this.docLen.length) {
      const next = new Uint32Array(Math.max(this.documents + docs.length, this.docLen.length * 2));
      next.set(this.docLen.subarray(0, this.documents));
      this.docLen = next;
    }
    const tf = new Map<string, number>();
    for (const text of docs) {
      const doc = this.documents++;
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
    this.normsAvgdl = -1;
  }

  /** The BM25 term part, written as FTS5 writes it so scores agree to the last bit. */
  part(tf: number, dl: number, avgdl: number): number {
    return (tf * (this.k1 + 1.0)) / (tf + this.k1 * (1 - this.b + (this.b * dl) / avgdl));
  }

  /** Length norms for `avgdl`, computed once per average length (a version's statistics). */
  norms(avgdl: number): Float64Array {
    if (this.normsAvgdl !== avgdl || this.normsCache.length !== this.documents) {
      const norms = new Float64Array(this.documents);
      for (let d = 0; d < this.documents; d++) norms[d] = this.k1 * (1 - this.b + (this.b * this.docLen[d]) / avgdl);
      this.normsCache = norms;
      this.normsAvgdl = avgdl;
    }
    return this.normsCache;
  }

  /** Heap bytes, roughly: postings (8 per entry), lengths, norms, term strings. */
  get bytes(): number {
    let n = this.docLen.byteLength + this.normsCache.byteLength;
    for (const [t, p] of this.terms) n += 64 + t.length * 2 + (this.stored ? 0 : p.docs.byteLength + p.tfs.byteLength) + p.blockMax.byteLength;
    if (this.stored) {
      const { index, starts, docs, tfs } = this.stored;
      n += starts.byteLength + docs.byteLength + tfs.byteLength;
      for (const t of index.keys()) n += 64 + t.length * 2;
    }
    return n;
  }

  /**
   * A self-describing binary (format {@link FORMAT_VERSION}) with a CRC-32; see
   * docs/search-kernels.md. `rowIds` (one per document), when given, are stored beside the
   * postings so a reader maps positions to rows without the data file.
   */
  serialize(rowIds?: BigInt64Array): Uint8Array {
    if (rowIds && rowIds.length !== this.documents) throw new QuiverError('invalid_input', `index: ${rowIds.length} row ids for ${this.documents} documents`);
    const terms = this.allTerms();
    const names = [...terms.keys()];
    let total = 0;
    for (const t of names) total += terms.get(t)!.len;
    const counts = new Uint32Array(names.length);
    const docs = new Uint32Array(total);
    const tfs = new Uint32Array(total);
    let at = 0;
    names.forEach((t, i) => {
      const p = terms.get(t)!;
      counts[i] = p.len;
      docs.set(p.docs.subarray(0, p.len), at);
      tfs.set(p.tfs.subarray(0, p.len), at);
      at += p.len;
    });
    // Tokens never contain U+0000 (it is a separator), so it can delimit the term list.
    const termBytes = Buffer.from(names.join('\u0000'), 'utf8');
    const header = { kind: 'fulltext-bm25', documentCount: this.documents, totalTokens: this.totalTokens, termCount: names.length, postingCount: total, options: this.options };
    const sections: Record<string, ArrayBufferView> = { terms: termBytes, counts, docs, tfs, docLen: this.docLen.subarray(0, this.documents) };
    if (rowIds) sections.rowIds = rowIds;
    return encodeContainer(MAGIC, FORMAT_VERSION, header, sections);
  }

  /** Reads {@link serialize}'s output; throws `index: corrupt full-text index: ...` on any damage. */
  static deserialize(bytes: Uint8Array): { segment: TextSegment; rowIds?: BigInt64Array } {
    const { header, sections } = decodeContainer(bytes, MAGIC, [FORMAT_VERSION], 'full-text index');
    const corrupt = (why: string) => new QuiverError('corrupt', `index: corrupt full-text index: ${why}`);
    const s = new TextSegment(header.options as FullTextIndexOptions);
    const n = header.documentCount as number;
    const names = sections.terms.length === 0 ? [] : Buffer.from(sections.terms).toString('utf8').split('\u0000');
    const counts = u32Of(sections.counts);
    const docs = u32Of(sections.docs);
    const tfs = u32Of(sections.tfs);
    if (names.length !== header.termCount || counts.length !== names.length) throw corrupt('term count disagrees with header');
    if (docs.length !== header.postingCount || tfs.length !== docs.length) throw corrupt('posting count disagrees with header');
    if (sections.docLen.byteLength !== n * 4) throw corrupt('document lengths disagree with header');
    if (sections.rowIds && sections.rowIds.byteLength !== n * 8) throw corrupt('row ids disagree with header');
    s.docLen = u32Of(sections.docLen).slice();
    s.documents = n;
    s.totalTokens = header.totalTokens as number;
    // Every term's postings are checked now (one pass over the arrays); their objects are made
    // when a query asks for the term (see `stored`).
    const starts = new Uint32Array(names.length + 1);
    const index = new Map<string, number>();
    let at = 0;
    for (let i = 0; i < names.length; i++) {
      const end = at + counts[i];
      if (end > docs.length) throw corrupt('postings do not add up');
      for (let j = at + 1; j < end; j++) if (!(docs[j - 1] < docs[j])) throw corrupt(`postings of "${names[i]}" are not ascending`);
      if (end > at && docs[end - 1] >= n) throw corrupt(`postings of "${names[i]}" name a document past the end`);
      if (index.has(names[i])) throw corrupt(`term "${names[i]}" is listed twice`);
      index.set(names[i], i);
      starts[i + 1] = at = end;
    }
    if (at !== docs.length) throw corrupt('postings do not add up');
    s.stored = { index, starts, docs, tfs };
    const rowIds = sections.rowIds ? new BigInt64Array(sections.rowIds.buffer, sections.rowIds.byteOffset, n) : undefined;
    return rowIds ? { segment: s, rowIds } : { segment: s };
  }
}
