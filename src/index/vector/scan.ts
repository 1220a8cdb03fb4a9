// The brute-force core shared by exact search and the index's quantized scan: gather candidate
// vectors chunk by chunk into bounded scratch, let usearch's SIMD exactSearch pick the best few
// per chunk, and hand each pick to a visitor that rescores it.
// Invariant: rows are never split across chunks, so a row's vectors are judged together.

import { QuiverError } from '../../errors.js';
import usearch from './usearch.js';
import { type Candidates, candidateChunks, gatherRows, scratchFor } from './gather.js';
import { type RowMap, expandRows } from './row-map.js';

export interface ScanSpec<T extends Float32Array | Int8Array> {
  /** Row-major matrix the SIMD kernel scans: the float32 originals or the int8 codes. */
  data: T;
  /** The query in the same element type as `data`. */
  query: T;
  dim: number;
  usearchMetric: 'cos' | 'l2sq' | 'ip';
  /** Row ordinals to visit (undefined: all rows). */
  candidates: Candidates;
  rowTotal: number;
  rows?: RowMap;
  /** Vectors to pick per chunk; must be ≥ k × vectors-per-row-max to guarantee k distinct rows. */
  fetch: number;
  /** Bound on scratch memory. */
  bytesMax: number;
  threads: number;
  /** Called for each picked vector with its row. */
  visit: (vector: number, row: number) => void;
}

export function scan<T extends Float32Array | Int8Array>(s: ScanSpec<T>): void {
  // The binding ignores a view's byte offset: a query that is a subarray must be copied.
  if (s.query.byteOffset !== 0) s = { ...s, query: s.query.slice() as T };
  const elementBytes = s.data instanceof Float32Array ? 4 : 1;
  const chunkVectors = Math.max(1, Math.floor(s.bytesMax / (s.dim * elementBytes)));
  // A whole unfiltered single-vector matrix with no view offset is scanned in place, whatever
  // its size: copying it chunk by chunk into scratch cost as much as the scan itself.
  if (s.candidates === undefined && !s.rows && s.data.byteOffset === 0) {
    pick(s, s.data, undefined, undefined);
    return;
  }
  const vecBuf = s.rows ? new Uint32Array(chunkVectors) : undefined;
  const rowBuf = s.rows ? new Uint32Array(chunkVectors) : undefined;
  for (const rowChunk of candidateChunks(s.candidates, s.rowTotal, chunkVectors)) {
    if (!s.rows) {
      const dst = scratchFor(s.data, rowChunk.length * s.dim);
      gatherRows(s.data, s.dim, rowChunk, dst);
      pick(s, dst, rowChunk, rowChunk);
      continue;
    }
    let start = 0;
    while (start < rowChunk.length) {
      const { rowsUsed, vectors } = expandRows(s.rows, rowChunk, start, vecBuf!, rowBuf!);
      if (rowsUsed === 0) throw new QuiverError('invalid_input', `index: a row has more vectors than one scan chunk holds (${chunkVectors})`);
      start += rowsUsed;
      if (vectors === 0) continue;
      const vecs = vecBuf!.subarray(0, vectors);
      const dst = scratchFor(s.data, vectors * s.dim);
      gatherRows(s.data, s.dim, vecs, dst);
      pick(s, dst, vecs, rowBuf!.subarray(0, vectors));
    }
  }
}

/** Runs the SIMD kernel on one contiguous block; maps block positions back to ordinals. */
function pick<T extends Float32Array | Int8Array>(
  s: ScanSpec<T>,
  block: T,
  vectorOf: Uint32Array | undefined,
  rowOf: Uint32Array | undefined,
): void {
  const m = block.length / s.dim;
  const count = Math.min(s.fetch, m);
  const found = usearch.exactSearch(block, s.query, s.dim, count, s.usearchMetric as never, s.threads) as {
    keys: BigUint64Array;
  };
  const keys = found.keys;
  for (let i = 0; i < count; i++) {
    const local = Number(keys[i]);
    if (local >= m) continue; // usearch pads with sentinel keys when it finds fewer
    s.visit(vectorOf ? vectorOf[local] : local, rowOf ? rowOf[local] : local);
  }
}
