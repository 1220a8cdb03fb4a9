// Splits a `read_parquet('<file or glob>')` source into one scan per file, so cluster workers read
// the source themselves and the coordinator handles only scan descriptions (SQL text) and row
// counts. Invariant: the scans, concatenated in file order, give exactly the rows of the source
// in the local runner's order — so only a single SELECT over one read_parquet with per-row
// expressions and a WHERE is split; anything that mixes rows (joins, aggregates, windows, order
// by, limit, distinct, subqueries, CTEs) keeps the coordinator-read path.

import { resolve } from 'node:path';
import { quoteString } from '../../../query/index.js';

export interface SourceScan {
  /** The source's SQL with the glob replaced by one file; a worker runs it in its own DuckDB. */
  sql: string;
  /** Rows it yields (after the source's WHERE). */
  rows: number;
}

/** What the splitter needs of a DuckDB session: rows of a query. */
export type QueryRows = (sql: string) => Promise<Record<string, unknown>[]>;

type Node = Record<string, unknown>;

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null;

/** DuckDB's virtual columns of a file scan. */
const fileColumns = new Set(['filename', 'file_index', 'file_row_number']);

/** True when any node under `n` mixes rows (an aggregate, a window, a subquery). */
function mixesRows(n: unknown, aggregates: ReadonlySet<string>): boolean {
  if (Array.isArray(n)) return n.some((c) => mixesRows(c, aggregates));
  if (!isNode(n)) return false;
  if (n.class === 'WINDOW' || n.class === 'SUBQUERY') return true;
  if (n.class === 'FUNCTION' && aggregates.has(String(n.function_name).toLowerCase())) return true;
  // A file's name is the glob's match here and an absolute path in a scan: it would differ.
  if (n.class === 'COLUMN_REF' && (n.column_names as string[]).some((c) => fileColumns.has(c.toLowerCase()))) return true;
  return Object.values(n).some((c) => mixesRows(c, aggregates));
}

/** The read_parquet call's path constant when `sql` is a splittable single-file-set scan; else undefined. */
function parquetPath(ast: Node, aggregates: ReadonlySet<string>): { constant: Node; path: string } | undefined {
  const statements = ast.statements as Node[] | undefined;
  if (ast.error || statements?.length !== 1) return undefined;
  const q = statements[0].node as Node;
  const from = q.from_table as Node | undefined;
  const cteCount = ((q.cte_map as Node | undefined)?.map as unknown[] | undefined)?.length ?? 0;
  if (q.type !== 'SELECT_NODE' || (q.modifiers as unknown[]).length || cteCount || (q.group_expressions as unknown[]).length) return undefined;
  if (q.having || q.qualify || q.sample || q.aggregate_handling !== 'STANDARD_HANDLING' || from?.type !== 'TABLE_FUNCTION' || from.sample) return undefined;
  const fn = from.function as Node;
  const args = fn.children as Node[];
  if (String(fn.function_name).toLowerCase() !== 'read_parquet' || args.length !== 1 || args[0].type !== 'VALUE_CONSTANT') return undefined;
  const value = args[0].value as Node;
  if ((value.type as Node).id !== 'VARCHAR' || value.is_null) return undefined;
  if (mixesRows(q.select_list, aggregates) || mixesRows(q.where_clause, aggregates)) return undefined;
  return { constant: value, path: String(value.value) };
}

/**
 * One scan per Parquet file of the source, in the order DuckDB reads them, or undefined when the
 * source is not a splittable read_parquet query (then the coordinator reads it, as before).
 */
export async function splitParquetSource(sql: string, query: QueryRows): Promise<SourceScan[] | undefined> {
  const [{ j }] = await query(`select json_serialize_sql(${quoteString(sql)}) as j`);
  const ast = JSON.parse(String(j)) as Node;
  const aggregates = new Set((await query(`select distinct lower(function_name) as f from duckdb_functions() where function_type = 'aggregate'`)).map((r) => String(r.f)));
  const found = parquetPath(ast, aggregates);
  if (!found) return undefined;
  // DuckDB reads a glob's files in sorted order; so do the scans.
  // Workers run elsewhere, in another directory: a local file is named by its absolute path.
  const files = (await query(`select file from glob(${quoteString(found.path)}) order by file`)).map((r) => absolute(String(r.file)));
  // No file: the coordinator reads the source, so the run fails with DuckDB's own error, as under local.
  if (files.length === 0) return undefined;
  const scans: SourceScan[] = [];
  for (const file of files) {
    found.constant.value = file;
    const [{ s }] = await query(`select json_deserialize_sql(${quoteString(JSON.stringify(ast))}) as s`);
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
