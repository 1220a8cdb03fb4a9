// Plans a query that uses Quiver's search functions. Pure: a parse tree, the schema and the
// parameters in; a SearchPlan out. Two products:
//  - `semantic`: the query with cosine_similarity / l2_distance / inner_product / bm25 / match /
//    rrf rewritten to exact SQL (macros and lookups) — always correct, never needs an index;
//  - `topk` (when the query's shape allows): the signals to search with an index or an exact
//    kernel, the WHERE to turn into a candidate filter, and the final query that reads the
//    k winners' scores from `__search_view` instead of recomputing them over every row.

import { QuiverError } from '../../errors.js';
import { typeName, type ColumnDef } from '../../format/index.js';
import { clone, columnRef, constantNumber, constantString, constantValue, functionCall, isFunction, rewrite, walk, type AstNode, type ParsedSql, type SqlValue } from './sql-ast.js';
import { scalarPredicate, type ScalarPredicate } from './scalar-index.js';

export type Metric = 'cosine' | 'l2' | 'ip';

export interface VectorSignal {
  kind: 'vector';
  column: string;
  metric: Metric;
  query: Float32Array;
  /** The column is list<embedding>: a row scores by its best vector. */
  multi: boolean;
}

export interface TextSignal {
  kind: 'bm25';
  column: string;
  text: string;
}

export type Signal = VectorSignal | TextSignal;

export interface TopKPlan {
  /** One signal, or several fused by reciprocal rank. */
  signals: Signal[];
  fusion: 'single' | 'rrf';
  /** Rows to find: LIMIT + OFFSET. */
  k: number;
  /** The WHERE clause without its match() conjuncts, semantically rewritten, or null. */
  where: AstNode | null;
  /** match(column, 'text') conjuncts of the WHERE, answered by the text index instead of SQL. */
  matches: { column: string; text: string }[];
  /** `column <op> constant` conjuncts on scalar-indexed columns, answered by the scalar index. */
  scalar: ScalarPredicate[];
  /**
   * The WHERE without its match() conjuncts, the `scalar` ones included, semantically
   * rewritten, or null: for a read that runs the filter in SQL before the scalar index holds
   * its columns (search-exec.ts, candidates).
   */
  filter: AstNode | null;
  /** rrf: ranks past this window contribute nothing. */
  window: number;
  /** The final query over `__search_view`, where `__score` holds each winner's score. */
  final: ParsedSql;
  /**
   * Set when `final` only picks columns of the winners in score order (the common shape): then
   * the executor answers it from the looked-up rows without a DuckDB statement.
   */
  projection: Projection | null;
}

/**
 * A final query that is `SELECT col [AS name], … FROM __search_view ORDER BY __score LIMIT l
 * [OFFSET o]`: the winners (already best first) with these columns, rows offset..offset+limit.
 */
export interface Projection {
  /** Each output column: the view column it reads (as written, matched without case) and the alias, if any. */
  columns: { column: string; alias: string }[];
  limit: number;
  offset: number;
}

export interface SearchPlan {
  /** The whole query rewritten to exact SQL. */
  semantic: ParsedSql;
  /** Text columns whose BM25 statistics the semantic query needs. */
  textColumns: string[];
  /** Present when the query is a top-k by one search signal (or rrf of several). */
  topk: TopKPlan | null;
  /** Why there is no top-k plan (for explain). */
  reason: string;
}

export const SEARCH_VIEW = '__search_view';
export const SCORE_COLUMN = '__score';
export const RRF_K = 60;
/** rrf's default rank window: each ranking contributes for its first 100 rows (Elasticsearch's rank_window_size). */
export const RRF_WINDOW = 100;

const SIMILARITY: Record<string, Metric> = { cosine_similarity: 'cosine', l2_distance: 'l2', inner_product: 'ip' };
const MACRO: Record<Metric, [string, string]> = {
  cosine: ['__q_cos', '__q_maxsim_cos'],
  l2: ['__q_l2', '__q_minsim_l2'],
  ip: ['__q_ip', '__q_maxsim_ip'],
};
const AGGREGATES = new Set(['count', 'sum', 'avg', 'min', 'max', 'list', 'array_agg', 'string_agg', 'first', 'last', 'any_value', 'median', 'quantile', 'quantile_cont', 'quantile_disc', 'mode', 'stddev', 'variance', 'bool_and', 'bool_or', 'arg_max', 'arg_min', 'histogram', 'count_star', 'approx_count_distinct', 'mean']);

/** SQL for the macros the semantic rewrite calls; create them once per session. */
// DuckDB's list_* distance functions raise an error on a NULL list anywhere in a chunk (1.5),
// so a NULL vector is guarded by CASE, which evaluates the call only for non-NULL rows: a row
// without a vector scores NULL (sorted last), as array_cosine_similarity would give.
const guarded = (fn: string, a: string, b: string) => `CASE WHEN ${a} IS NULL OR ${b} IS NULL THEN NULL ELSE ${fn}(${a}::FLOAT[], ${b}::FLOAT[]) END`;
export const SEARCH_MACROS = [
  `CREATE OR REPLACE TEMP MACRO __q_cos(a, b) AS ${guarded('list_cosine_similarity', 'a', 'b')}`,
  `CREATE OR REPLACE TEMP MACRO __q_l2(a, b) AS ${guarded('list_distance', 'a', 'b')}`,
  `CREATE OR REPLACE TEMP MACRO __q_ip(a, b) AS ${guarded('list_inner_product', 'a', 'b')}`,
  `CREATE OR REPLACE TEMP MACRO __q_maxsim_cos(a, b) AS list_max(list_transform(a, x -> ${guarded('list_cosine_similarity', 'x', 'b')}))`,
  `CREATE OR REPLACE TEMP MACRO __q_minsim_l2(a, b) AS list_min(list_transform(a, x -> ${guarded('list_distance', 'x', 'b')}))`,
  `CREATE OR REPLACE TEMP MACRO __q_maxsim_ip(a, b) AS list_max(list_transform(a, x -> ${guarded('list_inner_product', 'x', 'b')}))`,
];

function unwrapCast(n: AstNode): AstNode {
  return n.class === 'CAST' ? unwrapCast((n as { child: AstNode }).child) : n;
}

function children(n: AstNode): AstNode[] {
  return (n.children as AstNode[]) ?? [];
}

function lastName(n: AstNode): string | null {
  const c = unwrapCast(n);
  return c.class === 'COLUMN_REF' ? (c.column_names as string[]).at(-1)! : null;
}

/** A constant vector from a parameter, a list literal or a cast of either; null if not constant. */
function constantVector(n: AstNode, params: readonly unknown[]): Float32Array | null {
  const c = unwrapCast(n);
  if (c.class === 'PARAMETER') {
    const v = params[Number(c.identifier) - 1];
    if (v instanceof Float32Array) return v;
    if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return Float32Array.from(v as number[]);
    return null;
  }
  if (isFunction(c, 'list_value') || (c.class === 'FUNCTION' && String(c.function_name) === 'array_value')) {
    const vals = children(c).map((x) => {
      const u = unwrapCast(x);
      if (u.class === 'CONSTANT') return constantNumber(u.value as SqlValue) ?? NaN;
      if (u.class === 'FUNCTION' && u.function_name === '-' && children(u).length === 1) {
        const inner = unwrapCast(children(u)[0]);
        return inner.class === 'CONSTANT' ? -(constantNumber(inner.value as SqlValue) ?? NaN) : NaN;
      }
      return NaN;
    });
    // Not a list of numbers (a column, a function of one): not a constant vector.
    return vals.some(Number.isNaN) ? null : Float32Array.from(vals);
  }
  return null;
}

function constantText(n: AstNode, params: readonly unknown[]): string | null {
  const c = unwrapCast(n);
  if (c.class === 'PARAMETER') {
    const v = params[Number(c.identifier) - 1];
    return typeof v === 'string' ? v : null;
  }
  if (c.class === 'CONSTANT') {
    const v = constantValue(c.value as SqlValue);
    return typeof v === 'string' ? v : null;
  }
  return null;
}

function columnOf(schema: readonly ColumnDef[], name: string | null): ColumnDef | undefined {
  return name === null ? undefined : schema.find((c) => c.name.toLowerCase() === name.toLowerCase());
}

function embeddingDim(c: ColumnDef): { dim: number; multi: boolean } | null {
  if (c.type.kind === 'embedding') return { dim: c.type.dim, multi: false };
  if (c.type.kind === 'list' && c.type.element.kind === 'embedding') return { dim: c.type.element.dim, multi: true };
  return null;
}

/** Checks a similarity call and returns its signal when both arguments are known. */
function vectorSignal(fn: string, n: AstNode, schema: readonly ColumnDef[], params: readonly unknown[]): VectorSignal | null {
  const args = children(n);
  if (args.length !== 2) throw new QuiverError('invalid_input', `query: ${fn} takes two arguments (an embedding column and a vector), got ${args.length}`);
  // Either argument may be the column; the other is the query vector.
  const [colArg, vecArg] = lastName(args[0]) !== null && columnOf(schema, lastName(args[0])) ? [args[0], args[1]] : [args[1], args[0]];
  const col = columnOf(schema, lastName(colArg));
  if (!col) return null; // not over a dataset column: plain SQL semantics
  const emb = embeddingDim(col);
  if (!emb) throw new QuiverError('invalid_input', `query: ${fn} needs an embedding column; "${col.name}" is ${typeName(col.type)}`, { column: col.name });
  const q = constantVector(vecArg, params);
  if (!q) return null;
  if (q.length !== emb.dim) {
    throw new QuiverError('invalid_input', `query: ${fn}(${col.name}, …) needs a query vector of ${emb.dim} floats, got ${q.length}`, { column: col.name, expected: emb.dim, got: q.length });
  }
  for (let i = 0; i < q.length; i++) {
    if (!Number.isFinite(q[i])) throw new QuiverError('invalid_input', `query: the query vector for ${fn}(${col.name}, …) has a non-finite value (${q[i]}) at position ${i}`, { column: col.name, position: i });
  }
  return { kind: 'vector', column: col.name, metric: SIMILARITY[fn], query: q, multi: emb.multi };
}

function textColumn(fn: string, n: AstNode, schema: readonly ColumnDef[]): ColumnDef {
  const args = children(n);
  if (args.length !== 2) throw new QuiverError('invalid_input', `query: ${fn} takes a text column and a query string, got ${args.length} arguments`);
  const col = columnOf(schema, lastName(args[0]));
  if (!col) throw new QuiverError('invalid_input', `query: the first argument of ${fn} must be a text column of the dataset`);
  if (col.type.kind !== 'text') throw new QuiverError('invalid_input', `query: ${fn} needs a text column; "${col.name}" is ${typeName(col.type)}`, { column: col.name });
  return col;
}

function rowIdRef(colArg: AstNode): AstNode {
  const names = unwrapCast(colArg).column_names as string[];
  return columnRef(names.length > 1 ? [...names.slice(0, -1), 'row_id'] : ['row_id']);
}

/** The ORDER BY direction that ranks a signal best-first. */
function bestFirst(s: Signal): 'DESCENDING' | 'ASCENDING' {
  return s.kind === 'vector' && s.metric === 'l2' ? 'ASCENDING' : 'DESCENDING';
}

/** rrf's arguments: the rankings, and a trailing integer constant as the window if present. */
function rrfArgs(n: AstNode): { rankings: AstNode[]; window: number } {
  const args = children(n);
  const last = args.length ? unwrapCast(args[args.length - 1]) : undefined;
  if (last?.class === 'CONSTANT') {
    const w = constantNumber(last.value as SqlValue) ?? NaN;
    if (!Number.isSafeInteger(w) || w < 1) throw new QuiverError('invalid_input', `query: the rrf window must be a positive integer, got ${String(constantValue(last.value as SqlValue))}`);
    return { rankings: args.slice(0, -1), window: w };
  }
  return { rankings: args, window: RRF_WINDOW };
}

const intConstant = (v: number): AstNode => ({ class: 'CONSTANT', type: 'VALUE_CONSTANT', alias: '', query_location: 0, value: { type: { id: 'INTEGER', type_info: null }, is_null: false, value: v } });

/** CASE WHEN rank() OVER (ORDER BY x best-first) <= window THEN 1 / (60 + rank …) ELSE 0 END. */
function rrfTerm(x: AstNode, order: 'DESCENDING' | 'ASCENDING', window: number): AstNode {
  const rank = (): AstNode => ({
    class: 'WINDOW',
    type: 'WINDOW_RANK',
    alias: '',
    query_location: 0,
    function_name: 'rank',
    schema: '',
    catalog: '',
    children: [],
    partitions: [],
    orders: [{ type: order, null_order: 'NULLS_LAST', expression: x }],
    start: 'UNBOUNDED_PRECEDING',
    end: 'CURRENT_ROW_RANGE',
    start_expr: null,
    end_expr: null,
    offset_expr: null,
    default_expr: null,
    ignore_nulls: false,
    distinct: false,
    filter_expr: null,
    exclude_clause: 'NO_OTHER',
    arg_orders: [],
  });
  const plus = functionCall('+', [intConstant(RRF_K), rank()]);
  plus.is_operator = true;
  const div = functionCall('/', [intConstant(1), plus]); // DuckDB's / divides in floating point
  div.is_operator = true;
  const within: AstNode = { class: 'COMPARISON', type: 'COMPARE_LESSTHANOREQUALTO', alias: '', query_location: 0, left: rank(), right: intConstant(window) };
  return { class: 'CASE', type: 'CASE_EXPR', alias: '', query_location: 0, case_checks: [{ when_expr: within, then_expr: div }], else_expr: intConstant(0) };
}

/** Rewrites search functions to exact SQL, collecting signals and text columns on the way. */
function semanticRewrite(node: unknown, schema: readonly ColumnDef[], params: readonly unknown[], textColumns: Set<string>): unknown {
  return rewrite(node, (n) => {
    if (n.class !== 'FUNCTION') return undefined;
    const name = String(n.function_name).toLowerCase();
    if (name in SIMILARITY) {
      const args = children(n);
      const sig = vectorSignal(name, n, schema, params);
      const col = columnOf(schema, lastName(args[0])) ?? columnOf(schema, lastName(args[1] ?? args[0]));
      if (!col || !embeddingDim(col)) return undefined;
      const multi = embeddingDim(col)!.multi || sig?.multi;
      const [colArg, vecArg] = columnOf(schema, lastName(args[0])) ? [args[0], args[1]] : [args[1], args[0]];
      return functionCall(MACRO[SIMILARITY[name]][multi ? 1 : 0], [colArg, vecArg], String(n.alias ?? ''));
    }
    if (name === 'bm25' || name === 'match') {
      const col = textColumn(name, n, schema);
      textColumns.add(col.name);
      const args = children(n);
      return functionCall(name === 'bm25' ? '__q_bm25' : '__q_match', [rowIdRef(args[0]), constantString(col.name), args[1]], String(n.alias ?? ''));
    }
    if (name === 'rrf') {
      const { rankings, window } = rrfArgs(n);
      if (rankings.length < 2) throw new QuiverError('invalid_input', `query: rrf fuses two or more rankings, got ${rankings.length}`);
      const terms = rankings.map((a) => {
        const fn = isFunction(a) ? String(a.function_name).toLowerCase() : '';
        return rrfTerm(a, fn === 'l2_distance' ? 'ASCENDING' : 'DESCENDING', window);
      });
      let sum = terms[0];
      for (const t of terms.slice(1)) {
        sum = functionCall('+', [sum, t]);
        sum.is_operator = true;
      }
      sum.alias = n.alias ?? '';
      return sum;
    }
    return undefined;
  });
}

/** Structural equality of two expressions, ignoring where they stood in the text and aliases. */
function sameExpr(a: unknown, b: unknown): boolean {
  const strip = (x: unknown) => JSON.stringify(x, (k, v) => (k === 'query_location' || k === 'alias' ? undefined : v));
  return strip(a) === strip(b);
}

function signalOf(expr: AstNode, schema: readonly ColumnDef[], params: readonly unknown[]): Signal | null {
  if (!isFunction(expr)) return null;
  const name = String(expr.function_name).toLowerCase();
  if (name in SIMILARITY) return vectorSignal(name, expr, schema, params);
  if (name === 'bm25') {
    const col = textColumn(name, expr, schema);
    const text = constantText(children(expr)[1], params);
    return text === null ? null : { kind: 'bm25', column: col.name, text };
  }
  return null;
}

function limitOf(mod: AstNode | undefined): number | null {
  const lim = mod && unwrapCast(mod.limit as AstNode);
  if (!lim || lim.class !== 'CONSTANT') return null;
  const v = constantValue(lim.value as SqlValue);
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null;
}

function hasAggregateOrWindow(node: unknown): boolean {
  let found = false;
  walk(node, (n) => {
    if (n.class === 'WINDOW' || (n.class === 'FUNCTION' && AGGREGATES.has(String(n.function_name).toLowerCase()))) found = true;
  });
  return found;
}

/** The AND-ed parts of a WHERE (nested ANDs flattened). */
function conjuncts(n: AstNode | null): AstNode[] {
  if (!n) return [];
  if (n.class === 'CONJUNCTION' && n.type === 'CONJUNCTION_AND') return (n.children as AstNode[]).flatMap((c) => conjuncts(c));
  return [n];
}

/** The top-k shape: SELECT … FROM dataset [WHERE …] ORDER BY <signal> LIMIT k [OFFSET o]. */
function planTopK(tree: ParsedSql, schema: readonly ColumnDef[], params: readonly unknown[], textColumns: Set<string>, scalarIndexed: ReadonlySet<string>): { topk: TopKPlan | null; reason: string } {
  const none = (reason: string) => ({ topk: null, reason });
  const node = tree.statements[0].node;
  if (node.type !== 'SELECT_NODE') return none('not a plain SELECT');
  const from = node.from_table as AstNode;
  if (!from || from.type !== 'BASE_TABLE' || String(from.table_name).toLowerCase() !== 'dataset' || from.schema_name) return none('does not read only the table dataset');
  if (Object.keys((node.cte_map as { map?: object })?.map ?? {}).length) return none('has a WITH clause');
  if ((node.group_expressions as unknown[])?.length || node.having || node.qualify) return none('groups rows');
  if (hasAggregateOrWindow(node.select_list) || hasAggregateOrWindow(node.where_clause)) return none('aggregates or uses windows');
  const mods = (node.modifiers as AstNode[]) ?? [];
  if (mods.some((m) => m.type === 'DISTINCT_MODIFIER')) return none('is DISTINCT');
  const order = mods.find((m) => m.type === 'ORDER_MODIFIER');
  const limitMod = mods.find((m) => m.type === 'LIMIT_MODIFIER');
  if (!order || !limitMod) return none('has no ORDER BY … LIMIT');
  const orders = order.orders as { type: string; expression: AstNode }[];
  if (orders.length !== 1) return none('orders by more than one expression');
  const limit = limitOf(limitMod);
  if (limit === null) return none('LIMIT is not a constant');
  const offset = limitMod.offset ? limitOf({ limit: limitMod.offset } as AstNode) : 0;
  if (offset === null) return none('OFFSET is not a constant');

  // ORDER BY may name a select-list alias.
  let expr = orders[0].expression;
  const selectList = node.select_list as AstNode[];
  if (expr.class === 'COLUMN_REF' && (expr.column_names as string[]).length === 1) {
    const alias = (expr.column_names as string[])[0].toLowerCase();
    const item = selectList.find((s) => String(s.alias ?? '').toLowerCase() === alias);
    if (item) expr = item;
  }
  let signals: Signal[];
  let fusion: 'single' | 'rrf';
  let window = RRF_WINDOW;
  if (isFunction(expr, 'rrf')) {
    const r = rrfArgs(expr);
    window = r.window;
    const parts = r.rankings.map((a) => signalOf(a, schema, params));
    if (parts.some((p) => p === null)) return none('an rrf argument is not a search signal with constant arguments');
    signals = parts as Signal[];
    fusion = 'rrf';
    if (orders[0].type !== 'DESCENDING') return none('orders rrf ascending');
  } else {
    const s = signalOf(expr, schema, params);
    if (!s) return none('ORDER BY is not a search function of a dataset column and a constant');
    const dir = orders[0].type === 'ORDER_DEFAULT' ? 'ASCENDING' : orders[0].type;
    if (dir !== bestFirst(s)) return none('orders worst first');
    signals = [s];
    fusion = 'single';
  }

  // The final query: the same SELECT over __search_view, with the ranking expression read from __score.
  const final = clone(tree);
  const fnode = final.statements[0].node;
  const replaceScore = (n: unknown): unknown =>
    rewrite(n, (x) => (sameExpr(x, expr) ? { ...columnRef([SCORE_COLUMN]), alias: x.alias ?? '' } : undefined));
  fnode.select_list = replaceScore(fnode.select_list);
  fnode.modifiers = replaceScore(fnode.modifiers);
  fnode.from_table = { ...(fnode.from_table as object), table_name: SEARCH_VIEW };
  // The winners were chosen among rows that pass the WHERE in this same version, so it is not
  // evaluated again: DuckDB would push it into the scan and run it on every row.
  fnode.where_clause = null;
  const semanticFinal = semanticRewrite(final, schema, params, textColumns) as ParsedSql;
  const projection = projectionOf(semanticFinal, limit, offset);
  const matches: { column: string; text: string }[] = [];
  const scalar: ScalarPredicate[] = [];
  const indexed = new Map(schema.filter((c) => scalarIndexed.has(c.name)).map((c) => [c.name.toLowerCase(), c]));
  const rest: AstNode[] = [];
  const sqlConjuncts: AstNode[] = [];
  for (const c of conjuncts(node.where_clause as AstNode | null)) {
    const text = isFunction(c, 'match') ? constantText(children(c)[1], params) : null;
    const preds = text === null && indexed.size ? scalarPredicate(c, indexed, params) : null;
    if (text !== null) {
      const col = textColumn('match', c, schema);
      textColumns.add(col.name);
      matches.push({ column: col.name, text });
    } else if (preds) scalar.push(...preds);
    else rest.push(c);
    if (text === null) sqlConjuncts.push(c);
  }
  const and = (cs: AstNode[]) => (cs.length === 0 ? null : cs.length === 1 ? cs[0] : ({ class: 'CONJUNCTION', type: 'CONJUNCTION_AND', alias: '', query_location: 0, children: cs } as AstNode));
  const sqlOf = (cs: AstNode[]) => {
    const tree = and(cs);
    return tree ? (semanticRewrite(clone(tree), schema, params, textColumns) as AstNode) : null;
  };
  const where = sqlOf(rest);
  const filter = scalar.length ? sqlOf(sqlConjuncts) : where;
  return { topk: { signals, fusion, k: limit + offset, where, matches, scalar, filter, window, final: semanticFinal, projection }, reason: 'top-k by a search signal' };
}

/**
 * The final query as a projection of the winners, or null when it computes anything (an
 * expression, a star, a subquery, a second ORDER BY term): those run in DuckDB. The ORDER BY is
 * the score best first (planTopK refuses worst first), the order the winners come in.
 */
export function projectionOf(final: ParsedSql, limit: number, offset: number): Projection | null {
  const node = final.statements[0].node;
  const from = node.from_table as AstNode;
  if (from.type !== 'BASE_TABLE' || from.table_name !== SEARCH_VIEW || from.alias || node.where_clause || node.sample) return null;
  if (Object.keys((node.cte_map as { map?: object })?.map ?? {}).length) return null;
  const plainRef = (n: AstNode) => n.class === 'COLUMN_REF' && (n.column_names as string[]).length === 1;
  const items = node.select_list as AstNode[];
  if (!items.every(plainRef)) return null;
  const columns = items.map((n) => ({ column: (n.column_names as string[])[0], alias: String(n.alias ?? '') }));
  const mods = (node.modifiers as AstNode[]) ?? [];
  if (mods.length !== 2 || !mods.some((m) => m.type === 'LIMIT_MODIFIER')) return null;
  const orders = (mods.find((m) => m.type === 'ORDER_MODIFIER')?.orders ?? []) as { expression: AstNode }[];
  if (orders.length !== 1 || !plainRef(orders[0].expression)) return null;
  // ORDER BY __score, or an alias of it in the select list.
  const by = (orders[0].expression.column_names as string[])[0].toLowerCase();
  const scored = by === SCORE_COLUMN || columns.some((c) => c.alias.toLowerCase() === by && c.column.toLowerCase() === SCORE_COLUMN);
  return scored ? { columns, limit, offset } : null;
}

/**
 * Plans a query. `scalarIndexed` names the columns with a scalar index: comparisons of them
 * with constants are answered by the index instead of DuckDB.
 */
export function planSearch(tree: ParsedSql, schema: readonly ColumnDef[], params: readonly unknown[], scalarIndexed: ReadonlySet<string> = new Set()): SearchPlan {
  if (tree.error) throw new QuiverError('invalid_sql', `query: ${tree.error_message ?? 'syntax error'}`);
  // Only SELECTs serialize at all; more than one would run all but report one.
  if (tree.statements.length !== 1) throw new QuiverError('invalid_sql', `query: expected one statement, got ${tree.statements.length}`, { statements: tree.statements.length });
  const textColumns = new Set<string>();
  const semantic = semanticRewrite(clone(tree), schema, params, textColumns) as ParsedSql;
  const { topk, reason } = planTopK(tree, schema, params, textColumns, scalarIndexed);
  return { semantic, textColumns: [...textColumns], topk, reason };
}

/** True when the SQL text may use a search function (a cheap test before parsing). */
export function mentionsSearch(sql: string): boolean {
  return /\b(cosine_similarity|l2_distance|inner_product|bm25|match|rrf)\s*\(/i.test(sql);
}
