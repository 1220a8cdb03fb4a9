// Reads one immutable small-column file's column into the scalar index's in-memory form
// (see scalar-index.ts). Two DuckDB queries at most: the column (or, for a list, each row's
// length and validity), then a list's elements in order. A single-file scan keeps file order.

import type * as arrow from 'apache-arrow';
import type { ColumnDef } from '../../format/index.js';
import { quoteIdent, quoteString, type Session } from '../engine.js';
import { encode, indexableType, numberColumn, type ColumnData } from './scalar-index.js';

export async function readColumnData(session: Session, path: string, def: ColumnDef): Promise<ColumnData> {
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
