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

/**
 * Integers JSON.parse would round (a BIGINT constant past 2^53, a HUGEINT's or wide DECIMAL's
 * halves) are kept in the tree as exact text behind this prefix, and written back as numbers.
 * Inside a JSON string every quote is escaped, so the key patterns below never match string data.
 */
const BIG_PREFIX = '__quiver_big:';

export async function parseSql(session: Session, sql: string): Promise<ParsedSql> {
  const r = await session.all('select json_serialize_sql($1::VARCHAR) as j', [sql]);
  // Unknown locations are uint64 max, which a JS number cannot hold; zero means "unknown" too.
  const text = (r.rows[0].j as string).replace(/"query_location":\d{16,}/g, '"query_location":0').replace(/"(value|upper|lower)":(-?\d{16,})/g, `"$1":"${BIG_PREFIX}$2"`);
  return JSON.parse(text) as ParsedSql;
}

export async function unparseSql(session: Session, tree: ParsedSql): Promise<string> {
  const json = JSON.stringify(tree).replace(new RegExp(`"${BIG_PREFIX}(-?\\d+)"`, 'g'), '$1');
  const r = await session.all('select json_deserialize_sql($1::VARCHAR) as q', [json]);
  const sql = r.rows[0].q as string | null;
  if (!sql) throw new QuiverError('invalid_sql', 'query: could not rewrite the query');
  return sql;
}

/** A CONSTANT node's `value`: DuckDB's serialized Value. */
export interface SqlValue {
  type: { id: string; type_info: { width?: number; scale?: number } | null };
  is_null: boolean;
  value: unknown;
}

const INTEGER_TYPES = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'HUGEINT', 'UHUGEINT']);

/** An integer of the serialized tree exactly: a number, big-integer text, or a 128-bit {upper, lower}. */
function exactInteger(v: unknown): bigint | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : undefined;
  if (typeof v === 'string' && v.startsWith(BIG_PREFIX)) return BigInt(v.slice(BIG_PREFIX.length));
  if (v && typeof v === 'object' && 'upper' in v && 'lower' in v) {
    const upper = exactInteger((v as { upper: unknown }).upper);
    const lower = exactInteger((v as { lower: unknown }).lower);
    // The lower half is unsigned; the upper half carries the sign.
    return upper === undefined || lower === undefined ? undefined : (upper << 64n) + BigInt.asUintN(64, lower);
  }
  return undefined;
}

/**
 * The JS value of a serialized constant, as DuckDB means it: DECIMAL honours its scale (the
 * nearest double to the exact decimal), integers are numbers when safe and bigints past 2^53,
 * FLOAT/DOUBLE numbers, VARCHAR strings, BOOLEAN booleans, NULL null. Undefined for other
 * types (dates, intervals, …): callers treat those as not a plain constant.
 */
export function constantValue(c: SqlValue): null | boolean | number | bigint | string | undefined {
  if (!c || typeof c !== 'object') return undefined;
  if (c.is_null) return null;
  const id = c.type?.id;
  if (id === 'VARCHAR') return typeof c.value === 'string' ? c.value : undefined;
  if (id === 'BOOLEAN') return typeof c.value === 'boolean' ? c.value : undefined;
  if (id === 'FLOAT' || id === 'DOUBLE') return typeof c.value === 'number' ? c.value : undefined;
  if (id === 'DECIMAL') {
    const unscaled = exactInteger(c.value);
    const scale = c.type.type_info?.scale ?? 0;
    // Decimal text to double: one correctly rounded conversion, never a lossy division.
    return unscaled === undefined ? undefined : Number(`${unscaled}e-${scale}`);
  }
  if (INTEGER_TYPES.has(id)) {
    const v = exactInteger(c.value);
    if (v === undefined) return undefined;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  return undefined;
}

/** A constant's value as a double (numbers of every width and scale), or undefined when it is not a number. */
export function constantNumber(c: SqlValue): number | undefined {
  const v = constantValue(c);
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
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
