// What the search kernels need from one immutable version, loaded once and cached by the
// version's manifest id (live row ids, sorted; a column's text index; each file's positions as
// live ordinals) or by immutable file (a column's vectors, a scalar-indexed column).
// Ordinal i of a collection is its i-th row id in ascending order, so a sorted list of row ids
// maps to ordinals by one merge walk.

import { Bitmap, FullTextIndex, type FullTextIndexOptions, type TextSearcher, type TextSegment } from '../../index/index.js';
import type { ColumnData } from '../../index/index.js';

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

/** A value of another kind (a loaded vector index, a predicate's matches) with its size, which may grow. */
export interface ValueEntry {
  kind: 'value';
  value: unknown;
  readonly bytes: number;
}

export type CacheEntry = VectorCollection | TextCollection | SegmentEntry | LiveRows | OrdinalMap | ScalarColumn | VectorLayout | ValueEntry;

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

/**
 * Query strings whose scores (8 bytes a row) and matches (1 bit a row) a text collection keeps;
 * their bytes count in the collection's, so the cache holding it bounds them too.
 */
const SCORE_CACHE_TEXTS_MAX = 64;

/** Drops the oldest of a collection's per-text arrays and its bytes. */
function dropOldest<T>(c: TextCollection, map: Map<string, T>, bytesOf: (v: T) => number): void {
  const [k, v] = map.entries().next().value!;
  map.delete(k);
  c.bytes -= bytesOf(v);
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
    if (c.scoreCache.size > SCORE_CACHE_TEXTS_MAX) dropOldest(c, c.scoreCache, (x) => x.byteLength);
    c.scoreCache.set(text, s);
    c.bytes += s.byteLength;
  }
  return s;
}

export function textMatches(c: TextCollection, text: string): Bitmap {
  let m = c.matchCache.get(text);
  if (!m) {
    m = c.rowIds.length ? c.index.match(text) : new Bitmap(0);
    if (c.matchCache.size > SCORE_CACHE_TEXTS_MAX) dropOldest(c, c.matchCache, (x) => x.words.byteLength);
    c.matchCache.set(text, m);
    c.bytes += m.words.byteLength;
  }
  return m;
}

/** The entries and bound one cache and its scoped views share. Map order is recency, oldest first. */
interface CachePool {
  readonly entries: Map<string, CacheEntry>;
  bytesMax: number;
}

/**
 * A least-recently-used cache bounded by bytes. One pool serves every handle of a runtime:
 * `scoped(name)` gives a handle its own key space over the same entries and bound, so the
 * least recently used entry of any handle goes first and the sum over handles stays bounded.
 * Sizes are summed afresh on each insertion because an entry may grow after it was cached (a
 * text collection's per-query score arrays, an index given its vectors later); a cache holds
 * hundreds of entries, so the sum costs microseconds beside the read that filled the entry.
 */
export class CollectionCache {
  private readonly pool: CachePool;
  private readonly prefix: string;

  constructor(bytesMax: number, from?: { pool: CachePool; prefix: string }) {
    this.pool = from?.pool ?? { entries: new Map(), bytesMax };
    this.prefix = from?.prefix ?? '';
  }

  /** A view with its own key space (`name` must be unique per cache) over the same entries and bound. */
  scoped(name: string): CollectionCache {
    return new CollectionCache(this.pool.bytesMax, { pool: this.pool, prefix: `${this.prefix}${name}\0` });
  }

  /** The bound of the whole pool, every view's entries together. */
  get bytesMax(): number {
    return this.pool.bytesMax;
  }

  /** Bytes held now by every view of the pool. */
  get bytes(): number {
    let sum = 0;
    for (const e of this.pool.entries.values()) sum += e.bytes;
    return sum;
  }

  get(key: string): CacheEntry | undefined {
    const id = this.prefix + key;
    const v = this.pool.entries.get(id);
    if (v) {
      this.pool.entries.delete(id);
      this.pool.entries.set(id, v);
    }
    return v;
  }

  /** Keeps `v` as the most recent entry, then drops the least recent (of any view) until the pool fits; the newest always stays. */
  set(key: string, v: CacheEntry): void {
    const id = this.prefix + key;
    const { entries, bytesMax } = this.pool;
    entries.delete(id);
    entries.set(id, v);
    let bytes = this.bytes;
    for (const [k, e] of entries) {
      if (bytes <= bytesMax || k === id) break;
      entries.delete(k);
      bytes -= e.bytes;
    }
  }

  delete(key: string): void {
    this.pool.entries.delete(this.prefix + key);
  }

  /** Drops this view's entries (every entry, for an unscoped cache). */
  clear(): void {
    for (const k of [...this.pool.entries.keys()]) if (k.startsWith(this.prefix)) this.pool.entries.delete(k);
  }
}

/**
 * Values of one kind kept in a CollectionCache under `tag|key`, sized by `bytesOf` whenever the
 * cache sums its entries (so a value that grows after it was cached is counted as it is now).
 */
export class CachedValues<V> {
  constructor(
    private readonly cache: CollectionCache,
    private readonly tag: string,
    private readonly bytesOf: (v: V) => number,
  ) {}

  has(key: string): boolean {
    return this.cache.get(`${this.tag}|${key}`)?.kind === 'value';
  }

  get(key: string): V | undefined {
    const e = this.cache.get(`${this.tag}|${key}`);
    return e?.kind === 'value' ? (e.value as V) : undefined;
  }

  set(key: string, value: V): void {
    const bytesOf = this.bytesOf;
    this.cache.set(`${this.tag}|${key}`, { kind: 'value', value, get bytes() { return ENTRY_BYTES + bytesOf(value); } });
  }
}

/** What an entry costs beyond its arrays (key, map slot, object headers): so even empty entries are bounded. */
const ENTRY_BYTES = 256;

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
