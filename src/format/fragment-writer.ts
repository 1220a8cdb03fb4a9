// Writes a validated batch as one fragment: a small-column file plus one file per large column.
// Every file gets a fresh key and is published with put-if-absent; nothing references it until
// a commit's manifest does, so a crash here leaves only unreferenced files for vacuum. Each
// file's CRC-32 goes into its manifest entry, for readers to verify (checksums.ts).

import type { ObjectStore } from '../storage/index.js';
import type { ColumnizedBatch } from './schema/index.js';
import { writeParquet, type ParquetColumn, type ParquetWriteOptions } from './parquet/index.js';
import { layout, randomId } from './layout.js';
import { crc32Of } from './checksums.js';
import type { FragmentMeta, GroupFileMeta } from './manifest.js';

/** Rows per row group in small-column files. */
export const SCALAR_ROW_GROUP_ROWS = 8192;

/**
 * Page size of small-column files. A search's winners are looked up by row (row-lookup.ts reads
 * the page holding each, by the offset index): with the default 1 MiB a row group's text column
 * was one page, and 20 winners read 9.2 MB (bench/hybrid.ts at 100k, ~2.7 ms of a 12 ms query);
 * 20 random rows of a 100k-row text + int file cost 4.2 ms at 1 MiB, 0.97 at 64 KiB, 0.53 at
 * 16 KiB, with DuckDB's scans of the file unchanged within noise and 0.24 % more bytes.
 */
export const SCALAR_PAGE_BYTES = 16 * 1024;

/** How every small-column file is cut (row groups and pages), whoever writes it. */
export const SCALAR_FILE_OPTIONS: ParquetWriteOptions = { rowGroupRowsMax: SCALAR_ROW_GROUP_ROWS, pageBytesMax: SCALAR_PAGE_BYTES };
/** Rows per row group in large-column files. */
export const LARGE_ROW_GROUP_ROWS = 4096;
/**
 * Page size of media (binary) files. A ranged read of one row fetches its whole page, so a value
 * of 2 KiB or more gets a page of its own (a 6 KB image costs 6 KB, not the 64 KiB page of ten
 * images the earlier bound gave: 22× at the benchmark's 20 winners); smaller values share pages
 * of up to 4 KiB. Each page costs about 12 bytes of offset index.
 */
export const MEDIA_PAGE_BYTES = 4 * 1024;
/**
 * Page locations per offset index part of a large-column file (writer.ts, offsetIndexPartEntries).
 * A ranged read of one row costs the footer, which lists ~25 bytes per part, plus one part of
 * ~12 bytes per location: 25·n/k + 12·k is least near k = 46 at the benchmark's 1,000 images per
 * file and k = 92 at a full 4,096-row group. At 64, a 1,000-image file's 12 KB of locations read
 * whole becomes ~0.4 KB of footer table and ~0.8 KB of one part.
 */
export const OFFSET_INDEX_PART_ENTRIES = 64;

export interface WrittenFragment {
  fragment: FragmentMeta;
  groups: Record<string, GroupFileMeta>;
  bytes: number;
}

function idRange(ids: readonly unknown[]): { min: string; max: string } {
  let min = ids[0] as bigint;
  let max = ids[0] as bigint;
  for (const v of ids as bigint[]) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min: String(min), max: String(max) };
}

export async function writeFragment(store: ObjectStore, batch: ColumnizedBatch, options: ParquetWriteOptions = {}): Promise<WrittenFragment> {
  const id = randomId();
  const range = idRange(batch.scalar[0].values);
  // Small row groups let DuckDB skip most of a file when fetching a few rows by row_id (the
  // last step of a search: 6 ms instead of 24 ms for 10 rows out of 1M, measured).
  const scalar = writeParquet(batch.scalar, { ...SCALAR_FILE_OPTIONS, ...options });
  const key = layout.scalarFile(id);
  const groups: Record<string, GroupFileMeta> = {};
  let bytes = scalar.size;
  // The files are independent until a manifest names them, so they are written concurrently:
  // on a local disk each put is several file-system calls, and waiting on them one by one
  // dominated a one-record commit.
  const puts: Promise<unknown>[] = [putDataFile(store, key, scalar.parts)];
  for (const [column, cols] of batch.large) {
    const file = writeParquet(cols, { ...largeFileOptions(cols), ...options });
    const gkey = layout.groupFile(id, column);
    puts.push(putDataFile(store, gkey, file.parts));
    groups[column] = groupFileMeta(gkey, batch.scalar[0].values as bigint[], file);
    bytes += file.size;
  }
  await Promise.all(puts);
  const dense = denseIds(batch.scalar[0].values as bigint[], range);
  return {
    fragment: { id, key, rows: batch.rows, bytes: scalar.size, rowIdMin: range.min, rowIdMax: range.max, crc32: crc32Of(scalar.parts), ...(dense ? { rowIdsDense: true } : {}) },
    groups,
    bytes,
  };
}

/**
 * Page size of vector (float list) files. A search re-ranks its candidates by reading their
 * float32 vectors by range, so a page holds a few vectors (two at 768-d, eight at 256-d), not
 * the whole file: at 1 MiB, 80 candidates over 20 files read every file (20.7 MB at 20k × 256-d).
 */
export const VECTOR_PAGE_BYTES = 8 * 1024;

/** How every large-column file is cut (row groups, and small pages), whoever writes it. */
export function largeFileOptions(cols: readonly ParquetColumn[]): ParquetWriteOptions {
  const media = cols.some((c) => c.leaf === 'binary');
  const vectors = cols.some((c) => c.leaf === 'float32' && c.listDepth > 0);
  return { rowGroupRowsMax: LARGE_ROW_GROUP_ROWS, offsetIndexPartEntries: OFFSET_INDEX_PART_ENTRIES, ...(media ? { pageBytesMax: MEDIA_PAGE_BYTES } : vectors ? { pageBytesMax: VECTOR_PAGE_BYTES } : {}) };
}

/**
 * The manifest entry of a large-column file holding rows `ids` in file order: its id range, its
 * checksums, and whether the ids are exactly rowIdMin..rowIdMax ascending (then a reader finds a
 * row's position without reading the file's row ids).
 */
export function groupFileMeta(key: string, ids: readonly bigint[], file: { parts: Uint8Array[]; size: number; tail: NonNullable<GroupFileMeta['tail']> }): GroupFileMeta {
  const range = idRange(ids);
  const dense = denseIds(ids, range);
  return { key, rows: ids.length, bytes: file.size, rowIdMin: range.min, rowIdMax: range.max, crc32: crc32Of(file.parts), tail: file.tail, ...(dense ? { rowIdsDense: true } : {}) };
}

/** True when `ids` (in file order, spanning `range`) are exactly range.min..range.max ascending. */
function denseIds(ids: readonly bigint[], range: { min: string; max: string }): boolean {
  let dense = BigInt(range.max) - BigInt(range.min) + 1n === BigInt(ids.length);
  for (let i = 1; dense && i < ids.length; i++) dense = ids[i] === ids[i - 1] + 1n;
  return dense;
}

/** Publishes a new data file under a fresh key. */
export async function putDataFile(store: ObjectStore, key: string, parts: Uint8Array[]): Promise<void> {
  await store.put(key, parts, { ifAbsent: true });
}

/** Writes the set of deleted row ids of a fragment as a one-column Parquet file. */
export async function writeDeletes(store: ObjectStore, fragmentId: string, rowIds: readonly bigint[]): Promise<{ key: string; count: number; bytes: number; crc32: number; rowIds: bigint[] }> {
  const key = layout.deletesFile(fragmentId, randomId().slice(0, 12));
  // A typed array sorts numerically without a comparator call per pair: 20k ids in ~1 ms
  // rather than the ~4 ms of a bigint comparator.
  const sorted = Array.from(BigInt64Array.from(rowIds).sort());
  const file = writeParquet([{ name: 'row_id', leaf: 'int64', nullable: false, listDepth: 0, values: sorted }]);
  await putDataFile(store, key, file.parts);
  return { key, count: sorted.length, bytes: file.size, crc32: crc32Of(file.parts), rowIds: sorted };
}
