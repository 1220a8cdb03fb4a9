// Late materialisation of large columns for queries over a store DuckDB cannot read in place:
// the query's filter, order and limit run over the small columns (DuckDB over local copies of
// the small-column files, large columns reading as NULL), and only the result rows' large
// values are then read by byte range (LargeValues) and put in a temp table that the query's
// select list is evaluated over, in the first run's row order. Planning is pure (planLate).
// Invariant: a query is planned late only when its rows, their order and every expression but
// the select list's cannot depend on a large column; any other query returns null and runs
// as before, over whole copies of the large files it names.

import * as arrow from 'apache-arrow';
import { isLarge, sqlType, type ColumnDef, type Manifest } from '../format/index.js';
import { quoteIdent, type Param, type RunOptions, type Session } from './engine.js';
import type { LargeValues } from './large-values.js';
import { clone, compactParams, parseSql, unparseSql, walk, type AstNode, type ParsedSql } from './search/sql-ast.js';

/** The temp table holding the large values of one query's rows, and the view over it. */
const LATE_TABLE = '__quiver_late';
const LATE_VIEW = '__quiver_late_view';
/** The probe's extra column: each result row's id. */
const RID = '__quiver_rid';
/** Each row's place in the probe's result, so the final rows keep the probe's order. */
/** The column of loadLargeTable's tables holding each id's place in the ids asked for. */
export const LARGE_TABLE_POS = '__quiver_pos';
const POS = LARGE_TABLE_POS;
/**
 * Result rows past which a query reads its large columns through DuckDB instead: their values
 * would all be held in memory at once, where DuckDB streams them from whole-file copies.
 */
export const LATE_ROWS_MAX = 4096;

export interface LatePlan {
  /** The large columns the select list names, as the schema spells them. */
  columns: string[];
  /** The query with large columns reading as NULL, returning each row's id as `__quiver_rid` too. */
  probe: ParsedSql;
  /** The query's select list over the probe's rows (no WHERE, no ORDER BY, no LIMIT). */
  finish: ParsedSql;
}

/** Functions of a select list that make several rows of one: the probe would see them over NULL. */
const ROW_MAKERS = new Set(['unnest', 'unlist']);

const SHAPE_FIELDS_EMPTY = ['group_expressions', 'group_sets'] as const;
const SHAPE_FIELDS_NULL = ['having', 'qualify', 'sample'] as const;

/**
 * The late plan of a parsed query, or null when the query needs a large column inside SQL: a
 * WHERE, ORDER BY or LIMIT naming one, an aggregate, window or subquery in the select list,
 * DISTINCT, GROUP BY, a CTE, or a FROM other than the `dataset` table alone.
 */
export function planLate(tree: ParsedSql, schema: readonly ColumnDef[], aggregates: ReadonlySet<string>): LatePlan | null {
  if (tree.error || tree.statements.length !== 1) return null;
  const node = tree.statements[0].node;
  if (node.type !== 'SELECT_NODE' || !plainFrom(node.from_table as AstNode)) return null;
  if (((node.cte_map as { map: unknown[] } | undefined)?.map.length ?? 0) > 0) return null;
  if (SHAPE_FIELDS_EMPTY.some((f) => ((node[f] as unknown[] | undefined) ?? []).length > 0)) return null;
  if (SHAPE_FIELDS_NULL.some((f) => node[f] !== null && node[f] !== undefined)) return null;
  if (node.aggregate_handling !== 'STANDARD_HANDLING') return null;
  const modifiers = (node.modifiers as AstNode[]) ?? [];
  if (modifiers.some((m) => m.type !== 'ORDER_MODIFIER' && m.type !== 'LIMIT_MODIFIER')) return null;
  const large = new Map(schema.filter((c) => isLarge(c.type)).map((c) => [c.name.toLowerCase(), c.name]));
  const named = new Set<string>();
  let inSql = false;
  // Select items that read a large column: WHERE and ORDER BY may name them by alias or position.
  const items = (node.select_list as AstNode[]).map((item) => {
    const before = named.size;
    let star = false;
    walk(item, (n) => {
      if (n.class === 'STAR' || n.class === 'COLUMNS') {
        star = true;
        for (const c of large.values()) named.add(c);
      } else if (n.class === 'COLUMN_REF' && large.has(lastName(n))) named.add(large.get(lastName(n))!);
      else if (n.class === 'SUBQUERY' || n.class === 'WINDOW' || (n.class === 'FUNCTION' && (aggregateCall(n, aggregates) || ROW_MAKERS.has(String(n.function_name).toLowerCase())))) inSql = true;
    });
    return { alias: String(item.alias ?? '').toLowerCase(), star, large: star || named.size > before || readsLarge(item, large) };
  });
  const largeAliases = new Set(items.filter((i) => i.large && i.alias).map((i) => i.alias));
  walk([node.where_clause, modifiers], (n) => {
    if (n.class === 'STAR' || n.class === 'COLUMNS' || (n.class === 'COLUMN_REF' && (large.has(lastName(n)) || ((n.column_names as string[]).length === 1 && largeAliases.has(lastName(n)))))) inSql = true;
  });
  for (const m of modifiers.filter((x) => x.type === 'ORDER_MODIFIER')) {
    for (const o of (m.orders as { expression: AstNode }[]) ?? []) {
      const e = o.expression;
      if (e.class !== 'CONSTANT') continue;
      // ORDER BY 2 sorts by the second select item (of the star's expansion, if there is one).
      const k = Number((e.value as { value?: unknown } | undefined)?.value);
      if (items.some((i) => i.star) || (Number.isInteger(k) && items[k - 1]?.large)) inSql = true;
    }
  }
  if (inSql || named.size === 0) return null;
  const from = node.from_table as AstNode;
  const alias = (from.alias as string) || 'dataset';
  const probe = clone(tree);
  const p = probe.statements[0].node;
  (p.select_list as AstNode[]).push({ class: 'COLUMN_REF', type: 'COLUMN_REF', alias: RID, query_location: 0, column_names: [alias, 'row_id'] });
  const finish = clone(tree);
  const f = finish.statements[0].node;
  f.where_clause = null;
  f.modifiers = [];
  f.from_table = { ...from, table_name: LATE_VIEW, alias };
  return { columns: [...named], probe, finish };
}

function plainFrom(from: AstNode | null): boolean {
  if (!from || from.type !== 'BASE_TABLE') return false;
  return String(from.table_name).toLowerCase() === 'dataset' && !from.schema_name && !from.catalog_name && !from.at_clause && !from.sample && ((from.column_name_alias as unknown[]) ?? []).length === 0;
}

/** Whether an expression references a large column. */
function readsLarge(node: AstNode, large: ReadonlyMap<string, string>): boolean {
  let found = false;
  walk(node, (n) => void (n.class === 'COLUMN_REF' && large.has(lastName(n)) && (found = true)));
  return found;
}

const lastName = (n: AstNode): string => {
  const names = n.column_names as string[];
  return names[names.length - 1].toLowerCase();
};

function aggregateCall(n: AstNode, aggregates: ReadonlySet<string>): boolean {
  const orders = (n.order_bys as { orders?: unknown[] } | undefined)?.orders ?? [];
  return aggregates.has(String(n.function_name).toLowerCase()) || n.distinct === true || (n.filter !== null && n.filter !== undefined) || orders.length > 0;
}

/** What running a late plan needs from a dataset handle. */
export interface LateHost {
  session: Session;
  manifest: Manifest;
  large: LargeValues;
  /** Points the session's `dataset` view at the version with every large column reading as NULL. */
  prepareSmallView(): Promise<void>;
  /** Bounds on the query's result (a sandboxed handle's), checked as it is read. */
  bounds?: RunOptions;
}

/** Plans and runs queries late; caches parse trees and the engine's aggregate function names. */
export class LateRuntime {
  readonly #plans = new Map<string, LatePlan | null>();
  readonly #aggregates = new WeakMap<Session, Promise<Set<string>>>();

  /** The late plan of `sql` over `schema` (memoized per text and schema), or null to run it as it is. */
  async plan(session: Session, sql: string, schema: readonly ColumnDef[]): Promise<LatePlan | null> {
    const id = `${schema.map((c) => `${c.name}:${isLarge(c.type)}`).join(',')}\0${sql}`;
    if (this.#plans.has(id)) return this.#plans.get(id)!;
    const plan = planLate(await parseSql(session, sql), schema, await this.#aggregatesOf(session));
    if (this.#plans.size >= 256) this.#plans.clear();
    this.#plans.set(id, plan);
    return plan;
  }

  #aggregatesOf(session: Session): Promise<Set<string>> {
    let p = this.#aggregates.get(session);
    if (!p) {
      p = session.all(`select distinct lower(function_name) as n from duckdb_functions() where function_type = 'aggregate'`).then((r) => new Set(r.rows.map((x) => x.n as string)));
      this.#aggregates.set(session, p);
    }
    return p;
  }

  /** Runs a late plan; null when the query has more than LATE_ROWS_MAX rows (the caller runs it as it is). */
  async run(host: LateHost, plan: LatePlan, params: readonly Param[], as: 'rows'): Promise<Record<string, unknown>[] | null>;
  async run(host: LateHost, plan: LatePlan, params: readonly Param[], as: 'arrow'): Promise<arrow.Table | null>;
  async run(host: LateHost, plan: LatePlan, params: readonly Param[], as: 'rows' | 'arrow'): Promise<Record<string, unknown>[] | arrow.Table | null> {
    const { session } = host;
    // The result rows' large values are read once the probe has found them: the footers that
    // locate them are read meanwhile (layout 2 files; a round trip off the query's path).
    for (const c of plan.columns) host.large.prefetchFooters(host.manifest, c);
    await host.prepareSmallView();
    const probe = compactParams(plan.probe, params);
    const ids = (await session.all(await unparseSql(session, probe.tree), probe.params)).rows.map((r) => r[RID] as bigint);
    if (ids.length > LATE_ROWS_MAX) return null;
    try {
      await loadLargeTable(host, LATE_TABLE, plan.columns, ids);
      const replace = plan.columns.map((c) => `l.${quoteIdent(c)} AS ${quoteIdent(c)}`).join(', ');
      const only = ids.length ? `b.row_id IN (${ids.join(', ')})` : 'false';
      await session.run(`CREATE OR REPLACE TEMP VIEW ${LATE_VIEW} AS SELECT b.* REPLACE (${replace}) FROM dataset b JOIN ${LATE_TABLE} l ON l.row_id = b.row_id WHERE ${only} ORDER BY l.${POS}`);
      const finish = compactParams(plan.finish, params);
      const sql = await unparseSql(session, finish.tree);
      return as === 'rows' ? (await session.all(sql, finish.params, host.bounds)).rows : await session.arrow(sql, finish.params, host.bounds);
    } finally {
      await session.run(`DROP VIEW IF EXISTS ${LATE_VIEW}`);
      await session.run(`DROP TABLE IF EXISTS ${LATE_TABLE}`);
    }
  }
}

/**
 * Creates (or replaces) temp table `name` holding, for each id in order, `row_id`, its place
 * `__quiver_pos` and the values of `columns` (large columns of the host's version) read by range.
 */
export async function loadLargeTable(host: Omit<LateHost, 'prepareSmallView'>, name: string, columns: readonly string[], ids: readonly bigint[]): Promise<void> {
  const defs = columns.map((c) => host.manifest.schema.find((d) => d.name === c)!);
  const values = await Promise.all(columns.map((c) => host.large.read(host.manifest, c, ids)));
  const cols = [{ name: 'row_id', sql: 'BIGINT' }, { name: POS, sql: 'INTEGER' }, ...defs.map((d) => ({ name: d.name, sql: sqlType(d.type) }))];
  await host.session.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(name)} (${cols.map((c) => `${quoteIdent(c.name)} ${c.sql}`).join(', ')})`);
  await host.session.appendColumns(name, [ids, ids.map((_, i) => i), ...values.map((v) => ids.map((id) => v.get(id) ?? null))]);
}
