// Splits a `read_parquet('<file or glob>')` source into one scan per file, so cluster workers read
// the source themselves and the coordinator handles only scan descriptions (SQL text) and row
// counts. Invariant: the scans, concatenated in file order, give exactly the rows of the source
// in the local runner's order — so only a single SELECT over one read_parquet with per-row
// expressions and a WHERE is split; anything that mixes rows (joins, aggregates, windows, order
// by, limit, distinct, subqueries, CTEs) keeps the coordinator-read path.

import { resolve } from 'node:path';
import { quoteString } from '../../../query/index.js';
import { rowWiseSelect, type QueryRows } from '../../dataset-split.js';

export interface SourceScan {
  /** The source's SQL with the glob replaced by one file; a worker runs it in its own DuckDB. */
  sql: string;
  /** Rows it yields (after the source's WHERE). */
  rows: number;
}

export type { QueryRows };

/** The read_parquet call's path constant when the SELECT reads one file set row by row; else undefined. */
function parquetPath(from: Record<string, unknown>): { constant: Record<string, unknown>; path: string } | undefined {
  if (from.type !== 'TABLE_FUNCTION') return undefined;
  const fn = from.function as Record<string, unknown>;
  const args = fn.children as Record<string, unknown>[];
  if (String(fn.function_name).toLowerCase() !== 'read_parquet' || args.length !== 1 || args[0].type !== 'VALUE_CONSTANT') return undefined;
  const value = args[0].value as Record<string, unknown>;
  if ((value.type as Record<string, unknown>).id !== 'VARCHAR' || value.is_null) return undefined;
  return { constant: value, path: String(value.value) };
}

/**
 * One scan per Parquet file of the source, in the order DuckDB reads them, or undefined when the
 * source is not a splittable read_parquet query (then the coordinator reads it, as before).
 */
export async function splitParquetSource(sql: string, query: QueryRows): Promise<SourceScan[] | undefined> {
  const shape = await rowWiseSelect(sql, query);
  const found = shape && parquetPath(shape.from);
  if (!shape || !found) return undefined;
  // DuckDB reads a glob's files in sorted order; so do the scans.
  // Workers run elsewhere, in another directory: a local file is named by its absolute path.
  const files = (await query(`select file from glob(${quoteString(found.path)}) order by file`)).map((r) => absolute(String(r.file)));
  // No file: the coordinator reads the source, so the run fails with DuckDB's own error, as under local.
  if (files.length === 0) return undefined;
  const scans: SourceScan[] = [];
  for (const file of files) {
    found.constant.value = file;
    const [{ s }] = await query(`select json_deserialize_sql(${quoteString(JSON.stringify(shape.ast))}) as s`);
    const fileSql = String(s);
    const [{ n }] = await query(`select count(*)::bigint as n from (${fileSql})`);
    scans.push({ sql: fileSql, rows: Number(n) });
  }
  return scans;
}

function absolute(file: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(file) ? file : resolve(file);
}

/** Rows [offset, offset + rows) of a scan, in its order (DuckDB keeps insertion order, so LIMIT/OFFSET cut it deterministically). */
export function sliceSql(scanSql: string, offset: number, rows: number): string {
  return `select * from (${scanSql}) limit ${rows} offset ${offset}`;
}
