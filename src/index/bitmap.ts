// A dense bitset over ordinals 0..size-1, one bit per ordinal in Uint32Array words.
// Invariant: bits at positions >= size are always zero, so count() and the set operations never
// see stray bits and two bitmaps of equal size compare word by word.

import { QuiverError } from '../errors.js';

/** Number of set bits in a 32-bit word (SWAR popcount). */
function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * The filter passed to search kernels: which ordinals match the SQL predicate and are live.
 *
 * The cardinality is cached and kept up to date by `set`/`clear`, so the planner's selectivity
 * estimate is O(1); bulk operations recount once.
 *
 * @example
 * const live = Bitmap.fromOrdinals(1000, [3, 7, 42]);
 * live.has(7); // true
 * live.count(); // 3
 */
export class Bitmap {
  readonly size: number;
  readonly words: Uint32Array;
  private cardinality: number;

  constructor(size: number, words?: Uint32Array) {
    if (!Number.isInteger(size) || size < 0 || size > 0xffffffff) {
      throw new QuiverError('invalid_input', `index: bitmap size must be an integer in [0, 2^32), got ${size}`);
    }
    this.size = size;
    const wordCount = (size + 31) >>> 5;
    if (words !== undefined && words.length !== wordCount) {
      throw new QuiverError('invalid_input', `index: bitmap of ${size} bits needs ${wordCount} words, got ${words.length}`);
    }
    this.words = words ?? new Uint32Array(wordCount);
    this.clearTail();
    this.cardinality = words === undefined ? 0 : this.recount();
  }

  /** A bitmap with exactly the given ordinals set; ordinals need not be sorted or distinct. */
  static fromOrdinals(size: number, ordinals: ArrayLike<number>): Bitmap {
    const b = new Bitmap(size);
    for (let i = 0; i < ordinals.length; i++) b.set(ordinals[i]);
    return b;
  }

  /** A bitmap with every ordinal in [0, size) set: "no filter, all rows live". */
  static full(size: number): Bitmap {
    const b = new Bitmap(size);
    b.words.fill(0xffffffff);
    b.clearTail();
    b.cardinality = size;
    return b;
  }

  set(ordinal: number): void {
    this.check(ordinal);
    const w = ordinal >>> 5;
    const bit = 1 << (ordinal & 31);
    if ((this.words[w] & bit) === 0) {
      this.words[w] |= bit;
      this.cardinality++;
    }
  }

  clear(ordinal: number): void {
    this.check(ordinal);
    const w = ordinal >>> 5;
    const bit = 1 << (ordinal & 31);
    if ((this.words[w] & bit) !== 0) {
      this.words[w] &= ~bit;
      this.cardinality--;
    }
  }

  /** Whether `ordinal` is set; ordinals outside [0, size) are simply not set. */
  has(ordinal: number): boolean {
    if (ordinal >= this.size || ordinal < 0) return false;
    return (this.words[ordinal >>> 5] & (1 << (ordinal & 31))) !== 0;
  }

  /** Number of set bits, O(1). */
  count(): number {
    return this.cardinality;
  }

  /** New bitmap: bits set in both. */
  and(other: Bitmap): Bitmap {
    return this.combine(other, (a, b) => a & b);
  }

  /** New bitmap: bits set in either. */
  or(other: Bitmap): Bitmap {
    return this.combine(other, (a, b) => a | b);
  }

  /** New bitmap: bits set here but not in `other`. */
  andNot(other: Bitmap): Bitmap {
    return this.combine(other, (a, b) => a & ~b);
  }

  /** Calls `fn` for each set ordinal in ascending order; stops early when it returns false. */
  forEach(fn: (ordinal: number) => boolean | void): void {
    const words = this.words;
    for (let w = 0; w < words.length; w++) {
      let word = words[w];
      while (word !== 0) {
        const low = word & -word;
        const ordinal = (w << 5) + (31 - Math.clz32(low));
        if (fn(ordinal) === false) return;
        word ^= low;
      }
    }
  }

  /** Set ordinals in ascending order. */
  *[Symbol.iterator](): IterableIterator<number> {
    const words = this.words;
    for (let w = 0; w < words.length; w++) {
      let word = words[w];
      while (word !== 0) {
        const low = word & -word;
        yield (w << 5) + (31 - Math.clz32(low));
        word ^= low;
      }
    }
  }

  /** Set ordinals, ascending, as a Uint32Array of length count(). */
  toOrdinals(): Uint32Array {
    const out = new Uint32Array(this.cardinality);
    let i = 0;
    const words = this.words;
    for (let w = 0; w < words.length; w++) {
      let word = words[w];
      while (word !== 0) {
        const low = word & -word;
        out[i++] = (w << 5) + (31 - Math.clz32(low));
        word ^= low;
      }
    }
    return out;
  }

  clone(): Bitmap {
    return new Bitmap(this.size, this.words.slice());
  }

  private combine(other: Bitmap, op: (a: number, b: number) => number): Bitmap {
    if (other.size !== this.size) {
      throw new QuiverError('invalid_input', `index: bitmap sizes differ, ${this.size} vs ${other.size}`);
    }
    const out = new Uint32Array(this.words.length);
    for (let i = 0; i < out.length; i++) out[i] = op(this.words[i], other.words[i]);
    return new Bitmap(this.size, out);
  }

  private recount(): number {
    let c = 0;
    for (let i = 0; i < this.words.length; i++) c += popcount32(this.words[i]);
    return c;
  }

  private clearTail(): void {
    const tail = this.size & 31;
    if (tail !== 0) this.words[this.words.length - 1] &= (1 << tail) - 1;
  }

  private check(ordinal: number): void {
    if (!Number.isInteger(ordinal) || ordinal < 0 || ordinal >= this.size) {
      throw new QuiverError('invalid_input', `index: ordinal out of range [0, ${this.size}), got ${ordinal}`);
    }
  }
}
