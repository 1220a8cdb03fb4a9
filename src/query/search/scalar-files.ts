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
import { denseRowIds, scalarIndexKey, type ColumnDef, type FragmentMeta } from '../../format/index.js';
import { encodeScalarFile, readScalarFile, type ColumnData } from '../../index/index.js';
import { CollectionCache } from './collections.js';
import { readColumnData } from './scalar-load.js';
import { CORRUPT_SEGMENT_WARNING, segmentable, type SegmentCounts, type SegmentHost } from './text-segments.js';

/** How each fragment's column came to be (tests and the bench assert what a version cost). */
export type ScalarFileCounts = SegmentCounts & {
  /** Built in memory without a file: the column is not the fragment file's own (a rename or fill). */
  unpersisted: number;
};

/** Writes the scalar index file of every fragment of `host.manifest` that has none (createIndex). */
export async function writeScalarFiles(host: SegmentHost, column: string, options: Record<string, unknown>): Promise<ScalarFileCounts> {
  const files = new ScalarFiles(new CollectionCache(0));
  const def = host.manifest.schema.find((c) => c.name === column)!;
  for (const f of host.manifest.fragments) await files.column(host, f, def, options);
  return files.counts;
}

export class ScalarFiles {
  /** Columns being read or built, so concurrent queries share one. */
  private readonly loading = new Map<string, Promise<ColumnData>>();
  readonly counts: ScalarFileCounts = { read: 0, built: 0, rebuilt: 0, unpersisted: 0 };

  constructor(private readonly cache: CollectionCache) {}

  /** The column of fragment `f` as the scalar index holds it; read or built once per immutable file. */
  column(host: SegmentHost, f: FragmentMeta, def: ColumnDef, options: Record<string, unknown>): Promise<ColumnData> {
    const cacheKey = `file|${f.key}|col|${def.name}`;
    const hit = this.cache.get(cacheKey);
    if (hit?.kind === 'column') return Promise.resolve(hit.data);
    let p = this.loading.get(cacheKey);
    if (!p) {
      p = this.load(host, f, def, options).then((data) => {
        this.cache.set(cacheKey, { kind: 'column', data, bytes: data.bytes });
        return data;
      });
      this.loading.set(cacheKey, p);
      const done = () => void this.loading.delete(cacheKey);
      p.then(done, done);
    }
    return p;
  }

  private async load(host: SegmentHost, f: FragmentMeta, def: ColumnDef, options: Record<string, unknown>): Promise<ColumnData> {
    if (!segmentable(host.manifest, def.name)) {
      this.counts.unpersisted++;
      return this.build(host, f, def);
    }
    const key = scalarIndexKey(f, def.name, options);
    try {
      const data = await readScalarFile((range) => host.store.get(key, range), { column: def.name, kind: kindOf(def), rows: f.rows }, denseRowIds(f));
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

  private async build(host: SegmentHost, f: FragmentMeta, def: ColumnDef): Promise<ColumnData> {
    const [path] = await host.paths([f.key]);
    return readColumnData(host.session, path, def);
  }
}

function kindOf(def: ColumnDef): ColumnData['kind'] {
  if (def.type.kind === 'list') return 'list';
  return def.type.kind === 'text' ? 'string' : 'number';
}
