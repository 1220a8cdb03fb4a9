// Where each row a stream yields lives: for the selected rows of a pinned version, in the
// version's physical order, the fragment file and position of its small columns and, per
// requested large column, the file and position of its value. Built from the row_id columns of
// the files (ranged reads of their row_id pages only) and the fragments' deletes files.
// Invariant: every live selected row appears once, at its live copy; deleted copies never do.

import { QuiverError, assert } from '../errors.js';
import { layout, livePatches, openRanged, readRowsRanged, type Manifest, type RangedFile } from '../format/index.js';
import { ordinalOf } from '../query/search/collections.js';
import { byteSourceOf, type ObjectStore } from '../storage/index.js';

/** A data file opened for ranged reads, with the row id at each position and its row groups' starts. */
export interface LocatedFile {
  key: string;
  file: RangedFile;
  rowIds: BigInt64Array;
  /** Position of each row group's first row. */
  groupStarts: number[];
}

/** Where a large column's value of each located row is; file -1: no file holds it (null). */
export interface LargeLocations {
  files: LocatedFile[];
  file: Int32Array;
  pos: Int32Array;
}

export interface Locations {
  /** Rows selected, in physical order. */
  rows: number;
  rowId: BigInt64Array;
  fragments: LocatedFile[];
  fragment: Int32Array;
  pos: Int32Array;
  large: Map<string, LargeLocations>;
  /**
   * The version's column patches, oldest first: the file, the columns it gives values to (and
   * the file's names for them), and per fragment (by index) whether it applies to its rows.
   */
  patches: { file: LocatedFile; columns: string[]; names: string[]; applies: Uint8Array }[];
}

/** Opens a data file and reads its row ids. */
export async function locateFile(store: ObjectStore, key: string, bytes: number): Promise<LocatedFile> {
  const file = await openRanged(byteSourceOf(store, key, bytes));
  const col = file.footer.columns.findIndex((c) => c.name === 'row_id');
  if (col < 0) throw new QuiverError('corrupt', `stream: data file "${key}" has no row_id column`, { key });
  const groups = file.footer.rowGroups;
  const reads = groups.map((g, i) => ({ column: col, group: i, positions: Array.from({ length: g.rows }, (_, p) => p) }));
  const values = await readRowsRanged(file, reads);
  const rowIds = new BigInt64Array(file.footer.rows);
  const groupStarts: number[] = [];
  let at = 0;
  values.forEach((vs) => {
    groupStarts.push(at);
    for (const v of vs) rowIds[at++] = v as bigint;
  });
  assert(at === rowIds.length, 'stream: row groups add up to the file');
  return { key, file, rowIds, groupStarts };
}

/** Index of the row group holding `pos`. */
export function groupOf(f: LocatedFile, pos: number): number {
  let lo = 0;
  let hi = f.groupStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (f.groupStarts[mid] <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

const has = (sorted: BigInt64Array, id: bigint): boolean => ordinalOf(sorted, id) >= 0;

/** Locates the rows `selected` (ascending live row ids) of `m`, and the values of `largeColumns`. */
export async function locateRows(store: ObjectStore, m: Manifest, selected: BigInt64Array, largeColumns: readonly string[]): Promise<Locations> {
  const fragments = await Promise.all(m.fragments.map((f) => locateFile(store, f.key, f.bytes)));
  const deleted = await Promise.all(m.fragments.map((f) => (f.deletes ? deletedIds(store, f.deletes.key) : new BigInt64Array(0))));
  const rowId = new BigInt64Array(selected.length);
  const fragment = new Int32Array(selected.length);
  const pos = new Int32Array(selected.length);
  let n = 0;
  fragments.forEach((f, fi) => {
    const gone = deleted[fi];
    for (let p = 0; p < f.rowIds.length; p++) {
      const id = f.rowIds[p];
      if (!has(selected, id) || has(gone, id)) continue;
      if (n >= selected.length) throw new QuiverError('corrupt', `stream: row id ${id} is live in two fragments`, { rowId: String(id) });
      rowId[n] = id;
      fragment[n] = fi;
      pos[n++] = p;
    }
  });
  if (n !== selected.length) throw new QuiverError('corrupt', `stream: ${selected.length - n} selected rows are in no fragment`);
  const large = new Map<string, LargeLocations>();
  for (const c of largeColumns) large.set(c, await locateLarge(store, m, c, rowId, fragment));
  const patches = await Promise.all(
    livePatches(m).map(async (p) => ({ file: await locateFile(store, p.key, p.bytes), columns: p.columns, names: p.names ?? p.columns, applies: Uint8Array.from(m.fragments, (f) => (p.fragments.includes(f.id) ? 1 : 0)) })),
  );
  return { rows: n, rowId, fragments, fragment, pos, large, patches };
}

/** A fragment's deleted row ids, sorted (the manifest does not record a deletes file's size: one head). */
async function deletedIds(store: ObjectStore, key: string): Promise<BigInt64Array> {
  const info = await store.head(key);
  if (!info) throw new QuiverError('not_found', `stream: deletes file "${key}" is missing`, { key });
  return (await locateFile(store, key, info.size)).rowIds.sort();
}

async function locateLarge(store: ObjectStore, m: Manifest, column: string, rowId: BigInt64Array, fragment: Int32Array): Promise<LargeLocations> {
  const files = await Promise.all((m.groups[column] ?? []).map((g) => locateFile(store, g.key, g.bytes)));
  // Each file's row ids sorted with their positions: a value is found by binary search.
  const sorted = files.map((f) => {
    const perm = Int32Array.from({ length: f.rowIds.length }, (_, i) => i).sort((a, b) => (f.rowIds[a] < f.rowIds[b] ? -1 : f.rowIds[a] > f.rowIds[b] ? 1 : 0));
    return { ids: BigInt64Array.from(perm, (i) => f.rowIds[i]), perm };
  });
  const file = new Int32Array(rowId.length).fill(-1);
  const pos = new Int32Array(rowId.length).fill(-1);
  // The file written with a row's fragment nearly always holds its value: try it first, so
  // finding values costs one binary search per row, not one per file.
  const byKey = new Map(files.map((f, i) => [f.key, i]));
  const written = m.fragments.map((f) => byKey.get(layout.groupFile(f.id, column)) ?? -1);
  const find = (fi: number, r: number): boolean => {
    const id = rowId[r];
    const { ids, perm } = sorted[fi];
    if (ids.length === 0 || id < ids[0] || id > ids[ids.length - 1]) return false;
    const at = lowerBound(ids, id);
    if (ids[at] !== id) return false;
    file[r] = fi;
    pos[r] = perm[at];
    return true;
  };
  for (let r = 0; r < rowId.length; r++) {
    const first = written[fragment[r]];
    if (first >= 0 && find(first, r)) continue;
    for (let fi = 0; fi < files.length; fi++) if (fi !== first && find(fi, r)) break;
  }
  return { files, file, pos };
}

function lowerBound(sorted: BigInt64Array, id: bigint): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
