// One term's postings: ascending document ordinals with term frequencies, grown by appending,
// plus per-block score upper bounds for skipping.
// Invariant: docs[0..len) is strictly ascending (documents are added in ordinal order), and
// blockMax is valid only for the average document length (and postings) it was computed for.

export const BLOCK = 128;

export class Postings {
  docs: Uint32Array;
  tfs: Uint32Array;
  len = 0;
  /** Upper bound of the BM25 term part (without idf) per block of BLOCK postings. */
  blockMax = new Float64Array(0);
  /** Largest blockMax. */
  max = 0;
  /** The average document length and posting count blockMax was computed for. */
  private boundsAvgdl = -1;
  private boundsLen = -1;

  constructor(capacity = 4) {
    this.docs = new Uint32Array(capacity);
    this.tfs = new Uint32Array(capacity);
  }

  push(doc: number, tf: number): void {
    if (this.len === this.docs.length) {
      const cap = Math.max(4, this.docs.length * 2);
      const d = new Uint32Array(cap);
      d.set(this.docs);
      const t = new Uint32Array(cap);
      t.set(this.tfs);
      this.docs = d;
      this.tfs = t;
    }
    this.docs[this.len] = doc;
    this.tfs[this.len] = tf;
    this.len++;
  }

  /**
   * Recomputes block bounds when the average document length (the only collection statistic
   * the term part depends on) or the postings changed since the last time. `part(tf, dl)` is
   * the BM25 term part, increasing in tf and decreasing in dl. Bounds over deleted documents
   * too stay upper bounds of the live ones.
   */
  bounds(avgdl: number, docLen: Uint32Array, part: (tf: number, dl: number) => number): void {
    if (this.boundsAvgdl === avgdl && this.boundsLen === this.len) return;
    const blocks = Math.ceil(this.len / BLOCK);
    if (this.blockMax.length !== blocks) this.blockMax = new Float64Array(blocks);
    let max = 0;
    for (let b = 0; b < blocks; b++) {
      let m = 0;
      const end = Math.min(this.len, (b + 1) * BLOCK);
      for (let i = b * BLOCK; i < end; i++) {
        const s = part(this.tfs[i], docLen[this.docs[i]]);
        if (s > m) m = s;
      }
      this.blockMax[b] = m;
      if (m > max) max = m;
    }
    this.max = max;
    this.boundsAvgdl = avgdl;
    this.boundsLen = this.len;
  }

  /** First position ≥ `from` whose doc is ≥ `target` (galloping, then binary search). */
  seek(from: number, target: number): number {
    const docs = this.docs;
    const len = this.len;
    if (from >= len || docs[from] >= target) return from;
    let step = 1;
    let lo = from;
    let hi = from + 1;
    while (hi < len && docs[hi] < target) {
      lo = hi;
      step *= 2;
      hi = lo + step;
    }
    if (hi > len) hi = len;
    // Invariant here: docs[lo] < target, and docs[hi] >= target or hi == len.
    while (lo + 1 < hi) {
      const mid = (lo + hi) >>> 1;
      if (docs[mid] < target) lo = mid;
      else hi = mid;
    }
    return hi;
  }
}
