// The JSON wire form of values, shared by the server and the remote client, so what one writes
// the other reads back as the same JS value. Responses: 64-bit integers are decimal strings,
// bytes base64, typed arrays plain arrays, times ISO strings, with a per-column `types` note so
// a client can restore them. Requests: tagged objects ({ $bigint }, { $bytes }, { $f32 },
// { $date }) carry what JSON has no type for; a plain base64 string or decimal string is also
// taken where the schema says image/binary or int64. Invariant: decode(encode(v)) equals v.

import type { ColumnDef } from '../format/index.js';

/** How a top-level column's JSON values are restored: absent means as JSON parsed them. */
export type WireType = 'bigint' | 'bytes' | 'float32[]' | 'date';

const b64 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');
/** A Buffer, as embedded queries return BLOBs (a Uint8Array subclass). */
const unb64 = (s: string): Uint8Array => Buffer.from(s, 'base64');

/** One value of a response as JSON can carry it. */
export function toWire(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return b64(v);
  if (v instanceof Date) return v.toISOString();
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number | bigint>, toWire);
  if (Array.isArray(v)) return v.map(toWire);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toWire(x)]));
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toWire(x)]));
}

function wireTypeOf(v: unknown): WireType | undefined {
  if (typeof v === 'bigint') return 'bigint';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof Float32Array) return 'float32[]';
  if (v instanceof Date) return 'date';
  return undefined;
}

/** Rows as JSON, with the wire type of each column whose first non-null value needs one. */
export function rowsToWire(rows: readonly Record<string, unknown>[]): { rows: Record<string, unknown>[]; types: Record<string, WireType> } {
  const types: Record<string, WireType> = {};
  const seen = new Set<string>();
  for (const r of rows) {
    for (const [k, v] of Object.entries(r)) {
      if (seen.has(k) || v === null || v === undefined) continue;
      seen.add(k);
      const t = wireTypeOf(v);
      if (t) types[k] = t;
    }
  }
  return { rows: rows.map((r) => toWire(r) as Record<string, unknown>), types };
}

function fromWireTyped(v: unknown, t: WireType | undefined): unknown {
  if (v === null || t === undefined) return v;
  switch (t) {
    case 'bigint':
      return BigInt(v as string);
    case 'bytes':
      return unb64(v as string);
    case 'float32[]':
      return Float32Array.from(v as number[]);
    case 'date':
      return new Date(v as string);
  }
}

/** Rows of a JSON response back as `query` returns them embedded (bigint, Uint8Array, Float32Array, Date). */
export function rowsFromWire(rows: readonly Record<string, unknown>[], types: Record<string, WireType>): Record<string, unknown>[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, fromWireTyped(v, types[k])])));
}

/** A request value (a parameter, a record's value) in tagged JSON. */
export function toTagged(v: unknown): unknown {
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (v instanceof Uint8Array) return { $bytes: b64(v) };
  if (v instanceof Float32Array) return { $f32: Array.from(v) };
  if (v instanceof Date) return { $date: v.toISOString() };
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return v.map(toTagged);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toTagged(x)]));
  return v;
}

/** A tagged JSON value back as JS (the inverse of `toTagged`); untagged values pass through. */
export function fromTagged(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromTagged);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    if (typeof o.$bigint === 'string') return BigInt(o.$bigint);
    if (typeof o.$bytes === 'string') return unb64(o.$bytes);
    if (Array.isArray(o.$f32)) return Float32Array.from(o.$f32 as number[]);
    if (typeof o.$date === 'string') return new Date(o.$date);
  }
  return Object.fromEntries(keys.map((k) => [k, fromTagged(o[k])]));
}

/**
 * A JSON record as `append` takes it: tags decoded, and where the schema says so a base64
 * string becomes bytes (image, binary) and a decimal string a bigint (int64, uint64).
 */
export function recordFromWire(schema: readonly ColumnDef[], r: Record<string, unknown>): Record<string, unknown> {
  const out = fromTagged(r) as Record<string, unknown>;
  for (const c of schema) {
    const v = out[c.name];
    if (typeof v !== 'string') continue;
    if (c.type.kind === 'image' || c.type.kind === 'binary') out[c.name] = unb64(v);
    else if ((c.type.kind === 'int64' || c.type.kind === 'uint64') && /^-?\d+$/.test(v)) out[c.name] = BigInt(v);
  }
  return out;
}
