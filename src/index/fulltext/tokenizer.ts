// A tokenizer that reproduces SQLite FTS5's `unicode61` (remove_diacritics 1) on the text we
// index: letters, digits, private-use characters and combining marks make tokens, everything
// else separates; tokens are case-folded one code point at a time and Latin diacritics removed.
// Invariant: the same text always yields the same tokens, and a token is never empty.

import { QuiverError } from '../../errors.js';

/** Options for {@link Tokenizer}. */
export interface TokenizerOptions {
  /**
   * Diacritic folding, as FTS5's `remove_diacritics`: 0 keeps them; 1 folds a Latin letter
   * carrying exactly one diacritic (é → e, but ǖ stays); 2 also folds letters carrying several.
   * Combining marks written separately are dropped by 1 and 2. Default 1 (FTS5's default).
   */
  removeDiacritics?: 0 | 1 | 2;
  /** Tokens (after folding) that are dropped and do not count towards a document's length. Default none. */
  stopwords?: Iterable<string>;
  /** Tokens shorter than this many code points are dropped like stopwords. Default 1 (keep all). */
  minTokenLength?: number;
}

// FTS5 unicode61 token characters: categories L*, N*, Co, plus combining marks (Mn), which FTS5
// keeps inside a token and then strips as diacritics.
const TOKEN_RUN = /[\p{L}\p{N}\p{Co}\p{Mn}]+/gu;
const ASCII = /^[\x00-\x7f]*$/;
const MARK = /\p{Mn}/u;
const ASCII_LETTER = /^[a-z]$/;

export class Tokenizer {
  readonly options: Required<Omit<TokenizerOptions, 'stopwords'>> & { stopwords: string[] };
  private readonly stop: Set<string>;
  private readonly foldCache = new Map<number, string>();

  constructor(options: TokenizerOptions = {}) {
    const rd = options.removeDiacritics ?? 1;
    if (rd !== 0 && rd !== 1 && rd !== 2) throw new QuiverError('invalid_input', `index: removeDiacritics must be 0, 1 or 2, got ${rd}`);
    const stopwords = [...(options.stopwords ?? [])];
    this.options = { removeDiacritics: rd, minTokenLength: options.minTokenLength ?? 1, stopwords };
    // Stopwords are compared after folding, so "The" and "the" are the same stopword.
    this.stop = new Set(stopwords.map((w) => this.fold(w)));
  }

  /** The tokens of `text` in order (duplicates kept; they are the term frequencies). */
  tokenize(text: string): string[] {
    const out: string[] = [];
    if (!text) return out;
    TOKEN_RUN.lastIndex = 0;
    for (let m = TOKEN_RUN.exec(text); m !== null; m = TOKEN_RUN.exec(text)) {
      const t = this.fold(m[0]);
      if (t.length === 0) continue;
      if (this.options.minTokenLength > 1 && [...t].length < this.options.minTokenLength) continue;
      if (this.stop.size > 0 && this.stop.has(t)) continue;
      out.push(t);
    }
    return out;
  }

  /** Case-folds and strips diacritics from one token-character run. */
  fold(run: string): string {
    if (ASCII.test(run)) return run.toLowerCase();
    let out = '';
    for (const ch of run) out += this.foldChar(ch.codePointAt(0)!);
    return out;
  }

  private foldChar(cp: number): string {
    const cached = this.foldCache.get(cp);
    if (cached !== undefined) return cached;
    // One code point at a time: whole-string lowercasing is context-sensitive (Greek final
    // sigma), FTS5's folding is not.
    let s = String.fromCodePoint(cp).toLowerCase();
    const rd = this.options.removeDiacritics;
    if (rd > 0) {
      const parts = [...s.normalize('NFD')];
      const marks = parts.filter((p) => MARK.test(p)).length;
      const bases = parts.filter((p) => !MARK.test(p));
      if (bases.length === 0) s = '';
      else if (bases.length === 1 && ASCII_LETTER.test(bases[0]) && (marks === 1 || (rd === 2 && marks > 1))) s = bases[0];
    }
    if (this.foldCache.size < 65536) this.foldCache.set(cp, s);
    return s;
  }
}
