// A scalar index answers filter conjuncts of a search query's WHERE without a DuckDB scan:
// `column <op> value`, BETWEEN, IN / NOT IN, IS [NOT] NULL, `list_contains(column, value)` on
// list columns (a label list), and NOT of any of these. A value is a literal, a parameter, or
// an expression without columns (`now() - interval 7 day`) that the executor folds once per
// query. Per immutable small-column file the index keeps the column in memory: numbers (and
// timestamps, in microseconds) as their positions in value order, so a comparison is a binary
// search and a walk over the matches; text dictionary-encoded and lists as offsets into
// dictionary codes, one lookup per row. Matches land in a bitmap over the version's live rows
// (through each position's live ordinal) without ever materialising row ids.
// Planning is pure (`scalarPredicate`); evaluation is the index layer's `matchInto`
// (index/scalar/column-match.ts).

import type { ColumnDef } from '../../format/index.js';
import type { ScalarOp } from '../../index/index.js';
import { constantValue, rewrite, walk, type AstNode, type SqlValue } from './sql-ast.js';


/** What a value compares as: numbers (bool as 0/1), timestamps (µs since the epoch), text. */
export type ValueKind = 'number' | 'timestamp' | 'string';

/** A literal, or an expression without columns that the executor evaluates to a literal. */
export type ScalarValue = number | string | { expr: AstNode };

export interface ScalarPredicate {
  column: string;
  op: ScalarOp;
  /** One value, the list of `in`, none for `null`. */
  values: ScalarValue[];
  /** NOT of the predicate: rows where it is false, never rows where it is NULL. */
  negate?: boolean;
}

/** A predicate whose values are all literals. */
export interface ResolvedPredicate extends ScalarPredicate {
  values: (number | string)[];
}

const COMPARE: Record<string, ScalarOp> = {
  COMPARE_EQUAL: '=',
  COMPARE_LESSTHAN: '<',
  COMPARE_LESSTHANOREQUALTO: '<=',
  COMPARE_GREATERTHAN: '>',
  COMPARE_GREATERTHANOREQUALTO: '>=',
};
const FLIP: Record<string, ScalarOp> = { '=': '=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
const CONTAINS = new Set(['list_contains', 'list_has', 'array_contains', 'array_has']);
/** Names the parser leaves as column references that DuckDB binds to the query's clock. */
const CLOCK_NAMES = new Set(['current_timestamp', 'current_date', 'current_time', 'localtimestamp', 'localtime']);
/** Functions whose value changes from row to row even without column arguments. */
const VOLATILE = new Set(['random', 'setseed', 'uuid', 'gen_random_uuid', 'nextval', 'currval']);

function scalarKind(kind: string): ValueKind | null {
  switch (kind) {
    case 'text':
      return 'string';
    case 'timestamp':
      return 'timestamp';
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
      return 'number';
    default:
      return null;
  }
}

/** How a column's values compare, and whether it is a list; null when a scalar index cannot hold it. */
export function indexableType(c: ColumnDef): { kind: ValueKind; list: boolean } | null {
  if (c.type.kind === 'list') {
    const k = scalarKind(c.type.element.kind);
    return k ? { kind: k, list: true } : null;
  }
  const k = scalarKind(c.type.kind);
  return k ? { kind: k, list: false } : null;
}

function unwrap(n: AstNode): AstNode {
  return n.class === 'CAST' ? unwrap((n as { child: AstNode }).child) : n;
}

/** True for an expression that has one value for the whole query: no columns, subqueries or volatile functions. */
function isConstantExpr(n: AstNode): boolean {
  switch (n.class) {
    case 'CONSTANT':
    case 'PARAMETER':
      return true;
    case 'CAST':
      return isConstantExpr((n as { child: AstNode }).child);
    case 'FUNCTION': {
      if (VOLATILE.has(String(n.function_name).toLowerCase()) || n.filter || n.distinct) return false;
      if (((n.order_bys as { orders?: unknown[] })?.orders ?? []).length) return false;
      return ((n.children as AstNode[]) ?? []).every(isConstantExpr);
    }
    case 'OPERATOR':
      return ((n.children as AstNode[]) ?? []).every(isConstantExpr);
    case 'COLUMN_REF':
      // `current_timestamp` and friends parse as column names; DuckDB binds them to the clock.
      return CLOCK_NAMES.has(((n.column_names as string[]) ?? []).join('.').toLowerCase());
    default:
      return false;
  }
}

/** A constant or bound parameter as an index value of `kind`; an expression to fold; or undefined. */
function valueOf(n: AstNode, params: readonly unknown[], kind: ValueKind): ScalarValue | undefined {
  const u = unwrap(n);
  let v: unknown;
  if (u.class === 'CONSTANT') {
    v = constantValue(u.value as SqlValue);
    // A constant of another type (a date, an interval): DuckDB folds it with the column's type.
    if (v === undefined) return kind !== 'string' ? { expr: n } : undefined;
  } else if (u.class === 'PARAMETER') v = params[Number(u.identifier) - 1];
  else return kind !== 'string' && isConstantExpr(n) ? { expr: n } : undefined;
  if (v === null || v === undefined) return undefined;
  if (kind === 'string') return typeof v === 'string' ? v : undefined;
  // A timestamp compared with a string or number, or a number with a string, is cast by
  // DuckDB: the executor lets DuckDB fold it the same way.
  if (kind === 'timestamp') return v instanceof Date ? (Number.isFinite(v.getTime()) ? v.getTime() * 1000 : undefined) : { expr: n };
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return { expr: n };
}

function columnName(n: AstNode): string | null {
  const u = unwrap(n);
  return u.class === 'COLUMN_REF' ? (u.column_names as string[]).at(-1)!.toLowerCase() : null;
}

/**
 * The conjunct as predicates on scalar-indexed columns, or null when the index cannot answer
 * it (it then runs in DuckDB). `indexed` maps lowercased names to columns with a scalar index.
 */
export function scalarPredicate(c: AstNode, indexed: Map<string, ColumnDef>, params: readonly unknown[]): ScalarPredicate[] | null {
  if (c.class === 'OPERATOR' && c.type === 'OPERATOR_NOT') {
    const inner = scalarPredicate((c.children as AstNode[])[0], indexed, params);
    return inner && inner.length === 1 ? [{ ...inner[0], negate: !inner[0].negate }] : null;
  }
  const col = (n: AstNode) => {
    const name = columnName(n);
    const def = name === null ? undefined : indexed.get(name);
    const t = def ? indexableType(def) : null;
    return def && t ? { def, ...t } : undefined;
  };
  if (c.class === 'COMPARISON' && COMPARE[String(c.type)]) {
    let op = COMPARE[String(c.type)];
    let target = col(c.left as AstNode);
    let other = c.right as AstNode;
    if (!target) {
      target = col(c.right as AstNode);
      other = c.left as AstNode;
      op = FLIP[op];
    }
    if (!target || target.list) return null;
    const v = valueOf(other, params, target.kind);
    return v === undefined ? null : [{ column: target.def.name, op, values: [v] }];
  }
  if (c.class === 'BETWEEN') {
    const target = col(c.input as AstNode);
    if (!target || target.list) return null;
    const lo = valueOf(c.lower as AstNode, params, target.kind);
    const hi = valueOf(c.upper as AstNode, params, target.kind);
    return lo === undefined || hi === undefined
      ? null
      : [
          { column: target.def.name, op: '>=', values: [lo] },
          { column: target.def.name, op: '<=', values: [hi] },
        ];
  }
  if (c.class === 'OPERATOR' && (c.type === 'COMPARE_IN' || c.type === 'COMPARE_NOT_IN')) {
    const [first, ...rest] = c.children as AstNode[];
    const target = col(first);
    if (!target || target.list) return null;
    const vs = rest.map((x) => valueOf(x, params, target.kind));
    if (vs.some((v) => v === undefined)) return null;
    return [{ column: target.def.name, op: 'in', values: vs as ScalarValue[], ...(c.type === 'COMPARE_NOT_IN' ? { negate: true } : {}) }];
  }
  if (c.class === 'OPERATOR' && (c.type === 'OPERATOR_IS_NULL' || c.type === 'OPERATOR_IS_NOT_NULL')) {
    const target = col((c.children as AstNode[])[0]);
    if (!target) return null;
    return [{ column: target.def.name, op: 'null', values: [], ...(c.type === 'OPERATOR_IS_NOT_NULL' ? { negate: true } : {}) }];
  }
  if (c.class === 'FUNCTION' && CONTAINS.has(String(c.function_name).toLowerCase()) && (c.children as AstNode[]).length === 2) {
    const [list, value] = c.children as AstNode[];
    const target = col(list);
    if (!target || !target.list) return null;
    const v = valueOf(value, params, target.kind);
    return v === undefined ? null : [{ column: target.def.name, op: 'contains', values: [v] }];
  }
  return null;
}

/** Every expression value of the predicates, in order (the executor folds them in one query). */
export function expressionsOf(preds: readonly ScalarPredicate[]): AstNode[] {
  return preds.flatMap((p) => p.values.filter((v): v is { expr: AstNode } => typeof v === 'object').map((v) => v.expr));
}

/** The predicates with expression values replaced, in order, by `folded`. */
export function resolve(preds: readonly ScalarPredicate[], folded: readonly (number | string)[]): ResolvedPredicate[] {
  let i = 0;
  return preds.map((p) => ({ ...p, values: p.values.map((v) => (typeof v === 'object' ? folded[i++] : v)) }));
}

const NOW = new Set(['now', 'current_timestamp', 'get_current_timestamp', 'transaction_timestamp']);
const INTERVAL_US: Record<string, number> = {
  to_weeks: 7 * 86_400e6,
  to_days: 86_400e6,
  to_hours: 3_600e6,
  to_minutes: 60e6,
  to_seconds: 1e6,
  to_milliseconds: 1e3,
  to_microseconds: 1,
};

/** An integer constant: the parser writes `interval 7 day`'s 7 as CAST(trunc(CAST(7 AS DOUBLE)) AS INTEGER). */
function integer(x: AstNode): number | undefined {
  if (x.class === 'CONSTANT') {
    const v = constantValue(x.value as SqlValue);
    return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
  }
  if (x.class === 'CAST') return integer((x as { child: AstNode }).child);
  if (x.class === 'FUNCTION' && String(x.function_name).toLowerCase() === 'trunc' && (x.children as AstNode[]).length === 1) return integer((x.children as AstNode[])[0]);
  return undefined;
}

/**
 * Folds `now() ± interval n <unit>` (and casts of it) to microseconds without a DuckDB round
 * trip, or returns undefined to let DuckDB fold it. Only exact in a UTC session, where a day
 * is always 86,400 s and a TIMESTAMP compares with a TIMESTAMPTZ as the same instant: callers
 * use it only then. Months and years (calendar arithmetic) are left to DuckDB.
 */
export function foldNowUtc(n: AstNode, nowUs: number): number | undefined {
  const interval = (x: AstNode): number | undefined => {
    if (x.class !== 'FUNCTION') return undefined;
    const unit = INTERVAL_US[String(x.function_name).toLowerCase()];
    const args = x.children as AstNode[];
    if (unit === undefined || args.length !== 1) return undefined;
    const v = integer(args[0]);
    return v === undefined ? undefined : v * unit;
  };
  if (n.class === 'CAST') {
    const to = String((n.cast_type as { id?: string })?.id ?? '');
    return to === 'TIMESTAMP' || to === 'TIMESTAMP WITH TIME ZONE' ? foldNowUtc((n as { child: AstNode }).child, nowUs) : undefined;
  }
  if (n.class === 'COLUMN_REF') return ((n.column_names as string[]) ?? []).join('.').toLowerCase() === 'current_timestamp' ? nowUs : undefined;
  if (n.class !== 'FUNCTION') return undefined;
  const name = String(n.function_name).toLowerCase();
  const args = (n.children as AstNode[]) ?? [];
  if (NOW.has(name) && args.length === 0) return nowUs;
  if ((name === '+' || name === '-') && args.length === 2) {
    const base = foldNowUtc(args[0], nowUs);
    const by = interval(args[1]);
    if (base !== undefined && by !== undefined) return name === '+' ? base + by : base - by;
    if (name === '+') {
      const base2 = foldNowUtc(args[1], nowUs);
      const by2 = interval(args[0]);
      if (base2 !== undefined && by2 !== undefined) return base2 + by2;
    }
  }
  return undefined;
}

function readsClock(n: AstNode): boolean {
  let found = false;
  walk(n, (x) => {
    if (x.class === 'FUNCTION' && NOW.has(String(x.function_name).toLowerCase())) found = true;
    if (x.class === 'COLUMN_REF' && CLOCK_NAMES.has(((x.column_names as string[]) ?? []).join('.').toLowerCase())) found = true;
  });
  return found;
}

function castToTimestamp(n: AstNode): AstNode {
  return { class: 'CAST', type: 'OPERATOR_CAST', alias: '', query_location: 0, child: n, cast_type: { id: 'TIMESTAMP', type_info: null }, try_cast: false };
}

/**
 * `ts_col > now() - interval 7 day` compares a TIMESTAMP with a TIMESTAMPTZ, so DuckDB converts
 * every row's value to TIMESTAMPTZ (a time-zone computation per row: ~10x the cost of the
 * comparison). Casting the constant side to TIMESTAMP once is the same comparison when the
 * session's time zone is UTC — callers apply this only then. Other conjuncts are returned as is.
 */
export function castClockComparisons(where: AstNode, timestampColumns: ReadonlySet<string>): AstNode {
  const isTs = (n: AstNode) => {
    const name = columnName(n);
    return name !== null && timestampColumns.has(name);
  };
  const clock = (n: AstNode) => isConstantExpr(n) && readsClock(n);
  return rewrite(where, (n) => {
    if (n.class === 'COMPARISON' && COMPARE[String(n.type)] !== undefined) {
      const l = n.left as AstNode;
      const r = n.right as AstNode;
      if (isTs(l) && clock(r)) return { ...n, right: castToTimestamp(r) };
      if (isTs(r) && clock(l)) return { ...n, left: castToTimestamp(l) };
    }
    if (n.class === 'BETWEEN' && isTs(n.input as AstNode)) {
      const lo = n.lower as AstNode;
      const hi = n.upper as AstNode;
      if (clock(lo) || clock(hi)) return { ...n, lower: clock(lo) ? castToTimestamp(lo) : lo, upper: clock(hi) ? castToTimestamp(hi) : hi };
    }
    return undefined;
  }) as AstNode;
}
