// Declared stage schemas and the check every UDF output passes through. Invariant: a batch
// leaving a stage has exactly the declared columns, in the declared order, with the declared
// Arrow types. Free of the query layer, so UDF hosts load no DuckDB (see schema-sql.ts).

import * as arrow from 'apache-arrow';
import { QuiverError } from '../errors.js';

/** A stage's output schema as the user declares it: column name to DuckDB SQL type, in order. */
export type SchemaSpec = Readonly<Record<string, string>>;

/** One declared column; a plain value so plans stay serialisable. */
export interface ColumnSpec {
  name: string;
  type: string;
}

/** Where a batch is, for error messages: `stage 2 "classify", batch 7`. */
export interface BatchWhere {
  stage: number;
  stageName: string;
  batch: number;
}

export function describeWhere(w: BatchWhere): string {
  return `stage ${w.stage} "${w.stageName}", batch ${w.batch}`;
}

/**
 * Type equality by kind and parameters. Arrow's own comparator also requires the same class,
 * but IPC decoding yields generic classes (`Int` of 64 bits, not `Int64`), so it cannot be used.
 */
export function sameType(a: arrow.DataType, b: arrow.DataType): boolean {
  return a.typeId === b.typeId && String(a) === String(b);
}

function mismatch(w: BatchWhere, column: string, what: string): QuiverError {
  return new QuiverError('schema_mismatch', `pipeline: ${describeWhere(w)}: column "${column}" ${what}`, { ...w, column });
}

/**
 * Checks a UDF's Arrow output against the declared schema and returns it with the columns in
 * declared order. Column order may differ; names and types may not (nullability is not checked).
 */
export function conformTable(out: arrow.Table, schema: arrow.Schema, w: BatchWhere): arrow.Table {
  const got = new Map(out.schema.fields.map((f) => [f.name, f]));
  for (const f of out.schema.fields) {
    if (!schema.fields.some((d) => d.name === f.name)) throw mismatch(w, f.name, 'is not in the declared schema');
  }
  const decoded: Record<string, arrow.Vector> = {};
  for (const d of schema.fields) {
    const f = got.get(d.name);
    if (!f) throw mismatch(w, d.name, 'is missing from the UDF output');
    if (sameType(d.type, f.type)) continue;
    // vectorFromArray dictionary-encodes strings by default; accept and decode that one case.
    if (arrow.DataType.isDictionary(f.type) && sameType(d.type, (f.type as arrow.Dictionary).dictionary)) {
      decoded[d.name] = arrow.vectorFromArray(Array.from(out.getChild(d.name)!), d.type);
      continue;
    }
    throw mismatch(w, d.name, `expects ${d.type}, got ${f.type}`);
  }
  if (Object.keys(decoded).length > 0) {
    return new arrow.Table(Object.fromEntries(schema.fields.map((d) => [d.name, decoded[d.name] ?? out.getChild(d.name)!])));
  }
  const inOrder = out.schema.fields.length === schema.fields.length && out.schema.fields.every((f, i) => f.name === schema.fields[i].name);
  if (inOrder) return out;
  return out.select(schema.fields.map((f) => f.name));
}

/** Coerces one JS value towards what the Arrow builder of `type` accepts (numbers to bigint, …). */
function coerce(v: unknown, type: arrow.DataType): unknown {
  if (v === null || v === undefined) return null;
  if (arrow.DataType.isInt(type) && (type as arrow.Int).bitWidth === 64) {
    return typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : v;
  }
  if (arrow.DataType.isInt(type) || arrow.DataType.isFloat(type)) return typeof v === 'bigint' ? Number(v) : v;
  if (arrow.DataType.isBinary(type) && typeof v === 'string') return new TextEncoder().encode(v);
  if (arrow.DataType.isTimestamp(type) && v instanceof Date) return v.getTime();
  return v;
}

/** The type a value must have for `coerce` to have produced something the builder accepts. */
function fits(v: unknown, type: arrow.DataType): boolean {
  if (v === null) return true;
  if (arrow.DataType.isInt(type)) return (type as arrow.Int).bitWidth === 64 ? typeof v === 'bigint' : typeof v === 'number' && Number.isInteger(v);
  if (arrow.DataType.isFloat(type)) return typeof v === 'number';
  if (arrow.DataType.isUtf8(type)) return typeof v === 'string';
  if (arrow.DataType.isBool(type)) return typeof v === 'boolean';
  if (arrow.DataType.isBinary(type)) return v instanceof Uint8Array;
  return true;
}

/** Builds a table with the declared schema from an array of plain records; checks every value. */
export function tableFromRecords(records: readonly Record<string, unknown>[], schema: arrow.Schema, w: BatchWhere): arrow.Table {
  const names = new Set(schema.fields.map((f) => f.name));
  const columns: Record<string, arrow.Vector> = {};
  for (const [r, rec] of records.entries()) {
    if (rec === null || typeof rec !== 'object') {
      throw new QuiverError('schema_mismatch', `pipeline: ${describeWhere(w)}: record ${r} is not an object`, { ...w, record: r });
    }
    for (const k of Object.keys(rec)) if (!names.has(k)) throw mismatch(w, k, `is not in the declared schema (record ${r})`);
  }
  for (const f of schema.fields) {
    const values = records.map((rec, r) => {
      const v = coerce(rec[f.name], f.type);
      if (!(f.name in rec)) throw mismatch(w, f.name, `is missing from record ${r}`);
      if (!fits(v, f.type)) throw mismatch(w, f.name, `expects ${f.type}, got ${typeof v} in record ${r}`);
      return v;
    });
    columns[f.name] = arrow.vectorFromArray(values as never[], f.type);
  }
  if (records.length === 0) return new arrow.Table(schema);
  return new arrow.Table(columns);
}

/** Normalises what a UDF returned (an Arrow table or an array of records) into a checked table. */
export function tableFromUdfOutput(out: unknown, schema: arrow.Schema, w: BatchWhere): arrow.Table {
  if (out instanceof arrow.Table) return conformTable(out, schema, w);
  if (out instanceof arrow.RecordBatch) return conformTable(new arrow.Table(out), schema, w);
  if (Array.isArray(out)) return tableFromRecords(out as Record<string, unknown>[], schema, w);
  throw new QuiverError('schema_mismatch', `pipeline: ${describeWhere(w)}: the UDF must return an Arrow table or an array of records, got ${out === null ? 'null' : typeof out}`, { ...w });
}

/** Plain records of a table (bigint for BIGINT, Uint8Array for BLOB), each value through `convert`. */
export function recordsFromTable(t: arrow.Table, convert: (v: unknown) => unknown = plain): Record<string, unknown>[] {
  const names = t.schema.fields.map((f) => f.name);
  const cols = names.map((n) => t.getChild(n)!);
  const out: Record<string, unknown>[] = new Array(t.numRows);
  for (let r = 0; r < t.numRows; r++) {
    const o: Record<string, unknown> = {};
    for (let c = 0; c < names.length; c++) o[names[c]] = convert(cols[c].get(r));
    out[r] = o;
  }
  return out;
}

function plain(v: unknown): unknown {
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function' && !(v instanceof Date)) {
    return (v as { toJSON: () => unknown }).toJSON();
  }
  return v;
}
