// Copies candidate rows of a row-major matrix into a reusable, bounded scratch buffer so a SIMD
// kernel (usearch exactSearch) can scan them contiguously.
// Invariant: scratch never grows past `bytesMax`; callers process candidates in chunks that fit.

import { QuiverError } from '../../errors.js';
import { Bitmap } from '../bitmap.js';

/** Which rows to visit: every row, a bitmap, or an ascending or unordered ordinal list. */
export type Candidates = Bitmap | Uint32Array | undefined;

export function candidateCount(candidates: Candidates, rows: number): number {
  if (candidates === undefined) return rows;
  return candidates instanceof Bitmap ? candidates.count() : candidates.length;
}

/**
 * Streams candidate row ordinals in chunks of at most `chunkMax`, without materialising the
 * whole list: a bitmap is walked word by word, which keeps memory O(chunk) not O(n).
 */
export function* candidateChunks(candidates: Candidates, rows: number, chunkMax: number): Generator<Uint32Array> {
  const buf = new Uint32Array(Math.max(1, Math.min(chunkMax, candidateCount(candidates, rows))));
  let fill = 0;
  if (candidates === undefined) {
    for (let o = 0; o < rows; o++) {
      buf[fill++] = o;
      if (fill === buf.length) {
        yield buf;
        fill = 0;
      }
    }
  } else if (candidates instanceof Bitmap) {
    const words = candidates.words;
    for (let w = 0; w < words.length; w++) {
      let word = words[w];
      while (word !== 0) {
        const low = word & -word;
        const o = (w << 5) + (31 - Math.clz32(low));
        word ^= low;
        if (o >= rows) continue;
        buf[fill++] = o;
        if (fill === buf.length) {
          yield buf;
          fill = 0;
        }
      }
    }
  } else {
    for (let i = 0; i < candidates.length; i++) {
      const o = candidates[i];
      if (o >= rows) throw new QuiverError('invalid_input', `index: candidate ordinal ${o} out of range [0, ${rows})`);
      buf[fill++] = o;
      if (fill === buf.length) {
        yield buf;
        fill = 0;
      }
    }
  }
  if (fill > 0) yield buf.subarray(0, fill);
}

type Matrix = Float32Array | Int8Array;

const scratch: { f32?: Float32Array; i8?: Int8Array } = {};

/**
 * A scratch matrix of at least `elements` entries, reused across calls (one search runs at a
 * time on the JS thread), so a filtered query does not pay fresh-page faults on every call.
 */
export function scratchFor<T extends Matrix>(like: T, elements: number): T {
  if (like instanceof Float32Array) {
    if (!scratch.f32 || scratch.f32.length < elements) scratch.f32 = new Float32Array(elements);
    return scratch.f32.subarray(0, elements) as T;
  }
  if (!scratch.i8 || scratch.i8.length < elements) scratch.i8 = new Int8Array(elements);
  return scratch.i8.subarray(0, elements) as T;
}

/**
 * Copies rows `ordinals[i]` of `src` (row length `dim`) to row i of `dst`. Runs of consecutive
 * ordinals are copied with one call: with a dense filter most of the work becomes memcpy.
 */
export function gatherRows<T extends Matrix>(src: T, dim: number, ordinals: Uint32Array, dst: T): void {
  const m = ordinals.length;
  let i = 0;
  while (i < m) {
    let j = i + 1;
    while (j < m && ordinals[j] === ordinals[j - 1] + 1) j++;
    const from = ordinals[i] * dim;
    dst.set(src.subarray(from, from + (j - i) * dim), i * dim);
    i = j;
  }
}
