// A scalar index's column per fragment, persisted (index/<fragment>.scl-<digest>.qscl, see
// docs/format.md): read by range through the store, or built from the fragment's small-column
// file once and written put-if-absent, then kept in the search cache. The file is a pure
// function of the immutable fragment file, the column and the options, so every version,
// branch and handle holding the fragment finds it by its derived key (scalarIndexKey), and a
// new version costs only its new fragments' files. The rule is the fulltext segments': written
// by createIndex for the fragments it sees, and by the first query that needs a later one.
// Invariant: a file that fails any check is never used — the column is built from the
// fragment's file instead (with a process warning), so a damaged index costs time, never rows.

import { isQuiverError } from '../../errors.js';
import { denseRowIds, layout, randomId, scalarIndexKey, type ColumnDef, type FragmentMeta, type IndexMeta } from '../../format/index.js';
import { bytesGet, encodeIndexPack, encodeScalarFile, PACK_BYTES_MAX, readIndexPack, readScalarFile, type ColumnData } from '../../index/index.js';
import { CollectionCache } from './collections.js';
import { readColumnData } from './scalar-load.js';
import { CORRUPT_SEGMENT_WARNING, segmentable, type SegmentCounts, type SegmentHost } from './text-segments.js';

/** How each fragment's column came to be (tests and the bench assert what a version cost). */
export type ScalarFileCounts = SegmentCounts & {
  /** Built in memory without a file: the column is not the fragment file's own (a rename or fill). */
  unpersisted: number;
  /** Of `read`, those whose bytes came from the index's pack rather than their own file. */
  packed: number;
};

/** Writes the scalar index file of every fragment of `host.manifest` that has none (createIndex). */
export async function writeScalarFiles(host: SegmentHost, column: string, options: Record<string, unknown>): Promise<ScalarFileCounts> {
  const files = new ScalarFiles(new CollectionCache(0));
  const def = host.manifest.schema.find((c) => c.name === column)!;
  for (const f of host.manifest.fragments) await files.column(host, f, def, options);
  return files.counts;
}

/** Files fetched at once while a pack is assembled (the store bounds its own requests too). */
const PACK_READ_BATCH = 16;

/**
 * Writes one pack (src/index/pack.ts) holding the scalar index file of every fragment of
 * `host.manifest` (which writeScalarFiles wrote) and returns its key, or '' when the files
 * together exceed PACK_BYTES_MAX (queries then read the files one by one, as without a pack).
 */
export async function writeScalarPack(host: SegmentHost, column: string, options: Record<string, unknown>): Promise<string> {
  const files = new Map<string, Uint8Array>();
  let bytes = 0;
  const keys = host.manifest.fragments.map((f) => scalarIndexKey(f, column, options));
  for (let i = 0; i < keys.length; i += PACK_READ_BATCH) {
    const batch = keys.slice(i, i + PACK_READ_BATCH);
    const got = await Promise.all(batch.map((k) => host.store.get(k)));
    batch.forEach((k, j) => files.set(k, got[j]));
    bytes += got.reduce((n, b) => n + b.length, 0);
    if (bytes > PACK_BYTES_MAX) return '';
  }
  if (files.size === 0) return '';
  const key = layout.indexPack(randomId());
  await host.store.put(key, encodeIndexPack(files), { ifAbsent: true });
  return key;
}

export class ScalarFiles {
  /** Columns being read or built, so concurrent queries share one. */
  private readonly loading = new Map<string, Promise<ColumnData>>();
  /**
   * Packs being read, so the loads of every fragment a filter starts at once share one read.
   * Held only until the read resolves: the columns decoded from a pack are cached, the pack's
   * bytes (a copy of them) are not.
   */
  private readonly packs = new Map<string, Promise<Map<string, Uint8Array> | null>>();
  /** Packs found missing or damaged: their files are read one by one, and the warning is given once. */
  private readonly badPacks = new Set<string>();
  readonly counts: ScalarFileCounts = { read: 0, built: 0, rebuilt: 0, unpersisted: 0, packed: 0 };

  constructor(private readonly cache: CollectionCache) {}

  /**
   * The column of fragment `f` as the scalar index holds it; read or built once per immutable
   * file. `index` is the manifest's declaration, whose key (when set) names a pack of its files.
   */
  column(host: SegmentHost, f: FragmentMeta, def: ColumnDef, options: Record<string, unknown>, index?: Pick<IndexMeta, 'key' | 'fragments'>): Promise<ColumnData> {
    const cacheKey = `file|${f.key}|col|${def.name}`;
    const hit = this.cache.get(cacheKey);
    if (hit?.kind === 'column') return Promise.resolve(hit.data);
    let p = this.loading.get(cacheKey);
    if (!p) {
      p = this.load(host, f, def, options, index).then((data) => {
        this.cache.set(cacheKey, { kind: 'column', data, bytes: data.bytes });
        return data;
      });
      this.loading.set(cacheKey, p);
      const done = () => void this.loading.delete(cacheKey);
      p.then(done, done);
    }
    return p;
  }

  private async load(host: SegmentHost, f: FragmentMeta, def: ColumnDef, options: Record<string, unknown>, index?: Pick<IndexMeta, 'key' | 'fragments'>): Promise<ColumnData> {
    if (!segmentable(host.manifest, def.name)) {
      this.counts.unpersisted++;
      return this.build(host, f, def);
    }
    const key = scalarIndexKey(f, def.name, options);
    // On a local disk a file is a local read: the pack would only add bytes.
    const packed = !host.store.localPath && index?.key && packedFragments(index).has(f.key) ? (await this.pack(host, index.key))?.get(key) : undefined;
    try {
      const get = packed ? bytesGet(packed) : (r?: { offset: number; length: number }) => host.store.get(key, r);
      const data = await readScalarFile(get, { column: def.name, kind: kindOf(def), rows: f.rows }, denseRowIds(f));
      if (packed) this.counts.packed++;
      this.counts.read++;
      return data;
    } catch (e) {
      if (isQuiverError(e, 'corrupt')) {
        // Never wrong rows: the fragment's own file is the truth. The bad object stays (keys under
        // index/ are immutable and caches elsewhere may hold it); vacuum keeps it while the
        // fragment lives, so every new process warns again until the fragment is compacted.
        process.emitWarning(`${(e as Error).message} (${key}); filtering ${f.key} from its own file`, { code: CORRUPT_SEGMENT_WARNING });
        this.counts.rebuilt++;
        return this.build(host, f, def);
      }
      if (!isQuiverError(e, 'not_found')) throw e;
    }
    const data = await this.build(host, f, def);
    this.counts.built++;
    try {
      await host.store.put(key, encodeScalarFile(def.name, data), { ifAbsent: true });
    } catch (err) {
      // Another writer stored it first (conflict), or the store takes no writes (a read-only
      // handle): this query needs only the column in memory; the next process builds it again.
      if (!isQuiverError(err)) throw err;
    }
    return data;
  }

  /** A pack's files by key, or null when it is missing or damaged (warned once; the files are read instead). */
  private pack(host: SegmentHost, key: string): Promise<Map<string, Uint8Array> | null> {
    if (this.badPacks.has(key)) return Promise.resolve(null);
    let p = this.packs.get(key);
    if (!p) {
      p = readIndexPack((range) => host.store.get(key, range)).catch((e: unknown) => {
        if (!isQuiverError(e, 'corrupt') && !isQuiverError(e, 'not_found')) throw e;
        this.badPacks.add(key);
        process.emitWarning(`${(e as Error).message} (${key}); reading its scalar index files one by one`, { code: CORRUPT_SEGMENT_WARNING });
        return null;
      });
      this.packs.set(key, p);
      const done = () => void this.packs.delete(key);
      p.then(done, done);
    }
    return p;
  }

  private async build(host: SegmentHost, f: FragmentMeta, def: ColumnDef): Promise<ColumnData> {
    const [path] = await host.paths([f.key]);
    return readColumnData(host.session, path, def);
  }
}

const PACKED = new WeakMap<readonly string[], Set<string>>();

/** The fragment keys an index declaration (and so its pack) covers, as a set built once per declaration. */
function packedFragments(index: Pick<IndexMeta, 'fragments'>): Set<string> {
  let s = PACKED.get(index.fragments);
  if (!s) PACKED.set(index.fragments, (s = new Set(index.fragments)));
  return s;
}

function kindOf(def: ColumnDef): ColumnData['kind'] {
  if (def.type.kind === 'list') return 'list';
  return def.type.kind === 'text' ? 'string' : 'number';
}
