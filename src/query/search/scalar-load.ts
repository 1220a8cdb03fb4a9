// Reads one immutable small-column file's column into the scalar index's in-memory form
// (see scalar-index.ts). Our own files are decoded by our Parquet reader (a cold query reads
// every file of the filtered columns, and two DuckDB round trips per file took ~25 ms each);
// a file it does not take goes through DuckDB: the column (or, for a list, each row's length
// and validity), then a list's elements in order. Both keep file order and give equal values.

import type * as arrow from 'apache-arrow';
import { QuiverError, isQuiverError } from '../../errors.js';
import { openFile, readFooter, readInt64Column, readRows, type ColumnDef } from '../../format/index.js';
import { quoteIdent, quoteString, type Session } from '../engine.js';
import { encode, numberColumn, type ColumnData } from '../../index/index.js';
import { indexableType } from './scalar-index.js';

export async function readColumnData(session: Session, path: string, def: ColumnDef): Promise<ColumnData> {
  try {
    return readOwnColumnData(path, def);
  } catch (e) {
    if (!isQuiverError(e, 'unsupported')) throw e;
  }
  return readDuckColumnData(session, path, def);
}

/** A value as the scalar index compares it: DuckDB's `::DOUBLE` of a number, bool or timestamp (µs). */
function numberOf(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : v ? 1 : 0;
}

/**
 * The column read by format/parquet/reader.ts, in file order. Throws `unsupported` for a file
 * the reader does not take (no leading row_id, another nesting, a codec), which DuckDB reads.
 */
export function readOwnColumnData(path: string, def: ColumnDef): ColumnData {
  const t = indexableType(def)!;
  const file = openFile(path);
  try {
    const footer = readFooter(file);
    const c = footer.columns.findIndex((x) => x.name === def.name);
    if (footer.columns[0]?.name !== 'row_id' || c < 0 || footer.columns[c].listDepth !== (t.list ? 1 : 0)) {
      throw new QuiverError('unsupported', `scalar index: ${path} lacks row_id or "${def.name}" as written by quiver`);
    }
    const rowIds = new BigInt64Array(footer.rows);
    const values = new Array<unknown>(footer.rows);
    for (let g = 0; g < footer.rowGroups.length; g++) {
      const { first, rows } = footer.rowGroups[g];
      rowIds.set(readInt64Column(file, footer, 0, g), first);
      const got = readRows(file, footer, c, g, Array.from({ length: rows }, (_, i) => i));
      for (let i = 0; i < rows; i++) values[first + i] = got[i];
    }
    return columnDataOf(t, rowIds, values);
  } finally {
    file.close();
  }
}

/** The in-memory form of decoded values (lists as arrays, nulls as null). */
function columnDataOf(t: { kind: string; list: boolean }, rowIds: BigInt64Array, values: unknown[]): ColumnData {
  const n = rowIds.length;
  if (t.list) {
    const valid = new Uint8Array(n);
    const offsets = new Int32Array(n + 1);
    const elements: (number | string | null)[] = [];
    for (let r = 0; r < n; r++) {
      const list = values[r] as unknown[] | null;
      valid[r] = list === null ? 0 : 1;
      for (const v of list ?? []) elements.push(v === null ? null : t.kind === 'string' ? (v as string) : numberOf(v));
      offsets[r + 1] = elements.length;
    }
    const { codes, dict } = encode(elements);
    return { kind: 'list', rowIds, offsets, codes, dict, valid, bytes: rowIds.byteLength + valid.byteLength + offsets.byteLength + codes.byteLength + dictBytes(dict) };
  }
  if (t.kind === 'string') {
    const { codes, dict } = encode(values as (string | null)[]);
    return { kind: 'string', rowIds, codes, dict, bytes: rowIds.byteLength + codes.byteLength + dictBytes(dict) };
  }
  const nums = new Float64Array(n);
  const valid = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    if (values[r] === null) continue;
    valid[r] = 1;
    nums[r] = numberOf(values[r]);
  }
  return numberColumn(rowIds, nums, valid);
}

/** The column read through DuckDB (any Parquet file). */
export async function readDuckColumnData(session: Session, path: string, def: ColumnDef): Promise<ColumnData> {
  const t = indexableType(def)!;
  const src = `read_parquet(${quoteString(path)})`;
  const q = quoteIdent(def.name);
  const asNumber = (x: string) => (t.kind === 'timestamp' ? `epoch_us(${x})::DOUBLE` : `${x}::DOUBLE`);
  const top = await session.arrow(
    t.list
      ? `SELECT row_id, (${q} IS NOT NULL)::UTINYINT AS ok, coalesce(len(${q}), 0)::INTEGER AS n FROM ${src}`
      : t.kind === 'string'
        ? `SELECT row_id, ${q} AS v FROM ${src}`
        : `SELECT row_id, (${q} IS NOT NULL)::UTINYINT AS ok, coalesce(${asNumber(q)}, 0) AS v FROM ${src}`,
  );
  const rowIds = BigInt64Array.from(top.getChild('row_id')!.toArray() as BigInt64Array);
  if (t.list) {
    const valid = Uint8Array.from(top.getChild('ok')!.toArray() as Uint8Array);
    const counts = top.getChild('n')!.toArray() as Int32Array;
    const offsets = new Int32Array(rowIds.length + 1);
    for (let r = 0; r < counts.length; r++) offsets[r + 1] = offsets[r] + counts[r];
    const el = await session.arrow(`SELECT ${t.kind === 'string' ? 'v' : asNumber('v')} AS v FROM (SELECT unnest(${q}) AS v FROM ${src})`);
    const { codes, dict } = encode(vectorValues(el.getChild('v')!) as (number | string | null)[]);
    return { kind: 'list', rowIds, offsets, codes, dict, valid, bytes: rowIds.byteLength + valid.byteLength + offsets.byteLength + codes.byteLength + dictBytes(dict) };
  }
  if (t.kind === 'string') {
    const { codes, dict } = encode(vectorValues(top.getChild('v')!) as (string | null)[]);
    return { kind: 'string', rowIds, codes, dict, bytes: rowIds.byteLength + codes.byteLength + dictBytes(dict) };
  }
  const values = Float64Array.from(top.getChild('v')!.toArray() as Float64Array);
  const valid = Uint8Array.from(top.getChild('ok')!.toArray() as Uint8Array);
  return numberColumn(rowIds, values, valid);
}

/** The values of an Arrow vector, nulls as null. */
function vectorValues(v: arrow.Vector): unknown[] {
  const out = new Array<unknown>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v.get(i);
  return out;
}

/** Approximate heap bytes of a dictionary (string headers included). */
function dictBytes(dict: readonly (number | string)[]): number {
  let n = 0;
  for (const d of dict) n += typeof d === 'string' ? 40 + d.length * 2 : 16;
  return n;
}
