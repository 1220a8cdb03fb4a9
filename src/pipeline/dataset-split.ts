// Splits a dataset source into pieces, one per fragment, that any process reads by itself: a
// dataset version (`con.dataset(url)`), with or without `since`, and a single row-wise SELECT
// over one dataset bound by name (`con.sql('select … from ds where …', { datasets: { ds } })`).
// Invariant: the pieces, read in order, give exactly the rows of the source — so only SQL that
// keeps each row to itself is split (no join, aggregate, window, order by, limit, distinct,
// subquery or CTE); anything else is read whole. `local` streams the pieces in this process;
// the bullmq runner sends them to workers, so both read the same rows in the same order.

import { quoteIdent, quoteString } from '../query/index.js';
import type { DatasetProvider, DatasetScan } from './dataset-seam.js';
import type { SourcePlan } from './plan.js';

/** Rows of a query: what the splitter needs of a DuckDB session. */
export type QueryRows = (sql: string) => Promise<Record<string, unknown>[]>;

/** The user's SELECT over one bound name, read with that name standing for one fragment's scan. */
export interface BoundSelect {
  name: string;
  sql: string;
}

/** One fragment of a dataset source, as plain JSON: the fragment's scan and, for bound SQL, the SELECT over it. */
export interface DatasetPiece {
  dataset: DatasetScan;
  select?: BoundSelect;
}

export interface DatasetSplit {
  pieces: DatasetPiece[];
  /**
   * True when a piece may yield fewer rows than its fragment's live rows (a WHERE, or `since`):
   * a runner that needs row counts before reading must count them (`countPieces`).
   */
  filtered: boolean;
}

type Node = Record<string, unknown>;

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null;

/** DuckDB's virtual columns of a file scan. */
const fileColumns = new Set(['filename', 'file_index', 'file_row_number']);

/** True when any node under `n` mixes rows (an aggregate, a window, a subquery) or names a scan's virtual file columns. */
function mixesRows(n: unknown, aggregates: ReadonlySet<string>): boolean {
  if (Array.isArray(n)) return n.some((c) => mixesRows(c, aggregates));
  if (!isNode(n)) return false;
  if (n.class === 'WINDOW' || n.class === 'SUBQUERY') return true;
  if (n.class === 'FUNCTION' && aggregates.has(String(n.function_name).toLowerCase())) return true;
  // A file's name differs between the whole scan and a piece of it.
  if (n.class === 'COLUMN_REF' && (n.column_names as string[]).some((c) => fileColumns.has(c.toLowerCase()))) return true;
  return Object.values(n).some((c) => mixesRows(c, aggregates));
}

/** A parsed SELECT that keeps each row to itself: its FROM node (one table or table function) and whether it filters. */
export interface RowWiseSelect {
  /** The statement tree (json_serialize_sql), which a caller may edit and deserialize. */
  ast: Node;
  from: Node;
  filtered: boolean;
}

/**
 * The SQL's one SELECT when it reads one FROM item row by row (per-row expressions, a WHERE);
 * undefined for anything that mixes rows or is not a single plain SELECT.
 */
export async function rowWiseSelect(sql: string, query: QueryRows): Promise<RowWiseSelect | undefined> {
  const [{ j }] = await query(`select json_serialize_sql(${quoteString(sql)}) as j`);
  const ast = JSON.parse(String(j)) as Node;
  const statements = ast.statements as Node[] | undefined;
  if (ast.error || statements?.length !== 1) return undefined;
  const q = statements[0].node as Node;
  const from = q.from_table as Node | undefined;
  const cteCount = ((q.cte_map as Node | undefined)?.map as unknown[] | undefined)?.length ?? 0;
  if (q.type !== 'SELECT_NODE' || (q.modifiers as unknown[]).length || cteCount || (q.group_expressions as unknown[]).length) return undefined;
  if (q.having || q.qualify || q.sample || q.aggregate_handling !== 'STANDARD_HANDLING' || !from || from.sample) return undefined;
  const aggregates = new Set((await query(`select distinct lower(function_name) as f from duckdb_functions() where function_type = 'aggregate'`)).map((r) => String(r.f)));
  if (mixesRows(q.select_list, aggregates) || mixesRows(q.where_clause, aggregates)) return undefined;
  return { ast, from, filtered: !!q.where_clause };
}

/** True when `from` is the plain table `name` (no schema or catalog; DuckDB's names are case-insensitive). */
function isTable(from: Node, name: string): boolean {
  return from.type === 'BASE_TABLE' && !from.schema_name && !from.catalog_name && String(from.table_name).toLowerCase() === name.toLowerCase();
}

/**
 * The source as one piece per fragment, in the order `local` reads it, or undefined when it does
 * not split (then it is read as one SQL text). Reads manifests only, never a data file.
 */
export async function splitDatasetSource(source: SourcePlan, datasets: DatasetProvider | undefined, query: QueryRows): Promise<DatasetSplit | undefined> {
  if (!datasets?.splitScans || !datasets.scanSqlOf) return undefined;
  const since = source.since;
  if (source.kind === 'dataset') {
    const scans = await datasets.splitScans(source.dataset, since !== undefined ? { since } : {});
    return scans && { pieces: scans.map((dataset) => ({ dataset })), filtered: since !== undefined };
  }
  const names = Object.keys(source.datasets);
  if (names.length !== 1) return undefined; // two datasets in one SELECT is a join
  const [name] = names;
  const shape = await rowWiseSelect(source.sql, query);
  if (!shape || !isTable(shape.from, name)) return undefined;
  const scans = await datasets.splitScans(source.datasets[name], since !== undefined ? { since } : {});
  const select = { name, sql: source.sql };
  return scans && { pieces: scans.map((dataset) => ({ dataset, select })), filtered: shape.filtered || since !== undefined };
}

/** The SQL text reading one piece's rows, in order, through this process's dataset provider. */
export async function pieceSql(p: DatasetPiece, datasets: Pick<DatasetProvider, 'scanSqlOf'>): Promise<string> {
  const scan = await datasets.scanSqlOf!(p.dataset);
  return p.select ? boundSql([[p.select.name, scan]], p.select.sql) : scan;
}

/** `sql` with each bound name standing for its SQL (the form every bound-dataset source is read in). */
export function boundSql(bound: readonly (readonly [string, string])[], sql: string): string {
  if (bound.length === 0) return sql;
  return `with ${bound.map(([n, s]) => `${quoteIdent(n)} as (${s})`).join(', ')} select * from (${sql})`;
}

/** SQL counting one piece's rows, run by whichever process counts it (DuckDB reads only the columns the WHERE and `since` need). */
export async function pieceCountSql(p: DatasetPiece, datasets: Pick<DatasetProvider, 'scanSqlOf'>): Promise<string> {
  return `select count(*)::bigint as n from (${await pieceSql(p, datasets)})`;
}

/**
 * Each piece's row count: its fragment's live rows from the manifest when nothing filters, else
 * `count(piece)` for each (the bullmq runner has its workers count them: a count job per piece).
 */
export async function countPieces(split: DatasetSplit, count: (p: DatasetPiece) => Promise<number>): Promise<number[]> {
  if (!split.filtered) return split.pieces.map((p) => p.dataset.rows);
  return Promise.all(split.pieces.map(count));
}
