// A manifest is one version's complete, immutable description: the schema, the fragments
// (small-column files with their deleted row ids) and the files of each large column.
// Invariant: every live row id appears in exactly one fragment and, for each large column,
// in at most one of that column's files.

import { layout } from './layout.js';
import { sha256Hex } from './metadata.js';
import type { ColumnDef } from './schema/index.js';
import { crc32Of } from './checksums.js';

export interface FragmentMeta {
  id: string;
  /** The fragment's small-column file. */
  key: string;
  /** Rows physically in the file, deleted ones included. */
  rows: number;
  bytes: number;
  rowIdMin: string;
  rowIdMax: string;
  /** CRC-32 of the small-column file's bytes; absent in manifests written before checksums. */
  crc32?: number;
  /**
   * The file's row ids are exactly rowIdMin..rowIdMax in ascending order (an append's fragment),
   * so row id r is at row r − rowIdMin and a lookup by id reads no row-id page. Absent (read the
   * row ids) for fragments written before it and for those whose ids have gaps or another order.
   */
  rowIdsDense?: true;
  /** The file of row ids deleted from this fragment, how many, and its CRC-32. */
  deletes?: { key: string; count: number; crc32?: number };
  /**
   * The small-column names physically in the file (row_id aside), set on every fragment
   * written before a schema change. Absent: the file holds exactly the version's small columns.
   */
  columns?: string[];
}

/**
 * How a version's schema differs from the files written under earlier ones; present once the
 * schema changed. Files are never rewritten for a schema change: the view reads them by name
 * (missing columns as NULL, narrower numbers widened) and maps old names to new ones.
 */
export interface SchemaEvolution {
  /** Earlier names a small column has in older files, by its current name (renames). */
  renamed: Record<string, string[]>;
  /** Names files still hold for dropped columns; no column may take one until compaction. */
  retired: string[];
  /**
   * Values of a small column added with a default or an expression, for the rows of the
   * fragments that existed then (`fragments`): its own files, keyed by row id, holding the
   * values under `field` (the name the column had when they were written). With `expr` there
   * are no files: the value is that SQL expression over the fragment file's own columns (each
   * reference cast to its type when the column was added), evaluated when read; only
   * expressions whose value depends on the row alone are stored so (see rowExpressionSql).
   */
  fills: Record<string, { files: GroupFileMeta[]; fragments: string[]; field: string; expr?: string }>;
}

export interface GroupFileMeta {
  key: string;
  rows: number;
  bytes: number;
  rowIdMin: string;
  rowIdMax: string;
  /** CRC-32 of the file's bytes; absent in manifests written before checksums. */
  crc32?: number;
  /**
   * CRC-32 of the file's last `bytes` bytes (offset indexes and footer), so a reader of a few
   * pages by range can trust the footer without the whole file (pages carry their own CRC-32).
   * Absent for files written before it, which a ranged reader checks whole. `footer` (large-
   * column file layout 2): the CRC-32 of the last `footer.bytes` alone (footer, length, magic),
   * whose key/value metadata lists the offset indexes' parts with a CRC-32 each, so a reader of a
   * few rows reads the footer and the parts that locate them, not the whole tail; absent in files
   * written before it (layout 1), whose tail is read and checked whole.
   */
  tail?: { bytes: number; crc32: number; footer?: { bytes: number; crc32: number } };
  /**
   * The file's row ids are exactly rowIdMin..rowIdMax in ascending order, so row id r is at
   * position r − rowIdMin and a ranged reader skips the row-id pages. Absent (read the row ids)
   * for files written before it and for files whose ids have gaps.
   */
  rowIdsDense?: true;
}

/**
 * New values of some small columns for some rows that stay in their fragments: one Parquet file
 * of `row_id` + `columns`, each row id once. A patch gives its values only to the copies of its
 * rows in `fragments` (the fragments that held them when it was written): a row rewritten since
 * (a whole-row update, a compaction) carries its values in its new fragment. Newest last; a
 * later patch wins for a row and column.
 */
export interface PatchMeta {
  key: string;
  /** The columns it gives values to (current names). */
  columns: string[];
  /** The file's names for `columns`, position by position, once a rename made them differ. */
  names?: string[];
  rows: number;
  bytes: number;
  crc32: number;
  rowIdMin: string;
  rowIdMax: string;
  fragments: string[];
}

export interface IndexMeta {
  column: string;
  kind: 'vector' | 'fulltext' | 'scalar';
  key: string;
  /** Index files are built over these fragment ids; rows of other fragments are searched exactly. */
  fragments: string[];
  options: Record<string, unknown>;
}

export interface Manifest {
  schema: ColumnDef[];
  fragments: FragmentMeta[];
  /** Files of each large column, by column name. */
  groups: Record<string, GroupFileMeta[]>;
  indexes: IndexMeta[];
  /** Present once the schema changed after files were written; see SchemaEvolution. */
  evolution?: SchemaEvolution;
  /** Column patches over the fragments, oldest first (see PatchMeta); absent when none. */
  patches?: PatchMeta[];
  /**
   * The column naming each row's tenant, if the dataset declares one: scoped handles
   * (`ds.scoped({ tenant })`) see and write only the rows whose value is theirs.
   */
  tenant?: string;
  /** Random, written by each manifest write so that no two commits share a manifest object. */
  nonce?: string;
}

export function emptyManifest(schema: ColumnDef[]): Manifest {
  return { schema, fragments: [], groups: {}, indexes: [] };
}

/** Every object key `m` references: small-column, deletes, large-column and index files. */
export function manifestKeys(m: Manifest): string[] {
  const keys: string[] = [];
  for (const f of m.fragments) {
    keys.push(f.key);
    if (f.deletes) keys.push(f.deletes.key);
  }
  for (const files of Object.values(m.groups)) for (const g of files) keys.push(g.key);
  for (const fill of Object.values(m.evolution?.fills ?? {})) for (const g of fill.files) keys.push(g.key);
  for (const p of m.patches ?? []) keys.push(p.key);
  for (const ix of m.indexes) if (ix.key) keys.push(ix.key);
  return keys;
}

/**
 * The key of the fulltext segment of `column` over one fragment, derived from what decides its
 * bytes (the immutable fragment file, the column, the index options), so every version, branch
 * and handle that holds the fragment finds the same segment without the manifest listing it.
 */
export function textSegmentKey(fragment: Pick<FragmentMeta, 'id' | 'key'>, column: string, options: Record<string, unknown>): string {
  return layout.textSegment(fragment.id, fileIndexDigest(fragment, column, options));
}

/** The key of the scalar index file of `column` over one fragment, derived as textSegmentKey's. */
export function scalarIndexKey(fragment: Pick<FragmentMeta, 'id' | 'key'>, column: string, options: Record<string, unknown>): string {
  return layout.scalarIndexFile(fragment.id, fileIndexDigest(fragment, column, options));
}

function fileIndexDigest(fragment: Pick<FragmentMeta, 'id' | 'key'>, column: string, options: Record<string, unknown>): string {
  const sorted = Object.fromEntries(Object.keys(options).sort().map((k) => [k, options[k]]));
  return sha256Hex(JSON.stringify([fragment.key, column, sorted])).slice(0, 32);
}

/** The fulltext segment keys `m` may use (one per fragment and fulltext index; some may not exist yet). */
export function textSegmentKeys(m: Manifest): string[] {
  return m.indexes.filter((ix) => ix.kind === 'fulltext').flatMap((ix) => m.fragments.map((f) => textSegmentKey(f, ix.column, ix.options)));
}

/** The scalar index file keys `m` may use (one per fragment and scalar index; some may not exist yet). */
export function scalarIndexKeys(m: Manifest): string[] {
  return m.indexes.filter((ix) => ix.kind === 'scalar').flatMap((ix) => m.fragments.map((f) => scalarIndexKey(f, ix.column, ix.options)));
}

/**
 * The patches of `m` that still apply to a fragment of it and to a column of its schema; a
 * patch whose fragments were all rewritten (compaction, updates) has no effect and is dropped.
 */
export function livePatches(m: Manifest): PatchMeta[] {
  if (!m.patches?.length) return [];
  const live = new Set(m.fragments.map((f) => f.id));
  return m.patches.filter((p) => p.fragments.some((id) => live.has(id)));
}

/** The small columns some live patch of `m` gives values to. */
export function patchedColumns(m: Manifest): Set<string> {
  return new Set(livePatches(m).flatMap((p) => p.columns));
}

/**
 * The row ids of a fragment or large-column file whose ids are dense (rowIdMin..rowIdMax
 * ascending, one per row), so no row-id page needs reading; undefined otherwise (read them).
 */
export function denseRowIds(f: Pick<FragmentMeta, 'rowIdsDense' | 'rowIdMin' | 'rowIdMax' | 'rows'>): BigInt64Array | undefined {
  if (!hasDenseRowIds(f)) return undefined;
  const out = new BigInt64Array(f.rows);
  fillDenseIds(out, 0, BigInt(f.rowIdMin), f.rows);
  return out;
}

/** Whether `bytes` are exactly the tail the manifest records for file `g` (its length and CRC-32). */
export function isRecordedTail(g: Pick<GroupFileMeta, 'tail'>, bytes: Uint8Array): boolean {
  return g.tail !== undefined && bytes.length === g.tail.bytes && crc32Of([bytes]) === g.tail.crc32;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Writes the ids `min, min + 1, …` (`count` of them) into `out` from `at`. Ids below 2^53 are
 * written as their two 32-bit words, with no BigInt made per id: that loop was ~9 ms of a fresh
 * process's first query at 100k rows (bench/fts-segments.ts profile), this one is well under 1.
 */
export function fillDenseIds(out: BigInt64Array, at: number, min: bigint, count: number): void {
  if (min >= 0n && min + BigInt(count) <= BigInt(Number.MAX_SAFE_INTEGER) && LITTLE_ENDIAN) {
    const words = new Uint32Array(out.buffer, out.byteOffset + at * 8, count * 2);
    const base = Number(min);
    for (let i = 0; i < count; i++) {
      const id = base + i;
      words[2 * i] = id % 4294967296;
      words[2 * i + 1] = Math.floor(id / 4294967296);
    }
    return;
  }
  for (let i = 0; i < count; i++) out[at + i] = min + BigInt(i);
}

/** Whether {@link denseRowIds} gives `f`'s ids, without building them (a per-query test). */
export function hasDenseRowIds(f: Pick<FragmentMeta, 'rowIdsDense' | 'rowIdMin' | 'rowIdMax' | 'rows'>): boolean {
  return f.rowIdsDense === true && BigInt(f.rowIdMax) - BigInt(f.rowIdMin) + 1n === BigInt(f.rows);
}

export function liveRows(m: Manifest): number {
  let n = 0;
  for (const f of m.fragments) n += f.rows - (f.deletes?.count ?? 0);
  return n;
}

export function manifestBytes(m: Manifest): number {
  let n = 0;
  for (const f of m.fragments) n += f.bytes;
  for (const files of Object.values(m.groups)) for (const g of files) n += g.bytes;
  return n;
}
