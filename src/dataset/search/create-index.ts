// Builds a persisted index over one column of a version and returns the manifest change that
// declares it. A vector index reads each of the column's files in turn (so it knows which rows
// came from which file) and builds the ANN kernel over them; rows added later are searched
// exactly until the next createIndex.

import { QuiverError } from '../../errors.js';
import { layout, randomId, typeName, type IndexMeta, type Manifest } from '../../format/index.js';
import { VectorIndex, type BuildProgress, type VectorIndexOptions } from '../../index/index.js';
import { encodeVectorIndexFile, indexableType, quoteIdent, quoteString, type IndexedFile, type Session } from '../../query/index.js';
import type { ObjectStore } from '../../storage/index.js';

export interface VectorIndexSpec extends Omit<VectorIndexOptions, 'rows'> {
  kind: 'vector';
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
    // BM25 statistics depend on every live row of a version, so the postings are built per
    // version in memory (and cached); the declaration fixes the tokenizer and scoring options.
    return { column, kind: 'fulltext', key: '', fragments: m.fragments.map((f) => f.key), options };
  }
  if (spec.kind === 'scalar') {
    if (!indexableType(col)) throw new QuiverError('invalid_input', `index: a scalar index needs a text, bool, number or timestamp column; "${column}" is ${typeName(col.type)}`, { column });
    // Sorted values are built per immutable small-column file on first use and cached.
    return { column, kind: 'scalar', key: '', fragments: m.fragments.map((f) => f.key), options: {} };
  }
  throw new QuiverError('invalid_input', `index: kind must be "vector", "fulltext" or "scalar", got "${(spec as { kind: string }).kind}"`);
}

async function buildVector(ctx: IndexBuildContext, m: Manifest, column: string, spec: VectorIndexSpec): Promise<IndexMeta> {
  const files = m.groups[column] ?? [];
  const paths = await ctx.paths(files.map((f) => f.key));
  const ids: BigInt64Array[] = [];
  const data: Float32Array[] = [];
  const offsets: number[] = [0];
  const indexed: IndexedFile[] = [];
  let dim = 0;
  let rows = 0;
  let vectors = 0;
  for (let i = 0; i < files.length; i++) {
    const r = await ctx.session.readVectors(`SELECT row_id, ${quoteIdent(column)}::${vectorSqlType(m, column)} FROM read_parquet(${quoteString(paths[i])})`);
    if (r.dim) dim = r.dim;
    ids.push(r.rowIds);
    data.push(r.data);
    for (let j = 1; j < r.offsets.length; j++) offsets.push(vectors + r.offsets[j]);
    indexed.push({ key: files[i].key, start: rows, rows: r.rowIds.length });
    rows += r.rowIds.length;
    vectors += r.offsets[r.offsets.length - 1];
  }
  if (rows === 0 || dim === 0) throw new QuiverError('invalid_input', `index: column "${column}" has no vectors to index yet`, { column });
  const all = new Float32Array(vectors * dim);
  let o = 0;
  for (const d of data) {
    all.set(d, o);
    o += d.length;
  }
  const rowIds = new BigInt64Array(rows);
  o = 0;
  for (const part of ids) {
    rowIds.set(part, o);
    o += part.length;
  }
  const { kind: _kind, ...options } = spec;
  const multi = offsets.length - 1 !== vectors;
  const index = VectorIndex.build(all, dim, { ...options, ...(multi ? { rows: { offsets: Uint32Array.from(offsets) } } : {}) }, ctx.onProgress);
  const key = `${layout.indexPrefix}${randomId()}.qvix`;
  await ctx.store.put(key, encodeVectorIndexFile(index, rowIds, indexed), { ifAbsent: true });
  return { column, kind: 'vector', key, fragments: files.map((f) => f.key), options: { metric: options.metric ?? 'cosine', ...options } };
}

/** The SQL type a column's vectors are read as (fixed-size arrays read fastest). */
function vectorSqlType(m: Manifest, column: string): string {
  const t = m.schema.find((c) => c.name === column)!.type;
  if (t.kind === 'embedding') return `FLOAT[${t.dim}]`;
  if (t.kind === 'list' && t.element.kind === 'embedding') return `FLOAT[${t.element.dim}][]`;
  return 'FLOAT[]';
}

/** The manifest with `meta` declared (replacing an index of the same column and kind). */
export function withIndex(m: Manifest, meta: IndexMeta): Manifest {
  return { ...m, indexes: [...m.indexes.filter((i) => !(i.column === meta.column && i.kind === meta.kind)), meta] };
}
