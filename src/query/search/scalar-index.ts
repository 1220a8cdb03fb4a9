// A scalar index answers `column <op> constant` conjuncts of a search query's WHERE without a
// scan: per immutable small-column file, the column's non-null values sorted with their row ids
// (built once per file and cached), and per fragment its own deleted row ids, so an updated
// row's stale copy never matches. Planning is pure; see `scalarPredicate`.

import type { ColumnDef } from '../../format/index.js';
import type { AstNode } from './sql-ast.js';

export type ScalarOp = '=' | '<' | '<=' | '>' | '>=' | 'in';

export interface ScalarPredicate {
  column: string;
  op: ScalarOp;
  /** One value, or the list of `in`. Numbers for numeric, boolean and timestamp (ms) columns, strings for text. */
  values: (number | string)[];
}

/** One file's values, ascending, with the row id of each. */
export interface SortedColumn {
  values: Float64Array | string[];
  rowIds: BigInt64Array;
  bytes: number;
}

const COMPARE: Record<string, ScalarOp> = {
  COMPARE_EQUAL: '=',
  COMPARE_LESSTHAN: '<',
  COMPARE_LESSTHANOREQUALTO: '<=',
  COMPARE_GREATERTHAN: '>',
  COMPARE_GREATERTHANOREQUALTO: '>=',
};
const FLIP: Record<ScalarOp, ScalarOp> = { '=': '=', '<': '>', '<=': '>=', '>': '<', '>=': '<=', in: 'in' };

export function indexableType(c: ColumnDef): 'number' | 'string' | null {
  switch (c.type.kind) {
    case 'text':
      return 'string';
    case 'bool':
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'uint8':
    case 'uint16':
    case 'uint32':
    case 'uint64':
    case 'float32':
    case 'float64':
    case 'timestamp':
      return 'number';
    default:
      return null;
  }
}

function unwrap(n: AstNode): AstNode {
  return n.class === 'CAST' ? unwrap((n as { child: AstNode }).child) : n;
}

/** A constant or bound parameter as an index value of `kind`, or undefined when it is not one. */
function valueOf(n: AstNode, params: readonly unknown[], kind: 'number' | 'string'): number | string | undefined {
  const u = unwrap(n);
  let v: unknown;
  if (u.class === 'CONSTANT') {
    const c = u.value as { is_null: boolean; value: unknown };
    if (c.is_null) return undefined;
    v = c.value;
  } else if (u.class === 'PARAMETER') v = params[Number(u.identifier) - 1];
  else return undefined;
  if (kind === 'string') return typeof v === 'string' ? v : undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return v.getTime();
  return undefined;
}

function columnName(n: AstNode): string | null {
  const u = unwrap(n);
  return u.class === 'COLUMN_REF' ? (u.column_names as string[]).at(-1)!.toLowerCase() : null;
}

/** The conjunct as predicates on an indexed column, or null when the index cannot answer it. */
export function scalarPredicate(c: AstNode, indexed: Map<string, ColumnDef>, params: readonly unknown[]): ScalarPredicate[] | null {
  const col = (n: AstNode) => {
    const name = columnName(n);
    return name === null ? undefined : indexed.get(name);
  };
  if (c.class === 'COMPARISON' && COMPARE[String(c.type)]) {
    let op = COMPARE[String(c.type)];
    let def = col(c.left as AstNode);
    let other = c.right as AstNode;
    if (!def) {
      def = col(c.right as AstNode);
      other = c.left as AstNode;
      op = FLIP[op];
    }
    if (!def) return null;
    const v = valueOf(other, params, indexableType(def)!);
    return v === undefined ? null : [{ column: def.name, op, values: [v] }];
  }
  if (c.class === 'BETWEEN') {
    const def = col(c.input as AstNode);
    if (!def) return null;
    const lo = valueOf(c.lower as AstNode, params, indexableType(def)!);
    const hi = valueOf(c.upper as AstNode, params, indexableType(def)!);
    return lo === undefined || hi === undefined ? null : [{ column: def.name, op: '>=', values: [lo] }, { column: def.name, op: '<=', values: [hi] }];
  }
  if (c.class === 'OPERATOR' && c.type === 'COMPARE_IN') {
    const [first, ...rest] = c.children as AstNode[];
    const def = col(first);
    if (!def) return null;
    const vs = rest.map((x) => valueOf(x, params, indexableType(def)!));
    return vs.some((v) => v === undefined) ? null : [{ column: def.name, op: 'in', values: vs as (number | string)[] }];
  }
  return null;
}

/** First position whose value is >= v (or > v with `strict`). */
function bound(values: Float64Array | string[], v: number | string, strict: boolean): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const x = values[mid];
    if (x < v || (strict && x === v)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Row ids of one file matching one predicate. */
export function matchSorted(col: SortedColumn, p: ScalarPredicate): BigInt64Array {
  const parts: BigInt64Array[] = [];
  const range = (from: number, to: number) => from < to && parts.push(col.rowIds.subarray(from, to));
  const n = col.values.length;
  if (p.op === 'in') for (const v of new Set(p.values)) range(bound(col.values, v, false), bound(col.values, v, true));
  else {
    const v = p.values[0];
    if (p.op === '=') range(bound(col.values, v, false), bound(col.values, v, true));
    if (p.op === '<') range(0, bound(col.values, v, false));
    if (p.op === '<=') range(0, bound(col.values, v, true));
    if (p.op === '>') range(bound(col.values, v, true), n);
    if (p.op === '>=') range(bound(col.values, v, false), n);
  }
  const out = new BigInt64Array(parts.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

/** Sorts a file's (value, row id) pairs by value, dropping nulls. */
export function sortColumn(values: unknown[], rowIds: BigInt64Array, kind: 'number' | 'string'): SortedColumn {
  const keep: number[] = [];
  for (let i = 0; i < values.length; i++) if (values[i] !== null && values[i] !== undefined) keep.push(i);
  const key = (i: number): number | string => {
    const v = values[i];
    if (kind === 'string') return v as string;
    return v instanceof Date ? v.getTime() : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
  };
  const keys = keep.map(key);
  const order = keys.map((_, i) => i).sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0));
  const ids = BigInt64Array.from(order, (i) => rowIds[keep[i]]);
  if (kind === 'string') {
    const vals = order.map((i) => keys[i] as string);
    return { values: vals, rowIds: ids, bytes: ids.byteLength + vals.reduce((s, v) => s + v.length * 2, 0) };
  }
  const vals = Float64Array.from(order, (i) => keys[i] as number);
  return { values: vals, rowIds: ids, bytes: ids.byteLength + vals.byteLength };
}
