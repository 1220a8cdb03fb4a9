// Validates records against a schema and turns them into Parquet columns: one "scalar" file of
// small columns (with row_id and image metadata) and one file per large column. Validation
// finishes before anything is written, so a bad record in a batch leaves nothing behind.

import { QuiverError } from '../../errors.js';
import type { ParquetColumn, ParquetLeaf } from '../parquet/index.js';
import { isImage, isLarge, typeName, type ColumnDef, type ColumnType } from './column-type.js';
import { imageDefect, readImageHeader } from './image-header.js';

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

/**
 * The largest text, JSON, binary or image value (a list counts as one value) an append accepts:
 * 1 GiB. DuckDB reads a Parquet page of at most 2 GiB - 1 bytes (the page size is an int32; a
 * 2 GiB value is written but every scan of it fails with "Out of buffer"), and a page holds whole
 * rows, so half of that leaves room for the rest of the page.
 */
export const VALUE_BYTES_MAX = 2 ** 30;

export interface ColumnizeLimits {
  /** Bytes one value may hold. Default VALUE_BYTES_MAX (1 GiB). */
  valueBytesMax?: number;
}

const INT_RANGE: Record<string, [bigint, bigint]> = {
  int8: [-128n, 127n],
  int16: [-32768n, 32767n],
  int32: [-2147483648n, 2147483647n],
  uint8: [0n, 255n],
  uint16: [0n, 65535n],
  uint32: [0n, 4294967295n],
  int64: [-(1n << 63n), (1n << 63n) - 1n],
  uint64: [0n, (1n << 64n) - 1n],
};

/** The largest finite float32; a number beyond it (but for rounding) is stored as Infinity. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** A value as a message shows it, followed by its JS type: `"five" (string)`, `3n (bigint)`. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return `${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)} (string)`;
  if (typeof v === 'bigint') return `${v}n (bigint)`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined) return `${String(v)} (${typeof v})`;
  if (typeof v === 'function' || typeof v === 'symbol') return `a ${typeof v}`;
  if (v === null) return 'null';
  const ctor = (v as object).constructor?.name ?? 'Object';
  if (ArrayBuffer.isView(v)) return `${(v as ArrayBufferView).byteLength} bytes (${ctor})`;
  if (Array.isArray(v)) return `an array of ${v.length} (Array)`;
  if (v instanceof Date) return `${Number.isNaN(v.getTime()) ? 'an invalid date' : v.toISOString()} (Date)`;
  return `an object (${ctor})`;
}

function mismatch(row: number, column: string, expected: string, got: unknown, note = ''): QuiverError {
  const shown = describeValue(got);
  const withNote = note ? shown.replace(/\)$/, `, ${note})`) : shown;
  return new QuiverError('schema_mismatch', `schema: row ${row}, column "${column}" expects ${expected}, got ${withNote}`, { row, column, expected, got: typeof got });
}

function tooLarge(row: number, column: string, bytes: number, max: number): QuiverError {
  return new QuiverError('schema_mismatch', `schema: row ${row}, column "${column}" holds ${bytes} bytes, above valueBytesMax (${max} bytes)`, { row, column, bytes, valueBytesMax: max });
}

/** UTF-8 length of `s`, computed only when it could exceed `max` (a UTF-16 unit is at most 3 bytes). */
function utf8BytesOver(s: string, max: number): number | null {
  if (s.length * 3 <= max) return null;
  const n = Buffer.byteLength(s, 'utf8');
  return n > max ? n : null;
}

interface Where {
  row: number;
  column: string;
  valueBytesMax: number;
}

/** INT_RANGE of the kinds up to 32 bits as numbers: their bounds are exact doubles. */
const NARROW_RANGE: Record<string, [number, number]> = Object.fromEntries(
  Object.entries(INT_RANGE)
    .filter(([k]) => k !== 'int64' && k !== 'uint64')
    .map(([k, [lo, hi]]) => [k, [Number(lo), Number(hi)]]),
);

function integer(kind: string, v: unknown, at: Where): number | bigint {
  // A number for a column of up to 32 bits is checked as a number: through a BigInt each took
  // two allocations, 10k ratings validated at update and again at commit (~1-2 ms and GC of a
  // 10k-row update, profiled). -0 is stored as 0, as the BigInt round trip gave.
  const narrow = NARROW_RANGE[kind];
  if (narrow && typeof v === 'number' && Number.isInteger(v) && v >= narrow[0] && v <= narrow[1]) return v === 0 ? 0 : v;
  const [lo, hi] = INT_RANGE[kind];
  const wide = kind === 'int64' || kind === 'uint64';
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isInteger(v)) {
    // A 64-bit column takes numbers only where they are exact; beyond 2^53 they already lost digits.
    if (wide && !Number.isSafeInteger(v)) throw mismatch(at.row, at.column, kind, v, 'not a safe integer: pass a bigint');
    b = BigInt(v);
  } else throw mismatch(at.row, at.column, kind, v);
  if (b < lo || b > hi) throw mismatch(at.row, at.column, `${kind} (${lo}..${hi})`, v);
  return wide ? b : Number(b);
}

function float(kind: 'float32' | 'float64', v: unknown, at: Where): number {
  if (typeof v !== 'number') throw mismatch(at.row, at.column, kind, v);
  // Infinity and NaN are stored as given; a finite number too large for float32 would become
  // Infinity silently, which is refused as embeddings refuse non-finite values.
  if (kind === 'float32' && Number.isFinite(v) && !Number.isFinite(Math.fround(v))) {
    throw mismatch(at.row, at.column, `float32 (a finite value must stay within ±${FLOAT32_MAX})`, v);
  }
  return v;
}

function bytesValue(expected: string, v: unknown, at: Where): Uint8Array {
  if (!(v instanceof Uint8Array)) throw mismatch(at.row, at.column, expected, v);
  if (v.byteLength > at.valueBytesMax) throw tooLarge(at.row, at.column, v.byteLength, at.valueBytesMax);
  return v;
}

function textValue(v: string, at: Where): string {
  const over = utf8BytesOver(v, at.valueBytesMax);
  if (over !== null) throw tooLarge(at.row, at.column, over, at.valueBytesMax);
  return v;
}

function imageValue(v: Uint8Array, at: Where): Uint8Array {
  const info = readImageHeader(v);
  const refuse = (why: string) => new QuiverError('schema_mismatch', `schema: row ${at.row}, column "${at.column}" expects PNG, JPEG, WebP or GIF bytes, got ${v.length} bytes ${why}`, { row: at.row, column: at.column, expected: 'image' });
  if (!info) throw refuse('that are none of them');
  const defect = imageDefect(v, info.format);
  if (defect) throw refuse(`of a broken ${info.format}: ${defect}`);
  return v;
}

function embedding(dim: number, v: unknown, at: Where): Float32Array {
  let f: Float32Array;
  if (v instanceof Float32Array) f = v;
  else if (v instanceof Float64Array) f = Float32Array.from(v);
  else if (Array.isArray(v)) {
    // Float32Array.from would turn '1' into 1 and 2n into a TypeError: check each element first.
    for (let i = 0; i < v.length; i++) {
      if (typeof v[i] !== 'number') throw new QuiverError('schema_mismatch', `schema: row ${at.row}, column "${at.column}" expects a number at position ${i}, got ${describeValue(v[i])}`, { row: at.row, column: at.column, position: i, got: typeof v[i] });
    }
    f = Float32Array.from(v as number[]);
  } else throw mismatch(at.row, at.column, `embedding(${dim})`, v);
  if (f.length !== dim) throw new QuiverError('schema_mismatch', `schema: row ${at.row}, column "${at.column}" expects ${dim} floats, got ${f.length}`, { row: at.row, column: at.column, expected: `embedding(${dim})` });
  for (let i = 0; i < f.length; i++) {
    if (Number.isFinite(f[i])) continue;
    const given = Array.isArray(v) || v instanceof Float64Array ? (v as ArrayLike<number>)[i] : f[i];
    const what = Number.isFinite(given) ? `a value out of float32 range (${given})` : `a non-finite value (${given})`;
    throw new QuiverError('schema_mismatch', `schema: row ${at.row}, column "${at.column}" has ${what} at position ${i}`, { row: at.row, column: at.column, position: i });
  }
  return f;
}

/** Checks one value and returns its stored form (Float32Array for vectors, bigint for 64-bit ints, micros for timestamps). */
function coerce(type: ColumnType, v: unknown, at: Where): unknown {
  switch (type.kind) {
    case 'text':
      if (typeof v !== 'string') throw mismatch(at.row, at.column, 'text', v);
      return textValue(v, at);
    case 'json': {
      let s: string | undefined;
      try {
        s = JSON.stringify(v);
      } catch {
        s = undefined;
      }
      if (s === undefined) throw mismatch(at.row, at.column, 'a JSON value', v);
      return textValue(s, at);
    }
    case 'bool':
      if (typeof v !== 'boolean') throw mismatch(at.row, at.column, 'bool', v);
      return v;
    case 'int8':
    case 'int16':
    case 'int32':
    case 'uint8':
    case 'uint16':
    case 'uint32':
    case 'int64':
    case 'uint64':
      return integer(type.kind, v, at);
    case 'float32':
    case 'float64':
      return float(type.kind, v, at);
    case 'timestamp': {
      const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN;
      if (!Number.isFinite(ms)) throw mismatch(at.row, at.column, 'a timestamp (Date, epoch ms or ISO string)', v);
      return BigInt(Math.round(ms * 1000));
    }
    case 'binary':
      return bytesValue('binary (Uint8Array)', v, at);
    case 'image':
      return imageValue(bytesValue('image bytes (Uint8Array)', v, at), at);
    case 'embedding':
      return embedding(type.dim, v, at);
    case 'list':
      return listValue(type, v, at);
  }
}

function listValue(type: ColumnType & { kind: 'list' }, v: unknown, at: Where): unknown[] {
  if (!Array.isArray(v)) throw mismatch(at.row, at.column, typeName(type), v);
  let bound = 0; // bytes at most: a UTF-16 unit of text is at most 3 bytes of UTF-8
  const out = v.map((e, i) => {
    if (e === null || e === undefined) throw new QuiverError('schema_mismatch', `schema: row ${at.row}, column "${at.column}" has a null element at position ${i}`, { row: at.row, column: at.column, position: i });
    const stored = coerce(type.element, e, at);
    bound += typeof stored === 'string' ? stored.length * 3 : valueBytes(stored);
    return stored;
  });
  // A list is one value of its row: its elements share the row's page.
  if (bound > at.valueBytesMax) {
    const bytes = out.reduce<number>((n, x) => n + (typeof x === 'string' ? Buffer.byteLength(x, 'utf8') : valueBytes(x)), 0);
    if (bytes > at.valueBytesMax) throw tooLarge(at.row, at.column, bytes, at.valueBytesMax);
  }
  return out;
}

/** Bytes a stored value takes, roughly: exact for bytes and vectors, the bound's view of text. */
function valueBytes(stored: unknown): number {
  if (stored instanceof Uint8Array || stored instanceof Float32Array) return stored.byteLength;
  if (typeof stored === 'string') return stored.length;
  return 16;
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
/**
 * Gives a columnized batch its row ids (validated with placeholders first, so bad input takes no
 * ids): the row_id column, which every large column's file shares with the small columns.
 */
export function setRowIds(batch: ColumnizedBatch, ids: readonly bigint[]): void {
  batch.scalar[0]!.values = ids;
  for (const cols of batch.large.values()) cols[0] = batch.scalar[0]!;
}

export function columnize(schema: readonly ColumnDef[], records: readonly RecordInput[], rowIds: BigInt64Array | bigint[], limits: ColumnizeLimits = {}): ColumnizedBatch {
  const valueBytesMax = limits.valueBytesMax ?? VALUE_BYTES_MAX;
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
      const stored = coerce(def.type, v, { row: r, column: def.name, valueBytesMax });
      values[c][r] = stored;
      bytes += valueBytes(stored);
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
