// Validates records against a schema and turns them into Parquet columns: one "scalar" file of
// small columns (with row_id and image metadata) and one file per large column. Validation
// finishes before anything is written, so a bad record in a batch leaves nothing behind.

import { QuiverError } from '../../errors.js';
import type { ParquetColumn, ParquetLeaf } from '../parquet/index.js';
import { isImage, isLarge, typeName, type ColumnDef, type ColumnType } from './column-type.js';
import { readImageHeader } from './image-header.js';

/** A record to append: any object whose own keys are column names (typed interfaces welcome). */
export type RecordInput = object;

export interface ColumnizedBatch {
  rows: number;
  /** row_id and every small column, plus `<image>_format/_width/_height` for image columns. */
  scalar: ParquetColumn[];
  /** One entry per large column: its file has row_id and that column. */
  large: Map<string, ParquetColumn[]>;
  /** Approximate bytes the batch holds, for flush decisions. */
  bytes: number;
}

const INT_RANGE: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
};

function mismatch(row: number, column: string, expected: string, got: unknown): QuiverError {
  const shown = typeof got === 'string' ? JSON.stringify(got.length > 40 ? got.slice(0, 40) + '…' : got) : got instanceof Uint8Array ? `${got.length} bytes` : Array.isArray(got) ? `an array of ${got.length}` : String(got);
  return new QuiverError('schema_mismatch', `schema: row ${row}, column "${column}" expects ${expected}, got ${shown}`, { row, column, expected });
}

/** Checks one value and returns its stored form (Float32Array for vectors, bigint for 64-bit ints, micros for timestamps). */
function coerce(type: ColumnType, v: unknown, row: number, column: string): unknown {
  switch (type.kind) {
    case 'text':
      if (typeof v !== 'string') throw mismatch(row, column, 'text', v);
      return v;
    case 'json':
      try {
        const s = JSON.stringify(v);
        if (s === undefined) throw new Error('not serialisable');
        return s;
      } catch {
        throw mismatch(row, column, 'a JSON value', v);
      }
    case 'bool':
      if (typeof v !== 'boolean') throw mismatch(row, column, 'bool', v);
      return v;
    case 'int8':
    case 'int16':
    case 'int32':
    case 'uint8':
    case 'uint16':
    case 'uint32': {
      const [lo, hi] = INT_RANGE[type.kind];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw mismatch(row, column, type.kind, v);
      return v;
    }
    case 'int64':
    case 'uint64': {
      let b: bigint;
      if (typeof v === 'bigint') b = v;
      else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
      else throw mismatch(row, column, type.kind, v);
      if (type.kind === 'uint64' ? b < 0n || b >= 1n << 64n : b < -(1n << 63n) || b >= 1n << 63n) throw mismatch(row, column, type.kind, v);
      return b;
    }
    case 'float32':
    case 'float64':
      if (typeof v !== 'number') throw mismatch(row, column, type.kind, v);
      return v;
    case 'timestamp': {
      const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN;
      if (!Number.isFinite(ms)) throw mismatch(row, column, 'a timestamp (Date, epoch ms or ISO string)', v);
      return BigInt(Math.round(ms * 1000));
    }
    case 'binary':
      if (!(v instanceof Uint8Array)) throw mismatch(row, column, 'binary (Uint8Array)', v);
      return v;
    case 'image':
      if (!(v instanceof Uint8Array)) throw mismatch(row, column, 'image bytes (Uint8Array)', v);
      if (!readImageHeader(v)) throw new QuiverError('schema_mismatch', `schema: row ${row}, column "${column}" expects PNG, JPEG, WebP or GIF bytes, got ${v.length} bytes that are none of them`, { row, column, expected: 'image' });
      return v;
    case 'embedding': {
      let f: Float32Array;
      if (v instanceof Float32Array) f = v;
      else if (Array.isArray(v) || v instanceof Float64Array) f = Float32Array.from(v as ArrayLike<number>);
      else throw mismatch(row, column, `embedding(${type.dim})`, v);
      if (f.length !== type.dim) throw new QuiverError('schema_mismatch', `schema: row ${row}, column "${column}" expects ${type.dim} floats, got ${f.length}`, { row, column, expected: typeName(type) });
      for (let i = 0; i < f.length; i++) {
        if (!Number.isFinite(f[i])) throw new QuiverError('schema_mismatch', `schema: row ${row}, column "${column}" has a non-finite value (${f[i]}) at position ${i}`, { row, column, position: i });
      }
      return f;
    }
    case 'list': {
      if (!Array.isArray(v)) throw mismatch(row, column, typeName(type), v);
      return v.map((e, i) => {
        if (e === null || e === undefined) throw new QuiverError('schema_mismatch', `schema: row ${row}, column "${column}" has a null element at position ${i}`, { row, column, position: i });
        return coerce(type.element, e, row, column);
      });
    }
  }
}

function leafOf(type: ColumnType): { leaf: ParquetLeaf; depth: 0 | 1 | 2 } {
  switch (type.kind) {
    case 'list': {
      const inner = leafOf(type.element);
      return { leaf: inner.leaf, depth: (inner.depth + 1) as 1 | 2 };
    }
    case 'embedding':
      return { leaf: 'float32', depth: 1 };
    case 'text':
      return { leaf: 'utf8', depth: 0 };
    case 'json':
      return { leaf: 'json', depth: 0 };
    case 'bool':
      return { leaf: 'boolean', depth: 0 };
    case 'timestamp':
      return { leaf: 'timestamp_us', depth: 0 };
    case 'image':
    case 'binary':
      return { leaf: 'binary', depth: 0 };
    default:
      return { leaf: type.kind, depth: 0 };
  }
}

export function parquetColumn(c: ColumnDef, values: unknown[], name = c.name): ParquetColumn {
  const { leaf, depth } = leafOf(c.type);
  return { name, leaf, nullable: true, listDepth: depth, values };
}

/**
 * Validates `records` (all or nothing) and returns their columns. `rowIds` gives each record's
 * row id. Unknown fields and missing required fields are errors naming the row and column.
 */
export function columnize(schema: readonly ColumnDef[], records: readonly RecordInput[], rowIds: BigInt64Array | bigint[]): ColumnizedBatch {
  const n = records.length;
  const known = new Set(schema.map((c) => c.name));
  const values = schema.map(() => new Array<unknown>(n));
  let bytes = 0;
  for (let r = 0; r < n; r++) {
    const rec = records[r] as Record<string, unknown>;
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
      throw new QuiverError('schema_mismatch', `schema: row ${r} is not a record object`, { row: r });
    }
    for (const k of Object.keys(rec)) {
      if (!known.has(k)) throw new QuiverError('schema_mismatch', `schema: row ${r} has unknown column "${k}"`, { row: r, column: k });
    }
    for (let c = 0; c < schema.length; c++) {
      const def = schema[c];
      const v = rec[def.name];
      if (v === null || v === undefined) {
        if (!def.nullable) {
          throw new QuiverError('schema_mismatch', `schema: row ${r}, column "${def.name}" is required but ${v === undefined ? 'missing' : 'null'}`, { row: r, column: def.name });
        }
        values[c][r] = null;
        continue;
      }
      const stored = coerce(def.type, v, r, def.name);
      values[c][r] = stored;
      bytes += stored instanceof Uint8Array || stored instanceof Float32Array ? stored.byteLength : 16;
    }
  }

  const rowIdCol: ParquetColumn = { name: 'row_id', leaf: 'int64', nullable: false, listDepth: 0, values: Array.from(rowIds) };
  const scalar: ParquetColumn[] = [rowIdCol];
  const large = new Map<string, ParquetColumn[]>();
  schema.forEach((def, c) => {
    if (isLarge(def.type)) large.set(def.name, [rowIdCol, parquetColumn(def, values[c])]);
    else scalar.push(parquetColumn(def, values[c]));
    if (isImage(def.type)) {
      const infos = values[c].map((v) => {
        if (v === null) return null;
        return Array.isArray(v) ? v.map((x) => readImageHeader(x as Uint8Array)!) : readImageHeader(v as Uint8Array)!;
      });
      const depth = def.type.kind === 'list' ? 1 : 0;
      const pick = (f: 'format' | 'width' | 'height') => infos.map((i) => (i === null ? null : Array.isArray(i) ? i.map((x) => x[f]) : i[f]));
      scalar.push({ name: `${def.name}_format`, leaf: 'utf8', nullable: true, listDepth: depth, values: pick('format') });
      scalar.push({ name: `${def.name}_width`, leaf: 'int32', nullable: true, listDepth: depth, values: pick('width') });
      scalar.push({ name: `${def.name}_height`, leaf: 'int32', nullable: true, listDepth: depth, values: pick('height') });
    }
  });
  return { rows: n, scalar, large, bytes };
}
