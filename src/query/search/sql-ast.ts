// DuckDB's own parser as a library: SQL text <-> the JSON tree of `json_serialize_sql`.
// Quiver plans over that tree and writes SQL back with `json_deserialize_sql`, so the SQL a
// user wrote is never re-parsed by a grammar of ours.

import { QuiverError } from '../../errors.js';
import type { Session } from '../engine.js';

/** A node of DuckDB's parse tree: plain JSON. */
export type AstNode = { class?: string; type?: string; [k: string]: unknown };

export interface ParsedSql {
  error?: boolean;
  error_message?: string;
  statements: { node: AstNode }[];
}

export async function parseSql(session: Session, sql: string): Promise<ParsedSql> {
  const r = await session.all('select json_serialize_sql($1::VARCHAR) as j', [sql]);
  // Unknown locations are uint64 max, which a JS number cannot hold; zero means "unknown" too.
  return JSON.parse((r.rows[0].j as string).replace(/"query_location":\d{16,}/g, '"query_location":0')) as ParsedSql;
}

export async function unparseSql(session: Session, tree: ParsedSql): Promise<string> {
  const r = await session.all('select json_deserialize_sql($1::VARCHAR) as q', [JSON.stringify(tree)]);
  const sql = r.rows[0].q as string | null;
  if (!sql) throw new QuiverError('invalid_sql', 'query: could not rewrite the query');
  return sql;
}

export function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

/** Visits every object in the tree (parents before children); `fn` may return a replacement. */
export function rewrite(node: unknown, fn: (n: AstNode) => AstNode | undefined): unknown {
  if (Array.isArray(node)) return node.map((x) => rewrite(x, fn));
  if (!node || typeof node !== 'object') return node;
  const replaced = fn(node as AstNode);
  const cur = (replaced ?? node) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cur)) out[k] = replaced ? v : rewrite(v, fn);
  // A replacement's own children are still visited, so nested calls are rewritten too.
  if (replaced) for (const [k, v] of Object.entries(out)) out[k] = rewrite(v, fn);
  return out;
}

export function walk(node: unknown, fn: (n: AstNode) => void): void {
  if (Array.isArray(node)) return node.forEach((x) => walk(x, fn));
  if (!node || typeof node !== 'object') return;
  fn(node as AstNode);
  for (const v of Object.values(node)) walk(v, fn);
}

export const isFunction = (n: AstNode | undefined, name?: string): boolean =>
  !!n && n.class === 'FUNCTION' && (name === undefined || String(n.function_name).toLowerCase() === name);

export function columnRef(names: string[]): AstNode {
  return { class: 'COLUMN_REF', type: 'COLUMN_REF', alias: '', query_location: 0, column_names: names };
}

export function constantString(value: string): AstNode {
  return { class: 'CONSTANT', type: 'VALUE_CONSTANT', alias: '', query_location: 0, value: { type: { id: 'VARCHAR', type_info: null }, is_null: false, value } };
}

export function functionCall(name: string, children: AstNode[], alias = ''): AstNode {
  return {
    class: 'FUNCTION',
    type: 'FUNCTION',
    alias,
    query_location: 0,
    function_name: name,
    schema: '',
    children,
    filter: null,
    order_bys: { type: 'ORDER_MODIFIER', orders: [] },
    distinct: false,
    is_operator: false,
    export_state: false,
    catalog: '',
  };
}

/**
 * Renumbers the `$n` parameters a rewritten tree still uses to 1..m and returns the values in
 * that order: DuckDB refuses a value for a parameter the statement no longer has.
 */
export function compactParams<P>(tree: ParsedSql, params: readonly P[]): { tree: ParsedSql; params: P[] } {
  const used = new Set<number>();
  walk(tree, (n) => {
    if (n.class === 'PARAMETER') used.add(Number(n.identifier));
  });
  const order = [...used].sort((a, b) => a - b);
  const renumber = new Map(order.map((old, i) => [old, i + 1]));
  const out = rewrite(tree, (n) => (n.class === 'PARAMETER' ? { ...n, identifier: String(renumber.get(Number(n.identifier))) } : undefined)) as ParsedSql;
  return { tree: out, params: order.map((i) => params[i - 1]) };
}
