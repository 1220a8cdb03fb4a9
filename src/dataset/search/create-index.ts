// Builds a persisted index over one column of a version and returns the manifest change that
// declares it. A vector index reads each of the column's files in turn (so it knows which rows
// came from which file) and builds the ANN kernel over them; rows added later are searched
// exactly until the next createIndex, which inserts just those into the existing graph.

import { QuiverError, isQuiverError } from '../../errors.js';
import { isRecordedTail, layout, randomId, typeName, type GroupFileMeta, type IndexMeta, type Manifest } from '../../format/index.js';
import { VectorIndex, type BuildProgress, type IndexedTail, type VectorIndexOptions } from '../../index/index.js';
import { decodeVectorIndexFile, encodeVectorIndexFile, indexableType, loadVectorIndex, readVectorFile, segmentable, TAIL_PREFETCH_FILES_MAX, writeScalarFiles, writeScalarPack, writeTextSegments, type IndexedFile, type Session, type VectorIndexFile } from '../../query/index.js';
import type { ObjectStore } from '../../storage/index.js';

export interface VectorIndexSpec extends Omit<VectorIndexOptions, 'rows'> {
  kind: 'vector';
  /** Build the graph from scratch even when the existing index could be extended. Default false. */
  rebuild?: boolean;
}

export interface FullTextIndexSpec {
  kind: 'fulltext';
  /** BM25 term-frequency saturation. Default 1.2. */
  k1?: number;
  /** BM25 length normalisation. Default 0.75. */
  b?: number;
  /** Words never indexed nor searched. Default none (as FTS5). */
  stopwords?: string[];
  /** Tokens shorter than this are dropped. Default 1. */
  minTokenLength?: number;
}

/** A scalar index: `column <op> constant` parts of a search query's WHERE come from sorted values instead of a scan. */
export interface ScalarIndexSpec {
  kind: 'scalar';
}

export type IndexSpec = VectorIndexSpec | FullTextIndexSpec | ScalarIndexSpec;

export interface IndexBuildContext {
  store: ObjectStore;
  session: Session;
  paths(keys: readonly string[]): Promise<string[]>;
  onProgress?: BuildProgress;
}

export async function buildIndex(ctx: IndexBuildContext, m: Manifest, column: string, spec: IndexSpec): Promise<IndexMeta> {
  const col = m.schema.find((c) => c.name === column);
  if (!col) throw new QuiverError('not_found', `index: no column "${column}"`, { column });
  if (!spec || typeof spec !== 'object') throw new QuiverError('invalid_input', 'index: createIndex needs { kind }');
  if (spec.kind === 'vector') {
    const isEmb = col.type.kind === 'embedding' || (col.type.kind === 'list' && col.type.element.kind === 'embedding');
    if (!isEmb) throw new QuiverError('invalid_input', `index: a vector index needs an embedding column; "${column}" is ${typeName(col.type)}`, { column });
    return buildVector(ctx, m, column, spec);
  }
  if (spec.kind === 'fulltext') {
    if (col.type.kind !== 'text') throw new QuiverError('invalid_input', `index: a fulltext index needs a text column; "${column}" is ${typeName(col.type)}`, { column });
    const { kind: _kind, ...options } = spec;
    // Postings are persisted per fragment (a segment, found by a key derived from the fragment,
    // column and options); BM25 statistics are combined from them per version at query time.
    // Fragments added later get theirs on a version's first query (see text-segments.ts).
    if (segmentable(m, column)) await writeTextSegments({ ...ctx, manifest: m }, column, options);
    return { column, kind: 'fulltext', key: '', fragments: m.fragments.map((f) => f.key), options };
  }
  if (spec.kind === 'scalar') {
    if (!indexableType(col)) throw new QuiverError('invalid_input', `index: a scalar index needs a text, bool, number or timestamp column; "${column}" is ${typeName(col.type)}`, { column });
    // One index file per fragment (the column in value order or dictionary codes), found by a
    // key derived from the fragment, column and options, as fulltext segments are; fragments
    // added later get theirs on the first query that filters them (see scalar-files.ts).
    // Their copies in one pack, named by the declaration's key: a cold query on object storage
    // reads it in one or two requests instead of one per fragment (see src/index/pack.ts).
    let key = '';
    if (segmentable(m, column)) {
      await writeScalarFiles({ ...ctx, manifest: m }, column, {});
      key = await writeScalarPack({ ...ctx, manifest: m }, column, {});
    }
    return { column, kind: 'scalar', key, fragments: m.fragments.map((f) => f.key), options: {} };
  }
  throw new QuiverError('invalid_input', `index: kind must be "vector", "fulltext" or "scalar", got "${(spec as { kind: string }).kind}"`);
}

/** Vectors of some of a column's files, in file order, with the index bookkeeping for them. */
interface FileVectors {
  rowIds: BigInt64Array;
  data: Float32Array;
  /** Vectors per row (multi-vector columns). */
  counts: Uint32Array;
  files: IndexedFile[];
  dim: number;
}

async function readFiles(ctx: IndexBuildContext, m: Manifest, column: string, keys: string[], startRow: number): Promise<FileVectors> {
  const paths = await ctx.paths(keys);
  const def = m.schema.find((c) => c.name === column)!;
  const ids: BigInt64Array[] = [];
  const data: Float32Array[] = [];
  const counts: number[] = [];
  const files: IndexedFile[] = [];
  let dim = 0;
  let rows = startRow;
  for (let i = 0; i < keys.length; i++) {
    const r = await readVectorFile(ctx.session, paths[i], def);
    if (r.data.length) dim = r.dim;
    ids.push(r.rowIds);
    data.push(r.data);
    if (r.offsets) for (let j = 1; j < r.offsets.length; j++) counts.push(r.offsets[j] - r.offsets[j - 1]);
    files.push({ key: keys[i], start: rows, rows: r.rowIds.length });
    rows += r.rowIds.length;
  }
  return { rowIds: concat(ids, BigInt64Array), data: concat(data, Float32Array), counts: Uint32Array.from(counts), files, dim };
}

function concat<T extends BigInt64Array | Float32Array>(parts: T[], make: { new (n: number): T }): T {
  const out = new make(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    (out as { set(a: T, o: number): void }).set(p, o);
    o += p.length;
  }
  return out;
}

/** The spec's options for the kernel (without `kind` and `rebuild`). */
function kernelOptions(spec: VectorIndexSpec): Omit<VectorIndexOptions, 'rows'> {
  const { kind: _kind, rebuild: _rebuild, ...options } = spec;
  return options;
}

/** An options object with its keys in a fixed order, so two compare as JSON. */
function sortedKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
}

/**
 * Builds the column's vector index. When the version already has one with the same options
 * and every file it read is still current (and reads back in the same order), only the files
 * added since are read and inserted into its graph (incremental); rows it holds that were
 * deleted since stay in the graph but are never returned. Otherwise (files rewritten by an
 * update or compaction, other options, or `rebuild`) the graph is built from scratch.
 */
async function buildVector(ctx: IndexBuildContext, m: Manifest, column: string, spec: VectorIndexSpec): Promise<IndexMeta> {
  const files = m.groups[column] ?? [];
  const options = sortedKeys({ metric: 'cosine', ...kernelOptions(spec) });
  // A list<embedding> column always gets a multi-vector index, so rows added later may hold any number.
  const multi = m.schema.find((c) => c.name === column)!.type.kind === 'list';
  const prev = m.indexes.find((i) => sameSlot(i, { column, kind: 'vector', options }));
  const same = prev && JSON.stringify(sortedKeys(prev.options)) === JSON.stringify(options);
  const file = prev && same && !spec.rebuild ? await readIndexFile(ctx, prev.key) : null;
  if (prev && file) {
    const current = new Set(files.map((f) => f.key));
    const known = new Set(file.files.map((f) => f.key));
    if (file.files.every((f) => current.has(f.key))) {
      const added = files.filter((f) => !known.has(f.key)).map((f) => f.key);
      if (added.length === 0) return { ...prev, fragments: files.map((f) => f.key) };
      const old = await readFiles(ctx, m, column, file.files.map((f) => f.key), 0);
      const index = old.rowIds.length === file.rowIds.length && old.rowIds.every((id, i) => id === file.rowIds[i]) ? loadVectorIndex(file, old.data) : null;
      if (index && index.isMultiVector === multi) {
        const fresh = await readFiles(ctx, m, column, added, old.rowIds.length);
        if (fresh.data.length) index.add(fresh.data, multi ? fresh.counts : undefined, ctx.onProgress);
        return persist(ctx, m, column, index, concat([old.rowIds, fresh.rowIds], BigInt64Array), [...file.files, ...fresh.files], files, options);
      }
    }
  }
  const all = await readFiles(ctx, m, column, files.map((f) => f.key), 0);
  if (all.rowIds.length === 0 || all.dim === 0) throw new QuiverError('invalid_input', `index: column "${column}" has no vectors to index yet`, { column });
  const offsets = new Uint32Array(all.counts.length + 1);
  all.counts.forEach((c, i) => void (offsets[i + 1] = offsets[i] + c));
  const index = VectorIndex.build(all.data, all.dim, { ...kernelOptions(spec), ...(multi ? { rows: { offsets } } : {}) }, ctx.onProgress);
  return persist(ctx, m, column, index, all.rowIds, all.files, files, options);
}

/** The existing index file, or null when it is in a format this version no longer reads (then it is rebuilt). */
async function readIndexFile(ctx: IndexBuildContext, key: string): Promise<VectorIndexFile | null> {
  try {
    return decodeVectorIndexFile(await ctx.store.get(key), key);
  } catch (e) {
    if (isQuiverError(e) && e.code === 'unsupported') return null;
    throw e;
  }
}

async function persist(ctx: IndexBuildContext, m: Manifest, column: string, index: VectorIndex, rowIds: BigInt64Array, indexed: IndexedFile[], files: { key: string }[], options: Record<string, unknown>): Promise<IndexMeta> {
  const key = `${layout.indexPrefix}${randomId()}.qvix`;
  const tails = index.isMultiVector ? [] : await indexedTails(ctx, m, column, indexed);
  await ctx.store.put(key, encodeVectorIndexFile(index, rowIds, indexed, tails), { ifAbsent: true });
  return { column, kind: 'vector', key, fragments: files.map((f) => f.key), options };
}

/** Tails read at once while an index is written (the store bounds its own requests too). */
const TAIL_READ_BATCH = 16;

/**
 * Copies of the indexed files' tails, for the index file to carry (see IndexedTail): each read
 * from the store and kept only if it matches the manifest's CRC-32 of it. None past
 * TAIL_PREFETCH_FILES_MAX files, where a query would not read the tails ahead either.
 */
async function indexedTails(ctx: IndexBuildContext, m: Manifest, column: string, indexed: readonly IndexedFile[]): Promise<IndexedTail[]> {
  if (indexed.length > TAIL_PREFETCH_FILES_MAX) return [];
  const groups = new Map((m.groups[column] ?? []).map((g) => [g.key, g]));
  const withTail = indexed.map((f) => groups.get(f.key)).filter((g) => g?.tail !== undefined) as (GroupFileMeta & { tail: NonNullable<GroupFileMeta['tail']> })[];
  const out: IndexedTail[] = [];
  for (let i = 0; i < withTail.length; i += TAIL_READ_BATCH) {
    const batch = withTail.slice(i, i + TAIL_READ_BATCH);
    const got = await Promise.all(batch.map((g) => ctx.store.get(g.key, { offset: g.bytes - g.tail.bytes, length: g.tail.bytes })));
    batch.forEach((g, j) => {
      if (isRecordedTail(g, got[j])) out.push({ key: g.key, bytes: got[j] });
    });
  }
  return out;
}

/**
 * Whether two indexes take the same place in a manifest: one per column and kind, and for
 * vector indexes one per metric too (a cosine and an l2 index of one column live side by
 * side; each query uses the one of its metric).
 */
function sameSlot(a: Pick<IndexMeta, 'column' | 'kind' | 'options'>, b: Pick<IndexMeta, 'column' | 'kind' | 'options'>): boolean {
  if (a.column !== b.column || a.kind !== b.kind) return false;
  return a.kind !== 'vector' || (a.options.metric ?? 'cosine') === (b.options.metric ?? 'cosine');
}

/** The manifest with `meta` declared, replacing the index in the same place (see sameSlot). */
export function withIndex(m: Manifest, meta: IndexMeta): Manifest {
  return { ...m, indexes: [...m.indexes.filter((i) => !sameSlot(i, meta)), meta] };
}
