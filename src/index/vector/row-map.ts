// The ordinal→row mapping for multi-vector rows (a record with several embeddings, scored by its
// best vector: "max-sim"). Vectors are stored row by row, so a row owns one contiguous range.
// Invariant: offsets is non-decreasing, starts at 0 and ends at the vector count.

import { QuiverError } from '../../errors.js';

/** Vectors of row r are ordinals [offsets[r], offsets[r + 1]). A row may have zero vectors. */
export interface RowMap {
  offsets: Uint32Array;
}

export function checkRowMap(rows: RowMap, vectorCount: number): void {
  const o = rows.offsets;
  if (o.length < 1 || o[0] !== 0 || o[o.length - 1] !== vectorCount) {
    throw new QuiverError('invalid_input', `index: row map must start at 0 and end at the vector count ${vectorCount}`);
  }
  for (let r = 1; r < o.length; r++) {
    if (o[r] < o[r - 1]) throw new QuiverError('invalid_input', `index: row map offsets decrease at row ${r - 1}`);
  }
}

/** Row count of a map (or of the identity map over `vectorCount` vectors). */
export function rowCount(rows: RowMap | undefined, vectorCount: number): number {
  return rows ? rows.offsets.length - 1 : vectorCount;
}

/** Most vectors any row has; bounds how many vectors to fetch to see k distinct rows. */
export function vectorsPerRowMax(rows: RowMap | undefined): number {
  if (!rows) return 1;
  let m = 0;
  const o = rows.offsets;
  for (let r = 1; r < o.length; r++) m = Math.max(m, o[r] - o[r - 1]);
  return m;
}

/** vector ordinal → row ordinal, by binary search over offsets (O(log rows), no n-sized array). */
export function rowOfVector(rows: RowMap | undefined, v: number): number {
  if (!rows) return v;
  const o = rows.offsets;
  let lo = 0;
  let hi = o.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (o[mid] <= v) lo = mid;
    else hi = mid - 1;
  }
  // Rows with zero vectors share an offset with the next row; the owner is the last such row.
  return lo;
}

/**
 * Expands a chunk of row ordinals into their vector ordinals (and the row of each), never
 * splitting a row: returns how many rows were consumed so the caller continues from there.
 */
export function expandRows(
  rows: RowMap,
  rowChunk: Uint32Array,
  start: number,
  vecOut: Uint32Array,
  rowOut: Uint32Array,
): { rowsUsed: number; vectors: number } {
  const o = rows.offsets;
  let v = 0;
  let i = start;
  for (; i < rowChunk.length; i++) {
    const r = rowChunk[i];
    const a = o[r];
    const b = o[r + 1];
    if (v + (b - a) > vecOut.length) break;
    for (let x = a; x < b; x++) {
      vecOut[v] = x;
      rowOut[v] = r;
      v++;
    }
  }
  return { rowsUsed: i - start, vectors: v };
}
