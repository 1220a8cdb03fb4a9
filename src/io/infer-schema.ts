// Schemas for imports into a new dataset, inferred from the source: from DuckDB's column types
// (Parquet, CSV) through the one Quiver type ↔ SQL table (`sqlType`), or from sample JSON
// records (JSON lines, metadata files, WebDataset `.json`). Every inferred column is nullable,
// so a value missing from a later record is NULL, not an error.

import { QuiverError } from '../errors.js';
import { readImageHeader, sqlType, t, TypeSpec, type ColumnDef, type ColumnType, type SchemaInput } from '../format/index.js';

/** Records sampled from the head of a JSON source to infer its schema. */
export const INFER_RECORDS_MAX = 1000;

const SCALAR_KINDS = Object.keys(t).filter((k) => k !== 'embedding' && k !== 'list') as (ColumnType & { kind: string })['kind'][];

/** The Quiver type whose SQL type is `sql` (inverting `sqlType`), or null when none is. */
export function typeFromSql(sql: string): ColumnType | null {
  const fixed = /^(.*)\[(\d+)\]$/.exec(sql);
  if (fixed) return fixed[1] === 'FLOAT' || fixed[1] === 'DOUBLE' ? { kind: 'embedding', dim: Number(fixed[2]) } : null;
  const list = /^(.*)\[\]$/.exec(sql);
  if (list) {
    const element = typeFromSql(list[1]);
    return element && element.kind !== 'list' ? { kind: 'list', element } : null;
  }
  for (const kind of SCALAR_KINDS) {
    const type = { kind } as ColumnType;
    if (sqlType(type) === sql) return type;
  }
  // Types DuckDB infers that Quiver stores under a wider or plainer one.
  if (sql === 'DATE' || sql.startsWith('TIMESTAMP')) return { kind: 'timestamp' };
  if (sql === 'HUGEINT' || sql.startsWith('DECIMAL')) return { kind: 'float64' };
  return null;
}

/** A schema for DuckDB columns; a column with no Quiver type is `schema_mismatch` naming it and the file. */
export function schemaFromSql(columns: readonly { name: string; type: string }[], path: string): SchemaInput {
  const out: SchemaInput = {};
  for (const c of columns) {
    if (c.name === 'row_id') continue;
    const type = typeFromSql(c.type);
    if (!type) throw new QuiverError('schema_mismatch', `import: column "${c.name}" of ${path} has type ${c.type}, which no Quiver type holds`, { column: c.name, path, type: c.type });
    out[c.name] = new TypeSpec(type, true);
  }
  return out;
}

/** The type of one JSON value, or null for null (no evidence). */
function typeOfJson(v: unknown): ColumnType | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return { kind: 'text' };
  if (v instanceof Uint8Array) return readImageHeader(v) ? { kind: 'image' } : { kind: 'binary' };
  if (typeof v === 'boolean') return { kind: 'bool' };
  if (typeof v === 'number') return Number.isInteger(v) ? { kind: 'int64' } : { kind: 'float64' };
  if (Array.isArray(v)) {
    if (v.length > 0 && v.every((x) => typeof x === 'number')) return { kind: 'embedding', dim: v.length };
    if (v.every((x) => typeof x === 'string')) return { kind: 'list', element: { kind: 'text' } };
  }
  return { kind: 'json' };
}

/** The narrowest type holding both, e.g. int64 and float64 → float64; json when nothing else does. */
function unify(a: ColumnType | null, b: ColumnType | null): ColumnType | null {
  if (!a || !b) return a ?? b;
  if (JSON.stringify(a) === JSON.stringify(b)) return a;
  const nums = new Set(['int64', 'float64']);
  if (nums.has(a.kind) && nums.has(b.kind)) return { kind: 'float64' };
  // Numeric arrays of differing lengths are lists, not one embedding.
  if (a.kind === 'embedding' && b.kind === 'embedding') return { kind: 'list', element: { kind: 'float64' } };
  return { kind: 'json' };
}

/** A schema for sample records: each key's values unified; a key only ever null is text. */
export function schemaFromRecords(records: readonly Record<string, unknown>[]): SchemaInput {
  const types = new Map<string, ColumnType | null>();
  for (const r of records) for (const [k, v] of Object.entries(r)) if (k !== 'row_id') types.set(k, unify(types.get(k) ?? null, typeOfJson(v)));
  const out: SchemaInput = {};
  for (const [k, type] of types) out[k] = new TypeSpec(type ?? { kind: 'text' }, true);
  return out;
}

/**
 * A source value in the form `append` takes for column `c`: JSON sources carry bytes as base64
 * strings, 64-bit integers as strings when large, and JSON columns as values; DuckDB gives
 * bigints for BIGINT and strings for JSON.
 */
export function coerceValue(c: ColumnDef, v: unknown, fromSql: boolean): unknown {
  if (v === null || v === undefined) return v;
  const kind = c.type.kind;
  if ((kind === 'binary' || kind === 'image') && typeof v === 'string') return Buffer.from(v, 'base64');
  if (kind === 'json' && fromSql && typeof v === 'string') return parseJsonOr(v);
  if ((kind === 'int64' || kind === 'uint64') && typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  if (typeof v === 'bigint' && kind !== 'int64' && kind !== 'uint64' && Number.isSafeInteger(Number(v))) return Number(v);
  return v;
}

function parseJsonOr(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
