// Reads one immutable large-column file's vectors for the search kernels and index builds.
// Our own files are read directly (format/parquet/reader.ts): their float pages are copied as
// bytes, where converting them through DuckDB took ~17 s for 3 GB at 1M × 768. A file the
// reader does not take is read through DuckDB. Either way the result is normalized: a
// one-vector column keeps only rows that hold a vector, so vector i belongs to rowIds[i].

import { QuiverError, isQuiverError } from '../../errors.js';
import { openFile, readFooter, readInt64Column, readVectorColumn, type ColumnDef } from '../../format/index.js';
import { quoteIdent, quoteString, type Session } from '../engine.js';

export interface FileVectors {
  /** Rows in file order: every row for a multi-vector column, rows with a vector otherwise. */
  rowIds: BigInt64Array;
  data: Float32Array;
  dim: number;
  /** Multi-vector columns: row r's vectors are [offsets[r], offsets[r + 1]). */
  offsets?: Uint32Array;
}

/** The vector length of an embedding or list<embedding> column. */
function dimOf(def: ColumnDef): number {
  const t = def.type.kind === 'list' ? def.type.element : def.type;
  return t.kind === 'embedding' ? t.dim : 0;
}

export async function readVectorFile(session: Session, path: string, def: ColumnDef): Promise<FileVectors> {
  const multi = def.type.kind === 'list';
  const dim = dimOf(def);
  let rowIds: BigInt64Array;
  let data: Float32Array;
  let counts: Uint32Array;
  try {
    ({ rowIds, data, counts } = readOwn(path, def.name, dim));
  } catch (e) {
    if (!isQuiverError(e, 'unsupported')) throw e;
    const r = await session.readVectors(`SELECT row_id, ${quoteIdent(def.name)}::${multi ? `FLOAT[${dim}][]` : `FLOAT[${dim}]`} FROM read_parquet(${quoteString(path)})`);
    rowIds = r.rowIds;
    data = r.data;
    counts = new Uint32Array(rowIds.length);
    for (let i = 0; i < counts.length; i++) counts[i] = r.offsets[i + 1] - r.offsets[i];
  }
  if (multi) {
    const offsets = new Uint32Array(rowIds.length + 1);
    for (let i = 0; i < counts.length; i++) offsets[i + 1] = offsets[i] + counts[i];
    return { rowIds, data, dim, offsets };
  }
  let kept = 0;
  for (let i = 0; i < counts.length; i++) kept += counts[i];
  if (kept === rowIds.length) return { rowIds, data, dim };
  const withVector = new BigInt64Array(kept);
  for (let i = 0, k = 0; i < counts.length; i++) if (counts[i]) withVector[k++] = rowIds[i];
  return { rowIds: withVector, data, dim };
}

function readOwn(path: string, column: string, dim: number): { rowIds: BigInt64Array; data: Float32Array; counts: Uint32Array } {
  const file = openFile(path);
  try {
    const footer = readFooter(file);
    const c = footer.columns.findIndex((x) => x.name === column);
    if (footer.columns[0]?.name !== 'row_id' || c < 0) throw new QuiverError('unsupported', `vectors: ${path} lacks row_id or "${column}"`);
    const rowIds = new BigInt64Array(footer.rows);
    const counts = new Uint32Array(footer.rows);
    // One buffer for the file, written in place (a one-vector column fills at most rows × dim).
    let data: Float32Array = new Float32Array(footer.rows * dim);
    let end = 0;
    for (let g = 0; g < footer.rowGroups.length; g++) {
      const first = footer.rowGroups[g].first;
      rowIds.set(readInt64Column(file, footer, 0, g), first);
      const v = readVectorColumn(file, footer, c, g, dim, data, end);
      counts.set(v.counts, first);
      ({ data, end } = v);
    }
    data = data.subarray(0, end);
    return { rowIds, data, counts };
  } finally {
    file.close();
  }
}
