// A version's BM25 collection of one text column, combined from persisted per-fragment
// segments (index/<fragment>.fts-<digest>.qfts, see docs/format.md): a segment is read, or built
// from its fragment's file once and written put-if-absent, and serves every later version that
// still holds the fragment; a version costs only its new fragments' segments and its deletes.
// Invariant: the collection's statistics and ordinals are those of the version's live rows,
// exactly as an in-memory build over `SELECT row_id, column FROM dataset` would have them.

import { assert, isQuiverError, QuiverError } from '../../errors.js';
import { patchedColumns, textSegmentKey, type ColumnDef, type FragmentMeta, type IndexMeta, type Manifest } from '../../format/index.js';
import { SegmentedTextIndex, TextSegment, type FullTextIndexOptions, type SearchPart } from '../../index/index.js';
import type { ObjectStore } from '../../storage/index.js';
import type { Session } from '../engine.js';
import { CollectionCache, type SegmentEntry, type TextCollection } from './collections.js';
import { readColumnData } from './scalar-load.js';

/** What loading segments needs from a handle. */
export interface SegmentHost {
  session: Session;
  manifest: Manifest;
  store: ObjectStore;
  paths(keys: readonly string[]): Promise<string[]>;
}

/**
 * Writes the segment of every fragment of `host.manifest` that has none yet (createIndex of a
 * fulltext index), so the first query of any later version reads them instead of building.
 */
export async function writeTextSegments(host: SegmentHost, column: string, options: Record<string, unknown>): Promise<SegmentCounts> {
  const segments = new TextSegments(new CollectionCache(0));
  await segments.writeAll(host, column, options);
  return segments.counts;
}

/** How each segment of a collection came to be, for explain and the tests. */
export interface SegmentCounts {
  read: number;
  built: number;
  /** Segments whose file failed its checksum (or did not fit its fragment): built in memory instead. */
  rebuilt: number;
}

/**
 * Whether `column`'s values in every fragment are the fragment file's own (no rename, no fill,
 * no file written before the column existed), so a segment is a function of file and column.
 */
export function segmentable(m: Manifest, column: string): boolean {
  const ev = m.evolution;
  if (ev?.fills?.[column] || (ev?.renamed?.[column]?.length ?? 0) > 0 || patchedColumns(m).has(column)) return false;
  return m.fragments.every((f) => !f.columns || f.columns.includes(column));
}

/** The process-wide warning a segment that fails its checks raises (the query still answers). */
export const CORRUPT_SEGMENT_WARNING = 'QUIVER_CORRUPT_INDEX';

export class TextSegments {
  /** Segments being read or built, so concurrent queries share one. */
  private readonly loading = new Map<string, Promise<SegmentEntry>>();
  /** Counts since construction (tests assert what a version cost). */
  readonly counts: SegmentCounts = { read: 0, built: 0, rebuilt: 0 };

  constructor(private readonly cache: CollectionCache) {}

  /**
   * The collection of `column` at `host.manifest`, whose ordinals are `live` (the version's
   * live row ids, ascending), or undefined when the fragments' rows do not map onto `live`
   * one to one (then the caller builds in memory, as before segments).
   */
  async collection(host: SegmentHost, meta: IndexMeta, live: BigInt64Array, deleted: (path: string) => Set<bigint>): Promise<TextCollection | undefined> {
    const def = host.manifest.schema.find((c) => c.name === meta.column)!;
    const before = { ...this.counts };
    const entries = await Promise.all(host.manifest.fragments.map((f) => this.segment(host, f, def, meta.options)));
    const withDeletes = host.manifest.fragments.filter((f) => f.deletes && f.deletes.count > 0);
    const deletePaths = new Map(withDeletes.map((f, i) => [f.id, i]));
    const paths = await host.paths(withDeletes.map((f) => f.deletes!.key));
    const parts: SearchPart[] = [];
    let mapped = 0;
    let bytes = live.byteLength;
    for (let i = 0; i < entries.length; i++) {
      const f = host.manifest.fragments[i];
      const d = deletePaths.get(f.id);
      const map = positionsToOrdinals(entries[i].rowIds, live, d === undefined ? null : deleted(paths[d]));
      if (!map) return undefined;
      mapped += map.live;
      bytes += map.map.byteLength;
      parts.push({ segment: entries[i].segment, map: map.map });
    }
    if (mapped !== live.length) return undefined;
    const index = parts.length ? new SegmentedTextIndex(parts) : new SegmentedTextIndex([{ segment: new TextSegment(meta.options as FullTextIndexOptions), map: null }]);
    const c = this.counts;
    const source = `fulltext segments (${entries.length}: ${c.read - before.read} read, ${c.built - before.built} built, ${c.rebuilt - before.rebuilt} rebuilt)`;
    return { kind: 'text', rowIds: live, index, scoreCache: new Map(), matchCache: new Map(), bytes, source };
  }

  /** Builds and writes the segment of every fragment that has none (createIndex). */
  async writeAll(host: SegmentHost, column: string, options: Record<string, unknown>): Promise<void> {
    const def = host.manifest.schema.find((c) => c.name === column)!;
    for (const f of host.manifest.fragments) await this.segment(host, f, def, options);
  }

  private segment(host: SegmentHost, f: FragmentMeta, def: ColumnDef, options: Record<string, unknown>): Promise<SegmentEntry> {
    const key = textSegmentKey(f, def.name, options);
    const hit = this.cache.get(`seg|${key}`);
    if (hit?.kind === 'segment') return Promise.resolve(hit);
    let p = this.loading.get(key);
    if (!p) {
      p = this.load(host, f, def, options, key).then((e) => {
        this.cache.set(`seg|${key}`, e);
        return e;
      });
      this.loading.set(key, p);
      const done = () => void this.loading.delete(key);
      p.then(done, done);
    }
    return p;
  }

  /** The stored segment if it is sound, else one built from the fragment's file (and stored if none was). */
  private async load(host: SegmentHost, f: FragmentMeta, def: ColumnDef, options: Record<string, unknown>, key: string): Promise<SegmentEntry> {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await host.store.get(key);
    } catch (e) {
      if (!isQuiverError(e, 'not_found')) throw e;
    }
    if (bytes) {
      try {
        const e = checked(TextSegment.deserialize(bytes), f, options, key);
        this.counts.read++;
        return e;
      } catch (e) {
        if (!isQuiverError(e, 'corrupt')) throw e;
        // Never wrong rows: the fragment's own file is the truth. The bad object stays (keys
        // under index/ are immutable, caches elsewhere may hold them); vacuum cannot free it
        // while the fragment lives, so every new process warns again until the fragment is compacted.
        process.emitWarning(`${(e as Error).message}; searching ${f.key} with postings built in memory`, { code: CORRUPT_SEGMENT_WARNING });
        this.counts.rebuilt++;
        return this.build(host, f, def, options);
      }
    }
    const e = await this.build(host, f, def, options);
    this.counts.built++;
    try {
      await host.store.put(key, e.segment.serialize(e.rowIds), { ifAbsent: true });
    } catch (err) {
      // Another writer stored it first (conflict), or the store takes no writes (a read-only
      // handle): the query needs only the segment in memory, the next process builds it again.
      if (!isQuiverError(err)) throw err;
    }
    return e;
  }

  private async build(host: SegmentHost, f: FragmentMeta, def: ColumnDef, options: Record<string, unknown>): Promise<SegmentEntry> {
    const [path] = await host.paths([f.key]);
    const data = await readColumnData(host.session, path, def);
    assert(data.kind === 'string', 'a text column reads as strings');
    const docs = Array.from(data.codes, (c) => (c < 0 ? null : data.dict[c]));
    const segment = TextSegment.build(docs, options as FullTextIndexOptions);
    return { kind: 'segment', segment, rowIds: data.rowIds, bytes: segment.bytes + data.rowIds.byteLength };
  }
}

/** A decoded segment checked against the fragment it claims to index and the options asked for. */
function checked(d: { segment: TextSegment; rowIds?: BigInt64Array }, f: FragmentMeta, options: Record<string, unknown>, key: string): SegmentEntry {
  const want = JSON.stringify(new TextSegment(options as FullTextIndexOptions).options);
  const bad = !d.rowIds ? 'it has no row ids' : d.segment.documents !== f.rows ? `it holds ${d.segment.documents} documents, the fragment ${f.rows} rows` : JSON.stringify(d.segment.options) !== want ? 'its options differ from the index' : undefined;
  if (bad) throw new QuiverError('corrupt', `index: corrupt full-text index: ${key}: ${bad}`, { key });
  return { kind: 'segment', segment: d.segment, rowIds: d.rowIds!, bytes: d.segment.bytes + d.rowIds!.byteLength };
}

/**
 * Each position's ordinal in `live` (-1: deleted from this fragment), and how many are live;
 * undefined when a position that is not deleted is not live either (the caller falls back).
 * Positions ascend by row id in Quiver's files, so this is a merge walk that gallops over
 * other fragments' rows.
 */
function positionsToOrdinals(rowIds: BigInt64Array, live: BigInt64Array, dead: Set<bigint> | null): { map: Int32Array; live: number } | undefined {
  const map = new Int32Array(rowIds.length);
  let n = 0;
  let j = 0;
  let prev: bigint | undefined;
  for (let p = 0; p < rowIds.length; p++) {
    const id = rowIds[p];
    if (dead?.has(id)) {
      map[p] = -1;
      continue;
    }
    if (prev === undefined || id < prev || (j + 16 < live.length && live[j + 16] < id)) j = lowerBound(live, id, prev === undefined || id < prev ? 0 : j);
    else while (j < live.length && live[j] < id) j++;
    if (j >= live.length || live[j] !== id) return undefined;
    map[p] = j;
    n++;
    prev = id;
  }
  return { map, live: n };
}

/** The first index ≥ `from` whose id is ≥ `id`. */
function lowerBound(ids: BigInt64Array, id: bigint, from: number): number {
  let lo = from;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid] < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
