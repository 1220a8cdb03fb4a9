// A row expression: SQL over one row's own columns that gives the same value whenever and over
// whichever rows it is evaluated, so a column added with `expr` can be stored as that expression
// (evaluated when read) instead of as a file of values. Invariant: what `rowExpressionSql`
// returns names only the columns it was given, each cast to the type it had when checked.

import type { Session } from './engine.js';
import { clone, parseSql, unparseSql, walk, type AstNode, type ParsedSql } from './search/sql-ast.js';

/**
 * Node classes whose value depends on more than the row: other rows (subqueries, windows),
 * the query (parameters), or a column set not named (`*`). An expression holding one is
 * evaluated once and stored as values instead.
 */
const NOT_PER_ROW = new Set(['SUBQUERY', 'WINDOW', 'STAR', 'COLUMNS', 'PARAMETER', 'LAMBDA', 'LAMBDA_REF', 'POSITIONAL_REFERENCE']);

/** SQL types whose cast node is `{ id, type_info: null }` in DuckDB's tree; others are parsed. */
const PLAIN_TYPES = new Set(['BOOLEAN', 'TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'FLOAT', 'DOUBLE', 'VARCHAR', 'TIMESTAMP', 'BLOB']);

/**
 * The expression of `tree` (from expressionTree; rewritten in place) rendered by DuckDB with
 * every column reference cast to its SQL type in `columns` (by lowercased name), or null when
 * its value is not a function of those columns alone: it names another column, or calls a
 * function that is not a scalar DuckDB marks CONSISTENT (same input, same output: no
 * `random()`, `now()`, `nextval`, aggregate or macro). One DuckDB round trip to render it (and
 * one to look its functions up, if it calls any): each cost ~1 ms of a 17 ms addColumn.
 */
export async function rowExpressionSql(session: Session, tree: ParsedSql, columns: ReadonlyMap<string, string>): Promise<string | null> {
  const list = tree.statements[0].node.select_list as AstNode[];
  let perRow = true;
  const functions = new Set<string>();
  walk(list[0], (n) => {
    if (n.class && NOT_PER_ROW.has(n.class)) perRow = false;
    if (n.class === 'FUNCTION') functions.add(String(n.function_name).toLowerCase());
    if (n.class === 'COLUMN_REF') {
      const names = n.column_names as string[];
      if (names.length !== 1 || !columns.has(names[0].toLowerCase())) perRow = false;
    }
  });
  if (!perRow || !(await allConsistentScalars(session, [...functions]))) return null;
  const types = [...new Set(columns.values())];
  const parsed = types.filter((t) => !PLAIN_TYPES.has(t));
  // DuckDB's own cast node for each other type, from one parse of `CAST(NULL AS t), …`.
  const casts = parsed.length ? ((await parseSql(session, `SELECT ${parsed.map((t) => `CAST(NULL AS ${t})`).join(', ')}`)).statements[0].node.select_list as AstNode[]) : [];
  const castOf = new Map<string, AstNode>(parsed.map((t, i) => [t, casts[i]]));
  for (const t of types) if (PLAIN_TYPES.has(t)) castOf.set(t, { class: 'CAST', type: 'OPERATOR_CAST', alias: '', query_location: 0, child: null, cast_type: { id: t, type_info: null }, try_cast: false });
  list[0] = castRefs(list[0], (name) => clone(castOf.get(columns.get(name.toLowerCase())!)!)) as AstNode;
  const sql = await unparseSql(session, tree);
  return sql.startsWith('SELECT ') ? sql.slice('SELECT '.length) : null;
}

/** `node` with each column reference wrapped in the cast node `castOf` gives for its name (the cast's child). */
function castRefs(node: unknown, castOf: (name: string) => AstNode): unknown {
  if (Array.isArray(node)) return node.map((x) => castRefs(x, castOf));
  if (!node || typeof node !== 'object') return node;
  const n = node as AstNode;
  if (n.class === 'COLUMN_REF') return { ...castOf((n.column_names as string[])[0]), child: { ...n, alias: '' }, alias: n.alias };
  return Object.fromEntries(Object.entries(n).map(([k, v]) => [k, castRefs(v, castOf)]));
}

/** True when every function named is a scalar function DuckDB marks CONSISTENT (under every overload). */
async function allConsistentScalars(session: Session, names: readonly string[]): Promise<boolean> {
  if (names.length === 0) return true;
  const r = await session.all(
    `SELECT lower(function_name) AS name, bool_and(function_type = 'scalar' AND stability = 'CONSISTENT') AS ok FROM duckdb_functions() WHERE lower(function_name) IN (SELECT unnest($1::VARCHAR[])) GROUP BY 1`,
    [names as unknown as string],
  );
  const ok = new Map(r.rows.map((x) => [x.name as string, x.ok === true]));
  return names.every((n) => ok.get(n) === true);
}
