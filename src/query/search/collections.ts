// What the search kernels need from one immutable version, loaded once and cached by the
// version's manifest id (live row ids, sorted; a column's text index; each file's positions as
// live ordinals) or by immutable file (a column's vectors, a scalar-indexed column).
// Ordinal i of a collection is its i-th row id in ascending order, so a sorted list of row ids
// maps to ordinals by one merge walk.

import { Bitmap, FullTextIndex, type FullTextIndexOptions, type TextSearcher, type TextSegment } from '../../index/index.js';
import type { ColumnData } from './scalar-index.js';

export interface VectorCollection {
  kind: 'vector';
  /** The file the vectors were read from (a segment), or the cache key. */
  key: string;
  rowIds: BigInt64Array;
  data: Float32Array;
  dim: number;
  /** Vectors of row i are [offsets[i], offsets[i+1]); present for list<embedding> columns. */
  offsets?: Uint32Array;
  bytes: number;
}

export interface TextCollection {
  kind: 'text';
  rowIds: BigInt64Array;
  index: TextSearcher;
  /** Where the postings came from (explain's index). */
  source: string;
  /** Scores and matches of recent query strings, over every ordinal (0 where absent). */
  scoreCache: Map<string, Float64Array>;
  matchCache: Map<string, Bitmap>;
  bytes: number;
}

/** One fragment's full-text segment (see text-segments.ts), with the row id of each position. */
export interface SegmentEntry {
  kind: 'segment';
  segment: TextSegment;
  rowIds: BigInt64Array;
  bytes: number;
}

/** The version's live row ids, ascending: ordinal i of every candidate bitmap is rowIds[i]. */
export interface LiveRows {
  kind: 'live';
  rowIds: BigInt64Array;
  bytes: number;
}

/** A file's positions mapped to live ordinals of one version (-1: not live there). */
export interface OrdinalMap {
  kind: 'ordinals';
  ordinals: Int32Array;
  bytes: number;
}

/** One file's column held by the scalar index. */
export interface ScalarColumn {
  kind: 'column';
  data: ColumnData;
  bytes: number;
}

/** How one version's vectors of a column are searched: by the index (live → index ordinals) or exactly. */
export interface VectorLayout {
  kind: 'layout';
  liveToIdx: Int32Array | null;
  /** Index ordinals of every live row the index serves. */
  indexedLive: Bitmap | null;
  /** Segments (by file key) searched exactly, with each position's live ordinal. */
  exact: { key: string; ords: Int32Array }[];
  bytes: number;
}

export type CacheEntry = VectorCollection | TextCollection | SegmentEntry | LiveRows | OrdinalMap | ScalarColumn | VectorLayout;

/** Ordinals of `sortedIds` (ascending) within `universe` (ascending), as a bitmap. */
export function bitmapOf(universe: BigInt64Array, sortedIds: BigInt64Array): Bitmap {
  const b = new Bitmap(universe.length);
  let i = 0;
  for (let j = 0; j < sortedIds.length && i < universe.length; j++) {
    const id = sortedIds[j];
    while (i < universe.length && universe[i] < id) i++;
    if (i < universe.length && universe[i] === id) b.set(i);
  }
  return b;
}

/**
 * A bitmap over the ordinals of `from` (ascending row ids) as one over those of `to`: the same
 * bitmap when both hold the same rows (a version's live rows, and its text collection's).
 */
export function translate(b: Bitmap, from: BigInt64Array, to: BigInt64Array): Bitmap {
  if (from.length === to.length) return b;
  return bitmapOf(to, BigInt64Array.from(b.toOrdinals(), (o) => from[o]));
}

/** The ordinal of a row id, or -1. */
export function ordinalOf(universe: BigInt64Array, id: bigint): number {
  let lo = 0;
  let hi = universe.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = universe[mid];
    if (v === id) return mid;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

export function textCollection(rowIds: BigInt64Array, docs: (string | null)[], options: FullTextIndexOptions = {}): TextCollection {
  const index = FullTextIndex.build(docs, options);
  let bytes = rowIds.byteLength;
  for (const d of docs) bytes += (d?.length ?? 0) * 2;
  return { kind: 'text', rowIds, index, scoreCache: new Map(), matchCache: new Map(), bytes, source: 'none (built in memory for this version)' };
}

/** BM25 of every ordinal for `text` (OR semantics: a document scores on the terms it has). */
export function textScores(c: TextCollection, text: string): Float64Array {
  let s = c.scoreCache.get(text);
  if (!s) {
    s = new Float64Array(c.rowIds.length);
    if (c.rowIds.length) {
      const r = c.index.search(text, c.rowIds.length, { mode: 'or' });
      for (let i = 0; i < r.ordinals.length; i++) s[r.ordinals[i]] = r.scores[i];
    }
    if (c.scoreCache.size > 64) c.scoreCache.clear();
    c.scoreCache.set(text, s);
  }
  return s;
}

export function textMatches(c: TextCollection, text: string): Bitmap {
  let m = c.matchCache.get(text);
  if (!m) {
    m = c.rowIds.length ? c.index.match(text) : new Bitmap(0);
    if (c.matchCache.size > 64) c.matchCache.clear();
    c.matchCache.set(text, m);
  }
  return m;
}

/** A small least-recently-used cache bounded by bytes. */
export class CollectionCache {
  private readonly entries = new Map<string, CacheEntry>();
  private bytes = 0;
  constructor(private readonly bytesMax: number) {}

  get(key: string): CacheEntry | undefined {
    const v = this.entries.get(key);
    if (v) {
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }

  set(key: string, v: CacheEntry): void {
    const old = this.entries.get(key);
    if (old) this.bytes -= old.bytes;
    this.entries.set(key, v);
    this.bytes += v.bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.bytesMax || this.entries.size <= 1) break;
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
  }
}

/** The segment with rows in ascending row-id order (files written by Quiver already are). */
export function sortSegment(seg: VectorCollection): VectorCollection {
  let sorted = true;
  for (let i = 1; i < seg.rowIds.length && sorted; i++) sorted = seg.rowIds[i - 1] < seg.rowIds[i];
  if (sorted) return seg;
  const order = Array.from(seg.rowIds.keys()).sort((a, b) => (seg.rowIds[a] < seg.rowIds[b] ? -1 : 1));
  const rowIds = BigInt64Array.from(order, (i) => seg.rowIds[i]);
  if (!seg.offsets) {
    const data = new Float32Array(seg.data.length);
    order.forEach((src, dst) => data.set(seg.data.subarray(src * seg.dim, (src + 1) * seg.dim), dst * seg.dim));
    return { ...seg, rowIds, data };
  }
  const offsets = new Uint32Array(order.length + 1);
  const data = new Float32Array(seg.data.length);
  let o = 0;
  order.forEach((src, dst) => {
    const part = seg.data.subarray(seg.offsets![src] * seg.dim, seg.offsets![src + 1] * seg.dim);
    data.set(part, o);
    o += part.length;
    offsets[dst + 1] = o / seg.dim;
  });
  return { ...seg, rowIds, data, offsets };
}

/** The set bits of `b` mapped through `map` (-1: dropped), as a bitmap of `size` bits. */
export function remap(b: Bitmap, map: Int32Array, size: number): Bitmap {
  const out = new Uint32Array((size + 31) >>> 5);
  const words = b.words;
  for (let w = 0; w < words.length; w++) {
    let word = words[w];
    while (word !== 0) {
      const low = word & -word;
      const i = map[(w << 5) + (31 - Math.clz32(low))];
      if (i >= 0) out[i >>> 5] |= 1 << (i & 31);
      word ^= low;
    }
  }
  return new Bitmap(size, out);
}
